"""A real browser on a shop's page: the embedded partner block shows, stays inert, and its
links land on the partner's store with the UTM values, the click recorded. Under a strict CSP
(no inline styles) the block is styled in every mode, and its images come only from the
partners' own stores.

Headless Debian Chromium (``/usr/bin/chromium``, installed by ``scripts/browser.sh``) driven by
Playwright for Python through ``executable_path``; Playwright's own browser downloads are never
used. The alliance app runs on uvicorn, the partners' stores are sandbox stores, and the shop's
page comes from a tiny static server of its own, so the block is embedded across origins as
on a real shop.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine, select

from alliance.agreement import Agreement
from alliance.giftpacks import CouponState, PackStatus
from alliance.products import Product, StockStatus
from alliance.services.catalog import upsert_products
from alliance.storage.schema import clicks, ledger_entries
from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.connector.giftpack_support import gift_alliance
from tests.widgets.test_app import Server
from tests.widgets.test_redirect import test_settings
from widgets.app import create_app
from widgets.order_refs import order_ref
from widgets.snippet import SnippetMode, snippet

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT_COPY = Path("/tmp/alliance-browser-screenshot.png")

IMG_XSS = "<img src=x onerror=alert(1)>"
SCRIPT_XSS = '"><script>alert(1)</script>'
WASH = "Gentle baby wash 婴儿沐浴露"
SHOOT = "Newborn photo session at home"

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300" viewBox="0 0 300 300">'
    '<rect width="300" height="300" fill="{color}"/>'
    '<circle cx="150" cy="130" r="60" fill="#ffffff" opacity=".7"/>'
    '<text x="150" y="250" font-family="sans-serif" font-size="28" text-anchor="middle" '
    'fill="#1f2328">{label}</text></svg>'
)
IMAGES = {
    "/img/lotion.svg": SVG.format(color="#f6e3cd", label="lotion"),  # a host not the partner's
    "/favicon.ico": SVG.format(color="#6b8f71", label=""),  # no 404 noise in the console
}

SHOP_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src {app};
 connect-src {app}; img-src 'self' {stores}; style-src 'self' 'unsafe-inline' {app}">
<title>Thank you for your order - Li's Organic Baby Clothes</title>
<style>
  /* a theme with broad rules, as themes have: they must not leak into the block */
  body {{ margin: 0; font-family: Georgia, serif; background: #faf7f2; color: #3b3024; }}
  header {{ background: #6b8f71; color: #fff; padding: 16px 32px; font-size: 22px; }}
  main {{ max-width: 860px; margin: 0 auto; padding: 24px 32px; }}
  h2 {{ font-size: 40px; color: #b5477a; text-transform: uppercase; }}
  a {{ color: #d03030; text-decoration: underline wavy; }}
  li {{ list-style: square; }}
  img {{ border: 6px solid #b5477a; }}
</style>
</head>
<body>
<header>Li's Organic Baby Clothes</header>
<main>
<h1>Thank you! Your order #1042 is confirmed.</h1>
<p>We sent the receipt to your e-mail. While you wait, our friends have something for you:</p>
<div data-alliance-widget data-member="li" data-placement="thankyou"></div>
<script src="{app}/embed.js" async></script>
<p>Questions? <a href="/contact">Contact us</a>.</p>
</main>
</body>
</html>
"""

STRICT_THEME = """body { margin: 0; font-family: Georgia, serif; background: #faf7f2; }
h2 { font-size: 40px; color: #b5477a; text-transform: uppercase; }
a { color: #d03030; display: inline; border: 0; text-decoration: underline wavy; }
ul, li { display: block; list-style: square; }
iframe { border: 6px solid #b5477a; }
"""

STRICT_CSP = (
    "default-src 'self'; script-src 'self' {app}; connect-src 'self' {app}; "
    "style-src 'self' {app}; img-src 'self' {stores}; frame-src {app}; base-uri 'none'"
)
"""What the README tells a shop to allow: the alliance's origin for the script, its fetches,
its stylesheet and its frames, and the partners' stores for their product images."""

STRICT_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Checkout - a shop with a strict Content-Security-Policy</title>
<link rel="stylesheet" href="/theme.css">
</head>
<body>
<h1>Thank you!</h1>
<div id="script" data-alliance-widget data-member="li" data-placement="thankyou"></div>
<div id="framed" data-alliance-widget data-member="li" data-placement="cart"
 data-mode="iframe"></div>
<div id="pasted-frame">{iframe}</div>
<div id="pasted-html">{html}</div>
<script src="{app}/embed.js" async></script>
</body>
</html>
"""

STYLED = """(root) => {
  const link = root.querySelector(".sa-card__link");
  const list = root.querySelector(".sa-block__list");
  if (!link || !list) return null;
  const style = getComputedStyle(link);
  return {
    link: style.display,
    border: `${style.borderTopWidth} ${style.borderTopStyle} ${style.borderTopColor}`,
    radius: style.borderTopLeftRadius,
    list: getComputedStyle(list).display,
  };
}"""
"""What ``block.css`` sets on a card and on the list, read from inside ``root``."""

STYLED_AS_SHIPPED = {
    "link": "flex",
    "border": "1px solid rgb(208, 215, 222)",
    "radius": "8px",
    "list": "grid",
}

VIOLATIONS = """window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.effectiveDirective} ${e.blockedURI}`);
});"""


class ShopHandler(BaseHTTPRequestHandler):
    """Serves the shop's files (``server.files``: path -> (content type, bytes)); 404 else.
    Every path asked for is noted in ``server.requested``; ``server.headers`` go on every page.
    """

    server: ShopServer

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.requested.append(path)
        found = self.server.files.get(path)
        if found is None:
            self.send_error(404)
            return
        kind, body = found
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if kind.startswith("text/html"):
            for name, value in self.server.headers.items():
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class ShopServer(ThreadingHTTPServer):
    daemon_threads = True
    files: dict[str, tuple[str, bytes]]
    headers: dict[str, str]
    requested: list[str]


@contextmanager
def shop_server() -> Iterator[ShopServer]:
    """A static HTTP server on 127.0.0.1 (any free port), files to be set by the caller."""
    server = ShopServer(("127.0.0.1", 0), ShopHandler)
    server.files = {}
    server.headers = {}
    server.requested = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def sandbox_product(
    store: SandboxHandle, member: str, product_id: str, name: str, slug: str, image: str
) -> Product:
    return Product(
        member=member,
        product_id=product_id,
        name=name,
        permalink=f"{store.url}/product/{slug}/",
        price=Decimal("89.00"),
        regular_price=Decimal("99.00") if product_id == "205" else Decimal("89.00"),
        on_sale=product_id == "205",
        image_url=image,
        image_alt=name,
        stock_status=StockStatus.IN_STOCK,
        categories=(),
        category_names=(),
        status="publish",
        modified_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


def stocked(store: SandboxHandle, product_id: str, name: str, slug: str) -> str:
    """Put the product in the partner's sandbox store; the URL its store serves its image at."""
    (doc,) = store.state.add_products([{"id": int(product_id), "name": name, "slug": slug}])
    return doc["images"][0]["src"]


def with_stores(agreement: Agreement, urls: Mapping[str, str]) -> Agreement:
    """The agreement with members' stores moved to ``urls`` and links on the app's own origin."""
    members = dict(agreement.members)
    for member, url in urls.items():
        members[member] = dataclasses.replace(members[member], url=url)
    settings = dataclasses.replace(agreement.settings, links_base_url=None)
    return dataclasses.replace(agreement, members=members, settings=settings)


def require_browser() -> None:
    """Fail (never skip) with how to install what is missing: Chromium, or Playwright."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test needs Debian's Chromium. Install it with "
            "`sudo apt-get install -y chromium` (or run `bash scripts/browser.sh` as root)."
        )
    if importlib.util.find_spec("playwright") is None:
        pytest.fail(
            "Playwright for Python is missing: `.venv/bin/pip install 'playwright>=1.45'` "
            "(no `playwright install`: the test drives /usr/bin/chromium)."
        )


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def test_a_shop_page_shows_the_partner_block_and_a_click_lands_at_the_partner(
    sqlite_engine: Engine, agreement: Agreement, tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    with (
        start_sandbox() as wang,
        start_sandbox() as zhao,
        shop_server() as shop,
    ):
        shop_url = f"http://127.0.0.1:{shop.server_address[1]}"
        wash_image = stocked(wang, "205", WASH, "baby-wash")
        shoot_image = stocked(zhao, "301", SHOOT, "newborn")
        with sqlite_engine.begin() as conn:
            upsert_products(
                conn,
                [
                    sandbox_product(wang, "wang", "205", WASH, "baby-wash", wash_image),
                    # an image on another host (the shop's own, here) is never fetched
                    sandbox_product(
                        wang, "wang", "206", IMG_XSS, "img-xss", f"{shop_url}/img/lotion.svg"
                    ),
                    sandbox_product(zhao, "zhao", "301", SHOOT, "newborn", shoot_image),
                    sandbox_product(zhao, "zhao", "302", SCRIPT_XSS, "script-xss", ""),
                ],
            )
        moved = with_stores(agreement, {"wang": wang.url, "zhao": zhao.url})
        app = create_app(test_settings(), agreement=moved, engine=sqlite_engine)
        with Server(app) as app_url, sync_playwright() as playwright:
            shop.files = {
                "/thanks": (
                    "text/html; charset=utf-8",
                    SHOP_PAGE.format(app=app_url, stores=f"{wang.url} {zhao.url}").encode(),
                ),
                **{path: ("image/svg+xml", svg.encode()) for path, svg in IMAGES.items()},
            }
            browser = launch_chromium(playwright)
            try:
                headless_agent = browser.new_page().evaluate("navigator.userAgent")
                # A shopper's browser: the "HeadlessChrome" marker is rightly classed as a bot.
                context = browser.new_context(
                    viewport={"width": 960, "height": 900},
                    user_agent=headless_agent.replace("HeadlessChrome", "Chrome"),
                )
                page = context.new_page()
                dialogs: list[str] = []
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                problems: list[str] = []
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.on(
                    "console",
                    lambda m: problems.append(m.text) if m.type == "error" else None,
                )
                page.on(
                    "response",
                    lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
                )

                page.goto(f"{shop_url}/thanks", wait_until="networkidle")
                cards = page.locator("[data-alliance-widget] .sa-card__link")
                cards.first.wait_for(state="visible", timeout=5000)
                page.wait_for_load_state("networkidle")

                assert cards.count() >= 3
                names = page.locator("[data-alliance-widget] .sa-card__name").all_inner_texts()
                assert set(names) == {WASH, IMG_XSS, SHOOT, SCRIPT_XSS}
                for name in (WASH, SHOOT, IMG_XSS, SCRIPT_XSS):
                    assert page.get_by_text(name, exact=True).is_visible(), name
                shadow = page.evaluate(
                    """() => {
                      const root = document.querySelector("[data-alliance-widget]").shadowRoot;
                      return {
                        scripts: root.querySelectorAll("script").length,
                        images: [...root.querySelectorAll("img")].map(i => i.getAttribute("src")),
                        loaded: [...root.querySelectorAll("img")].every(i => i.naturalWidth > 0),
                        placeholders: root.querySelectorAll(".sa-card__image--none").length,
                        titleSize: getComputedStyle(root.querySelector("h2")).fontSize,
                      };
                    }"""
                )
                assert shadow["scripts"] == 0
                assert sorted(urlsplit(src).netloc for src in shadow["images"]) == sorted(
                    urlsplit(store.url).netloc for store in (wang, zhao)
                )  # the partners' own images; the one on another host is a placeholder
                assert shadow["placeholders"] == 2
                assert shadow["loaded"], "the product images did not load"
                assert "/img/lotion.svg" not in shop.requested
                assert shadow["titleSize"] != "40px", "the shop theme leaked into the block"
                page.wait_for_timeout(300)  # a late onerror would have fired by now
                assert dialogs == [], f"a product name ran as script: {dialogs}"
                assert problems == [], problems

                screenshot = tmp_path / "alliance-browser.png"
                page.screenshot(path=str(screenshot), full_page=True)
                shutil.copyfile(screenshot, SCREENSHOT_COPY)
                print(f"screenshot: {screenshot} (copy: {SCREENSHOT_COPY})")

                page.locator("[data-alliance-widget] .sa-card__link", has_text=SHOOT).click()
                page.wait_for_url(f"{zhao.url}/**", timeout=5000)
                landed = urlsplit(page.url)

                page.evaluate("setTimeout(() => alert('control'))")
                page.wait_for_timeout(200)
                assert dialogs == ["control"], "the dialog detector itself does not work"
            finally:
                browser.close()

    assert f"{landed.scheme}://{landed.netloc}" == zhao.url
    assert landed.path == "/product/newborn/"
    utm = parse_qs(landed.query)
    assert {k: v for k, v in utm.items() if k != "utm_content"} == {
        "utm_source": ["alliance"],
        "utm_medium": ["thankyou"],
        "utm_campaign": ["li-zhao"],
    }
    with sqlite_engine.connect() as conn:
        (click,) = conn.execute(select(clicks)).mappings()
        booked = list(conn.execute(select(ledger_entries)).mappings())
    assert utm["utm_content"] == [click["id"]]
    assert (click["source_member"], click["target_member"], click["product_id"]) == (
        "li",
        "zhao",
        "301",
    )
    assert (click["placement"], click["deal_id"], click["agent_class"]) == (
        "thankyou",
        "li-zhao",
        "browser",
    )
    assert click["valid"], click["invalid_reason"]
    assert [(e["deal_id"], e["payer"], e["payee"]) for e in booked] == [("li-zhao", "zhao", "li")]


def test_under_a_strict_csp_the_block_is_styled_in_every_mode_with_no_violation(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    """No ``'unsafe-inline'`` anywhere: the script's shadow root, its iframe, a pasted iframe
    snippet and pasted server-side HTML all take their styles from the app's stylesheet."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with start_sandbox() as wang, start_sandbox() as zhao, shop_server() as shop:
        shop_url = f"http://127.0.0.1:{shop.server_address[1]}"
        products = [
            sandbox_product(store, member, pid, name, slug, stocked(store, pid, name, slug))
            for store, member, pid, name, slug in (
                (wang, "wang", "205", WASH, "baby-wash"),
                (wang, "wang", "206", "Calendula lotion", "lotion"),
                (zhao, "zhao", "301", SHOOT, "newborn"),
                (zhao, "zhao", "302", "Family album", "album"),
            )
        ]
        with sqlite_engine.begin() as conn:
            upsert_products(conn, products)
        moved = with_stores(agreement, {"wang": wang.url, "zhao": zhao.url})
        app = create_app(test_settings(), agreement=moved, engine=sqlite_engine)
        with Server(app) as app_url, sync_playwright() as playwright:
            pasted = httpx.get(f"{app_url}/w/li/article", params={"variant": "list"}, timeout=5)
            assert pasted.status_code == 200
            page_html = STRICT_PAGE.format(
                app=app_url,
                iframe=snippet(app_url, "li", "product", variant="single", mode=SnippetMode.IFRAME),
                html=pasted.text,
            )
            shop.files = {
                "/checkout": ("text/html; charset=utf-8", page_html.encode()),
                "/theme.css": ("text/css; charset=utf-8", STRICT_THEME.encode()),
                "/favicon.ico": ("image/svg+xml", IMAGES["/favicon.ico"].encode()),
            }
            shop.headers = {
                "Content-Security-Policy": STRICT_CSP.format(
                    app=app_url, stores=f"{wang.url} {zhao.url}"
                )
            }
            browser = launch_chromium(playwright)
            try:
                context = browser.new_context(viewport={"width": 960, "height": 2400})
                context.add_init_script(VIOLATIONS)
                page = context.new_page()
                problems: list[str] = []
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.on(
                    "console",
                    lambda m: problems.append(m.text) if m.type in {"error", "warning"} else None,
                )
                page.on(
                    "response",
                    lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
                )
                page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))

                page.goto(f"{shop_url}/checkout", wait_until="networkidle")
                page.locator("#script .sa-card__link").first.wait_for(timeout=5000)
                frames = [f for f in page.frames if f.url.startswith(f"{app_url}/w/li/")]
                assert len(frames) == 2, [f.url for f in page.frames]
                for frame in frames:
                    frame.locator(".sa-card__link").first.wait_for(timeout=5000)
                page.wait_for_load_state("networkidle")

                styles = {
                    "script": page.evaluate(
                        f"({STYLED})(document.querySelector('#script').shadowRoot)"
                    ),
                    "pasted html": page.evaluate(
                        f"({STYLED})(document.querySelector('#pasted-html'))"
                    ),
                    **{
                        frame.url.removeprefix(app_url): frame.evaluate(f"({STYLED})(document)")
                        for frame in frames
                    },
                }
                images = page.evaluate(
                    """() => [document, document.querySelector('#script').shadowRoot]
                      .flatMap(root => [...root.querySelectorAll('img')])
                      .map(img => img.naturalWidth)"""
                )
                violations = page.evaluate("window.__violations")
                shown = page.evaluate(
                    "getComputedStyle(document.querySelector('#script')).visibility"
                )
            finally:
                browser.close()

    assert styles == dict.fromkeys(styles, STYLED_AS_SHIPPED), styles
    assert shown == "visible"  # embed.js hid the block only until its stylesheet applied
    assert len(styles) == 4
    assert images and all(width > 0 for width in images), images
    assert violations == [], violations
    assert problems == [], problems


THANK_YOU_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Order received - Li's Organic Baby Clothes</title>
<link rel="stylesheet" href="/theme.css">
</head>
<body>
<h1>Thank you! Your order is confirmed.</h1>
<div id="script" data-alliance-widget data-member="li" data-placement="thankyou"
 data-order="{ref}"></div>
<div id="framed" data-alliance-widget data-member="li" data-placement="thankyou"
 data-order="{ref}" data-mode="iframe" data-height="1100"></div>
<script src="{app}/embed.js" async></script>
</body>
</html>
"""
"""What the WordPress plugin will print on the order-received page: the block with the order's
signed reference (no personal data), once through the script and once in its iframe."""

GIFTS = """(root) => [...root.querySelectorAll(".sa-gift")].map((li) => ({
  shop: li.querySelector(".sa-gift__shop").textContent,
  code: li.querySelector("code") ? li.querySelector("code").textContent : "",
  link: li.querySelector("a") ? li.querySelector("a").href : "",
  border: getComputedStyle(li.closest(".sa-gifts")).borderTopStyle,
}))"""


def test_a_thank_you_page_with_the_orders_reference_shows_its_gift_pack(
    agreement: Agreement, tmp_path: Path
) -> None:
    """Li's order 1001 earned the newborn gift pack: issued for real in the partners' sandbox
    stores, then shown on Li's thank-you page (strict CSP) by the script and in the iframe; a
    gift's link lands on the partner's store as a tracked gift-pack click."""
    require_browser()
    from playwright.sync_api import sync_playwright

    hook = "li-webhook-secret-for-the-browser"
    with gift_alliance(tmp_path) as alliance, shop_server() as shop:
        report = alliance.issue()
        assert not report.needs_attention, report.problems
        pack = alliance.pack(1001)
        assert pack.status is PackStatus.ISSUED
        codes = {c.member: c.plan.code for c in pack.coupons}
        assert all(c.state is CouponState.CREATED for c in pack.coupons)
        for member, code in codes.items():
            assert code.lower() in alliance.coupons(member)  # really in the partner's store
        wang, zhao = alliance.stores["wang"], alliance.stores["zhao"]
        with alliance.engine.begin() as conn:
            upsert_products(
                conn,
                [
                    sandbox_product(store, member, pid, name, slug, stocked(store, pid, name, slug))
                    for store, member, pid, name, slug in (
                        (wang, "wang", "205", WASH, "baby-wash"),
                        (wang, "wang", "206", "Calendula lotion", "lotion"),
                        (zhao, "zhao", "301", SHOOT, "newborn"),
                    )
                ],
            )
        served = dataclasses.replace(
            alliance.agreement,
            settings=dataclasses.replace(alliance.agreement.settings, links_base_url=None),
        )
        stores = " ".join(handle.url for handle in alliance.stores.values())
        app = create_app(
            test_settings(),
            agreement=served,
            engine=alliance.engine,
            environ={"LI_WC_WEBHOOK_SECRET": hook},
        )
        with Server(app) as app_url, sync_playwright() as playwright:
            ref = order_ref(hook, "li", "1001")
            shop.files = {
                "/checkout/order-received/1001/": (
                    "text/html; charset=utf-8",
                    THANK_YOU_PAGE.format(app=app_url, ref=ref).encode(),
                ),
                "/theme.css": ("text/css; charset=utf-8", STRICT_THEME.encode()),
                "/favicon.ico": ("image/svg+xml", IMAGES["/favicon.ico"].encode()),
            }
            shop.headers = {
                "Content-Security-Policy": STRICT_CSP.format(app=app_url, stores=stores)
            }
            shop_url = f"http://127.0.0.1:{shop.server_address[1]}"
            browser = launch_chromium(playwright)
            try:
                agent = browser.new_page().evaluate("navigator.userAgent")
                context = browser.new_context(
                    viewport={"width": 960, "height": 2600},
                    user_agent=agent.replace("HeadlessChrome", "Chrome"),
                )
                context.add_init_script(VIOLATIONS)
                page = context.new_page()
                problems: list[str] = []
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.on(
                    "console",
                    lambda m: problems.append(m.text) if m.type in {"error", "warning"} else None,
                )
                page.on(
                    "response",
                    lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
                )
                page.goto(f"{shop_url}/checkout/order-received/1001/", wait_until="networkidle")
                page.locator("#script .sa-gift").first.wait_for(timeout=5000)
                (frame,) = [f for f in page.frames if f.url.startswith(f"{app_url}/w/li/")]
                frame.locator(".sa-gift").first.wait_for(timeout=5000)
                page.wait_for_load_state("networkidle")
                in_script = page.evaluate(
                    f"({GIFTS})(document.querySelector('#script').shadowRoot)"
                )
                in_frame = frame.evaluate(f"({GIFTS})(document)")
                title = page.locator("#script .sa-gifts h2").inner_text()
                cards = page.locator("#script .sa-card__link").count()
                violations = page.evaluate("window.__violations")
                screenshot = tmp_path / "alliance-gift-pack.png"
                page.screenshot(path=str(screenshot), full_page=True)
                shutil.copyfile(screenshot, Path("/tmp/alliance-gift-pack-screenshot.png"))
                seen = list(problems)  # the sandbox store's own pages are not under test

                page.locator("#script .sa-gift__link", has_text="Zhao").click()
                page.wait_for_url(f"{zhao.url}/**", timeout=5000)
                landed = urlsplit(page.url)
            finally:
                browser.close()

        with alliance.engine.connect() as conn:
            (click,) = conn.execute(select(clicks)).mappings()

    assert frame.url == f"{app_url}/w/li/thankyou?frame=1&order={ref}&lang=en"
    assert title == "Your gift pack" and cards == 3  # the partner cards below the pack
    names = {m: alliance.agreement.members[m].name for m in codes}
    expected = [{"shop": names[m], "code": codes[m]} for m in ("wang", "zhang", "zhao")]
    for shown in (in_script, in_frame):
        assert [{"shop": g["shop"], "code": g["code"]} for g in shown] == expected
        assert all(g["link"].startswith(f"{app_url}/r/") for g in shown)
        assert {g["border"] for g in shown} == {"solid"}  # styled by block.css
    assert f"{landed.scheme}://{landed.netloc}" == zhao.url and landed.path == "/"
    utm = parse_qs(landed.query)
    assert (utm["utm_medium"], utm["utm_campaign"]) == (["giftpack"], ["newborn-gift-pack"])
    assert utm["utm_content"] == [click["id"]]
    assert (click["source_member"], click["target_member"], click["placement"]) == (
        "li",
        "zhao",
        "giftpack",
    )
    assert click["deal_id"] == "newborn-gift-pack" and click["valid"], click["invalid_reason"]
    assert violations == [], violations
    assert seen == [], seen
