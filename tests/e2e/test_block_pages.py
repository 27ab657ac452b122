"""The partner block on real pages in headless Chromium: readable on a light and a dark theme
(WCAG contrast of the title and the disclosure, from computed colours), and a mistyped
snippet that says why in the console instead of showing nothing silently.

Started as ``tests/e2e/test_browser.py`` starts it (Debian's Chromium through Playwright); the
app runs on uvicorn and the shop's pages come from a static server on another origin.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.storage.impressions import cards_shown
from tests.e2e.test_browser import launch_chromium, require_browser, shop_server
from tests.widgets.test_app import Server
from tests.widgets.test_blocks import product, seed
from tests.widgets.test_redirect import test_settings
from widgets.app import create_app, flush_impressions

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

WCAG_AA = 4.5
"""The contrast ratio WCAG 2 asks of body text (level AA)."""

THEMES = {
    "light": ("#faf7f2", "#3b3024"),
    "dark": ("#121212", "#e6e6e6"),
}
"""A shop's page background and text colour."""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>A shop</title>
<style>body {{ margin: 0; padding: 24px; background: {background}; color: {text};
 font-family: Georgia, serif; }}</style></head>
<body>
<h1>Thank you!</h1>
{placeholders}
<script src="{app}/embed.js" async></script>
</body>
</html>
"""

CONTRAST = """(element) => {
  // WCAG 2 relative luminance and contrast ratio, from computed colours; the background is
  // the first opaque one up the tree, across the shadow root to the page (or the frame's
  // page, passed in when the element is in a frame with a transparent background).
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const parent = (node) => node.parentElement || (node.getRootNode().host || null);
  let node = element, background = null;
  while (node && !background) {
    const value = rgb(getComputedStyle(node).backgroundColor);
    if (value.length < 4 || value[3] > 0) background = value.slice(0, 3);
    node = parent(node);
  }
  const color = rgb(getComputedStyle(element).color);
  return {color: color.slice(0, 3), background, opacity: getComputedStyle(element).opacity};
}"""


def ratio(color: list[float], background: list[float]) -> float:
    def luminance(rgb: list[float]) -> float:
        def lin(c: float) -> float:
            c /= 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (lin(c) for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(color), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def hex_rgb(value: str) -> list[float]:
    return [int(value[i : i + 2], 16) for i in (1, 3, 5)]


@pytest.fixture
def local(sqlite_engine: Engine, agreement: Agreement) -> Agreement:
    """Partners with products (no images: nothing to fetch from made-up hosts) and blocks that
    link the app's own stylesheet (no ``links_base_url``)."""
    seed(
        sqlite_engine,
        *(
            dataclasses.replace(
                product(member, 100 * k + n, name=f"{member} item {n}"), image_url=""
            )
            for k, member in enumerate(("wang", "zhao"), start=2)
            for n in range(4)
        ),
    )
    settings = dataclasses.replace(agreement.settings, links_base_url=None)
    return dataclasses.replace(agreement, settings=settings)


@contextmanager
def shop_page(engine: Engine, agreement: Agreement, theme: str, placeholders: str) -> Iterator[Any]:
    """``(page, warnings, app_url, app)``: Chromium on a shop page of ``theme`` with
    ``placeholders``, as a shopper's browser (the "HeadlessChrome" marker is rightly a bot)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    background, text = THEMES[theme]
    app = create_app(test_settings(), agreement=agreement, engine=engine)
    with shop_server() as shop, Server(app) as app_url, sync_playwright() as playwright:
        html = PAGE.format(app=app_url, background=background, text=text, placeholders=placeholders)
        shop.files = {"/page": ("text/html; charset=utf-8", html.encode())}
        browser = launch_chromium(playwright)
        try:
            headless_agent = browser.new_page().evaluate("navigator.userAgent")
            context = browser.new_context(
                color_scheme="dark" if theme == "dark" else "light",
                viewport={"width": 900, "height": 1200},
                user_agent=headless_agent.replace("HeadlessChrome", "Chrome"),
            )
            page = context.new_page()
            warnings: list[str] = []
            page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
            page.goto(f"http://127.0.0.1:{shop.server_address[1]}/page", wait_until="networkidle")
            yield page, warnings, app_url, app
        finally:
            browser.close()


def _contrast_of(page: Page, selector: str) -> dict[str, Any]:
    handle = page.locator(f"[data-alliance-widget] {selector}").first
    handle.wait_for(state="visible", timeout=5000)
    return handle.evaluate(CONTRAST)


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_title_and_disclosure_read_on_a_light_and_a_dark_page(
    sqlite_engine: Engine, local: Agreement, theme: str
) -> None:
    placeholder = '<div data-alliance-widget data-member="li" data-placement="product"></div>'
    with shop_page(sqlite_engine, local, theme, placeholder) as (page, warnings, _, app):
        found = {
            name: _contrast_of(page, selector)
            for name, selector in (
                ("title", ".sa-block__title"),
                ("disclosure", ".sa-block__disclosure"),
            )
        }
        card = _contrast_of(page, ".sa-card__name")
        shown = page.evaluate(
            "document.querySelector('[data-alliance-widget]').shadowRoot"
            ".querySelectorAll('.sa-card').length"
        )
        flush_impressions(app)
    with sqlite_engine.connect() as conn:
        counted = sum(cards_shown(conn, "2000-01-01", "2999-12-31").values())
    assert shown == counted == 4  # the browser's own request counts: every card it showed
    background, _text = THEMES[theme]
    for name, seen in found.items():
        assert seen["background"] == hex_rgb(background), name  # the page's, seen through
        assert seen["opacity"] == "1"
        assert ratio(seen["color"], seen["background"]) >= WCAG_AA, (theme, name, seen)
    assert ratio(card["color"], card["background"]) >= WCAG_AA  # a card: its own light box
    assert warnings == []


def test_a_framed_block_follows_the_dark_colour_scheme(
    sqlite_engine: Engine, local: Agreement
) -> None:
    placeholder = (
        '<div data-alliance-widget data-member="li" data-placement="product" '
        'data-mode="iframe"></div>'
    )
    with shop_page(sqlite_engine, local, "dark", placeholder) as (page, _, app_url, _app):
        page.wait_for_function(
            "() => document.querySelector('[data-alliance-widget] iframe')", timeout=5000
        )
        frame = next(f for f in page.frames if f.url.startswith(f"{app_url}/w/li/product"))
        title = frame.locator(".sa-block__title")
        title.wait_for(state="visible", timeout=5000)
        seen = title.evaluate(CONTRAST)
        transparent = frame.evaluate("getComputedStyle(document.body).backgroundColor")
    assert transparent == "rgba(0, 0, 0, 0)"  # the page's dark background shows through
    assert ratio(seen["color"], hex_rgb(THEMES["dark"][0])) >= WCAG_AA, seen


def test_a_mistyped_member_logs_why_in_the_console_and_shows_nothing(
    sqlite_engine: Engine, local: Agreement
) -> None:
    placeholders = (
        '<div id="typo" data-alliance-widget data-member="lii" data-placement="product"></div>'
        '<div id="half" data-alliance-widget data-member="li"></div>'
        '<div id="good" data-alliance-widget data-member="li" data-placement="cart"></div>'
    )
    with shop_page(sqlite_engine, local, "light", placeholders) as (page, warnings, _, _app):
        page.locator("#good .sa-card__link").first.wait_for(state="visible", timeout=5000)
        page.wait_for_load_state("networkidle")
        empty = page.evaluate(
            "() => ['typo', 'half'].map(id => document.getElementById(id).shadowRoot)"
        )
    assert empty == [None, None]
    typo = [w for w in warnings if 'data-member="lii"' in w]
    assert len(typo) == 1, warnings
    assert typo[0].startswith("Shop Alliance: the partner block")
    assert "no member 'lii' in this alliance: check data-member in the snippet" in typo[0]
    half = [w for w in warnings if "data-placement=null" in w]
    assert len(half) == 1 and "data-member and data-placement are both needed" in half[0]
    assert len(warnings) == 2, warnings
