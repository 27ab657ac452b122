"""embed.js: small, no eval, CSP-friendly, and it really fills the placeholders on a page."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from alliance.agreement import Agreement
from tests.widgets.test_blocks import make_app, seed_partners, serving
from widgets.blocks import IFRAME_HEIGHTS
from widgets.rendering import SHIPPED_TEMPLATES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TestClient on httpx

EMBED_LIMIT = 5 * 1024

# A page with four placeholders, a tiny DOM, and the real fetch of Node: the script runs
# exactly as served, against the real server.
NODE_PAGE = r"""
const vm = require("node:vm");
const base = process.argv[2];
class El {
  constructor(tag, attrs) { this.tag = tag; this.attrs = Object.assign({}, attrs || {});
    this.children = []; this.style = {}; this.shadow = null; this.innerHTML = ""; }
  getAttribute(n) { return n in this.attrs ? this.attrs[n] : null; }
  setAttribute(n, v) { this.attrs[n] = String(v); }
  removeAttribute(n) { delete this.attrs[n]; }
  attachShadow(o) {
    if (this.shadow) throw new Error("twice");
    this.shadow = {mode: o.mode, innerHTML: ""};
    return this.shadow;
  }
  appendChild(c) { this.children.push(c); return c; }
}
const blocks = [
  new El("div", {"data-alliance-widget": "", "data-member": "li", "data-placement": "product"}),
  new El("div", {"data-alliance-widget": "", "data-member": "li", "data-placement": "cart",
                 "data-mode": "iframe", "data-variant": "list"}),
  new El("div", {"data-alliance-widget": "", "data-member": "nobody", "data-placement": "cart"}),
  new El("div", {"data-alliance-widget": "", "data-member": "wang", "data-placement": "article",
                 "data-variant": "single", "data-lang": "en"}),
];
const document = {
  readyState: "complete", documentElement: {lang: "zh-CN"},
  currentScript: {src: base + "/embed.js?v=2"},
  querySelectorAll(sel) {
    if (sel !== "div[data-alliance-widget]") throw new Error(sel);
    return blocks;
  },
  createElement(tag) { return new El(tag); },
  addEventListener() { throw new Error("not loading"); },
};
const fetched = [];
const warned = [];
function spyFetch(url, opts) { fetched.push({url, opts}); return fetch(url, opts); }
(async () => {
  const code = await (await fetch(base + "/embed.js")).text();
  const window = {fetch: spyFetch, console: {warn: (text) => warned.push(text)}};
  const context = vm.createContext(
    {document, window, fetch: spyFetch, encodeURIComponent, parseInt, JSON});
  vm.runInContext(code, context);
  vm.runInContext(code, context);  // a second copy of the script fills nothing twice
  await new Promise(r => setTimeout(r, 1500));
  console.log(JSON.stringify({fetched, warned, blocks: blocks.map(b => ({
    attrs: b.attrs, shadow: b.shadow, innerHTML: b.innerHTML,
    children: b.children.map(c => (
      {tag: c.tag, attrs: c.attrs, src: c.src, title: c.title, style: c.style}))
  }))}));
})().catch(e => { console.error(e); process.exit(1); });
"""


@pytest.fixture
def client(sqlite_engine: Engine, agreement: Agreement):
    with TestClient(make_app(sqlite_engine, agreement), base_url="https://blocks.test") as c:
        yield c


def test_embed_js_is_small_javascript_with_its_own_origin_and_an_etag(client) -> None:
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert len(response.content) < EMBED_LIMIT
    assert ': "https://blocks.test";' in response.text  # when document.currentScript is unset
    assert response.headers["cache-control"].startswith("public, max-age=")
    assert response.headers["access-control-allow-origin"] == "*"
    etag = response.headers["etag"]
    again = client.get("/embed.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_embed_js_has_no_eval_no_inline_handlers_and_one_innerhtml_of_the_block(client) -> None:
    script = client.get("/embed.js").text
    for banned in (
        "eval(",
        "new Function",
        "Function(",
        "document.write",
        "setTimeout(",
        "import(",
    ):
        assert banned not in script, banned
    assert not re.search(r"""\bon[a-z]+\s*=|setAttribute\(\s*["']on""", script)
    assert "style.cssText" not in script and "<style" not in script
    # The only HTML inserted is the body of the server's block answer (status 200).
    assert re.findall(r"innerHTML\s*=\s*(\w+)", script) == ["html"]
    assert "if (response.status === 200) return response.text();" in script
    assert 'credentials: "omit"' in script
    assert re.findall(r"\.(?:outerHTML|insertAdjacentHTML)\b", script) == []


def test_a_hostile_host_header_cannot_break_out_of_the_script_string(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    hostile = 'x"</script><script>alert(1)</script>'
    with serving(make_app(sqlite_engine, agreement)) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(
                f"GET /embed.js HTTP/1.1\r\nHost: {hostile}\r\nConnection: close\r\n\r\n".encode()
            )
            answer = b"".join(iter(lambda: conn.recv(65536), b""))
    head, _, body = answer.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200")
    assert "</script>" not in body and "<script>" not in body
    base_line = next(line for line in body.splitlines() if "var BASE" in line)
    value = json.loads(base_line.rsplit(" : ", 1)[1].strip().rstrip(";"))
    # Starlette falls back to the server's address for an invalid Host; had it passed the
    # text on, |tojson would still have kept it inside the string.
    assert value in {base, f"http://{hostile}"}


def test_the_shipped_embed_template_only_passes_data_through_tojson() -> None:
    source = (SHIPPED_TEMPLATES / "embed.js").read_text(encoding="utf-8")
    outputs = re.findall(r"{{(.*?)}}", source)
    assert outputs and all(o.strip().endswith("|tojson") for o in outputs)


def test_on_a_page_the_script_fills_every_placeholder_from_the_real_server(
    sqlite_engine: Engine, agreement: Agreement, tmp_path: Path
) -> None:
    if shutil.which("node") is None:  # scripts/browser.sh installs it with make test
        pytest.fail("node is missing: this test runs embed.js in it; apt-get install -y nodejs")
    seed_partners(sqlite_engine)
    page = tmp_path / "page.js"
    page.write_text(NODE_PAGE, encoding="utf-8")
    with serving(make_app(sqlite_engine, agreement)) as base:
        run = subprocess.run(
            ["node", str(page), base], capture_output=True, text=True, timeout=20, check=False
        )
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        expected = httpx.get(f"{base}/w/li/product", params={"embed": "1", "lang": "zh-CN"})
        single = httpx.get(f"{base}/w/wang/article?embed=1&variant=single&lang=en")
    product, framed, unknown, wang = result["blocks"]
    assert product["shadow"] == {"mode": "open", "innerHTML": expected.text}
    assert "合作伙伴推荐" in expected.text  # the page's <html lang="zh-CN"> was passed on
    assert wang["shadow"]["innerHTML"] == single.text and "sa-block--single" in single.text
    (iframe,) = framed["children"]
    assert iframe["tag"] == "iframe" and framed["shadow"] is None
    assert iframe["src"] == f"{base}/w/li/cart?frame=1&variant=list&lang=zh-CN"
    sandbox = iframe["attrs"]["sandbox"].split()
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    assert "allow-top-navigation-by-user-activation" in sandbox
    assert iframe["style"]["height"] == f"{IFRAME_HEIGHTS['list']}px"
    assert iframe["title"] == "Recommended by our partners"
    assert iframe["attrs"]["loading"] == "lazy"
    assert unknown["shadow"] is None and unknown["children"] == []  # 404: left empty
    assert result["warned"] == [  # ... and why, once, in the console
        'Shop Alliance: the partner block (data-member="nobody", data-placement="cart") is not '
        "shown: no member 'nobody' in this alliance: check data-member in the snippet "
        "(`alliance widget --member ...` prints it)"
    ]
    # One fetch per HTML placeholder, none for the iframe one, none twice.
    assert sorted(f["url"].split("?")[0].removeprefix(base) for f in result["fetched"]) == [
        "/w/li/product", "/w/nobody/cart", "/w/wang/article",
    ]  # fmt: skip
    assert all(f["opts"] == {"credentials": "omit", "mode": "cors"} for f in result["fetched"])
