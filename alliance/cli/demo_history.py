"""Earlier months for ``alliance demo --serve``, so the dashboard's twelve-month trends show.

The demo's story is six weeks long. Before it serves, the demo books about five months more:
the same kind of orders and clicks, made by the demo's own generators for earlier six-week
stretches, fewer the further back (an alliance that grew), imported as a shop's order export
would be (``alliance import-orders``), not placed in the sandbox stores. Those months stay
open; the story's settled months are not touched.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.clicks import Click
from alliance.services.booking import book_clicks
from connector.woocommerce.ingest import ingest_orders

STRETCHES = 4
"""Earlier six-week stretches added: with the story's own, about six months."""

MakeClicks = Callable[[random.Random, datetime, datetime], list[Click]]
MakeOrders = Callable[[random.Random, datetime, datetime, list[Click]], dict[str, list]]


def add_history(
    engine: Engine,
    agreement: Agreement,
    secret: bytes,
    *,
    start: datetime,
    weeks: int,
    make_clicks: MakeClicks,
    make_orders: MakeOrders,
) -> str:
    """Book the earlier stretches; returns the sentence the demo prints about them."""
    rng = random.Random(2025)
    booked_orders = booked_clicks = 0
    first = start
    for back in range(1, STRETCHES + 1):
        begins, ends = (
            start - timedelta(weeks=weeks * back),
            start - timedelta(weeks=weeks * (back - 1)),
        )
        first = begins
        kept = 1 - 0.15 * back  # the further back, the smaller the alliance was
        clicks = [
            replace(c, id=f"history{back}-{c.id}")
            for c in make_clicks(rng, begins, ends)
            if rng.random() < kept
        ]
        orders = make_orders(rng, begins, ends, clicks)
        book_clicks(engine, agreement, clicks, now=ends)
        booked_clicks += len(clicks)
        for member, documents in orders.items():
            earlier = [_renumbered(o, back) for o in documents if rng.random() < kept]
            ingest_orders(engine, agreement, earlier, member=member, secret=secret, now=ends)
            booked_orders += len(earlier)
    return (
        f"Added {booked_orders} orders and {booked_clicks} tracked clicks from {first:%Y-%m-%d} "
        f"to {start:%Y-%m-%d} (imported as order exports), so the dashboard's trends show "
        "about six months."
    )


def _renumbered(order: dict[str, Any], back: int) -> dict[str, Any]:
    """The order under an id of its own stretch (10000 * back + n), never the story's."""
    number = 10_000 * back + int(order["id"])
    return {**order, "id": number, "number": str(number)}
