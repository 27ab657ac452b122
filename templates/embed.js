{#- The embed script. Data enters only through |tojson; no eval, no inline handlers.
Optional attributes (README, "Snippet options"; widgets/snippet.py SNIPPET_OPTIONS): data-variant
(grid|list|single), data-count (3-6), data-lang, data-mode="iframe", data-height and data-title
(iframe mode), and on a thank-you page data-order (the order's signed reference: its gift pack
shows too). A block that cannot be shown (a mistyped data-member, say) says why in the console,
as a warning. -#}
/* Shop Alliance partner blocks: fills every <div data-alliance-widget data-member data-placement>
   (options: see the README, "Snippet options"). */
(function () {
  "use strict";
  // Where this script came from is where the blocks are; the server's view is the fallback.
  var SCRIPT = document.currentScript && document.currentScript.src;
  var BASE = SCRIPT ? SCRIPT.replace(/\/embed\.js(?:[?#].*)?$/, "") : {{ base|tojson }};
  var HEIGHTS = {{ heights|tojson }};
  var TITLE = {{ title|tojson }};

  function warn(el, why) {
    var console = window.console;
    if (!console || !console.warn) return;
    console.warn("Shop Alliance: the partner block (data-member=" +
      JSON.stringify(el.getAttribute("data-member")) + ", data-placement=" +
      JSON.stringify(el.getAttribute("data-placement")) + ") is not shown: " + why);
  }

  function address(el, extra) {
    var query = extra;
    var variant = el.getAttribute("data-variant");
    var count = el.getAttribute("data-count");
    var lang = el.getAttribute("data-lang") || document.documentElement.lang;
    var order = el.getAttribute("data-order");
    if (order) query += "&order=" + encodeURIComponent(order);
    if (variant) query += "&variant=" + encodeURIComponent(variant);
    if (count) query += "&count=" + encodeURIComponent(count);
    if (lang) query += "&lang=" + encodeURIComponent(lang);
    return BASE + "/w/" + encodeURIComponent(el.getAttribute("data-member") || "") +
      "/" + encodeURIComponent(el.getAttribute("data-placement") || "") + "?" + query;
  }

  function frame(el) {
    var f = document.createElement("iframe");
    var height = el.getAttribute("data-height") || HEIGHTS[el.getAttribute("data-variant")];
    f.src = address(el, "frame=1");
    f.title = el.getAttribute("data-title") || TITLE;
    f.setAttribute("loading", "lazy");
    f.setAttribute("sandbox",
      "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation");
    f.style.border = "0";
    f.style.width = "100%";
    f.style.height = (parseInt(height, 10) || HEIGHTS.grid) + "px";
    el.appendChild(f);
  }

  // Why the server refused a block ({"error": ...}, 404 or 400), for the console.
  function refusal(response) {
    return response.json()
      .then(function (body) { return (body && body.error) || "HTTP " + response.status; })
      .catch(function () { return "HTTP " + response.status; });
  }

  function fill(el) {
    if (el.getAttribute("data-alliance-filled")) return;
    el.setAttribute("data-alliance-filled", "1");
    if (!el.getAttribute("data-member") || !el.getAttribute("data-placement")) {
      warn(el, "data-member and data-placement are both needed (`alliance widget` prints them)");
      return;
    }
    if (el.getAttribute("data-mode") === "iframe") {
      frame(el);
      return;
    }
    if (!window.fetch) return;
    fetch(address(el, "embed=1"), { credentials: "omit", mode: "cors" })
      .then(function (response) {
        if (response.status === 200) return response.text();
        if (response.status >= 400) refusal(response).then(function (why) { warn(el, why); });
        return "";  // 204: no partner has a product to show here now
      })
      .then(function (html) {
        if (!html) return;
        // The block is escaped by the server; a shadow root keeps theme and block apart.
        var root = el.attachShadow ? el.attachShadow({ mode: "open" }) : el;
        root.innerHTML = html;
        // Styles come from the app's block.css (no inline styles: strict CSPs allow it by
        // origin); the block stays hidden until they apply, or fail, never shown unstyled.
        var sheet = root.querySelector && root.querySelector("link[rel=stylesheet]");
        if (sheet && !sheet.sheet) {
          el.style.visibility = "hidden";
          var show = function () { el.style.visibility = ""; };
          sheet.addEventListener("load", show);
          sheet.addEventListener("error", show);
        }
      })
      .catch(function (error) {
        el.removeAttribute("data-alliance-filled");  // a later run may try again
        warn(el, "it could not be fetched (" + error + "); a Content-Security-Policy must " +
          "allow " + BASE + " in connect-src");
      });
  }

  function run() {
    var blocks = document.querySelectorAll("div[data-alliance-widget]");
    for (var i = 0; i < blocks.length; i++) fill(blocks[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
