"""Every Redis key and queue name the alliance uses, from one place (as rq's ``key_for``)."""

from __future__ import annotations

PREFIX = "alliance"

SYNC_QUEUE = "alliance-sync"
"""Member syncs: slow (minutes against a slow store), one per member at a time."""

ORDERS_QUEUE = "alliance-orders"
"""Single orders from webhook deliveries: quick, so they never wait behind a backfill."""

HOUSEKEEPING_QUEUE = "alliance-housekeeping"
"""Schedule ticks and monthly settlement."""

QUEUES = (ORDERS_QUEUE, SYNC_QUEUE, HOUSEKEEPING_QUEUE)
"""In the order a worker serves them."""


def key_for(kind: str, *parts: str) -> str:
    """``alliance:<kind>:<part>:...``; members are identifiers, so no escaping is needed."""
    return ":".join((PREFIX, kind, *parts))


def sync_job_id(member: str) -> str:
    """One queued sync per member, ever: enqueued with ``unique=True`` under this id."""
    return f"alliance-sync-{member}"


def order_job_id(member: str, order_id: int) -> str:
    return f"alliance-order-{member}-{order_id}"
