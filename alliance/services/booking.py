"""Booking: load what is stored, ask the domain what to append, persist it in one transaction.

The one path every caller takes (``alliance import-orders``, the sync worker, the demo, the
benchmark): a batch of mapped orders goes in, ledger entries come out. Each batch is one
transaction, so a crash leaves whole batches or nothing, and re-running converges because
only the newest revision of an order is applied and entries are written if new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement, DealLeg
from alliance.attribution import UTM_SOURCE, attribute
from alliance.clicks import Click
from alliance.commission import click_targets, order_targets
from alliance.errors import OrderDataError
from alliance.ledger import Fact, SourceKind, plan_entries
from alliance.orders import Order
from alliance.storage import repository as repo
from alliance.storage.period_lock import closed_periods_held
from alliance.storage.profiles import record_profiles

T = TypeVar("T")

BATCH_SIZE = 1000
"""Orders per transaction: large enough to amortise a commit, small enough to retry cheaply."""


@dataclass
class BookingResult:
    """What one booking run did (printed by the CLI, logged by jobs)."""

    orders_seen: int = 0
    orders_applied: int = 0  # a newer revision than the stored one
    orders_unchanged: int = 0  # duplicates and late older revisions: nothing to do
    attributed: int = 0
    entries_booked: int = 0
    rejected: list[OrderDataError] = field(default_factory=list)

    def add(self, other: BookingResult) -> None:
        self.orders_seen += other.orders_seen
        self.orders_applied += other.orders_applied
        self.orders_unchanged += other.orders_unchanged
        self.attributed += other.attributed
        self.entries_booked += other.entries_booked
        self.rejected.extend(other.rejected)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to ``size`` items (``itertools.batched`` arrives only in Python 3.12)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def book_orders(
    engine: Engine,
    agreement: Agreement,
    orders: Iterable[Order],
    *,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    also: Callable[[Connection, BookingResult], None] | None = None,
) -> BookingResult:
    """Apply order revisions to the ledger, batch by batch.

    ``also(conn, result)`` runs inside each batch's transaction, just before it commits: the
    sync moves its bookmark and quarantines refused orders there, so they commit together with
    the orders they cover, or not at all.
    """
    result = BookingResult()
    coupon_index = agreement.referral_coupon_index()
    for chunk in batched(orders, batch_size):
        when = now or datetime.now(UTC)
        result.add(_book_batch(engine, agreement, chunk, coupon_index, when, also))
    return result


def _book_batch(
    engine: Engine,
    agreement: Agreement,
    chunk: list[Order],
    coupon_index: Mapping[tuple[str, str], DealLeg],
    now: datetime,
    also: Callable[[Connection, BookingResult], None] | None = None,
) -> BookingResult:
    result = BookingResult(orders_seen=len(chunk))
    latest: dict[tuple[str, str], Order] = {}
    for order in chunk:
        if order.currency != agreement.currency:
            result.rejected.append(
                OrderDataError(
                    f"#{order.number} (id {order.external_id}) at {order.member}",
                    "currency",
                    f"{order.currency} is not the alliance currency {agreement.currency}; "
                    "the agreement settles in one currency",
                )
            )
            continue
        key = (order.member, order.external_id)
        held = latest.get(key)
        if held is None or order.revision > held.revision:
            latest[key] = order
    with engine.begin() as conn:
        _plan_and_write(conn, agreement, latest, coupon_index, now, result)
        if also is not None:
            also(conn, result)
    return result


def _plan_and_write(
    conn: Connection,
    agreement: Agreement,
    latest: Mapping[tuple[str, str], Order],
    coupon_index: Mapping[tuple[str, str], DealLeg],
    now: datetime,
    result: BookingResult,
) -> None:
    """Store the newer revisions and append the entries they call for."""
    stored = repo.stored_revisions(conn, latest.keys())
    fresh = [o for k, o in latest.items() if k not in stored or o.revision > stored[k]]
    result.orders_unchanged = result.orders_seen - len(result.rejected) - len(fresh)
    if not fresh:
        return
    closed = closed_periods_held(conn)
    booked = repo.booked_for(conn, [o.ref for o in fresh])
    click_ids = {
        o.attribution.utm_content.strip()
        for o in fresh
        if o.attribution.utm_content and o.attribution.utm_source.strip().lower() == UTM_SOURCE
    }
    clicks = repo.clicks_by_id(conn, click_ids) if click_ids else {}
    pairs = {(o.member, code) for o in fresh for code in o.coupon_codes}
    gifts = repo.gift_coupons_for(conn, pairs) if pairs else {}
    entries, rows = [], []
    settings = agreement.settings
    for order in fresh:
        won = attribute(
            order, agreement, referral_coupons=coupon_index, gift_coupons=gifts, clicks=clicks
        )
        rows.append(repo.order_row(order, won, now))
        already = booked.get(order.ref)
        if won is None and not already:
            continue  # no partner sent it and nothing was booked: nothing to plan
        result.attributed += won is not None
        fact = Fact(
            SourceKind.ORDER,
            order.ref,
            order.revision,
            order.sale_date,
            f"{order.member}#{order.number}",
        )
        entries += plan_entries(
            fact,
            order_targets(order, won, agreement),
            already or {},
            timezone=settings.timezone,
            closed_periods=closed,
            agreement_version=agreement.version,
        )
    repo.upsert_orders(conn, rows)
    record_profiles(conn, agreement, fresh)  # group-profile facts beside each order
    result.entries_booked = repo.insert_entries(conn, entries, now)
    result.orders_applied = len(fresh)


def stored_digests(conn: Connection, member: str, external_ids: list[str]) -> dict[str, str]:
    """``external_id -> source digest`` of the stored revisions among these orders.

    The cheap check before mapping: a document whose digest matches was booked already
    (re-deliveries, overlap windows, replays). Anything else goes through
    :func:`book_orders`, which decides by revision. The read ends its transaction, so no
    snapshot is held while the caller maps.
    """
    if not external_ids:
        return {}
    stored = repo.stored_digests(conn, member, external_ids)
    conn.rollback()
    return stored


def book_clicks(
    engine: Engine, agreement: Agreement, clicks: Iterable[Click], *, now: datetime | None = None
) -> int:
    """Record clicks and book the valid ones on per-click deals; returns entries booked."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        return book_clicks_in(conn, agreement, list(clicks), now)


def book_clicks_in(
    conn: Connection, agreement: Agreement, batch: list[Click], now: datetime
) -> int:
    """:func:`book_clicks` inside the caller's transaction (the click writer batches them).

    Only valid clicks on per-click deals earn anything; a batch without one writes the clicks
    and nothing else. A click's entries are only ever booked together with the click, so when
    every click of the batch was new there is nothing booked to look up.
    """
    new = repo.insert_clicks(conn, batch)
    earning = [(click, targets) for click in batch if (targets := click_targets(click, agreement))]
    if not earning:
        return 0
    closed = closed_periods_held(conn)
    refs = [f"click:{click.id}" for click, _ in earning]
    booked = {} if new == len(batch) else repo.booked_for(conn, refs)
    entries = []
    for (click, targets), ref in zip(earning, refs, strict=True):
        fact = Fact(SourceKind.CLICK, ref, "click", click.clicked_at, f"click {click.id}")
        entries += plan_entries(
            fact,
            targets,
            booked.get(ref, {}),
            timezone=agreement.settings.timezone,
            closed_periods=closed,
            agreement_version=agreement.version,
        )
    return repo.insert_entries(conn, entries, now)
