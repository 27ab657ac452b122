"""Disputes: one ledger line held out of settlement until the alliance decides.

A dispute names a ledger entry and holds that entry's *line* (:data:`LineKey`: one order,
one deal, one direction), so a later refund of a disputed sale waits with it, and nothing
else does: the rest of the order, of the member and of the period settles as usual. It is
resolved once: **accepted** (the line is not owed: it stays out of every settlement and
statements show it ``voided``) or **rejected** (the line stands: the next settlement pays
it, and statements show its own status again). Lines of a settled period cannot be
disputed: they were paid; what changes them now is a refund, which lands in the next open
period.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from alliance.errors import BadInputError
from alliance.statement import LineKey, LineStatus

MAX_TEXT = 500
"""Characters a reason, a note or a payment reference may have."""


class DisputeStatus(str, Enum):
    OPEN = "open"  # holds the line out of settlement
    ACCEPTED = "accepted"  # the line is not owed: held for good
    REJECTED = "rejected"  # the line stands: settled next time


class DisputeError(BadInputError):
    """A dispute cannot be opened or resolved as asked; nothing was changed."""


@dataclass(frozen=True)
class Dispute:
    id: str
    entry: str  # the ledger entry it was opened on
    line: LineKey
    period: str  # the entry's period
    reason: str
    opened_at: datetime
    opened_by: str
    status: DisputeStatus = DisputeStatus.OPEN
    note: str = ""
    resolved_at: datetime | None = None
    resolved_by: str = ""

    @property
    def holds(self) -> bool:
        """True while it keeps its line out of settlement (open, or accepted)."""
        return self.status is not DisputeStatus.REJECTED

    @property
    def line_status(self) -> LineStatus | None:
        """What statements show for the line, or None when its own status stands again."""
        return {
            DisputeStatus.OPEN: LineStatus.DISPUTED,
            DisputeStatus.ACCEPTED: LineStatus.VOIDED,
        }.get(self.status)


def dispute_id(line: LineKey) -> str:
    """Deterministic: a line has one dispute, ever (``d-`` and 10 hex digits)."""
    return "d-" + hashlib.blake2b("|".join(line).encode(), digest_size=5).hexdigest()


def held_lines(disputes: Iterable[Dispute]) -> dict[LineKey, LineStatus]:
    """The lines disputes hold, with what statements show for each."""
    return {d.line: status for d in disputes if (status := d.line_status) is not None}


def clean_text(text: str, what: str) -> str:
    """A reason, note or reference as given (surrounding spaces dropped), if it says something
    and fits; :class:`DisputeError` otherwise."""
    cleaned = text.strip()
    if not cleaned:
        raise DisputeError(f"the {what} is empty; say in a few words what it is")
    if len(cleaned) > MAX_TEXT:
        raise DisputeError(
            f"the {what} has {len(cleaned)} characters; keep it under {MAX_TEXT + 1}"
        )
    return cleaned
