"""Settlement: a finished month's obligations, netted into transfers, and the rules around it.

Values and rules only; :mod:`alliance.services.settlement` loads, calls these and stores the
result once. A settlement is made once per period and never changes: settling again shows
the stored one. Money is netted with :mod:`alliance.netting` in integer minor units; swap
credits are never netted with money, they run as a balance per pair of members, carried
from one settlement to the next.

When: a period can be settled once it is over (in the alliance's timezone), and without
``--force`` only when none of its lines is still pending, which is certain from the first day
after the period plus ``holdback_days`` (a sale on the last evening of November is approved
14 days later, so November can settle from 15 December). That is the worker's *settlement
day*, unless the agreement names another (``settlement_day``, a day of the next month: the
worker then tries from that day, and logs what is still pending until it can). Transfers are
due ``payment_due_days`` after the day of the settlement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

from alliance import netting
from alliance.errors import BadInputError
from alliance.ledger import Entry
from alliance.money import CREDIT, from_minor, to_minor
from alliance.periods import next_period, period_of
from alliance.statement import LineStatus, line_statuses

ZERO = Decimal(0)


class TransferStatus(str, Enum):
    OPEN = "open"  # not paid, not yet due
    OVERDUE = "overdue"  # not paid after its due date
    PAID = "paid"  # someone recorded the payment, with a reference


@dataclass(frozen=True)
class Transfer:
    """``payer`` pays ``payee`` ``amount``: one of the transfers that settle ``period``."""

    id: str
    period: str
    payer: str
    payee: str
    amount: Decimal
    unit: str
    due_on: date


@dataclass(frozen=True)
class Payment:
    """Someone said a transfer was paid: when it was recorded, who said so, the reference."""

    transfer_id: str
    paid_at: datetime
    reference: str
    recorded_by: str


@dataclass(frozen=True)
class SwapBalance:
    """Swap credits between two members, in kind: ``owed_by`` owes ``owed_to`` promotion.

    The three amounts are signed from ``owed_by``'s side (``this_period`` is negative when
    the period went the other way); ``carried_forward`` is never negative."""

    owed_by: str
    owed_to: str
    brought_forward: Decimal
    this_period: Decimal
    carried_forward: Decimal


@dataclass(frozen=True)
class HeldLine:
    """A ledger line a dispute kept out of a settlement (or that a rejected one released)."""

    entry: str
    dispute: str
    status: str  # the dispute's: open, accepted, rejected
    period: str  # the period the line is in
    order: str
    deal: str
    payer: str
    payee: str
    unit: str
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class Settlement:
    period: str
    currency: str
    settled_at: datetime
    settled_by: str
    command: str
    forced: bool  # settled with lines still pending (--force)
    as_of: datetime  # when statuses were judged
    due_on: date
    entries: int  # ledger entries in the period
    transfers: tuple[Transfer, ...]
    swap_balances: tuple[SwapBalance, ...]
    held: tuple[HeldLine, ...] = ()
    released: tuple[HeldLine, ...] = ()  # held before, settled here once their dispute failed


class NotSettleable(BadInputError):
    """This period cannot be settled now; the message says why and from when it can."""


class PendingLines(NotSettleable):
    """Lines of the period are still inside the holdback."""

    def __init__(self, period: str, count: int, until: datetime, timezone: str) -> None:
        self.period, self.count, self.until = period, count, until
        local = until.astimezone(ZoneInfo(timezone))
        super().__init__(
            f"{period} has {count} line(s) still pending (inside the holdback) until "
            f"{local:%Y-%m-%d %H:%M} {timezone}; settle it from then on, or add --force to "
            "settle them now (a later refund of one becomes a clawback in the next period)"
        )


def transfer_id(period: str, payer: str, payee: str, unit: str) -> str:
    """Deterministic: one period, one pair, one id (``2026-11-7f3a9c21``), letters, digits and
    dashes only, so it fits a bank transfer's reference field."""
    raw = "|".join((period, payer, payee, unit))
    return f"{period}-{hashlib.blake2b(raw.encode(), digest_size=4).hexdigest()}"


def plan_transfers(
    period: str,
    obligations: Iterable[tuple[str, str, Decimal]],
    *,
    currency: str,
    due_on: date,
) -> tuple[Transfer, ...]:
    """The fewest transfers that settle ``obligations`` (payer, payee, amount) in ``currency``
    (see :mod:`alliance.netting`), sorted by payer then payee."""
    minor = [(payer, payee, to_minor(amount, currency)) for payer, payee, amount in obligations]
    return tuple(
        Transfer(
            transfer_id(period, payer, payee, currency),
            period,
            payer,
            payee,
            from_minor(amount, currency),
            currency,
            due_on,
        )
        for (payer, payee), amount in netting.net(minor).items()
    )


SwapKey = tuple[str, str]
"""A pair of members in sorted order; a signed balance on it is positive when the first owes
the second."""


def carry_swap_balances(
    brought: Mapping[SwapKey, int], this_period: Iterable[tuple[str, str, int]]
) -> tuple[SwapBalance, ...]:
    """Each pair's credits: what was brought forward plus what this period's credit lines
    (payer owes payee) add, sorted by pair; pairs with nothing on either side are left out."""
    change: dict[SwapKey, int] = {}
    for payer, payee, credits in this_period:
        key, sign = ((payer, payee), 1) if payer < payee else ((payee, payer), -1)
        change[key] = change.get(key, 0) + sign * credits
    result = []
    for key in sorted(brought.keys() | change.keys()):
        before, now = brought.get(key, 0), change.get(key, 0)
        if before or now:
            result.append(swap_balance(key, before, now))
    return tuple(result)


def swap_balance(key: SwapKey, before: int, change: int) -> SwapBalance:
    """A pair's balance from signed credits (positive: the first of ``key`` owes), told from
    the side that owes after it (or, at zero, the side that owed or came to owe)."""
    after = before + change
    sign = 1 if after > 0 or (after == 0 and (before or change) > 0) else -1
    first, second = key
    owed_by, owed_to = (first, second) if sign > 0 else (second, first)
    return SwapBalance(
        owed_by,
        owed_to,
        from_minor(sign * before, CREDIT),
        from_minor(sign * change, CREDIT),
        from_minor(sign * after, CREDIT),
    )


def period_start(period: str, timezone: str) -> datetime:
    """The first moment of a period, in the alliance's timezone, as an aware datetime."""
    return datetime(int(period[:4]), int(period[5:7]), 1, tzinfo=ZoneInfo(timezone))


def settlement_day(period: str, timezone: str, holdback_days: int, day: int = 0) -> date:
    """When the worker settles ``period`` (alliance time): on ``day`` of the next month when the
    agreement names one (``settlement_day``), else the first day on which none of the period's
    sales can still be pending (its end plus the holdback)."""
    start = period_start(next_period(period), timezone).date()
    return start.replace(day=day) if day else start + timedelta(days=holdback_days)


def due_on(settled_at: datetime, timezone: str, payment_due_days: int) -> date:
    """When a settlement's transfers are due: ``payment_due_days`` after its day."""
    return settled_at.astimezone(ZoneInfo(timezone)).date() + timedelta(days=payment_due_days)


def check_over(period: str, now: datetime, timezone: str) -> None:
    """Refuse a period that is not over yet (the current one, or one in the future)."""
    current = period_of(now, timezone)
    if period > current:
        raise NotSettleable(f"{period} is in the future (it is {current} now in {timezone})")
    if period == current:
        ends = period_start(next_period(period), timezone)
        raise NotSettleable(
            f"{period} is not over yet: it ends on {ends:%Y-%m-%d} ({timezone}); settle it from "
            "then on"
        )


def pending_lines(
    entries: Iterable[Entry],
    history: Iterable[Entry],
    *,
    as_of: datetime,
    holdback_days: int,
    held: Iterable[str] = (),
) -> tuple[int, datetime | None]:
    """How many of ``entries`` are still pending as of ``as_of`` (statements' rule), and when
    the last of them is approved. Lines in ``held`` (entry ids) are out of the settlement."""
    skip = set(held)
    statuses = line_statuses(entries, history, as_of=as_of, holdback_days=holdback_days)
    holdback = timedelta(days=holdback_days)
    count, until = 0, None
    for entry, status in statuses:
        if status is LineStatus.PENDING and entry.id not in skip:
            count += 1
            approved = entry.occurred_at + holdback
            until = approved if until is None or approved > until else until
    return count, until


def transfer_status(transfer: Transfer, payment: Payment | None, today: date) -> TransferStatus:
    """Paid once a payment is recorded; otherwise overdue the day after its due date."""
    if payment is not None:
        return TransferStatus.PAID
    return TransferStatus.OVERDUE if today > transfer.due_on else TransferStatus.OPEN
