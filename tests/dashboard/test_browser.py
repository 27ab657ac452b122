"""A real browser (headless Debian Chromium) through the dashboard: li signs in, sees its
overview with its charts in English and in Chinese, opens a statement and downloads its CSV,
fails to open wang's, signs out; then the admin sees every member. Screenshots of the
overview (both languages, and on a phone's screen) are written to ``docs/screenshots/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.report import statement_csv
from alliance.services.dashboard import refresh_rollups
from alliance.services.dashboard_access import issue_token
from alliance.services.reporting import member_statement
from tests.dashboard.conftest import dashboard_app
from tests.dashboard.support import NOW, seed_history, seed_story
from tests.e2e.test_browser import launch_chromium, require_browser
from tests.widgets.test_app import Server

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


def test_li_reads_its_dashboard_in_a_browser_and_the_admin_sees_every_member(
    sqlite_engine: Engine, agreement: Agreement, tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    seed_history(sqlite_engine, agreement)
    seed_story(sqlite_engine, agreement)
    refresh_rollups(sqlite_engine, agreement, now=NOW)
    li, admin = (
        issue_token(sqlite_engine, agreement, "li"),
        issue_token(sqlite_engine, agreement, None),
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app = dashboard_app(sqlite_engine, agreement)
    with Server(app) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(locale="en-US", accept_downloads=True)
        page = context.new_page()
        page.goto(f"{url}/dashboard/members/li")
        assert page.url.endswith("/dashboard/sign-in")  # no session: the form
        page.fill("#token", li)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/dashboard/members/li")
        assert page.locator("h1").inner_text() == "Li's Organic Baby Clothes"
        assert page.locator(".card svg").count() == 8
        assert page.locator(".card svg rect[height]:not([height='0'])").count() > 20
        page.screenshot(path=str(SCREENSHOTS / "dashboard-overview-en.png"), full_page=True)

        page.click("text=简体中文")
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        assert page.locator(".card .label").first.inner_text() == "伙伴送来的点击"
        page.screenshot(path=str(SCREENSHOTS / "dashboard-overview-zh-Hans.png"), full_page=True)
        page.click("text=English")
        page.wait_for_load_state()

        page.click("nav >> text=Statements")
        page.click("text=2026-12")
        page.wait_for_url(f"{url}/dashboard/members/li/statements/2026-12")
        assert page.locator("table tr").count() > 1
        with page.expect_download() as download:
            page.click("text=Download CSV")
        saved = tmp_path / "statement.csv"
        download.value.save_as(saved)
        expected = statement_csv(
            member_statement(sqlite_engine, agreement, "li", "2026-12", as_of=NOW)
        )
        assert saved.read_text(encoding="utf-8") == expected

        refused = page.goto(f"{url}/dashboard/members/wang/statements/2026-12")
        assert refused is not None and refused.status == 403
        assert page.locator("h1").inner_text() == "Not yours to see"

        page.click("text=Sign out")
        page.wait_for_url(f"{url}/dashboard/sign-in")
        page.goto(f"{url}/dashboard/members/li")
        assert page.url.endswith("/dashboard/sign-in")

        page.fill("#token", admin)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/dashboard/alliance")
        rows = page.locator("table").first.locator("tr")
        assert rows.count() == 1 + len(agreement.members)
        for member in agreement.members.values():
            assert page.locator(f"text={member.name}").count() >= 1

        phone = browser.new_context(viewport=PHONE, is_mobile=True)
        small = phone.new_page()
        small.goto(f"{url}/dashboard/sign-in")
        small.fill("#token", li)
        small.click("button[type=submit]")
        small.wait_for_url(f"{url}/dashboard/members/li")
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the overview scrolls sideways on a phone"
        small.screenshot(path=str(SCREENSHOTS / "dashboard-overview-phone.png"), full_page=True)
        browser.close()
