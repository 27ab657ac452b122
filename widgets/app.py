"""The web app (Starlette): tracked links, webhooks, health, and the partner blocks.

``create_app()`` reads the settings once, loads the agreement, opens (and migrates) the
database and keeps one engine for the app's life in ``app.state``. The partner block routes
(``/w/{member}/{placement}``, ``/embed.js``) come from :mod:`widgets.blocks` when it is
installed alongside.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import logging
from collections.abc import Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from alliance.agreement import Agreement
from alliance.settings import Settings
from alliance.storage.database import write_lock_free
from alliance.storage.impressions import add_impressions
from widgets.connect_route import Connector, QueueSync, connect_routes
from widgets.redirect import Redirector, TrackedLinks
from widgets.webhook_route import QueueOrder, receiver_from, webhook_route

log = logging.getLogger("alliance.web")

HEALTH_LOCK_WAIT_SECONDS = 0.5
"""How long ``/healthz`` waits for SQLite's write lock before it calls the database busy."""

HEALTH_ANSWER_SECONDS = 0.9
"""``/healthz`` answers within this, whatever the database does (busy threads included)."""


async def healthz(request: Request) -> JSONResponse:
    """``ok``; ``database busy`` (200: the app still serves, from memory and cache, and a
    restart would lose the clicks it holds) while the write lock is held elsewhere or clicks
    are held; ``database unavailable`` (503) when the database fails."""
    engine: Engine = request.app.state.engine
    held = request.app.state.redirector.writer.held
    try:
        with anyio.fail_after(HEALTH_ANSWER_SECONDS):
            free = await anyio.to_thread.run_sync(
                write_lock_free, engine, HEALTH_LOCK_WAIT_SECONDS, abandon_on_cancel=True
            )
    except TimeoutError:
        free = False
    except Exception:  # any other database failure means "not healthy"
        return JSONResponse({"status": "database unavailable"}, status_code=503)
    body = {
        "status": "ok" if free and not held.holding else "database busy",
        "agreement": request.app.state.agreement.version,
        "clicks_held": len(held),
        "clicks_refused": held.refused,
    }
    return JSONResponse(body)


def _block_routes() -> list[Route]:
    if importlib.util.find_spec("widgets.blocks") is None:
        return []
    blocks = importlib.import_module("widgets.blocks")
    return [
        Route("/w/{member}/{placement}", blocks.block_route, methods=["GET"]),
        Route("/embed.js", blocks.embed_route, methods=["GET"]),
        Route("/block.css", blocks.stylesheet_route, methods=["GET"]),
    ]


class AllianceApp(Starlette):
    """Starlette, with tracked links (``/r/{token}``) answered before any other middleware:
    they are the requests that come with every click (:class:`widgets.redirect.TrackedLinks`)."""

    def build_middleware_stack(self) -> ASGIApp:
        return TrackedLinks(super().build_middleware_stack(), self.state.redirector)


def create_app(
    settings: Settings | None = None,
    *,
    agreement: Agreement | None = None,
    engine: Engine | None = None,
    environ: Mapping[str, str] | None = None,
    queue_order: QueueOrder | None = None,
    queue_sync: QueueSync | None = None,
) -> Starlette:
    """The ASGI app. ``agreement`` and ``engine`` default to what ``settings`` names;
    ``environ`` (default ``os.environ``) holds the members' webhook secrets and API keys;
    ``queue_order`` hands webhook orders to the workers (without it they are synced inline)."""
    settings = settings or Settings.from_env()
    secret = settings.require_secret()
    if agreement is None:
        from alliance.agreement.parse import load_agreement

        agreement = load_agreement(settings.config_path)
    owned = engine is None
    if engine is None:
        from alliance.storage.database import open_database

        engine = open_database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_flush_impressions_every, app, IMPRESSIONS_FLUSH_SECONDS)
            yield
            tasks.cancel_scope.cancel()
        await anyio.to_thread.run_sync(app.state.redirector.writer.stop)
        try:
            await anyio.to_thread.run_sync(flush_impressions, app)
        except Exception as exc:
            log.error("impressions not added to the database as the app stopped: %r", exc)
        if owned:
            engine.dispose()

    routes = [
        Route("/webhooks/woocommerce/{member}", webhook_route, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        *_block_routes(),
        *connect_routes(),
    ]
    redirector = Redirector(engine, agreement, secret)
    app = AllianceApp(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.agreement = agreement
    app.state.engine = engine
    app.state.redirector = redirector
    app.state.webhooks = receiver_from(engine, agreement, secret, queue_order, environ)
    app.state.webhooks.settings = settings  # connected stores' keys and webhook secrets
    app.state.connector = Connector(engine, agreement, settings, queue_sync)
    return app


GC_THRESHOLDS = (20_000, 50, 100)
"""The cyclic collector's thresholds in a server process (Python's are 700, 10, 10)."""


def tune_collector() -> None:
    """Fewer, cheaper pauses of the cyclic garbage collector in a server process.

    Everything alive once the app is built (modules, templates, the agreement) is moved out
    of the collector's sight (``gc.freeze``), and young objects are collected less often:
    requests make few reference cycles, and each collection pause is added to the latency of
    every request in flight (``bench/clicks.py``: about 10% more clicks per second).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


IMPRESSIONS_FLUSH_SECONDS = 30.0
"""How often the in-memory impression counts are added to the database."""


def flush_impressions(app: Starlette) -> int:
    """Add the impressions counted since the last flush to the database; returns how many."""
    counter = getattr(app.state, "impressions", None)
    if counter is None:
        return 0
    counts = counter.drain()
    if counts:
        try:
            with app.state.engine.begin() as conn:
                add_impressions(conn, counts)
        except BaseException:
            counter.give_back(counts)  # for the next flush: a locked database loses nothing
            raise
    return sum(counts.values())


async def _flush_impressions_every(app: Starlette, seconds: float) -> None:
    """Flush every ``seconds``; a failed flush (a lock held past the busy timeout) is logged
    and tried again at the next, and never ends the loop."""
    while True:
        await anyio.sleep(seconds)
        try:
            await anyio.to_thread.run_sync(flush_impressions, app)
        except Exception as exc:
            log.warning("impressions not added to the database, kept for the next try: %r", exc)
