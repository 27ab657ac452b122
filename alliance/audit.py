"""The audit log's values: who did what to the money, when, and from which command.

Every settlement, recorded payment, and opened or resolved dispute appends one event; nothing
ever changes or removes one (the database refuses it: see migration 0007). Refusals change
nothing, so they leave no event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class AuditAction(str, Enum):
    SETTLED = "settled"
    TRANSFER_PAID = "transfer paid"
    DISPUTE_OPENED = "dispute opened"
    DISPUTE_RESOLVED = "dispute resolved"
    PERIOD_CLOSED = "period closed"
    PERIOD_REOPENED = "period reopened"


@dataclass(frozen=True)
class Actor:
    """Who is acting (``ALLIANCE_ACTOR``, else the login and host) and through what: the
    command as typed (``alliance transfers paid ...``), or the job."""

    who: str
    command: str


@dataclass(frozen=True)
class AuditEvent:
    id: int  # the order events were appended in
    at: datetime
    actor: str
    command: str
    action: AuditAction
    subject: str  # the period, transfer or dispute acted on
    details: Mapping[str, str] = field(default_factory=dict)
