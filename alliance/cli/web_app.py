"""The web app as the alliance runs it: the widgets' app, wired to the workers when Redis is set.

``widgets`` imports no ``worker``: here, in the composition root, the app is handed
``worker.queues.enqueue_order`` (bound to a Redis client) as its way to queue webhook orders,
deletions marked as such.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette

from alliance.settings import Settings
from connector.sync import deletes
from connector.woocommerce.webhooks import SyncOrder
from widgets.app import create_app, tune_collector
from widgets.webhook_route import QueueOrder


def order_queue(redis_url: str | None) -> QueueOrder | None:
    """How webhook orders reach the workers, or None (synced inline) without Redis.

    A malformed URL stops the app before it serves; a Redis that is down is not asked yet
    (blocks and links need none): each delivery then answers 503 until it is back.
    """
    if not redis_url:
        return None
    from worker.connection import client
    from worker.queues import enqueue_order

    redis = client(redis_url)

    def queue_order(event: SyncOrder) -> bool:
        return enqueue_order(redis, event.member, event.order_id, deleted=deletes(event))

    return queue_order


def sync_queue(redis_url: str | None) -> Callable[[str], object] | None:
    """How a newly connected store's first sync reaches the workers, or None (run in the
    app's process) without Redis."""
    if not redis_url:
        return None
    from worker.connection import client
    from worker.queues import enqueue_syncs

    redis = client(redis_url)
    return lambda member: enqueue_syncs(redis, [member])


def alliance_app(settings: Settings | None = None, **options: Any) -> Starlette:
    """:func:`widgets.app.create_app` with the order and sync queues ``settings`` names."""
    settings = settings or Settings.from_env()
    app = create_app(
        settings,
        queue_order=order_queue(settings.redis_url),
        queue_sync=sync_queue(settings.redis_url),
        **options,
    )
    mount_dashboard(app, settings)
    return app


def mount_dashboard(app: Starlette, settings: Settings, **options: Any) -> Starlette:
    """The members' dashboard under ``/dashboard``, on the app's own engine and agreement;
    the admin page's sync health is ``connector.members.member_statuses`` without calling the
    stores (the data of ``alliance members --no-check``). Returns the dashboard app."""
    from starlette.routing import Mount

    from connector.members import member_statuses
    from dashboard.app import create_dashboard

    engine, agreement = app.state.engine, app.state.agreement
    dashboard = create_dashboard(
        settings,
        agreement=agreement,
        engine=engine,
        member_statuses=lambda: member_statuses(engine, agreement, settings, check=False),
        **options,
    )
    app.router.routes.append(Mount("/dashboard", app=dashboard))
    return dashboard


def served_app() -> Any:
    """What ``alliance serve`` runs in each server process: the app from the environment's
    settings, believing ``X-Forwarded-For`` only from ``ALLIANCE_TRUSTED_PROXIES``."""
    from granian.utils.proxies import wrap_asgi_with_proxy_headers

    trusted = os.environ.get("ALLIANCE_TRUSTED_PROXIES", "127.0.0.1")
    app = alliance_app()
    tune_collector()
    return wrap_asgi_with_proxy_headers(app, trusted_hosts=trusted)
