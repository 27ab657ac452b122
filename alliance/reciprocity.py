"""Reciprocity: how much each partner did for a member, turned into rotation weights.

A member's partner block gives more of its cards to the partners that give more back. What a
partner *gave* ``member`` over the last :data:`WINDOW_DAYS` full UTC days is the cards of
``member``'s products it showed on its own pages plus the valid clicks it sent, a click
counting as :data:`CARDS_PER_CLICK` cards. The weight is ``1 + (MAX_WEIGHT_RATIO - 1) *
given / most given``: every partner keeps the floor of 1, the most generous gets
:data:`MAX_WEIGHT_RATIO`, the others in proportion to what they gave. With no data all
weights are 1, so the block falls back to a plain round-robin. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

WINDOW_DAYS = 30
"""Days of giving that count: long enough to smooth a slow week, short enough to follow change."""

CARDS_PER_CLICK = 100
"""A valid click counts as this many cards shown.

Partner blocks are clicked on roughly one card in a hundred, so at a typical click-through
rate showing cards and sending clicks weigh about the same: a partner is credited for the
room it gives and for making that room work. Clicks are judged (bots, duplicates and bursts
are invalid) while cards are counted per request, so the harder-to-fake half is not
swamped by the other.
"""

MAX_WEIGHT_RATIO = Decimal(3)
"""The most generous partner gets at most this many times the share of the least one."""

FLOOR_WEIGHT = Decimal(1)
"""Every partner's weight, before what it gave is added: its guaranteed share of the block."""

WEIGHT_QUANTUM = Decimal("0.01")
"""Weights are rounded (half up) to this, so every process computes the very same numbers."""


@dataclass(frozen=True, slots=True)
class Given:
    """What one partner did for a member within the window."""

    cards: int = 0  # the member's product cards shown on the partner's pages
    clicks: int = 0  # valid clicks the partner sent to the member

    @property
    def score(self) -> int:
        """Cards plus clicks, in card units."""
        return self.cards + CARDS_PER_CLICK * self.clicks


def window(today: date) -> tuple[date, date]:
    """The first and last UTC day that count on ``today``: the full days before it.

    Today is left out because it is still being counted (impressions are flushed every half
    minute by every web process); past days no longer change, so every process reading them
    gets the same weights for the whole day.
    """
    last = today - timedelta(days=1)
    return last - timedelta(days=WINDOW_DAYS - 1), last


def reciprocity_weights(partners: Iterable[str], given: Mapping[str, Given]) -> dict[str, Decimal]:
    """``partner -> weight`` in ``[FLOOR_WEIGHT, MAX_WEIGHT_RATIO * FLOOR_WEIGHT]``.

    Weights above the floor are proportional to what each partner gave; partners absent from
    ``given`` gave nothing. When nobody gave anything every weight is the floor.
    """
    scores = {p: given.get(p, Given()).score for p in partners}
    most = max(scores.values(), default=0)
    if most <= 0:
        return dict.fromkeys(scores, FLOOR_WEIGHT)
    room = FLOOR_WEIGHT * (MAX_WEIGHT_RATIO - 1)
    return {
        partner: (FLOOR_WEIGHT + room * max(score, 0) / most).quantize(
            WEIGHT_QUANTUM, ROUND_HALF_UP
        )
        for partner, score in scores.items()
    }
