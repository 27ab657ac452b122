"""The dashboard as a Starlette app, mounted by the composition root under ``/dashboard``.

It is handed everything it needs (the engine, the agreement, the settings, the secret), so it
imports neither the widgets nor the worker. Every page but the sign-in form needs a session;
a member's pages are under ``/members/<member>/`` and answer 403 to anyone but that member and
the admin. Figures come from the rollups; a page that finds them older than
``refresh_seconds`` refreshes them after it has answered (one refresh at a time per process),
so the first reader after a quiet spell sees figures at most that old. A member's insights
(profile and overlap, read from the sales themselves) are kept a minute per (member, months).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import Route

from alliance.agreement import Agreement
from alliance.services.dashboard import refresh_rollups
from alliance.settings import Settings
from dashboard import pages
from dashboard.i18n import LOCALES, translations
from dashboard.rendering import make_environment
from dashboard.sessions import FailedSignIns, Signer

log = logging.getLogger("alliance.dashboard")

PAGES = (
    "dashboard/sign_in.html", "dashboard/overview.html", "dashboard/exchange.html",
    "dashboard/statements.html", "dashboard/statement.html", "dashboard/agreement.html",
    "dashboard/alliance.html", "dashboard/denied.html", "dashboard/insights.html",
)  # fmt: skip

REFRESH_SECONDS = 60.0
"""Rollups older than this are refreshed after the page that noticed it has answered."""

INSIGHTS_SECONDS = 60.0
"""A member's insights (profile and overlap, read from every member's sales) are reused this
long: the whole-alliance overlap is the heaviest read the dashboard makes."""


class TimedCache:
    """Values kept ``seconds`` per key, computed by the first reader who misses (one compute at
    a time per process, so a burst of readers does not start a burst of the same reads)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._kept: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            now = time.monotonic()
            kept = self._kept.get(key)
            if kept is not None and now - kept[0] < self.seconds:
                return kept[1]
            value = compute()
            self._kept = {k: v for k, v in self._kept.items() if now - v[0] < self.seconds}
            self._kept[key] = (time.monotonic(), value)
            return value


class Refresher:
    """Refreshes the rollups at most every ``every`` seconds, never twice at once here."""

    def __init__(self, engine: Engine, agreement: Agreement, every: float | None) -> None:
        self.engine, self.agreement, self.every = engine, agreement, every
        self._lock = threading.Lock()
        self._last = float("-inf")

    def due(self) -> bool:
        return self.every is not None and time.monotonic() - self._last >= self.every

    def run(self) -> None:
        if not self._lock.acquire(blocking=False):
            return
        try:
            if not self.due():
                return
            refresh_rollups(self.engine, self.agreement)
            self._last = time.monotonic()
        except Exception as exc:  # the pages still serve the rollups as they are
            log.warning("dashboard rollups not refreshed, tried again later: %r", exc)
            self._last = time.monotonic()
        finally:
            self._lock.release()


def create_dashboard(
    settings: Settings,
    *,
    agreement: Agreement,
    engine: Engine,
    clock: Callable[[], datetime] | None = None,
    refresh_seconds: float | None = REFRESH_SECONDS,
    member_statuses: Callable[[], list] | None = None,
) -> Starlette:
    """The dashboard app. ``member_statuses`` gives the admin page the sync health (the data of
    ``alliance status``); ``clock`` is for tests."""
    routes = [
        Route("/", pages.home, methods=["GET"]),
        Route("/sign-in", pages.sign_in_form, methods=["GET"]),
        Route("/sign-in", pages.sign_in, methods=["POST"]),
        Route("/sign-out", pages.sign_out, methods=["POST"]),
        Route("/agreement", pages.agreement_page, methods=["GET"]),
        Route("/alliance", pages.alliance_page, methods=["GET"]),
        Route("/members/{member}", pages.overview_page, methods=["GET"]),
        Route("/members/{member}/exchange", pages.exchange_page, methods=["GET"]),
        Route("/members/{member}/statements", pages.statements_page, methods=["GET"]),
        Route("/members/{member}/insights", pages.insights_page, methods=["GET"]),
        Route("/members/{member}/statements/{period}.csv", pages.statement_csv, methods=["GET"]),
        Route("/members/{member}/statements/{period}", pages.statement_page, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.settings = settings
    app.state.agreement = agreement
    app.state.engine = engine
    app.state.signer = Signer(settings.require_secret())
    app.state.failed_sign_ins = FailedSignIns()
    app.state.jinja = make_environment()
    for page in PAGES:  # compiled now, not by the first reader of each
        app.state.jinja.get_template(page)
    for locale in LOCALES:
        translations(locale)
    app.state.clock = clock or (lambda: datetime.now(UTC))
    app.state.refresher = Refresher(engine, agreement, refresh_seconds)
    app.state.member_statuses = member_statuses or (lambda: [])
    app.state.insights = TimedCache(INSIGHTS_SECONDS)
    return app
