"""The Insights page: a member's profile, overlap and fit, released exactly as the CLI releases
them, to that member and the admin only, in both languages, and never naming a customer."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.profiles import DIMENSIONS
from alliance.services.booking import book_orders
from alliance.services.dashboard import refresh_rollups
from alliance.services.insights import member_profile, window
from alliance.suppression import shown
from dashboard.app import TimedCache
from tests.alliance.insights_support import DEC, NOV, email, key, sale
from tests.dashboard.conftest import sign_in
from tests.dashboard.support import NOW

SHANGHAI = "Asia/Shanghai"
LI_CUSTOMERS = range(40)
ZHAO_CUSTOMERS = (0, 1, 2, 500, 501, 502)
EVERYONE = [*LI_CUSTOMERS, *ZHAO_CUSTOMERS]


def li_state(customer: int) -> str:
    """20 of Li's customers in Shanghai, 16 in Beijing, 4 in Tianjin (a group under k = 10)."""
    return "CN31" if customer < 20 else ("CN11" if customer < 36 else "CN12")


@pytest.fixture
def seeded(engine: Engine, agreement: Agreement) -> Engine:
    """Li has 40 customers in November; 25 of them buy at Wang and 12 at Zhang in December;
    Zhao has 6 customers, 3 of them Li's. (Overrides the dashboard story: these pages need
    audiences, not clicks.)"""
    orders, n = [], 1
    for c in LI_CUSTOMERS:
        orders.append(sale("li", n, c, NOV, state=li_state(c)))
        n += 1
    for c in range(25):
        orders.append(sale("wang", n, c, DEC))
        n += 1
    for c in range(20, 32):
        orders.append(sale("zhang", n, c, DEC))
        n += 1
    for c in ZHAO_CUSTOMERS:
        orders.append(sale("zhao", n, c, DEC))
        n += 1
    book_orders(engine, agreement, orders, now=NOW - timedelta(minutes=1))
    refresh_rollups(engine, agreement, now=NOW)
    return engine


def tables(page: str) -> dict[str, dict[str, list[str]]]:
    """Each table under an ``<h3>`` or ``<h2>`` heading: first cell of a row -> the other cells,
    as text."""
    found: dict[str, dict[str, list[str]]] = {}
    for heading, body in re.findall(r"<h[23]>(.*?)</h[23]>(.*?)(?=<h[23]>|</main>)", page, re.S):
        rows = {}
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
            cells = [
                unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
            ]
            rows[cells[0]] = cells[1:]
        found[unescape(heading)] = rows
    return found


def test_li_sees_its_profile_suppressed_exactly_as_the_cli_releases_it(
    client, tokens, seeded, agreement
):
    sign_in(client, tokens["li"])
    answer = client.get("/dashboard/members/li/insights")
    assert answer.status_code == 200
    found = tables(answer.text)
    region = found["Region (country-state)"]
    months = region[""]
    assert months == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
    november = months.index("2026-11")
    assert region["CN-CN12"][november] == "< 10"  # four customers: never "4"
    assert region["CN-CN11"][november] == "folded"  # 16 would give the 4 away
    assert region["CN-CN31"][november] == "20"
    assert region["other"][november] == "20" and region["All customers"][november] == "40"
    assert found["New or returning at your shop"]["new"][november] == "40"
    assert found["Category bought"]["baby-clothing"][november] == "40"
    # every cell of every dimension is what `alliance profile` prints for the same window
    profile = member_profile(seeded, agreement, "li", window("2026-12", 6, SHANGHAI))
    titles = ["Region (country-state)", "Category bought", "Order value band",
              "New or returning at your shop"]  # fmt: skip
    for dimension, title in zip(DIMENSIONS, titles, strict=True):
        columns = profile.tables[dimension]
        for label in {label for column in columns.values() for label in column.cells}:
            expected = [shown(columns[m].cells.get(label, 0), 10) for m in profile.months]
            assert found[title][label] == expected, (dimension, label)
        assert found[title]["other"] == [shown(columns[m].other, 10) for m in profile.months]


def test_li_sees_its_overlap_fit_and_the_best_partner_it_has_no_deal_with(client, tokens):
    sign_in(client, tokens["li"])
    page = client.get("/dashboard/members/li/insights").text
    shared = tables(page)["Customers you share with other members"]
    # baby clothes at Li, toiletries at Wang: fully complementary; a deal already, though
    assert shared["Wang's Natural Baby Care"] == ["25", "63%", "100%", "100%", "1.00", "already"]
    zhang = next(row for name, row in shared.items() if name.startswith("Zhang"))
    assert zhang == ["12", "30%", "100%", "100%", "1.00", "none yet"]
    zhao = next(row for name, row in shared.items() if name.startswith("Zhao"))
    assert zhao[0] == "< 10" and zhao[4] == "-"  # three shared customers: no number, no fit
    assert "Your customers over the whole period: 40." in page
    best = page[page.index("Best partners you have no deal with yet") :]
    assert re.search(r"<li>Zhang[^<]*\(fit 1.00\)</li>", best)
    lifts = tables(page)["Bought together"]
    assert any(row[1] == "toys" and row[2] == "≥ 10" for row in lifts.values())


def test_the_page_names_no_customer(client, tokens):
    sign_in(client, tokens["admin"])
    for member in ("li", "wang", "zhang", "zhao"):
        for months in ("1", "6", "12"):
            page = client.get(f"/dashboard/members/{member}/insights?months={months}").text
            assert "<script" not in page
            for c in EVERYONE:
                assert key(c) not in page and key(c)[:16] not in page
                assert email(c) not in page
            assert "customer0@" not in page and "example.com" not in page


def test_months_chooses_the_window_between_1_and_12(client, tokens):
    sign_in(client, tokens["li"])

    def months(query: str) -> list[str]:
        page = client.get(f"/dashboard/members/li/insights{query}").text
        return tables(page)["Region (country-state)"][""]

    assert months("?months=1") == ["2026-12"]
    assert months("?months=2") == ["2026-11", "2026-12"]
    assert len(months("?months=12")) == 12 and months("?months=12")[0] == "2026-01"
    assert len(months("?months=99")) == 12  # bounded, not refused
    assert months("?months=0") == ["2026-12"]
    assert len(months("?months=abc")) == 6 and len(months("")) == 6
    one = client.get("/dashboard/members/li/insights?months=1").text
    assert '<option value="1" selected>' in one
    shared = tables(one)["Customers you share with other members"]
    assert shared["Wang's Natural Baby Care"][0] == "0"  # Li sold nothing in December


def test_no_session_goes_to_the_sign_in_form(client):
    answer = client.get("/dashboard/members/li/insights", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/sign-in"


def test_li_cannot_open_wang_s_insights(client, tokens):
    sign_in(client, tokens["li"])
    answer = client.get("/dashboard/members/wang/insights?months=2", follow_redirects=False)
    assert answer.status_code == 403
    assert "Wang&#39;s Natural Baby Care" not in answer.text
    assert "Shared customers" not in answer.text and "63%" not in answer.text
    assert client.get("/dashboard/members/li/insights").status_code == 200


def test_an_unknown_member_is_refused(client, tokens):
    sign_in(client, tokens["li"])
    assert client.get("/dashboard/members/nobody/insights").status_code == 403
    sign_in(client, tokens["admin"])
    assert client.get("/dashboard/members/nobody/insights").status_code == 403


def test_the_admin_sees_every_member_s_insights(client, tokens):
    sign_in(client, tokens["admin"])
    for member in ("li", "wang", "zhang", "zhao"):
        assert client.get(f"/dashboard/members/{member}/insights").status_code == 200, member
    wang = tables(client.get("/dashboard/members/wang/insights").text)
    shared = wang["Customers you share with other members"]
    assert shared["Li's Organic Baby Clothes"][:3] == ["25", "100%", "63%"]
    together = wang["Bought together"]["baby-toiletries"]  # seen from Wang's side
    assert together[:2] == ["Li's Organic Baby Clothes", "baby-clothing"]


def test_the_nav_links_to_insights_and_the_page_speaks_chinese(client, tokens):
    sign_in(client, tokens["li"])
    overview = client.get("/dashboard/members/li").text
    assert 'href="/dashboard/members/li/insights"' in overview
    chinese = client.get(
        "/dashboard/members/li/insights", headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    ).text
    assert '<html lang="zh-Hans">' in chinese
    assert "洞察" in chinese and "已并入" in chinese and "共同顾客" in chinese
    assert "Shared customers" not in chinese


def test_a_new_sale_shows_once_the_cached_minute_is_over(client, tokens, seeded, agreement):
    sign_in(client, tokens["li"])
    before = tables(client.get("/dashboard/members/li/insights").text)
    assert before["Region (country-state)"]["All customers"][-1] == "0"
    book_orders(seeded, agreement, [sale("li", 9000 + c, 300 + c, DEC) for c in range(12)])
    cached = tables(client.get("/dashboard/members/li/insights").text)
    assert cached == before  # the same minute: the same figures, not read again
    dashboard = next(
        r.app for r in client.app.router.routes if getattr(r, "path", "") == "/dashboard"
    )
    dashboard.state.insights.seconds = 0  # the minute is over
    after = tables(client.get("/dashboard/members/li/insights").text)
    assert after["Region (country-state)"]["All customers"][-1] == "12"


def test_the_cache_computes_once_per_key_and_again_when_expired():
    calls = []
    cache = TimedCache(60)
    assert cache.get(("li", 6), lambda: calls.append(1) or "a") == "a"
    assert cache.get(("li", 6), lambda: calls.append(1) or "b") == "a"
    assert cache.get(("li", 3), lambda: calls.append(1) or "c") == "c"
    assert len(calls) == 2
    cache.seconds = 0
    assert cache.get(("li", 6), lambda: calls.append(1) or "d") == "d"
