"""A web app with the dashboard mounted, as ``alliance serve`` builds it, on a test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from alliance.agreement import Agreement
from alliance.cli.web_app import mount_dashboard
from alliance.services.dashboard import refresh_rollups
from alliance.services.dashboard_access import issue_token
from alliance.settings import Settings
from tests.conftest import EXAMPLE, SECRET
from tests.dashboard.support import NOW, seed_story
from widgets.app import create_app


def dashboard_app(
    engine: Engine, agreement: Agreement, refresh_seconds: float | None = None
) -> Starlette:
    settings = Settings(config_path=EXAMPLE, database_url="sqlite://", secret=SECRET)
    app = create_app(settings, agreement=agreement, engine=engine)
    mount_dashboard(app, settings, clock=lambda: NOW, refresh_seconds=refresh_seconds)
    return app


@pytest.fixture
def seeded(engine: Engine, agreement: Agreement) -> Engine:
    seed_story(engine, agreement)
    refresh_rollups(engine, agreement, now=NOW)
    return engine


@pytest.fixture
def client(seeded: Engine, agreement: Agreement) -> Iterator[TestClient]:
    with TestClient(dashboard_app(seeded, agreement)) as test_client:
        yield test_client


@pytest.fixture
def tokens(seeded: Engine, agreement: Agreement) -> dict[str, str]:
    found = {member: issue_token(seeded, agreement, member) for member in ("li", "wang")}
    found["admin"] = issue_token(seeded, agreement, None)
    return found


def csrf_of(page: str) -> str:
    marker = 'name="csrf" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def sign_in(client: TestClient, token: str, **headers: str):
    form = client.get("/dashboard/sign-in", headers=headers)
    return client.post(
        "/dashboard/sign-in",
        data={"token": token, "csrf": csrf_of(form.text)},
        headers=headers,
        follow_redirects=False,
    )
