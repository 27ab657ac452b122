"""Every Redis key and queue name the alliance uses, from one place (as rq's ``key_for``)."""

from __future__ import annotations

PREFIX = "alliance"

SYNC_QUEUE = "alliance-sync"
"""Member syncs: slow (minutes against a slow store), one per member at a time."""

ORDERS_QUEUE = "alliance-orders"
"""Single orders from webhook deliveries: quick, so they never wait behind a backfill."""

GIFTPACK_QUEUE = "alliance-giftpacks"
"""Gift packs of trigger orders a sync or a webhook booked: customers wait for their note."""

HOUSEKEEPING_QUEUE = "alliance-housekeeping"
"""Schedule ticks and monthly settlement."""

QUEUES = (ORDERS_QUEUE, GIFTPACK_QUEUE, SYNC_QUEUE, HOUSEKEEPING_QUEUE)
"""In the order a worker serves them."""


def key_for(kind: str, *parts: str) -> str:
    """``alliance:<kind>:<part>:...``; members are identifiers, so no escaping is needed."""
    return ":".join((PREFIX, kind, *parts))


def sync_job_id(member: str) -> str:
    """One queued sync per member, ever: enqueued with ``unique=True`` under this id."""
    return f"alliance-sync-{member}"


def order_job_id(member: str, order_id: int, *, deleted: bool = False) -> str:
    """One queued job per order, and one more for its deletion: a deletion never collapses
    into an update queued before it (it must still book an order the store no longer has)."""
    return f"alliance-order-{member}-{order_id}" + ("-deleted" if deleted else "")


def giftpack_job_id(member: str, order_id: str | int) -> str:
    """One queued gift-pack job per trigger order: a sync and a webhook that both book it, or
    two syncs while it waits, queue it once."""
    return f"alliance-giftpack-{member}-{order_id}"
