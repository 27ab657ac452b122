"""The ledger: append-only entries, booked as differences, so every replay converges.

For each source fact (an order revision, a click) the domain computes the :class:`Target`
amounts it should carry, compares them with what is already booked for that fact, and
appends only the difference. Nothing is ever updated or deleted: a refund or cancellation is
a negative entry (a *reversal*); when the period the fact belongs to is already closed, the
difference lands in the next open period as a *clawback* (or a late accrual).

Each entry is one transfer: the payer's debit equals the payee's credit by construction
(see :meth:`Entry.postings`). Entry ids are deterministic, derived from the fact, its
revision and the deal, so booking the same revision twice writes nothing new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from alliance.commission import Target
from alliance.periods import first_open_period, period_of

ZERO = Decimal(0)

BookedKey = tuple[str, str, str, str]
"""``(deal_id, payer, payee, unit)``: what one source fact can carry, one amount per key."""


class SourceKind(str, Enum):
    ORDER = "order"
    CLICK = "click"


class EntryKind(str, Enum):
    ACCRUAL = "accrual"  # the fact now carries more than was booked
    REVERSAL = "reversal"  # less, inside the fact's own (open) period
    CLAWBACK = "clawback"  # less, after the fact's period was closed: carried forward


class EntryStatus(str, Enum):
    PENDING = "pending"  # inside the holdback (return window)
    APPROVED = "approved"  # the holdback has passed
    REVERSED = "reversed"  # a reversal, or an accrual whose fact now carries nothing


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    source: SourceKind
    source_ref: str  # "wang/1234" for an order, the click id for a click
    revision: str
    deal_id: str
    kind: EntryKind
    payer: str
    payee: str
    unit: str
    amount: Decimal  # signed: positive means payer owes payee more
    base: Decimal | None
    period: str  # YYYY-MM the entry is counted in
    occurred_at: datetime  # the sale (paid) date or click time, UTC
    agreement_version: str
    label: str = ""  # what statements print for the source: "wang#1234"

    @property
    def key(self) -> BookedKey:
        return (self.deal_id, self.payer, self.payee, self.unit)

    def postings(self) -> tuple[tuple[str, Decimal], tuple[str, Decimal]]:
        """Double entry: the payer is debited exactly what the payee is credited."""
        return ((self.payer, -self.amount), (self.payee, self.amount))


def entry_id(source: SourceKind, source_ref: str, revision: str, key: BookedKey) -> str:
    """Deterministic id: the same fact, revision and deal always give the same entry."""
    raw = "|".join((source.value, source_ref, revision, *key))
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class Fact:
    """What the ledger needs to know about a source to book it."""

    source: SourceKind
    source_ref: str
    revision: str
    occurred_at: datetime
    label: str


def plan_entries(
    fact: Fact,
    targets: Iterable[Target],
    booked: Mapping[BookedKey, Decimal],
    *,
    timezone: str,
    closed_periods: frozenset[str],
    agreement_version: str,
) -> list[Entry]:
    """The entries to append so the fact carries exactly ``targets`` (pure)."""
    wanted: dict[BookedKey, Target] = {t.key: t for t in targets}
    home = period_of(fact.occurred_at, timezone)
    period = first_open_period(home, closed_periods)
    entries = []
    for key in sorted(wanted.keys() | booked.keys()):
        target = wanted.get(key)
        goal = target.amount if target is not None else ZERO
        diff = goal - booked.get(key, ZERO)
        if diff == ZERO:
            continue
        if diff > ZERO:
            kind = EntryKind.ACCRUAL
        else:
            kind = EntryKind.REVERSAL if period == home else EntryKind.CLAWBACK
        deal_id, payer, payee, unit = key
        entries.append(
            Entry(
                id=entry_id(fact.source, fact.source_ref, fact.revision, key),
                source=fact.source,
                source_ref=fact.source_ref,
                revision=fact.revision,
                deal_id=deal_id,
                kind=kind,
                payer=payer,
                payee=payee,
                unit=unit,
                amount=diff,
                base=target.base if target is not None else None,
                period=period,
                occurred_at=fact.occurred_at,
                agreement_version=agreement_version,
                label=fact.label,
            )
        )
    return entries


def entry_status(
    entry: Entry, net_for_key: Decimal, *, as_of: datetime, holdback: timedelta
) -> EntryStatus:
    """Pending inside the holdback, approved after it, reversed when taken back."""
    if entry.amount < ZERO or net_for_key == ZERO:
        return EntryStatus.REVERSED
    if as_of >= entry.occurred_at + holdback:
        return EntryStatus.APPROVED
    return EntryStatus.PENDING
