"""What partners did for a member: cards shown and valid clicks sent, per partner.

Two grouped queries (one per table), the same on SQLite and PostgreSQL; the weighting itself
is :func:`alliance.reciprocity.reciprocity_weights`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, func, select

from alliance.reciprocity import Given
from alliance.storage.schema import clicks, impressions


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def cards_shown_for(
    conn: Connection, member: str, first_day: date, last_day: date
) -> dict[str, int]:
    """``partner -> cards`` of ``member``'s products shown on each partner's pages."""
    c = impressions.c
    query = (
        select(c.source_member, func.sum(c.cards))
        .where(
            c.partner == member,
            c.source_member != member,
            c.day >= first_day.isoformat(),
            c.day <= last_day.isoformat(),
        )
        .group_by(c.source_member)
    )
    return {source: int(cards) for source, cards in conn.execute(query) if cards}


def valid_clicks_for(
    conn: Connection, member: str, first_day: date, last_day: date
) -> dict[str, int]:
    """``partner -> valid clicks`` each partner sent to ``member`` (UTC days, inclusive)."""
    c = clicks.c
    query = (
        select(c.source_member, func.count())
        .where(
            c.target_member == member,
            c.source_member != member,
            c.valid.is_(True),
            c.clicked_at >= _start_of(first_day),
            c.clicked_at < _start_of(last_day + timedelta(days=1)),
        )
        .group_by(c.source_member)
    )
    return {source: int(count) for source, count in conn.execute(query)}


def given_to(conn: Connection, member: str, first_day: date, last_day: date) -> dict[str, Given]:
    """``partner -> Given``: what each partner did for ``member`` from ``first_day`` to
    ``last_day`` (UTC, inclusive). Partners that did nothing are absent."""
    cards = cards_shown_for(conn, member, first_day, last_day)
    sent = valid_clicks_for(conn, member, first_day, last_day)
    return {p: Given(cards.get(p, 0), sent.get(p, 0)) for p in sorted(cards.keys() | sent.keys())}
