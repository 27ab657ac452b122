"""The plugin inside a real WordPress (Debian's package, MariaDB, PHP's built-in server),
against the alliance app on uvicorn: activated and set up through wp-admin with its nonce,
the shortcode and the block print the app's HTML exactly as the app escaped it, and with the
app stopped the page still renders, without the block, and admin says why.

WooCommerce is not packaged for Debian: its hooks are checked by name (``probe.php``)."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.services.catalog import upsert_products
from connector.sandbox.server import start_sandbox
from tests.connector.connect_support import KEYS_SECRET
from tests.e2e.test_browser import (
    IMG_XSS,
    SCRIPT_XSS,
    SHOOT,
    WASH,
    launch_chromium,
    require_browser,
    sandbox_product,
    stocked,
    with_stores,
)
from tests.plugin.wordpress_site import WordPressSite, build_zip, wordpress_site
from tests.widgets.test_app import Server
from tests.widgets.test_redirect import test_settings
from widgets.app import create_app
from widgets.order_refs import order_ref

pytestmark = pytest.mark.slow

TYPOGRAPHY = 'Mum\'s -- "cosy" blanket... 1x2'
"""A name WordPress's wptexturize would curl and dash if the block went through it."""

ORDER_SECRET = "li-order-secret"
"""Shared by the plugin's settings and the app (Li's webhook secret): signs order references."""

FROZEN = 1_796_000_000.0
"""The app's clock: one rotation slot, so the app and the plugin see the same block."""

WOOCOMMERCE_HOOKS = (
    "woocommerce_after_single_product_summary",
    "woocommerce_after_cart",
    "woocommerce_thankyou",
    "before_woocommerce_init",
)


@dataclass
class App:
    url: str
    server: Server

    def block(self, placement: str = "article") -> str:
        answer = requests.get(f"{self.url}/w/li/{placement}?lang=en", timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.text

    def stop(self) -> None:
        self.server.__exit__(None, None, None)


@contextmanager
def alliance_app(engine: Engine, agreement: Agreement, li_url: str | None = None) -> Iterator[App]:
    """The app on uvicorn with Li's partners' products, hostile names among them (and Li's
    store at ``li_url``, the WordPress site, when given)."""
    with start_sandbox() as wang, start_sandbox() as zhao:
        wash = stocked(wang, "205", WASH, "baby-wash")
        shoot = stocked(zhao, "301", SHOOT, "newborn")
        with engine.begin() as conn:
            upsert_products(
                conn,
                [
                    sandbox_product(wang, "wang", "205", WASH, "baby-wash", wash),
                    sandbox_product(wang, "wang", "206", IMG_XSS, "img-xss", ""),
                    sandbox_product(zhao, "zhao", "301", SHOOT, "newborn", shoot),
                    sandbox_product(zhao, "zhao", "302", SCRIPT_XSS, "script-xss", ""),
                    sandbox_product(zhao, "zhao", "303", TYPOGRAPHY, "blanket", ""),
                ],
            )
        stores = {"wang": wang.url, "zhao": zhao.url} | ({"li": li_url} if li_url else {})
        moved = with_stores(agreement, stores)
        settings = dataclasses.replace(test_settings(), keys_secret=KEYS_SECRET)
        secrets = {"LI_WC_WEBHOOK_SECRET": ORDER_SECRET}  # what signs thank-you references
        app = create_app(settings, agreement=moved, engine=engine, environ=secrets)
        app.state.clock = lambda: FROZEN
        server = Server(app)
        url = server.__enter__()
        try:
            yield App(url, server)
        finally:
            if server.thread.is_alive():
                server.__exit__(None, None, None)


def activate(site: WordPressSite) -> None:
    """Plugins > Activate, through its nonce link, as an administrator does."""
    page = site.get("/wp-admin/plugins.php").text
    found = re.search(
        r'href="(plugins\.php\?action=activate&amp;plugin=shop-alliance%2Fshop-alliance\.php[^"]*)"',
        page,
    )
    assert found, "no Activate link for the plugin"
    answer = site.get("/wp-admin/" + html.unescape(found.group(1)), allow_redirects=False)
    assert answer.status_code == 302


def settings_form(site: WordPressSite) -> dict[str, str]:
    page = site.get("/wp-admin/options-general.php?page=shop-alliance")
    assert page.status_code == 200
    fields = dict(re.findall(r'name="(_wpnonce|_wp_http_referer)" value="([^"]*)"', page.text))
    assert fields.get("_wpnonce"), "no nonce in the settings form"
    return {"option_page": "shop_alliance", "action": "update", **fields}


def save_settings(
    site: WordPressSite,
    form: dict[str, str],
    app_url: str,
    placements: tuple[str, ...] = ("product", "cart", "article"),
) -> requests.Response:
    data = [
        *form.items(),
        ("shop_alliance_settings[app_url]", app_url),
        ("shop_alliance_settings[member]", "li"),
        *[("shop_alliance_settings[placements][]", p) for p in placements],
        ("shop_alliance_settings[order_secret]", ORDER_SECRET),
    ]
    return site.post("/wp-admin/options.php", data, allow_redirects=False)


def set_up(site: WordPressSite, app_url: str) -> None:
    site.log_in()
    activate(site)
    answer = save_settings(site, settings_form(site), app_url)
    assert answer.status_code == 302
    assert "settings-updated=true" in answer.headers["Location"]


def connect_link(site: WordPressSite) -> str:
    """The settings page's "Connect to the alliance" button."""
    page = site.get("/wp-admin/options-general.php?page=shop-alliance").text
    found = re.search(r'id="shop-alliance-connect" href="([^"]+)"', page)
    assert found, "no Connect button"
    return html.unescape(found.group(1))


def anonymous(site: WordPressSite, page: str) -> tuple[requests.Response, float]:
    started = time.perf_counter()
    answer = requests.get(site.page_url(page), timeout=30)
    return answer, time.perf_counter() - started


def test_activated_and_set_up_with_a_nonce_it_registers_its_hooks(
    sqlite_engine: Engine, agreement: Agreement, tmp_path: Path
) -> None:
    with wordpress_site(tmp_path) as site:
        assert site.probe()["active"] is False
        site.log_in()
        activate(site)
        form = settings_form(site)

        forged = save_settings(site, {**form, "_wpnonce": "0123456789"}, "http://127.0.0.1:9")
        assert forged.status_code == 403  # "The link you followed has expired."
        assert not (site.probe()["settings"] or {}).get("app_url")  # nothing was saved

        saved = save_settings(site, form, "http://127.0.0.1:8000/")
        assert saved.status_code == 302

        found = site.probe()
    assert found["active"] is True
    assert found["settings"] == {
        "app_url": "http://127.0.0.1:8000",
        "member": "li",
        "placements": ["product", "cart", "article"],
        "order_secret": "li-order-secret",
    }
    assert found["hooks"] == {hook: True for hook in WOOCOMMERCE_HOOKS}
    assert found["shortcode"] is True
    assert found["block"] is True
    assert found["wp_version"].startswith("6.")


def test_shortcode_and_block_print_the_apps_html_and_nothing_when_it_is_down(
    sqlite_engine: Engine, agreement: Agreement, tmp_path: Path
) -> None:
    with wordpress_site(tmp_path) as site, alliance_app(sqlite_engine, agreement, site.url) as app:
        set_up(site, app.url)
        from_app = app.block("article")
        connect = connect_link(site)
        sent_on = requests.get(connect, allow_redirects=False, timeout=10)

        shortcode, _ = anonymous(site, "shortcode")
        block, _ = anonymous(site, "block")
        plain, _ = anonymous(site, "plain")

        for page in (shortcode, block):
            assert page.status_code == 200
            assert from_app in page.text  # byte for byte: not escaped again, not unescaped
        assert 'class="shop-alliance-block"' not in plain.text
        assert html.escape(IMG_XSS, quote=False) in shortcode.text
        assert IMG_XSS not in shortcode.text and SCRIPT_XSS not in shortcode.text
        assert shortcode.text.count('class="sa-card__link"') >= 3

        app.stop()
        site.forget_cached_blocks()
        down, seconds = anonymous(site, "shortcode")
        notice = site.get("/wp-admin/index.php").text
        log = site.debug_log()

    settings_page = f"{site.url}/wp-admin/options-general.php?page=shop-alliance"
    assert connect.startswith(f"{app.url}/connect/li?return_url=")
    assert sent_on.status_code == 302
    authorize = urlsplit(sent_on.headers["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == site.url  # Li's own store
    assert authorize.path == "/wc-auth/v1/authorize"
    asked = parse_qs(authorize.query)
    assert asked["scope"] == ["read_write"]
    assert asked["return_url"] == [settings_page]
    assert asked["callback_url"] == [f"{app.url}/connect/callback"]
    assert down.status_code == 200
    assert "Thanks for reading." in down.text and "End of article." in down.text
    assert 'class="shop-alliance-block"' not in down.text
    assert seconds < 5
    assert "partner products are not shown since" in notice
    assert "shop-alliance" not in log, log


def test_a_browser_sees_the_partner_cards_on_the_wordpress_page(
    sqlite_engine: Engine, agreement: Agreement, tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    with (
        alliance_app(sqlite_engine, agreement) as app,
        wordpress_site(tmp_path) as site,
        sync_playwright() as playwright,
    ):
        set_up(site, app.url)
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(site.page_url("block"), wait_until="load")
            cards = page.locator(".shop-alliance-block .sa-card__link")
            cards.first.wait_for(state="visible", timeout=5000)
            names = page.locator(".shop-alliance-block .sa-card__name").all_inner_texts()
            hostile = [name for name in names if name in (IMG_XSS, SCRIPT_XSS)]
            for name in hostile:
                assert page.get_by_text(name, exact=True).is_visible(), name
            scripts = page.locator(".shop-alliance-block script").count()
            page.wait_for_timeout(300)  # a late onerror would have fired by now
        finally:
            browser.close()

    assert len(names) >= 3
    assert set(names) <= {IMG_XSS, SCRIPT_XSS, WASH, SHOOT, TYPOGRAPHY}
    assert hostile, "no hostile name among the cards: the test would prove nothing"
    assert scripts == 0
    assert dialogs == []


def test_woocommerce_hooks_print_the_block_and_the_thank_you_page_signs_the_order(
    sqlite_engine: Engine, agreement: Agreement, tmp_path: Path
) -> None:
    with alliance_app(sqlite_engine, agreement) as app, wordpress_site(tmp_path) as site:
        set_up(site, app.url)  # placements: product, cart, article
        first = site.fire_woocommerce_hooks(1042)
        answer = save_settings(
            site, settings_form(site), app.url, ("product", "cart", "thankyou", "article")
        )
        assert answer.status_code == 302
        second = site.fire_woocommerce_hooks(1042)
        ref = order_ref(ORDER_SECRET, "li", "1042")
        signed = requests.get(f"{app.url}/w/li/thankyou?lang=en&order={ref}", timeout=10)
        cached = set(site.sql("SELECT option_name FROM wp_options").split())

    product, cart, thankyou = WOOCOMMERCE_HOOKS[:3]
    assert first[product].startswith('<div class="shop-alliance-block"')
    assert 'data-placement="product"' in first[product]
    assert 'data-placement="cart"' in first[cart]
    assert first[thankyou] == ""  # turned off in the settings
    assert 'data-placement="thankyou"' in second[thankyou]
    assert signed.headers["Cache-Control"] == "private, no-store"  # the app took the signature
    signed_url = f"{app.url}/w/li/thankyou?lang=en&order={ref}"
    product_url = f"{app.url}/w/li/product?lang=en"
    assert f"_transient_{cache_key(product_url)}" in cached
    assert f"_transient_{cache_key(signed_url)}" not in cached  # one order's block: never kept


def cache_key(url: str) -> str:
    """``shop_alliance_cache_key()`` of the plugin."""
    return "shop_alliance_" + hashlib.sha256(url.encode()).hexdigest()[:32]


def test_the_zip_installs_through_plugins_add_new_upload(tmp_path: Path) -> None:
    zip_path = build_zip(tmp_path / "shop-alliance.zip")
    with wordpress_site(tmp_path, with_plugin=False) as site:
        site.log_in()
        form = site.get("/wp-admin/plugin-install.php?tab=upload").text
        nonce = re.search(r'id="_wpnonce" name="_wpnonce" value="([^"]+)"', form)
        assert nonce, "no nonce in the upload form"
        with zip_path.open("rb") as upload:
            answer = site.session.post(
                f"{site.url}/wp-admin/update.php?action=upload-plugin",
                data={"_wpnonce": nonce.group(1), "install-plugin-submit": "Install Now"},
                files={"pluginzip": ("shop-alliance.zip", upload, "application/zip")},
                timeout=60,
            )
        installed = (site.root / "wp-content/plugins/shop-alliance/shop-alliance.php").is_file()
        activate(site)
        active = site.probe()["active"]

    assert answer.status_code == 200
    assert "Plugin installed successfully" in answer.text, answer.text[-2000:]
    assert installed
    assert active is True
