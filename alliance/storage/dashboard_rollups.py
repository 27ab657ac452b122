"""The dashboard's rollups, refreshed from watermarks instead of scanned per request.

Three sources feed them, each with its own watermark in ``dashboard_watermarks``: orders and
ledger entries by ``booked_at``, clicks by ``clicked_at``. A refresh finds what changed since
its source's watermark (less an overlap, so that a row committed late by a long transaction
is still seen), works out which cells that can change (a member's months from the earliest
changed sale, the ledger periods touched, the days from the earliest click), deletes those
cells and counts them again from the source tables. Recounting a cell from scratch makes a
refresh idempotent: running it twice, or two processes one after the other, gives the same
rollups. On PostgreSQL one refresh runs at a time (a transaction advisory lock; a second one
finds it taken and returns); on SQLite the database's write lock serialises them.

Days and months are the alliance's (its timezone), computed in SQL
(:mod:`alliance.storage.local_days`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    case,
    delete,
    distinct,
    func,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import aliased

from alliance.dashboard_figures import Measure, PairMeasure
from alliance.orders import SALE_STATUSES
from alliance.storage.local_days import day_of, day_start, local_day, local_month
from alliance.storage.schema import (
    clicks,
    dashboard_customers,
    dashboard_member_months,
    dashboard_pair_days,
    dashboard_watermarks,
    ledger_entries,
    orders,
)

OVERLAP = timedelta(minutes=10)
"""Orders and entries booked this long before the watermark are looked at again: a booking
transaction that commits later than its ``booked_at`` is counted all the same."""

CLICK_OVERLAP = timedelta(hours=2)
"""Clicks this long before the watermark are counted again: the web process holds clicks in
memory while the database is locked, and writes them later with their own ``clicked_at``."""

REFRESH_LOCK = 0x616C6C6461736862
"""The advisory lock key of a refresh on PostgreSQL ("alldashb")."""

_SALES = [status.value for status in SALE_STATUSES]
_o, _l, _k = orders.c, ledger_entries.c, clicks.c
_c, _pd, _mm = dashboard_customers.c, dashboard_pair_days.c, dashboard_member_months.c

ORDER_MEASURES = (
    Measure.ORDERS, Measure.REVENUE, Measure.PARTNER_ORDERS, Measure.PARTNER_REVENUE,
    Measure.CUSTOMERS, Measure.REPEAT_CUSTOMERS, Measure.PARTNER_CLICK_ORDERS,
    Measure.NEW_CUSTOMERS, Measure.NEW_VIA_PARTNERS,
)  # fmt: skip
CLICK_EVIDENCE = '%"evidence":["click",%'
"""How an order's stored facts say a partner's click attributed it (repository's facts JSON)."""
CLICK_MEASURES = (Measure.PARTNER_CLICKS, Measure.CLICKS_SENT)
LEDGER_MEASURES = (Measure.EARNED, Measure.OWED)


@dataclass
class Refreshed:
    """What one refresh recounted; ``skipped`` when another refresh held the lock."""

    skipped: bool = False
    members: list[str] = field(default_factory=list)  # whose order months were recounted
    periods: list[str] = field(default_factory=list)  # ledger periods recounted
    click_days_from: str | None = None


# -- the refresh --------------------------------------------------------------------------


def _locked(conn: Connection) -> bool:
    """This refresh's turn: on PostgreSQL the advisory lock (False when another refresh holds
    it); on SQLite the write lock, taken before the first read (a write that changes nothing),
    so the reads and writes that follow see one state of the database."""
    if conn.dialect.name != "postgresql":
        table = dashboard_watermarks
        conn.execute(update(table).where(table.c.source == "").values(source=""))
        return True
    return bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({REFRESH_LOCK})").scalar())


def watermarks(conn: Connection) -> dict[str, datetime]:
    rows = conn.execute(select(dashboard_watermarks.c.source, dashboard_watermarks.c.mark))
    return {source: mark for source, mark in rows}


def _set_mark(conn: Connection, source: str, mark: datetime) -> None:
    table = dashboard_watermarks
    changed = conn.execute(update(table).where(table.c.source == source).values(mark=mark))
    if not changed.rowcount:
        conn.execute(table.insert().values(source=source, mark=mark))


def refresh(
    conn: Connection,
    *,
    members: Sequence[str],
    timezone: str,
    currency: str,
    now: datetime,
    full: bool = False,
) -> Refreshed:
    """Bring the rollups up to ``now`` inside the caller's transaction (see the module)."""
    if not _locked(conn):
        return Refreshed(skipped=True)
    marks = {} if full else watermarks(conn)
    done = Refreshed()
    since = marks.get("orders")
    done.members = _refresh_orders(conn, None if since is None else since - OVERLAP, timezone)
    since = marks.get("ledger")
    done.periods = _refresh_ledger(
        conn, None if since is None else since - OVERLAP, timezone, currency
    )
    since = marks.get("clicks")
    done.click_days_from = _refresh_clicks(
        conn, None if since is None else since - CLICK_OVERLAP, members, timezone
    )
    for source in ("orders", "ledger", "clicks"):
        _set_mark(conn, source, now)
    return done


def _month(member: str, period: str, measure: str, value: Any) -> dict[str, Any]:
    return {"member": member, "period": period, "measure": measure, "value": int(value or 0)}


_PAIR_COLUMNS = ["day", "source_member", "target_member", "measure", "value"]
_REVENUE = func.sum(_o.total_minor - _o.refunded_minor)


def _insert_from(conn: Connection, query: Any) -> None:
    """Pair-day rows counted and written by the database itself (no row passes through us)."""
    conn.execute(dashboard_pair_days.insert().from_select(_PAIR_COLUMNS, query))


def _insert(conn: Connection, table: Any, rows: Iterable[dict[str, Any]]) -> None:
    batch = [row for row in rows if row["value"]]  # a missing cell reads as zero
    for start in range(0, len(batch), 5000):
        conn.execute(table.insert(), batch[start : start + 5000])


def _refresh_orders(conn: Connection, since: datetime | None, timezone: str) -> list[str]:
    changed = select(_o.member, _o.customer_key).where(_o.customer_key != "")
    earliest = select(_o.member, func.min(_o.sale_at)).group_by(_o.member)
    if since is not None:
        changed = changed.where(_o.booked_at >= since)
        earliest = earliest.where(_o.booked_at >= since)
    starts: dict[str, datetime] = {member: at for member, at in conn.execute(earliest)}
    if not starts:
        return []
    affected = tuple_(_c.member, _c.customer_key).in_(changed.distinct())
    old_firsts = select(_c.member, func.min(_c.first_sale_at)).where(affected).group_by(_c.member)
    for member, at in conn.execute(old_firsts):
        starts[member] = min(starts.get(member, at), at)
    conn.execute(delete(dashboard_customers).where(affected))
    _count_customers(conn, changed)
    for member, start in sorted(starts.items()):
        period = day_of(start, timezone)[:7]
        _count_member_months(conn, member, period, timezone)
        _count_pair_orders(conn, member, day_of(start, timezone), timezone)
    return sorted(starts)


def _count_customers(conn: Connection, changed: Any) -> None:
    """Each changed customer's first sale at the member, and the partner that brought it."""
    firsts = (
        select(_o.member, _o.customer_key, func.min(_o.sale_at))
        .where(_o.status.in_(_SALES), tuple_(_o.member, _o.customer_key).in_(changed.distinct()))
        .group_by(_o.member, _o.customer_key)
    )
    conn.execute(
        dashboard_customers.insert().from_select(
            ["member", "customer_key", "first_sale_at"], firsts
        )
    )
    first = aliased(orders)
    referrer = (
        select(func.max(first.c.referrer))
        .where(
            first.c.member == _c.member,
            first.c.customer_key == _c.customer_key,
            first.c.sale_at == _c.first_sale_at,
            first.c.status.in_(_SALES),
            first.c.referrer != first.c.member,
        )
        .scalar_subquery()
    )
    conn.execute(
        update(dashboard_customers)
        .where(tuple_(_c.member, _c.customer_key).in_(changed.distinct()))
        .values(first_referrer=referrer)
    )


def _count_member_months(conn: Connection, member: str, period: str, timezone: str) -> None:
    """Recount the member's order and customer measures of ``period`` and every later month."""
    conn.execute(
        delete(dashboard_member_months).where(
            _mm.member == member,
            _mm.period >= period,
            _mm.measure.in_([m.value for m in ORDER_MEASURES]),
        )
    )
    start = day_start(period, timezone)
    month = local_month(conn, _o.sale_at, timezone)
    partner = and_(_o.referrer.is_not(None), _o.referrer != _o.member)
    revenue = _o.total_minor - _o.refunded_minor
    repeat = case(
        (local_month(conn, _c.first_sale_at, timezone) < month, _o.customer_key), else_=None
    )
    query = (
        select(
            month,
            func.count(),
            func.sum(revenue),
            func.sum(case((partner, 1), else_=0)),
            func.sum(case((partner, revenue), else_=0)),
            func.count(distinct(func.nullif(_o.customer_key, ""))),
            func.count(distinct(repeat)),
            func.sum(case((and_(partner, _o.facts.like(CLICK_EVIDENCE)), 1), else_=0)),
        )
        .select_from(
            orders.outerjoin(
                dashboard_customers,
                and_(_c.member == _o.member, _c.customer_key == _o.customer_key),
            )
        )
        .where(_o.member == member, _o.sale_at >= start, _o.status.in_(_SALES))
        .group_by(month)
    )
    measures = ORDER_MEASURES[:7]
    rows = []
    for found in conn.execute(query):
        for measure, value in zip(measures, found[1:], strict=True):
            rows.append(_month(member, found[0], measure.value, value))
    first_month = local_month(conn, _c.first_sale_at, timezone)
    via = and_(_c.first_referrer.is_not(None), _c.first_referrer != _c.member)
    new = (
        select(first_month, func.count(), func.sum(case((via, 1), else_=0)))
        .where(_c.member == member, _c.first_sale_at >= start)
        .group_by(first_month)
    )
    for found in conn.execute(new):
        for measure, value in zip(ORDER_MEASURES[7:], found[1:], strict=True):
            rows.append(_month(member, found[0], measure.value, value))
    _insert(conn, dashboard_member_months, rows)


def _count_pair_orders(conn: Connection, member: str, day: str, timezone: str) -> None:
    """Recount orders and revenue partners brought to ``member`` from ``day`` on."""
    wanted = [PairMeasure.ORDERS.value, PairMeasure.REVENUE.value]
    conn.execute(
        delete(dashboard_pair_days).where(
            _pd.target_member == member, _pd.day >= day, _pd.measure.in_(wanted)
        )
    )
    local = local_day(conn, _o.sale_at, timezone)
    where = (
        _o.member == member,
        _o.sale_at >= day_start(day, timezone),
        _o.status.in_(_SALES),
        _o.referrer.is_not(None),
        _o.referrer != member,
    )
    for measure, value in ((PairMeasure.ORDERS, func.count()), (PairMeasure.REVENUE, _REVENUE)):
        query = select(local, _o.referrer, _o.member, literal(measure.value), value)
        _insert_from(conn, query.where(*where).group_by(local, _o.referrer, _o.member))


def _refresh_ledger(
    conn: Connection, since: datetime | None, timezone: str, currency: str
) -> list[str]:
    touched = select(_l.period, func.min(_l.occurred_at)).group_by(_l.period)
    if since is not None:
        touched = touched.where(_l.booked_at >= since)
    found = {period: at for period, at in conn.execute(touched)}
    if not found:
        return []
    periods = sorted(found)
    conn.execute(
        delete(dashboard_member_months).where(
            _mm.period.in_(periods), _mm.measure.in_([m.value for m in LEDGER_MEASURES])
        )
    )
    rows = []
    for side, measure in ((_l.payee, Measure.EARNED), (_l.payer, Measure.OWED)):
        query = (
            select(side, _l.period, func.sum(_l.amount_minor))
            .where(_l.period.in_(periods), _l.unit == currency)
            .group_by(side, _l.period)
        )
        for member, period, value in conn.execute(query):
            rows.append(_month(member, period, measure.value, value))
    _insert(conn, dashboard_member_months, rows)
    day = day_of(min(found.values()), timezone)
    commission = PairMeasure.COMMISSION.value
    conn.execute(delete(dashboard_pair_days).where(_pd.day >= day, _pd.measure == commission))
    local = local_day(conn, _l.occurred_at, timezone)
    query = (
        select(local, _l.payee, _l.payer, literal(commission), func.sum(_l.amount_minor))
        .where(_l.occurred_at >= day_start(day, timezone), _l.unit == currency)
        .group_by(local, _l.payee, _l.payer)
    )
    _insert_from(conn, query)
    return periods


def _refresh_clicks(
    conn: Connection, since: datetime | None, members: Sequence[str], timezone: str
) -> str | None:
    if since is None:
        first = conn.execute(select(func.min(_k.clicked_at))).scalar()
        if first is None:
            return None
        since = first
    day = day_of(since, timezone)
    clicks_measure = PairMeasure.CLICKS.value
    conn.execute(delete(dashboard_pair_days).where(_pd.day >= day, _pd.measure == clicks_measure))
    local = local_day(conn, _k.clicked_at, timezone)
    start = day_start(day, timezone)
    for member in members:  # one range of the (target_member, clicked_at) index each
        query = (
            select(local, _k.source_member, _k.target_member, literal(clicks_measure), func.count())
            .where(_k.target_member == member, _k.clicked_at >= start, _k.valid.is_(True))
            .group_by(local, _k.source_member, _k.target_member)
        )
        _insert_from(conn, query)
    period = day[:7]
    conn.execute(
        delete(dashboard_member_months).where(
            _mm.period >= period, _mm.measure.in_([m.value for m in CLICK_MEASURES])
        )
    )
    month = func.substr(_pd.day, 1, 7)
    rows = []
    for side, measure in (
        (_pd.target_member, Measure.PARTNER_CLICKS),
        (_pd.source_member, Measure.CLICKS_SENT),
    ):
        query = (
            select(side, month, func.sum(_pd.value))
            .where(_pd.day >= f"{period}-01", _pd.measure == clicks_measure)
            .group_by(side, month)
        )
        for member, found_period, value in conn.execute(query):
            rows.append(_month(member, found_period, measure.value, value))
    _insert(conn, dashboard_member_months, rows)
    return day
