"""What the dashboard's pages read: the rollups, by member and month or by pair and day.

Every query here reads rollup rows (a member's months, a window of pair days), never the
ledger, the orders or the clicks themselves: a page costs the same however long the history.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, func, or_, select

from alliance.dashboard_figures import Measure
from alliance.storage.schema import dashboard_member_months, dashboard_pair_days, transfers

_mm, _pd = dashboard_member_months.c, dashboard_pair_days.c

MonthCounts = dict[str, dict[str, int]]
"""``period -> measure -> value``."""


def member_months(conn: Connection, member: str, first_period: str) -> MonthCounts:
    """The member's counts of ``first_period`` and later."""
    query = select(_mm.period, _mm.measure, _mm.value).where(
        _mm.member == member, _mm.period >= first_period
    )
    found: MonthCounts = defaultdict(dict)
    for period, measure, value in conn.execute(query):
        found[period][measure] = int(value)
    return dict(found)


def every_member_months(conn: Connection, first_period: str) -> dict[str, MonthCounts]:
    """``member -> period -> measure -> value`` for every member, ``first_period`` on."""
    query = select(_mm.member, _mm.period, _mm.measure, _mm.value).where(_mm.period >= first_period)
    found: dict[str, MonthCounts] = defaultdict(lambda: defaultdict(dict))
    for member, period, measure, value in conn.execute(query):
        found[member][period][measure] = int(value)
    return {member: dict(months) for member, months in found.items()}


def pair_totals(
    conn: Connection, first_day: str, last_day: str, member: str | None = None
) -> dict[tuple[str, str, str], int]:
    """``(sender, receiver, measure) -> total`` over the days (both included); with
    ``member``, only the pairs it is part of."""
    total = func.sum(_pd.value)
    query = (
        select(_pd.source_member, _pd.target_member, _pd.measure, total)
        .where(_pd.day >= first_day, _pd.day <= last_day)
        .group_by(_pd.source_member, _pd.target_member, _pd.measure)
    )
    if member is not None:
        query = query.where(or_(_pd.source_member == member, _pd.target_member == member))
    return {(row[0], row[1], row[2]): int(row[3]) for row in conn.execute(query)}


def statement_periods(conn: Connection, member: str) -> list[str]:
    """Periods in which the member earned or owed anything, newest first (from the rollups,
    and the periods of its transfers)."""
    months = select(_mm.period).where(
        _mm.member == member, _mm.measure.in_([Measure.EARNED.value, Measure.OWED.value])
    )
    moved = select(transfers.c.period).where(
        or_(transfers.c.payer == member, transfers.c.payee == member)
    )
    periods = {row[0] for row in conn.execute(months)} | {row[0] for row in conn.execute(moved)}
    return sorted(periods, reverse=True)
