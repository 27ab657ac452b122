"""Queries and writes, one function each; the booking service composes them.

Writes are insert-if-new (ledger entries) or upserts keyed by natural ids (order snapshots),
so running any of them twice changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, Table, bindparam, delete, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from alliance.attribution import Attribution, IssuedCoupon
from alliance.clicks import Click
from alliance.ledger import BookedKey, Entry, EntryKind, SourceKind
from alliance.money import from_minor, to_minor
from alliance.orders import AttributionFields, Order, OrderLine, OrderStatus
from alliance.storage import bulk
from alliance.storage.schema import (
    agreement_versions,
    clicks,
    gift_coupons,
    ledger_entries,
    orders,
    periods,
)

IN_CHUNK = 500
"""Keys per ``IN (...)`` list: well under SQLite's and PostgreSQL's parameter limits."""


def _insert(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- orders -------------------------------------------------------------------------------


def stored_revisions(
    conn: Connection, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """``(member, external_id) -> revision`` of what is stored for these orders."""
    by_member: dict[str, list[str]] = defaultdict(list)
    for member, external_id in keys:
        by_member[member].append(external_id)
    found: dict[tuple[str, str], str] = {}
    for member, external_ids in by_member.items():
        for chunk in _chunks(external_ids):
            rows = conn.execute(
                select(orders.c.external_id, orders.c.revision).where(
                    orders.c.member == member, orders.c.external_id.in_(chunk)
                )
            )
            found.update({(member, ext): revision for ext, revision in rows})
    return found


def stored_digests(conn: Connection, member: str, external_ids: Collection[str]) -> dict[str, str]:
    """``external_id -> source_digest`` of the stored revision of these orders of one member."""
    found: dict[str, str] = {}
    for chunk in _chunks(list(external_ids)):
        rows = conn.execute(
            select(orders.c.external_id, orders.c.source_digest).where(
                orders.c.member == member, orders.c.external_id.in_(chunk)
            )
        )
        found.update({ext: digest for ext, digest in rows})
    return found


ORDER_COLUMNS = tuple(c.name for c in orders.c)
_ORDER_UPSERT = 1
_ENTRY_INSERT = 2
_CLICK_INSERT = 3


def order_row(
    order: Order, attribution: Attribution | None, booked_at: datetime
) -> tuple[Any, ...]:
    """The order snapshot: queried columns, plus every other non-personal fact as JSON."""
    cur = order.currency
    utm = order.attribution
    facts = {
        "currency": cur,
        "created_at": order.created_at,
        "modified_at": order.modified_at,
        "paid_at": order.paid_at,
        "items_subtotal": str(order.items_subtotal),
        "discount": str(order.discount_total),
        "shipping": str(order.shipping_total),
        "tax": str(order.tax_total),
        "lines": [
            [ln.product_id, ln.variation_id, ln.quantity, str(ln.subtotal), str(ln.total), ln.name]
            for ln in order.lines
        ],
        "coupons": order.coupon_codes,
        "utm": [utm.source_type, utm.utm_source, utm.utm_medium, utm.utm_campaign, utm.utm_content],
        "evidence": [attribution.evidence.value, attribution.reference] if attribution else None,
    }
    return (  # in ORDER_COLUMNS order
        order.member,
        order.external_id,
        order.number,
        order.revision,
        order.source_digest,
        order.status.value,
        order.sale_date,
        to_minor(order.items_total, cur),
        to_minor(order.total, cur),
        to_minor(order.refunded_total, cur),
        order.customer_key,
        order.country,
        order.state,
        attribution.referrer if attribution else None,
        orjson.dumps(facts).decode(),
        booked_at,
    )


def upsert_orders(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Store the newest revision of each order (the snapshot; the ledger keeps the history)."""
    stmt = _insert(conn, orders)
    updated = {c.name: stmt.excluded[c.name] for c in orders.c if not c.primary_key}
    stmt = stmt.on_conflict_do_update(index_elements=["member", "external_id"], set_=updated)
    bulk.execute_many(conn, _ORDER_UPSERT, stmt, ORDER_COLUMNS, rows)


def stored_order(conn: Connection, member: str, external_id: str) -> Order | None:
    """The stored snapshot as an :class:`Order` (the inverse of :func:`order_row`), or None.

    For an order its store can no longer return (deleted for good): its last revision is all
    there is to book from.
    """
    row = (
        conn.execute(
            select(orders).where(orders.c.member == member, orders.c.external_id == external_id)
        )
        .mappings()
        .first()
    )
    return None if row is None else order_from_row(row)


def stored_orders(conn: Connection, member: str, external_ids: Collection[str]) -> dict[str, Order]:
    """:func:`stored_order` for many orders of one member: ``external_id -> Order``."""
    found: dict[str, Order] = {}
    for chunk in _chunks(list(external_ids)):
        query = select(orders).where(orders.c.member == member, orders.c.external_id.in_(chunk))
        for row in conn.execute(query).mappings():
            found[row["external_id"]] = order_from_row(row)
    return found


def order_from_row(row: Mapping[str, Any]) -> Order:
    """An ``orders`` row (as a mapping) as the :class:`Order` it was stored from."""
    facts = orjson.loads(row["facts"])
    cur = facts["currency"]
    source_type, utm_source, utm_medium, utm_campaign, utm_content = facts["utm"]
    return Order(
        member=row["member"],
        external_id=row["external_id"],
        number=row["number"],
        status=OrderStatus(row["status"]),
        currency=cur,
        created_at=datetime.fromisoformat(facts["created_at"]),
        modified_at=datetime.fromisoformat(facts["modified_at"]),
        paid_at=datetime.fromisoformat(facts["paid_at"]) if facts["paid_at"] else None,
        items_subtotal=Decimal(facts["items_subtotal"]),
        items_total=from_minor(row["items_total_minor"], cur),
        discount_total=Decimal(facts["discount"]),
        shipping_total=Decimal(facts["shipping"]),
        tax_total=Decimal(facts["tax"]),
        total=from_minor(row["total_minor"], cur),
        refunded_total=from_minor(row["refunded_minor"], cur),
        lines=tuple(
            OrderLine(product, quantity, Decimal(subtotal), Decimal(total), name, variation)
            for product, variation, quantity, subtotal, total, name in facts["lines"]
        ),
        coupon_codes=tuple(facts["coupons"]),
        attribution=AttributionFields(
            source_type, utm_source, utm_medium, utm_campaign, utm_content
        ),
        customer_key=row["customer_key"],
        country=row["country"],
        state=row["state"],
        source_digest=row["source_digest"],
    )


# -- ledger -------------------------------------------------------------------------------


_e = ledger_entries.c
_BOOKED_FOR = (
    select(_e.source_ref, _e.deal_id, _e.payer, _e.payee, _e.unit, func.sum(_e.amount_minor))
    .where(_e.source_ref.in_(bindparam("refs", expanding=True)))
    .group_by(_e.source_ref, _e.deal_id, _e.payer, _e.payee, _e.unit)
)  # built once: every booking runs it


def booked_for(conn: Connection, refs: Collection[str]) -> dict[str, dict[BookedKey, Decimal]]:
    """Net booked per source ref and ``(deal, payer, payee, unit)``."""
    result: dict[str, dict[BookedKey, Decimal]] = defaultdict(dict)
    for chunk in _chunks(list(refs)):
        for ref, deal, payer, payee, unit, minor in conn.execute(_BOOKED_FOR, {"refs": chunk}):
            result[ref][(deal, payer, payee, unit)] = from_minor(int(minor), unit)
    return result


ENTRY_COLUMNS = tuple(c.name for c in ledger_entries.c)


def insert_entries(conn: Connection, entries: list[Entry], booked_at: datetime) -> int:
    """Append entries; an id already present is skipped. Returns how many were new."""
    rows = [
        (  # in ENTRY_COLUMNS order
            x.id,
            x.source.value,
            x.source_ref,
            x.revision,
            x.deal_id,
            x.kind.value,
            x.payer,
            x.payee,
            x.unit,
            to_minor(x.amount, x.unit),
            None if x.base is None else to_minor(x.base, x.unit),
            x.period,
            x.occurred_at,
            x.agreement_version,
            x.label[:140],
            booked_at,
        )
        for x in entries
    ]
    stmt = _insert(conn, ledger_entries).on_conflict_do_nothing()
    return bulk.execute_many(conn, _ENTRY_INSERT, stmt, ENTRY_COLUMNS, rows)


def _entry(row: Any) -> Entry:
    return Entry(
        id=row.id,
        source=SourceKind(row.source),
        source_ref=row.source_ref,
        revision=row.revision,
        deal_id=row.deal_id,
        kind=EntryKind(row.kind),
        payer=row.payer,
        payee=row.payee,
        unit=row.unit,
        amount=from_minor(row.amount_minor, row.unit),
        base=None if row.base_minor is None else from_minor(row.base_minor, row.unit),
        period=row.period,
        occurred_at=row.occurred_at,
        agreement_version=row.agreement_version,
        label=row.label,
    )


def entries_in_period(conn: Connection, period: str, member: str | None = None) -> list[Entry]:
    e = ledger_entries.c
    query = select(ledger_entries).where(e.period == period)
    if member is not None:
        query = query.where((e.payer == member) | (e.payee == member))
    query = query.order_by(e.occurred_at, e.label, e.deal_id, e.booked_at, e.id)
    return [_entry(row) for row in conn.execute(query)]


def net_for(conn: Connection, refs: Collection[str]) -> dict[tuple[str, BookedKey], Decimal]:
    """Net per ``(source_ref, key)`` over all periods: tells whether an accrual still stands."""
    return {
        (ref, key): amount
        for ref, by_key in booked_for(conn, refs).items()
        for key, amount in by_key.items()
    }


def entries_for(conn: Connection, refs: Collection[str]) -> list[Entry]:
    """Every entry of these sources, in any period: what each statement line changed from."""
    query = select(ledger_entries).where(_e.source_ref.in_(bindparam("refs", expanding=True)))
    found: list[Entry] = []
    for chunk in _chunks(list(refs)):
        found += [_entry(row) for row in conn.execute(query, {"refs": chunk})]
    return found


# -- periods, clicks, coupons, agreement versions --------------------------------------


_CLOSED_PERIODS = select(periods.c.period)


def closed_periods(conn: Connection) -> frozenset[str]:
    return frozenset(conn.execute(_CLOSED_PERIODS).scalars())


def close_period(conn: Connection, period: str, at: datetime | None = None) -> bool:
    """Mark a period closed; ``False`` when it already was."""
    result = conn.execute(
        _insert(conn, periods)
        .values(period=period, closed_at=at or datetime.now(UTC))
        .on_conflict_do_nothing()
        .returning(periods.c.period)
    )
    return result.first() is not None


def reopen_period(conn: Connection, period: str) -> bool:
    """Mark a closed period open again; ``False`` when it was not closed."""
    return conn.execute(delete(periods).where(periods.c.period == period)).rowcount > 0


def clicks_by_id(conn: Connection, ids: Collection[str]) -> dict[str, Click]:
    found: dict[str, Click] = {}
    for chunk in _chunks(list(ids)):
        for row in conn.execute(select(clicks).where(clicks.c.id.in_(chunk))):
            found[row.id] = Click(
                id=row.id,
                source_member=row.source_member,
                target_member=row.target_member,
                deal_id=row.deal_id,
                clicked_at=row.clicked_at,
                product_id=row.product_id,
                placement=row.placement,
                visitor_key=row.visitor_key,
                agent_class=row.agent_class,
                valid=row.valid,
                invalid_reason=row.invalid_reason,
            )
    return found


CLICK_COLUMNS = tuple(c.name for c in clicks.c)


def insert_clicks(conn: Connection, new_clicks: Iterable[Click]) -> int:
    """Store clicks; an id already stored is skipped (a repeat is a retry). Returns how many
    were new."""
    rows = [
        (  # in CLICK_COLUMNS order
            c.id,
            c.source_member,
            c.target_member,
            c.deal_id,
            c.product_id,
            c.placement,
            c.clicked_at,
            c.visitor_key,
            c.agent_class,
            c.valid,
            c.invalid_reason,
        )
        for c in new_clicks
    ]
    stmt = _insert(conn, clicks).on_conflict_do_nothing()
    return bulk.execute_many(conn, _CLICK_INSERT, stmt, CLICK_COLUMNS, rows)


def gift_coupons_for(
    conn: Connection, pairs: Collection[tuple[str, str]]
) -> dict[tuple[str, str], IssuedCoupon]:
    """Issued gift-pack coupons among ``(member, code)`` pairs.

    A ``failed`` coupon is left out: its code may exist in the store, but as the store's own
    coupon with other terms, so an order using it owes the promotion nothing.
    """
    found: dict[tuple[str, str], IssuedCoupon] = {}
    pk = tuple_(gift_coupons.c.member, gift_coupons.c.code)
    query = select(gift_coupons.c.member, gift_coupons.c.code, gift_coupons.c.promotion_id)
    query = query.where(gift_coupons.c.state != "failed")
    for chunk in _chunks(list(pairs)):
        for row in conn.execute(query.where(pk.in_(chunk))):
            found[(row.member, row.code)] = IssuedCoupon(row.code, row.promotion_id, row.member)
    return found


def record_agreement_version(
    conn: Connection, version: str, source: str, content: str, at: datetime
) -> None:
    conn.execute(
        _insert(conn, agreement_versions)
        .values(version=version, source=source[:500], content=content, recorded_at=at)
        .on_conflict_do_nothing()
    )


entry_from_row = _entry
"""A ``ledger_entries`` row as its :class:`Entry`, for queries composed in other modules."""
