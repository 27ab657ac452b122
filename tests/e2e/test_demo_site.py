"""``alliance demo --serve``: the sample shop pages show partner blocks whose links work, whose
product images load from the sandbox stores, and which speak the browser's language."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.test_browser import launch_chromium, require_browser

if TYPE_CHECKING:
    from playwright.sync_api import Page

ALLIANCE = Path(sys.executable).with_name("alliance")
MEMBERS = ("li", "wang", "zhang", "zhao")
ENGLISH_TITLE = "Recommended by our partners"
CHINESE_TITLE = "合作伙伴推荐"

IMAGES = """() => {
  const found = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.tagName === "IMG") found.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return found;
}"""
"""Every ``<img>`` of the page, inside open shadow roots too (embed.js puts the block in one)."""


@contextmanager
def served_demo(directory: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``alliance demo --serve`` as a user starts it: its base URL once the pages are up.

    The demo stops on the way out (Ctrl-C, as a user stops it) if the test has not stopped it.
    """
    process = subprocess.Popen(  # port 0: the demo binds a free port and prints it
        [str(ALLIANCE), "demo", "--dir", str(directory), "--serve", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            if re.search(r"http://127\.0\.0\.1:\d+/demo/zhao", line) or not line:
                break
        served = re.search(r"(http://127\.0\.0\.1:\d+)/demo/li\b", "".join(lines))
        assert served, "".join(lines)
        yield served[1], process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


@pytest.mark.slow
def test_the_demo_serves_each_shops_page_with_working_partner_blocks(tmp_path: Path) -> None:
    with served_demo(tmp_path / "demo") as (base, process):
        page = httpx.get(f"{base}/demo/li", timeout=10)
        assert page.status_code == 200 and 'data-member="li"' in page.text
        assert '<script src="/embed.js"' in page.text
        block = httpx.get(f"{base}/w/li/thankyou", timeout=10)
        assert block.status_code == 200
        links = re.findall(r'href="([^"]*/r/[^"]+)"', block.text)
        assert len(links) >= 3  # wang's and zhao's products, the partners li sends customers to
        hop = httpx.get(links[0].replace("&amp;", "&"), timeout=10, follow_redirects=False)
        assert hop.status_code == 302
        assert "utm_source=alliance" in hop.headers["location"]
        assert "utm_medium=thankyou" in hop.headers["location"]
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, rest[-3000:]
    assert "Stopped." in rest


@pytest.mark.slow
def test_a_chinese_visitor_gets_the_chinese_page_and_block_without_asking(tmp_path: Path) -> None:
    """No ``lang`` anywhere in the request: ``Accept-Language`` alone decides, page and block."""
    with served_demo(tmp_path / "demo") as (base, _process):
        for accept, lang, title in (("zh-CN,zh;q=0.9", "zh-Hans", CHINESE_TITLE), ("", "en", "")):
            headers = {"Accept-Language": accept} if accept else {}
            page = httpx.get(f"{base}/demo/zhao", headers=headers, timeout=10)
            assert f'<html lang="{lang}">' in page.text
            assert page.headers["Vary"] == "Accept-Language"
            block = httpx.get(f"{base}/w/zhao/article?embed=1", headers=headers, timeout=10)
            assert (title or ENGLISH_TITLE) in block.text
        chosen = httpx.get(f"{base}/demo/zhao?lang=zh-Hans", timeout=10)
        assert '<html lang="zh-Hans">' in chosen.text and "感谢您的惠顾" in chosen.text


def watch(page: Page) -> list[str]:
    """Collect what a visitor would notice as broken: script errors and failed requests."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
    return problems


def shown_block(page: Page, url: str) -> dict[str, Any]:
    """Open a demo page, wait for its block and for every image in it to finish (lazy ones
    scrolled into view first), and report the title and each image's state."""
    page.goto(url, wait_until="networkidle")
    title = page.locator("[data-alliance-widget] .sa-block__title")
    title.wait_for(state="visible", timeout=10_000)
    page.evaluate(f"({IMAGES})().forEach(img => img.scrollIntoView())")
    page.wait_for_function(f"({IMAGES})().every(img => img.complete)", timeout=10_000)
    page.wait_for_load_state("networkidle")
    return {
        "title": title.inner_text(),
        "html_lang": page.evaluate("document.documentElement.lang"),
        "block_lang": page.locator("[data-alliance-widget] section.sa-block").get_attribute("lang"),
        "images": page.evaluate(
            f"""() => ({IMAGES})().map(img => ({{
              src: img.currentSrc || img.src,
              inBlock: img.getRootNode() !== document,
              complete: img.complete,
              width: img.naturalWidth,
            }}))"""
        ),
    }


@pytest.mark.slow
def test_every_image_loads_and_the_block_speaks_the_browsers_language(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    with served_demo(tmp_path / "demo") as (base, _process), sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for locale, title, lang in (
                ("en-US", ENGLISH_TITLE, "en"),
                ("zh-CN", CHINESE_TITLE, "zh-Hans"),
            ):
                context = browser.new_context(
                    locale=locale, viewport={"width": 1000, "height": 800}
                )
                for member in MEMBERS:
                    page = context.new_page()
                    problems = watch(page)
                    shown = shown_block(page, f"{base}/demo/{member}")
                    where = f"{member} in {locale}"
                    assert shown["title"] == title, where
                    assert (shown["html_lang"], shown["block_lang"]) == (lang, lang), where
                    in_block = [image for image in shown["images"] if image["inBlock"]]
                    assert len(in_block) >= 2, f"{where}: the block shows no product images"
                    broken = [i for i in shown["images"] if not (i["complete"] and i["width"] > 0)]
                    assert broken == [], f"{where}: images that did not load: {broken}"
                    assert problems == [], f"{where}: {problems}"
                    page.close()
                context.close()
        finally:
            browser.close()
