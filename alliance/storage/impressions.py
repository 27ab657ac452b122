"""Product cards shown by partner blocks: counted in memory by the web app, added up here.

A block served from cache costs a dict increment; the web app adds its counts to this table
every half minute (and when it stops), so impressions never cost a write per request. Rows
are incremented, so several web processes add up correctly.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, func, or_, select

from alliance.storage.repository import _insert
from alliance.storage.schema import impressions

ImpressionKey = tuple[str, str, str, str]
"""(day, source member, placement, partner)."""


def add_impressions(conn: Connection, counts: Mapping[ImpressionKey, int]) -> None:
    rows = [
        {"day": d, "source_member": s, "placement": p, "partner": m, "cards": n}
        for (d, s, p, m), n in counts.items()
        if n > 0
    ]
    if not rows:
        return
    stmt = _insert(conn, impressions)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "source_member", "placement", "partner"],
        set_={"cards": impressions.c.cards + stmt.excluded.cards},
    )
    conn.execute(stmt, rows)


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
