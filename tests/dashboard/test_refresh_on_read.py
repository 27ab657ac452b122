"""A page that finds the rollups stale refreshes them after it has answered: the next reader
sees what was booked since, without anyone running a command."""

from __future__ import annotations

from starlette.testclient import TestClient

from alliance.services.dashboard_access import issue_token
from tests.dashboard.conftest import dashboard_app, sign_in
from tests.dashboard.support import seed_story


def clicks_card(page: str) -> str:
    start = page.index("Clicks partners sent you")
    return page[start : page.index("</div>", page.index('class="figure"', start))]


def test_bookings_show_on_the_page_after_the_next_refresh(sqlite_engine, agreement):
    token = issue_token(sqlite_engine, agreement, "wang")
    with TestClient(dashboard_app(sqlite_engine, agreement, refresh_seconds=0.0)) as client:
        sign_in(client, token)
        assert clicks_card(client.get("/dashboard/members/wang").text).endswith(">0")
        seed_story(sqlite_engine, agreement)  # booked while the app runs
        first = client.get("/dashboard/members/wang").text  # answered, then refreshed
        assert clicks_card(first).endswith(">0")
        assert clicks_card(client.get("/dashboard/members/wang").text).endswith(">10")
