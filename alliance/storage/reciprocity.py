"""What partners did for a member: cards shown and valid clicks sent, per partner.

Read with the exchange view's own counts (:func:`alliance.storage.impressions.cards_shown`,
:func:`alliance.storage.click_counts.clicks_counted`), so the weights and the report can
never count differently; the weighting itself is
:func:`alliance.reciprocity.reciprocity_weights`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import Connection

from alliance.exchange import Window
from alliance.reciprocity import Given
from alliance.storage.click_counts import clicks_counted
from alliance.storage.impressions import cards_shown


def given_to(conn: Connection, member: str, first_day: date, last_day: date) -> dict[str, Given]:
    """``partner -> Given``: what each partner did for ``member`` from ``first_day`` to
    ``last_day`` (UTC, inclusive). Partners that did nothing are absent."""
    window = Window(first_day, last_day)
    cards: Counter[str] = Counter()
    shown = cards_shown(conn, first_day.isoformat(), last_day.isoformat(), member)
    for (source, partner, _placement), count in shown.items():
        if partner == member and source != member:
            cards[source] += count
    sent: Counter[str] = Counter()
    counted = clicks_counted(conn, window.start, window.end, member)
    for (source, target, _placement, valid, _reason), count in counted.items():
        if valid and target == member and source != member:
            sent[source] += count
    partners = sorted(p for p in cards.keys() | sent.keys() if cards[p] or sent[p])
    return {p: Given(cards[p], sent[p]) for p in partners}
