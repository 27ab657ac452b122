"""Impressions (product cards shown) counted in memory, so a block costs no write per request.

The web app adds the counts to the ``impressions`` table every half minute and when it stops
(:func:`widgets.app.flush_impressions`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImpressionCounter:
    """Cards shown, counted in memory: ``(day, source, placement, partner) -> cards``.

    ``add`` is a dict increment under a lock; ``drain`` hands the counts over and starts
    again, for a periodic flush job to persist. ``totals`` keeps everything since start.
    """

    pending: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    totals: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, day: str, source: str, placement: str, partners: Iterable[str]) -> None:
        with self._lock:
            for partner in partners:
                key = (day, source, placement, partner)
                self.pending[key] += 1
                self.totals[key] += 1

    def drain(self) -> dict[tuple[str, str, str, str], int]:
        with self._lock:
            drained, self.pending = dict(self.pending), Counter()
        return drained

    def give_back(self, drained: Mapping[tuple[str, str, str, str], int]) -> None:
        """Return counts ``drain`` handed over that could not be written: the next flush
        adds them (``totals`` already has them)."""
        with self._lock:
            self.pending.update(drained)


def impressions_of(state: Any) -> ImpressionCounter:
    """The app's impression counter (made on first use, kept on ``app.state.impressions``)."""
    counter = getattr(state, "impressions", None)
    if counter is None:
        counter = ImpressionCounter()
        state.impressions = counter
    return counter
