"""Reciprocity weights for the partner blocks, read once per member and day in each process.

Weights count only finished UTC days (:func:`alliance.reciprocity.window`), so they hold for
a whole day and every web process reads the same numbers: blocks stay identical across
processes within a rotation slot. The day turns :data:`SETTLE_SECONDS` after midnight, once
the last impression flushes and click batches of the day before have reached the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from alliance.reciprocity import reciprocity_weights, window
from alliance.storage.reciprocity import given_to

SETTLE_SECONDS = 600
"""How long after midnight (UTC) the day before still counts as unfinished.

Web processes add impressions every 30 s and the click writer commits within a request, so
ten minutes leaves ample room for the last writes of the day before to land.
"""


def weights_day(now: float) -> date:
    """The day whose window of finished days is in force at ``now`` (a timestamp)."""
    return datetime.fromtimestamp(now - SETTLE_SECONDS, UTC).date()


@dataclass
class BlockWeights:
    """``partner -> weight`` per member, computed on first use each day and kept."""

    entries: dict[tuple[str, date], dict[str, Decimal]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def for_member(
        self, conn: Connection, member: str, partners: list[str], now: float
    ) -> dict[str, Decimal]:
        """The weights of ``member``'s partners in force at ``now``."""
        day = weights_day(now)
        found = self.entries.get((member, day))
        if found is None:
            first, last = window(day)
            found = reciprocity_weights(partners, given_to(conn, member, first, last))
            with self._lock:
                self.entries = {k: v for k, v in self.entries.items() if k[1] == day}
                self.entries[(member, day)] = found
        return found


def block_weights_of(state: Any) -> BlockWeights:
    """The app's weights (made on first use, kept on ``app.state.block_weights``)."""
    weights = getattr(state, "block_weights", None)
    if weights is None:
        weights = state.block_weights = BlockWeights()
    return weights
