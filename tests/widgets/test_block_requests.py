"""Who asked for a block: a mistyped snippet gets a reason it can log, and only a page's own
request from a browser counts as cards shown, on the alliance's day."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from alliance.agreement import Agreement
from alliance.exchange_report import FLUSH_SECONDS
from alliance.storage.impressions import impressions_between
from tests.widgets.test_blocks import BROWSER_AGENT, BROWSER_FETCH, make_app, seed_partners, serving
from widgets.app import IMPRESSIONS_FLUSH_SECONDS, flush_impressions
from widgets.visitors import shown_to_a_visitor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TestClient on httpx

CURL = "curl/8.5.0"


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/w/lii/product?embed=1", 404, "no member 'lii' in this alliance: check data-member"),
        ("/w/li/sidebar?embed=1", 404, "no placement 'sidebar': data-placement is one of"),
        ("/w/li/product?count=9", 400, "count must be a whole number from 3 to 6"),
        ("/w/li/product?variant=carousel", 400, "variant must be grid, list or single"),
    ],
)
def test_a_block_that_cannot_be_shown_says_why_in_json_over_http(
    sqlite_engine: Engine, agreement: Agreement, path: str, status: int, reason: str
) -> None:
    seed_partners(sqlite_engine)
    with serving(make_app(sqlite_engine, agreement)) as base:
        response = httpx.get(base + path, headers={"Origin": "https://shop.example"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"  # embed.js can read it
    assert response.json()["error"].startswith(reason)


def test_the_reason_never_lists_the_members(sqlite_engine: Engine, agreement: Agreement) -> None:
    with TestClient(make_app(sqlite_engine, agreement)) as client:
        error = client.get("/w/nobody/product").json()["error"]
    words = set(error.replace("'", " ").replace(",", " ").split())
    assert "nobody" in words and not words & set(agreement.members)


def _cards(engine: Engine, day: str) -> int:
    with engine.connect() as conn:
        return sum(impressions_between(conn, day, day).values())


def test_bare_gets_and_bots_add_no_cards_and_the_scripts_request_does(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    seed_partners(sqlite_engine)
    app = make_app(sqlite_engine, agreement)
    app.state.clock = lambda: 1_800_000_000.0  # 2027-01-15, 16:00 in Asia/Shanghai
    day = "2027-01-15"
    with serving(app) as base:
        for _ in range(3):  # three `curl` fetches of the block
            bare = httpx.get(f"{base}/w/li/product", headers={"User-Agent": CURL})
            assert bare.status_code == 200 and "sa-card" in bare.text
        httpx.get(f"{base}/w/li/product?embed=1", headers={"User-Agent": CURL})
        httpx.get(f"{base}/w/li/product?embed=1", headers={"User-Agent": "Googlebot/2.1"})
        httpx.get(f"{base}/w/li/product?embed=1")  # no user agent at all
        opened = {"User-Agent": BROWSER_AGENT, "Sec-Fetch-Dest": "document"}
        httpx.get(f"{base}/w/li/product?embed=1", headers=opened)  # typed in the address bar
        flush_impressions(app)
        assert _cards(sqlite_engine, day) == 0
        script = httpx.get(f"{base}/w/li/product?embed=1", headers=BROWSER_FETCH)
        framed = {"User-Agent": BROWSER_AGENT, "Sec-Fetch-Dest": "iframe"}
        frame = httpx.get(f"{base}/w/li/product?frame=1", headers=framed)
        flush_impressions(app)
    assert script.status_code == frame.status_code == 200
    assert script.text.count('class="sa-card"') == 4
    assert _cards(sqlite_engine, day) == 8


@pytest.mark.parametrize(
    ("flags", "agent", "dest", "counted"),
    [
        (set(), BROWSER_AGENT, "empty", False),  # a bare GET from a browser
        ({"embed"}, BROWSER_AGENT, None, True),  # an older browser: no Sec-Fetch-Dest
        ({"embed"}, BROWSER_AGENT, "iframe", False),  # embed=1 loaded in a frame by hand
        ({"frame"}, BROWSER_AGENT, "iframe", True),
        ({"frame"}, "Mozilla/5.0 (compatible; bingbot/2.0)", "iframe", False),
        ({"embed"}, "okhttp/4.9", None, False),
        ({"embed"}, "SomeReader/1.0", None, True),  # unknown: the click rules accept it too
    ],
)
def test_what_counts_as_cards_shown(
    flags: set[str], agent: str, dest: str | None, counted: bool
) -> None:
    assert shown_to_a_visitor(flags, agent, dest) is counted


def test_cards_shown_are_counted_on_the_alliances_day_across_midnight(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    assert agreement.settings.timezone == "Asia/Shanghai"
    seed_partners(sqlite_engine)
    app: Starlette = make_app(sqlite_engine, agreement)
    before = datetime(2027, 1, 15, 15, 59, 59, tzinfo=UTC).timestamp()  # 23:59:59 there
    after = datetime(2027, 1, 15, 16, 0, 0, tzinfo=UTC).timestamp()  # 00:00 on the 16th there
    with TestClient(app, headers=BROWSER_FETCH) as client:
        for moment in (before, after, after):
            app.state.clock = lambda moment=moment: moment
            assert client.get("/w/li/cart", params={"embed": "1"}).status_code == 200
    assert _cards(sqlite_engine, "2027-01-15") == 4
    assert _cards(sqlite_engine, "2027-01-16") == 8


def test_the_flush_the_exchange_report_mentions_is_the_web_apps() -> None:
    assert IMPRESSIONS_FLUSH_SECONDS == FLUSH_SECONDS
