"""Statements and balances: what the ledger says, per member and per pair, for one period.

Every line cites the deal it was computed under. Money and swap credits are kept apart:
credits never add up with money. Amounts are signed from the member's point of view:
positive is earned (a partner owes the member), negative is owed.

A line is one ledger entry, told as a shop owner would: what happened (a sale, a partial
refund, a refund, a cancellation; a clawback says which, and that its period was closed), by
how much the order's commission base changed, and by how much the amount did. Entries do not
store their cause; the order revision that booked them does (its status and refunded total
are part of the revision key), so the cause is read back from it here.

A line's status says where it stands: ``pending`` inside the holdback (``approves_on`` is the
day it ends), ``approved`` after it
(or once its period is settled), ``reversed`` when its order now carries nothing, ``clawed
back`` when that was taken back after its period closed (the clawback line says so too),
``disputed`` while a dispute holds it out of settlement and ``voided`` once a dispute against
it was accepted. Disputed and voided lines are not in the totals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from alliance.ledger import Entry, EntryKind, EntryStatus, SourceKind, entry_status
from alliance.money import CREDIT
from alliance.orders import LIFECYCLE_RANK, SALE_STATUSES, OrderStatus
from alliance.periods import local_date

ZERO = Decimal(0)


class LineStatus(str, Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REVERSED = "reversed"
    CLAWED_BACK = "clawed back"
    DISPUTED = "disputed"  # a dispute holds it out of settlement
    VOIDED = "voided"  # a dispute against it was accepted: it is not owed


HELD = frozenset({LineStatus.DISPUTED, LineStatus.VOIDED})
"""Statuses of lines kept out of totals and settlements."""

LineKey = tuple[str, str, str, str, str]
"""``(source_ref, deal_id, payer, payee, unit)``: one order's line under one deal, whatever
revisions, refunds and clawbacks later change it. Disputes hold a line by this key."""


def line_key(entry: Entry) -> LineKey:
    return (entry.source_ref, entry.deal_id, entry.payer, entry.payee, entry.unit)


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
    entry: str = ""  # the ledger entry's id (what a dispute names)
    agreement_version: str = ""  # the agreement version the entry was computed under
    terms: str = ""  # the deal's rate or amount under that version: "10%", "15.00"
    approves_on: str = ""  # a pending line: the day (alliance timezone) its holdback ends

    @property
    def held(self) -> bool:
        """Kept out of totals and settlement by a dispute."""
        return self.status in HELD


@dataclass(frozen=True)
class Statement:
    member: str
    period: str
    currency: str
    lines: tuple[StatementLine, ...]  # money
    credit_lines: tuple[StatementLine, ...]  # swap credits, never added to money

    @property
    def earned(self) -> Decimal:
        return Totals.of(self.lines).earned

    @property
    def owed(self) -> Decimal:
        return Totals.of(self.lines).owed

    @property
    def net(self) -> Decimal:
        return self.earned - self.owed

    @property
    def credits_received(self) -> Decimal:
        return Totals.of(self.credit_lines).earned

    @property
    def credits_given(self) -> Decimal:
        return Totals.of(self.credit_lines).owed


class Totals:
    """Earned, owed and held, added up line by line (a streamed statement's totals)."""

    __slots__ = ("earned", "held", "lines", "owed")

    def __init__(self) -> None:
        self.earned = ZERO
        self.owed = ZERO
        self.held = ZERO  # signed, from the member's side: disputed and voided lines
        self.lines = 0

    @classmethod
    def of(cls, lines: Iterable[StatementLine]) -> Totals:
        totals = cls()
        for line in lines:
            totals.add(line)
        return totals

    def add(self, line: StatementLine) -> None:
        self.lines += 1
        if line.held:
            self.held += line.amount
        elif line.incoming:
            self.earned += line.amount
        else:
            self.owed -= line.amount

    @property
    def net(self) -> Decimal:
        return self.earned - self.owed


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
    held: Mapping[LineKey, LineStatus] | None = None,
    terms: Mapping[tuple[str, str], str] | None = None,
    settled: bool = False,
) -> Statement:
    """A member's statement for a period from the period's entries (pure).

    ``history`` holds every entry of the same sources in any period: what each line changed
    from, and whether the order still carries anything (an accrual whose order was later
    fully refunded shows as reversed). ``held`` names the lines disputes hold (disputed or
    voided), ``terms`` the rate or amount of each ``(agreement version, deal)``; in a
    ``settled`` period nothing is pending any more: the settlement approved it.
    """
    money, credits = [], []
    for line in statement_lines(
        member,
        entries,
        history,
        timezone=timezone,
        holdback_days=holdback_days,
        as_of=as_of,
        held=held,
        terms=terms,
        settled=settled,
    ):
        (credits if line.unit == CREDIT else money).append(line)
    return Statement(member, period, currency, tuple(money), tuple(credits))


def statement_lines(
    member: str,
    entries: Iterable[Entry],
    history: Iterable[Entry],
    *,
    timezone: str,
    holdback_days: int,
    as_of: datetime,
    held: Mapping[LineKey, LineStatus] | None = None,
    terms: Mapping[tuple[str, str], str] | None = None,
    settled: bool = False,
) -> Iterator[StatementLine]:
    """The member's lines among ``entries``, one by one (a long statement is built a chunk of
    entries at a time, each with its own ``history``: see :func:`build_statement`)."""
    held, terms = held or {}, terms or {}
    holdback = timedelta(days=holdback_days)
    timeline = _timeline(history)
    before = timeline.before
    for entry in entries:
        if member not in (entry.payer, entry.payee):
            continue
        incoming = entry.payee == member
        net_before, base_before = before.get(entry.id, _NOTHING_BEFORE)
        change = _base_change(entry.base, base_before)
        key = line_key(entry)
        status = (held and held.get(key)) or _line_status(entry, key, timeline, as_of, holdback)
        if settled and status is LineStatus.PENDING:
            status = LineStatus.APPROVED
        day = local_date(entry.occurred_at, timezone)
        approves_on = ""
        if status is LineStatus.PENDING:
            approves_on = local_date(entry.occurred_at + holdback, timezone)
        yield StatementLine(
            date=day,
            order=entry.label,
            deal=entry.deal_id,
            counterparty=entry.payer if incoming else entry.payee,
            kind=entry.kind,
            base=change,
            amount=entry.amount if incoming else -entry.amount,
            status=status.value,
            unit=entry.unit,
            incoming=incoming,
            reason=_reason(entry, net_before, net_before + entry.amount, home=day[:7]),
            base_after=entry.base if entry.base is not None or change is None else ZERO,
            entry=entry.id,
            agreement_version=entry.agreement_version,
            terms=terms.get((entry.agreement_version, entry.deal_id), ""),
            approves_on=approves_on,
        )


def line_statuses(
    entries: Iterable[Entry], history: Iterable[Entry], *, as_of: datetime, holdback_days: int
) -> Iterator[tuple[Entry, LineStatus]]:
    """Each entry with the status a statement gives it (before any dispute)."""
    timeline = _timeline(history)
    holdback = timedelta(days=holdback_days)
    for entry in entries:
        yield entry, _line_status(entry, line_key(entry), timeline, as_of, holdback)


_Before = tuple[Decimal, Decimal | None]
"""What a source carried for one key before an entry: the net amount and the base."""

_NOTHING_BEFORE: _Before = (ZERO, None)


@dataclass(frozen=True)
class _Timeline:
    before: dict[str, _Before]  # per entry id, what its line carried before it (if anything)
    nets: dict[LineKey, Decimal]  # per line, the net now
    clawed: frozenset[LineKey]  # lines with a clawback: taken back after their period closed


def _timeline(history: Iterable[Entry]) -> _Timeline:
    """Per entry id, what its line carried before it (entries apply in revision order); the net
    per line now; and which lines were clawed back. Most lines have a single entry (a sale
    never refunded): nothing came before it, and its net is its amount."""
    by_line: dict[LineKey, list[Entry]] = defaultdict(list)
    for entry in history:
        by_line[line_key(entry)].append(entry)
    before: dict[str, _Before] = {}
    nets: dict[LineKey, Decimal] = {}
    clawed = set()
    for line, entries in by_line.items():
        if len(entries) == 1:
            (entry,) = entries
            nets[line] = entry.amount
            if entry.kind is EntryKind.CLAWBACK:
                clawed.add(line)
            continue
        net, base = ZERO, None
        for entry in sorted(entries, key=lambda e: (e.revision, e.id)):
            before[entry.id] = (net, base)
            net, base = net + entry.amount, entry.base
            if entry.kind is EntryKind.CLAWBACK:
                clawed.add(line)
        nets[line] = net
    return _Timeline(before, nets, frozenset(clawed))


def _line_status(
    entry: Entry, key: LineKey, timeline: _Timeline, as_of: datetime, holdback: timedelta
) -> LineStatus:
    if entry.kind is EntryKind.CLAWBACK:
        return LineStatus.CLAWED_BACK
    status = _status(entry, timeline.nets.get(key, entry.amount), as_of=as_of, holdback=holdback)
    if status is EntryStatus.REVERSED and entry.amount > ZERO and key in timeline.clawed:
        return LineStatus.CLAWED_BACK
    return LineStatus(status.value)


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


def _reason(entry: Entry, net_before: Decimal, net_after: Decimal, *, home: str) -> str:
    """What happened, in a shop owner's words; a late line says which closed period (``home``,
    the period of its sale) it is for."""
    if entry.source is SourceKind.CLICK:
        cause = "click" if entry.amount > ZERO else "click taken back"
    elif entry.amount > ZERO and net_before == ZERO:  # first seen after a refund: a smaller base
        cause = "sale, partly refunded" if _refunded_before(entry.revision) else "sale"
    elif entry.amount > ZERO:
        cause = "order changed"
    else:
        cause = _taken_back(entry.revision, net_after)
    if entry.period == home:
        return cause
    late = f"{cause} after {home} closed"
    return f"clawback ({late})" if entry.kind is EntryKind.CLAWBACK else late


def _refunded_before(revision: str) -> bool:
    """Whether an order revision had refunds: :func:`revision_facts`' refunded total, read
    without building it (a statement asks this of every sale)."""
    parts = revision.split("~")
    facts = parts[1] if len(parts) == 3 else ""
    return len(facts) > _REFUNDED_DIGITS and facts.isdigit() and int(facts[-_REFUNDED_DIGITS:]) > 0


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
