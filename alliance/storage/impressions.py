"""Product cards shown by partner blocks: counted in memory by the web app, added up here.

A block served from cache costs a dict increment; the web app adds its counts to this table
every half minute (and when it stops), so impressions never cost a write per request. Rows
are incremented, so several web processes add up correctly. A row's ``day`` is the date in
the alliance's timezone (as statements date their lines), so ``alliance exchange`` cuts its
windows at the same midnights as statements.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import Connection, func, or_, select

from alliance.storage.repository import _insert
from alliance.storage.schema import impressions

ImpressionKey = tuple[str, str, str, str]
"""(day in the alliance's timezone, source member, placement, partner)."""


def add_impressions(
    conn: Connection, counts: Mapping[ImpressionKey, int], *, now: datetime | None = None
) -> None:
    """Add a flush of counts, stamping the rows it touched with when (``now``)."""
    at = now or datetime.now(UTC)
    rows = [
        {"day": d, "source_member": s, "placement": p, "partner": m, "cards": n, "flushed_at": at}
        for (d, s, p, m), n in counts.items()
        if n > 0
    ]
    if not rows:
        return
    stmt = _insert(conn, impressions)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "source_member", "placement", "partner"],
        set_={
            "cards": impressions.c.cards + stmt.excluded.cards,
            "flushed_at": stmt.excluded.flushed_at,
        },
    )
    conn.execute(stmt, rows)


def last_flush(conn: Connection) -> datetime | None:
    """When cards were last added to the database; None before the first flush."""
    return conn.execute(select(func.max(impressions.c.flushed_at))).scalar()


def impressions_between(
    conn: Connection, first_day: str, last_day: str
) -> dict[ImpressionKey, int]:
    c = impressions.c
    query = select(c.day, c.source_member, c.placement, c.partner, c.cards).where(
        c.day >= first_day, c.day <= last_day
    )
    return {tuple(row[:4]): int(row[4]) for row in conn.execute(query)}  # type: ignore[misc]


def cards_shown(
    conn: Connection, first_day: str, last_day: str, member: str | None = None
) -> dict[tuple[str, str, str], int]:
    """Cards summed over the days (both included) per (source member, partner, placement);
    with ``member``, only the rows it showed or was shown in. One grouped query."""
    c = impressions.c
    cards = func.sum(c.cards)
    query = (
        select(c.source_member, c.partner, c.placement, cards)
        .where(c.day >= first_day, c.day <= last_day)
        .group_by(c.source_member, c.partner, c.placement)
    )
    if member is not None:
        query = query.where(or_(c.source_member == member, c.partner == member))
    return {(row[0], row[1], row[2]): int(row[3]) for row in conn.execute(query)}
