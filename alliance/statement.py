"""Statements and balances: what the ledger says, per member and per pair, for one period.

Every line cites the deal it was computed under. Money and swap credits are kept apart:
credits never add up with money. Amounts are signed from the member's point of view:
positive is earned (a partner owes the member), negative is owed.

A line is one ledger entry, told as a shop owner would: what happened (a sale, a partial
refund, a refund, a cancellation; a clawback says which, and that its period was closed), by
how much the order's commission base changed, and by how much the amount did. Entries do not
store their cause; the order revision that booked them does (its status and refunded total
are part of the revision key), so the cause is read back from it here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from alliance.ledger import BookedKey, Entry, EntryKind, EntryStatus, SourceKind, entry_status
from alliance.money import CREDIT
from alliance.orders import LIFECYCLE_RANK, SALE_STATUSES, OrderStatus
from alliance.periods import local_date, period_of

ZERO = Decimal(0)


@dataclass(frozen=True)
class StatementLine:
    date: str  # the sale (or click) date in the alliance timezone
    order: str  # "wang#1234" or "click <id>"
    deal: str
    counterparty: str
    kind: EntryKind
    base: Decimal | None  # how this line changed the order's base; None: the deal has none
    amount: Decimal  # signed from the member's point of view
    status: str
    unit: str
    incoming: bool  # True: the counterparty owes the member; False: the member owes
    reason: str = ""  # "sale", "partial refund", "refund", "cancelled", "clawback (refund ...)"
    base_after: Decimal | None = None  # the order's base once this line is counted


@dataclass(frozen=True)
class Statement:
    member: str
    period: str
    currency: str
    lines: tuple[StatementLine, ...]  # money
    credit_lines: tuple[StatementLine, ...]  # swap credits, never added to money

    @property
    def earned(self) -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.incoming), ZERO)

    @property
    def owed(self) -> Decimal:
        return -sum((ln.amount for ln in self.lines if not ln.incoming), ZERO)

    @property
    def net(self) -> Decimal:
        return self.earned - self.owed

    @property
    def credits_received(self) -> Decimal:
        return sum((ln.amount for ln in self.credit_lines if ln.incoming), ZERO)

    @property
    def credits_given(self) -> Decimal:
        return -sum((ln.amount for ln in self.credit_lines if not ln.incoming), ZERO)


def build_statement(
    member: str,
    period: str,
    entries: Iterable[Entry],
    history: Iterable[Entry],
    *,
    currency: str,
    timezone: str,
    holdback_days: int,
    as_of: datetime,
) -> Statement:
    """A member's statement for a period from the period's entries (pure).

    ``history`` holds every entry of the same sources in any period: what each line changed
    from, and whether the order still carries anything (an accrual whose order was later
    fully refunded shows as reversed).
    """
    holdback = timedelta(days=holdback_days)
    before, nets = _timeline(history)
    money, credits = [], []
    for entry in entries:
        if member not in (entry.payer, entry.payee):
            continue
        incoming = entry.payee == member
        net = nets.get((entry.source_ref, entry.key), entry.amount)
        net_before, base_before = before.get(entry.id, (ZERO, None))
        change = _base_change(entry.base, base_before)
        line = StatementLine(
            date=local_date(entry.occurred_at, timezone),
            order=entry.label,
            deal=entry.deal_id,
            counterparty=entry.payer if incoming else entry.payee,
            kind=entry.kind,
            base=change,
            amount=entry.amount if incoming else -entry.amount,
            status=_status(entry, net, as_of=as_of, holdback=holdback).value,
            unit=entry.unit,
            incoming=incoming,
            reason=_reason(entry, net_before, net_before + entry.amount, timezone),
            base_after=entry.base if entry.base is not None or change is None else ZERO,
        )
        (credits if entry.unit == CREDIT else money).append(line)
    return Statement(member, period, currency, tuple(money), tuple(credits))


_Before = tuple[Decimal, Decimal | None]
"""What a source carried for one key before an entry: the net amount and the base."""


def _timeline(
    history: Iterable[Entry],
) -> tuple[dict[str, _Before], dict[tuple[str, BookedKey], Decimal]]:
    """Per entry id, what its key carried before it (entries apply in revision order); and the
    net per ``(source_ref, key)`` now."""
    by_key: dict[tuple[str, BookedKey], list[Entry]] = defaultdict(list)
    for entry in history:
        by_key[(entry.source_ref, entry.key)].append(entry)
    before: dict[str, _Before] = {}
    nets: dict[tuple[str, BookedKey], Decimal] = {}
    for key, entries in by_key.items():
        net, base = ZERO, None
        for entry in sorted(entries, key=lambda e: (e.revision, e.id)):
            before[entry.id] = (net, base)
            net, base = net + entry.amount, entry.base
        nets[key] = net
    return before, nets


def _base_change(after: Decimal | None, before: Decimal | None) -> Decimal | None:
    """A line's change in base; None for deals without one (a fee per order, a swap, a click)."""
    if after is None and before is None:
        return None
    return (after or ZERO) - (before or ZERO)


def _status(entry: Entry, net: Decimal, *, as_of: datetime, holdback: timedelta) -> EntryStatus:
    """Reversed only when the order now carries nothing under the deal: a reduction that
    leaves it standing (a partial refund) waits out the holdback like the sale it reduces."""
    if entry.amount < ZERO and net != ZERO:
        return (
            EntryStatus.APPROVED if as_of >= entry.occurred_at + holdback else EntryStatus.PENDING
        )
    return entry_status(entry, net, as_of=as_of, holdback=holdback)


_CANCELLED = frozenset({OrderStatus.CANCELLED, OrderStatus.FAILED, OrderStatus.TRASH})
_UNPAID = {
    OrderStatus.PENDING: "pending payment",
    OrderStatus.ON_HOLD: "on hold",
    OrderStatus.CHECKOUT_DRAFT: "checkout draft",
}


def _reason(entry: Entry, net_before: Decimal, net_after: Decimal, timezone: str) -> str:
    """What happened, in a shop owner's words; a late line says which closed period it is for."""
    if entry.source is SourceKind.CLICK:
        cause = "click" if entry.amount > ZERO else "click taken back"
    elif entry.amount > ZERO and net_before == ZERO:
        facts = revision_facts(entry.revision)  # first seen after a refund: its base is smaller
        cause = "sale, partly refunded" if facts and facts[1] > ZERO else "sale"
    elif entry.amount > ZERO:
        cause = "order changed"
    else:
        cause = _taken_back(entry.revision, net_after)
    home = period_of(entry.occurred_at, timezone)
    if entry.period == home:
        return cause
    late = f"{cause} after {home} closed"
    return f"clawback ({late})" if entry.kind is EntryKind.CLAWBACK else late


def _taken_back(revision: str, net_after: Decimal) -> str:
    facts = revision_facts(revision)
    if facts is None:
        return "reversal"
    status, refunded = facts
    if status in _CANCELLED:
        return "cancelled"
    if status is OrderStatus.REFUNDED:
        return "refund"
    if status in SALE_STATUSES:
        if refunded > ZERO:
            return "refund" if net_after == ZERO else "partial refund"
        return "order changed"  # edited down, or its coupon or click no longer counts
    return _UNPAID.get(status, status.value)


_BY_RANK = {rank: status for status, rank in LIFECYCLE_RANK.items()}
_REFUNDED_DIGITS = 16


def revision_facts(revision: str) -> tuple[OrderStatus, Decimal] | None:
    """An order revision's status and refunded total, read back from its key; None if it is
    not an order's (a click's). The key is ``<modified>~<rank><refunded x 10^4, 16 digits>~
    <hash>``, written by ``alliance.orders._revision_key``."""
    parts = revision.split("~")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) <= _REFUNDED_DIGITS:
        return None
    status = _BY_RANK.get(int(parts[1][:-_REFUNDED_DIGITS]))
    if status is None:
        return None
    return status, Decimal(int(parts[1][-_REFUNDED_DIGITS:])).scaleb(-4)


@dataclass(frozen=True)
class Balance:
    """What ``payer`` owes ``payee`` for the period, before netting."""

    payer: str
    payee: str
    unit: str
    amount: Decimal


def build_balances(entries: Iterable[Entry]) -> list[Balance]:
    """Gross amounts per (payer, payee, unit), sorted; zero balances are left out.

    A direction that sums below zero (a period holding only a clawback of what the payee
    earned earlier) is turned round: "li owes wang 19.60", never "wang owes li -19.60"."""
    sums: dict[tuple[str, str, str], Decimal] = {}
    for entry in entries:
        key = (entry.payer, entry.payee, entry.unit)
        sums[key] = sums.get(key, ZERO) + entry.amount
    totals: dict[tuple[str, str, str], Decimal] = {}
    for (payer, payee, unit), amount in sums.items():
        key = (payer, payee, unit) if amount >= ZERO else (payee, payer, unit)
        totals[key] = totals.get(key, ZERO) + abs(amount)
    return [
        Balance(payer, payee, unit, amount)
        for (payer, payee, unit), amount in sorted(totals.items())
        if amount != ZERO
    ]
