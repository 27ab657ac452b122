"""Recorded clicks counted per direction, placement and verdict, for the exchange view.

One grouped query over ``clicks``: the report needs counts, never a click or a visitor.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, or_, select

from alliance.storage.schema import clicks


def clicks_counted(
    conn: Connection, start: datetime, end: datetime, member: str | None = None
) -> dict[tuple[str, str, str, bool, str], int]:
    """Clicks with ``start <= clicked_at < end`` (aware UTC: a window's midnights in the
    alliance's timezone, :class:`alliance.exchange.Window`) per (source member, target member,
    placement, valid, invalid reason); with ``member``, only clicks it sent or got."""
    c = clicks.c
    keys = (c.source_member, c.target_member, c.placement, c.valid, c.invalid_reason)
    query = (
        select(*keys, func.count()).where(c.clicked_at >= start, c.clicked_at < end).group_by(*keys)
    )
    if member is not None:
        query = query.where(or_(c.source_member == member, c.target_member == member))
    return {
        (row[0], row[1], row[2], bool(row[3]), row[4]): int(row[5]) for row in conn.execute(query)
    }
