"""Statements and balances: what the ledger says, per member and per pair, for one period.

Every line cites the deal it was computed under. Money and swap credits are kept apart:
credits never add up with money. Amounts are signed from the member's point of view:
positive is earned (a partner owes the member), negative is owed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from alliance.ledger import BookedKey, Entry, EntryKind, entry_status
from alliance.money import CREDIT
from alliance.periods import local_date

ZERO = Decimal(0)


@dataclass(frozen=True)
class StatementLine:
    date: str  # the sale (or click) date in the alliance timezone
    order: str  # "wang#1234" or "click <id>"
    deal: str
    counterparty: str
    kind: EntryKind
    base: Decimal | None
    amount: Decimal  # signed from the member's point of view
    status: str
    unit: str
    incoming: bool  # True: the counterparty owes the member; False: the member owes


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
    nets: Mapping[tuple[str, BookedKey], Decimal],
    *,
    currency: str,
    timezone: str,
    holdback_days: int,
    as_of: datetime,
) -> Statement:
    """A member's statement for a period from the period's entries (pure).

    ``nets`` holds the net booked per ``(source_ref, key)`` over all periods, so an accrual
    whose order was later fully refunded shows as reversed.
    """
    holdback = timedelta(days=holdback_days)
    money, credits = [], []
    for entry in entries:
        if member not in (entry.payer, entry.payee):
            continue
        incoming = entry.payee == member
        net = nets.get((entry.source_ref, entry.key), entry.amount)
        line = StatementLine(
            date=local_date(entry.occurred_at, timezone),
            order=entry.label,
            deal=entry.deal_id,
            counterparty=entry.payer if incoming else entry.payee,
            kind=entry.kind,
            base=entry.base,
            amount=entry.amount if incoming else -entry.amount,
            status=entry_status(entry, net, as_of=as_of, holdback=holdback).value,
            unit=entry.unit,
            incoming=incoming,
        )
        (credits if entry.unit == CREDIT else money).append(line)
    return Statement(member, period, currency, tuple(money), tuple(credits))


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
