{#- The embed script. Data enters only through |tojson; no eval, no inline handlers. -#}
/* Shop Alliance partner blocks: fills every <div data-alliance-widget data-member data-placement>.
   Optional attributes: data-variant (grid|list|single), data-lang, data-mode="iframe", and on
   a thank-you page data-order (the order's signed reference: its gift pack shows too). */
(function () {
  "use strict";
  // Where this script came from is where the blocks are; the server's view is the fallback.
  var SCRIPT = document.currentScript && document.currentScript.src;
  var BASE = SCRIPT ? SCRIPT.replace(/\/embed\.js(?:[?#].*)?$/, "") : {{ base|tojson }};
  var HEIGHTS = {{ heights|tojson }};
  var TITLE = {{ title|tojson }};

  function address(el, extra) {
    var query = extra;
    var variant = el.getAttribute("data-variant");
    var lang = el.getAttribute("data-lang") || document.documentElement.lang;
    var order = el.getAttribute("data-order");
    if (order) query += "&order=" + encodeURIComponent(order);
    if (variant) query += "&variant=" + encodeURIComponent(variant);
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

  function fill(el) {
    if (el.getAttribute("data-alliance-filled")) return;
    el.setAttribute("data-alliance-filled", "1");
    if (el.getAttribute("data-mode") === "iframe") {
      frame(el);
      return;
    }
    if (!window.fetch) return;
    fetch(address(el, "embed=1"), { credentials: "omit", mode: "cors" })
      .then(function (response) { return response.status === 200 ? response.text() : ""; })
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
      .catch(function () { el.removeAttribute("data-alliance-filled"); });
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
