"""An order its store deleted for good: booked as its last revision, moved to the trash.

A trashed order still reads back (status ``trash``) and is booked like any revision. One
deleted for good answers 404, so there is no document left to read: the stored snapshot is
all there is. It is booked again with status ``trash``, which books nothing, so the ledger
reverses what the order carried through the ordinary booking path. The revision keeps the
snapshot's modification time, and ``trash`` is the last status of an order's lifecycle, so it
outranks every revision of that second; the same snapshot always gives the same revision, so
duplicate deliveries and replays converge entry for entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement
from alliance.orders import OrderStatus
from alliance.services.booking import BookingResult, book_orders
from alliance.storage import repository as repo

DELETED_DIGEST = "deleted"
"""Stored as the revision's source digest: no document was seen, and no document matches it."""


def book_deleted_order(
    engine: Engine,
    agreement: Agreement,
    member: str,
    external_id: str,
    *,
    also: Callable[[Connection, BookingResult], None] | None = None,
) -> BookingResult | None:
    """Reverse an order deleted for good; None when the alliance never booked it.

    ``also`` runs in the booking's transaction (or alone, when there is nothing to book).
    """
    with engine.connect() as conn:
        stored = repo.stored_order(conn, member, external_id)
    if stored is None or stored.status is OrderStatus.TRASH:
        if also is not None:
            with engine.begin() as conn:
                also(conn, BookingResult())
        return None if stored is None else BookingResult(orders_seen=1, orders_unchanged=1)
    gone = dataclasses.replace(stored, status=OrderStatus.TRASH, source_digest=DELETED_DIGEST)
    return book_orders(engine, agreement, [gone], also=also)
