"""The dashboard's read side: refreshing the rollups, and the figures of each page from them.

Pages never scan the ledger, the orders or the clicks: they read a member's months and a
window of pair days from the rollups (:mod:`alliance.storage.dashboard_queries`), which
:func:`refresh_rollups` keeps up to date from watermarks. Statements are the exception: a
statement is the ledger's lines of one member and one month, read as ``alliance statement``
reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, or_, select

from alliance.agreement import Agreement
from alliance.dashboard_figures import (
    Month,
    PairMeasure,
    Shared,
    alliance_month,
    is_free_rider,
    last_periods,
)
from alliance.money import from_minor
from alliance.periods import period_of
from alliance.storage import dashboard_queries as queries
from alliance.storage.dashboard_rollups import Refreshed, refresh
from alliance.storage.local_days import day_of
from alliance.storage.schema import transfer_payments, transfers

TREND_MONTHS = 12
EXCHANGE_DAYS = 90
"""The window of "given and received" and of the free-rider flag."""


def refresh_rollups(
    engine: Engine, agreement: Agreement, *, now: datetime | None = None, full: bool = False
) -> Refreshed:
    """Bring the dashboard's rollups up to date (``full``: count everything again)."""
    config = agreement.settings
    with engine.begin() as conn:
        return refresh(
            conn,
            members=sorted(agreement.members),
            timezone=config.timezone,
            currency=agreement.currency,
            now=now or datetime.now(UTC),
            full=full,
        )


@dataclass(frozen=True)
class Overview:
    member: str
    months: tuple[Month, ...]  # oldest first, the current month last
    alliance: dict[str, Shared]  # the alliance's shares this month, suppressed below k
    min_group_size: int

    @property
    def current(self) -> Month:
        return self.months[-1]


def overview(engine: Engine, agreement: Agreement, member: str, *, now: datetime) -> Overview:
    """The member's 12 months and, for the current one, the alliance's shared figures."""
    config = agreement.settings
    periods = last_periods(period_of(now, config.timezone), TREND_MONTHS)
    with engine.connect() as conn:
        mine = queries.member_months(conn, member, periods[0])
        everyone = queries.every_member_months(conn, periods[-1])
    currency = agreement.currency
    months = tuple(Month(p, mine.get(p, {}), currency) for p in periods)
    this_month = [
        Month(periods[-1], counts.get(periods[-1], {}), currency) for counts in everyone.values()
    ]
    return Overview(
        member, months, alliance_month(this_month, config.min_group_size), config.min_group_size
    )


@dataclass(frozen=True)
class PartnerFlow:
    """One partner, both ways, over the window: what the member gave it and got from it."""

    partner: str
    cards_shown: int  # the partner's cards on the member's pages
    cards_received: int  # the member's cards on the partner's pages
    clicks_sent: int
    clicks_received: int
    orders_sent: int  # orders the member's clicks and coupons brought the partner
    orders_received: int
    earned: Decimal  # commission the partner owes the member
    paid: Decimal  # commission the member owes the partner
    free_rider: bool  # the partner receives more than the ratio times what it gives


@dataclass(frozen=True)
class Exchange:
    member: str
    first_day: str
    last_day: str
    partners: tuple[PartnerFlow, ...]
    clicks_sent: int
    clicks_received: int
    free_rider: bool  # the member itself receives more than the ratio times what it gives
    ratio: Decimal


def exchange(engine: Engine, agreement: Agreement, member: str, *, now: datetime) -> Exchange:
    """Given and received per partner over the last :data:`EXCHANGE_DAYS` days."""
    from alliance.storage.impressions import cards_shown

    config = agreement.settings
    last = day_of(now, config.timezone)
    first = day_of(now - timedelta(days=EXCHANGE_DAYS - 1), config.timezone)
    with engine.connect() as conn:
        totals = queries.pair_totals(conn, first, last, member)
        cards = cards_shown(conn, first, last, member)
    shown: dict[tuple[str, str], int] = {}
    for (source, partner, _placement), count in cards.items():
        shown[(source, partner)] = shown.get((source, partner), 0) + count

    def total(source: str, target: str, measure: PairMeasure) -> int:
        return totals.get((source, target, measure.value), 0)

    ratio = config.free_rider_ratio
    flows = []
    for partner in sorted(set(agreement.members) - {member}):
        sent = total(member, partner, PairMeasure.CLICKS)
        received = total(partner, member, PairMeasure.CLICKS)
        flows.append(
            PartnerFlow(
                partner,
                cards_shown=shown.get((member, partner), 0),
                cards_received=shown.get((partner, member), 0),
                clicks_sent=sent,
                clicks_received=received,
                orders_sent=total(member, partner, PairMeasure.ORDERS),
                orders_received=total(partner, member, PairMeasure.ORDERS),
                earned=from_minor(
                    total(member, partner, PairMeasure.COMMISSION), agreement.currency
                ),
                paid=from_minor(total(partner, member, PairMeasure.COMMISSION), agreement.currency),
                free_rider=is_free_rider(sent, received, ratio),
            )
        )
    sent = sum(f.clicks_sent for f in flows)
    received = sum(f.clicks_received for f in flows)
    return Exchange(
        member,
        first,
        last,
        tuple(flows),
        sent,
        received,
        is_free_rider(received, sent, ratio),
        ratio,
    )


@dataclass(frozen=True)
class MemberRow:
    """One member on the admin's alliance page: this month, and the exchange window."""

    member: str
    name: str
    month: Month
    clicks_sent: int
    clicks_received: int
    free_rider: bool


def alliance_rows(engine: Engine, agreement: Agreement, *, now: datetime) -> list[MemberRow]:
    """Every member side by side (the admin's page)."""
    config = agreement.settings
    period = period_of(now, config.timezone)
    last = day_of(now, config.timezone)
    first = day_of(now - timedelta(days=EXCHANGE_DAYS - 1), config.timezone)
    with engine.connect() as conn:
        everyone = queries.every_member_months(conn, period)
        totals = queries.pair_totals(conn, first, last)
    sent: dict[str, int] = {}
    received: dict[str, int] = {}
    for (source, target, measure), value in totals.items():
        if measure == PairMeasure.CLICKS.value:
            sent[source] = sent.get(source, 0) + value
            received[target] = received.get(target, 0) + value
    rows = []
    for member_id, member in agreement.members.items():
        counts = everyone.get(member_id, {}).get(period, {})
        given, got = sent.get(member_id, 0), received.get(member_id, 0)
        rows.append(
            MemberRow(
                member_id,
                member.name,
                Month(period, counts, agreement.currency),
                given,
                got,
                is_free_rider(got, given, config.free_rider_ratio),
            )
        )
    return rows


def statement_periods(engine: Engine, member: str) -> list[str]:
    with engine.connect() as conn:
        return queries.statement_periods(conn, member)


@dataclass(frozen=True)
class TransferRow:
    id: str
    period: str
    payer: str
    payee: str
    amount: Decimal
    unit: str
    due_on: str
    paid_at: datetime | None
    reference: str


def member_transfers(engine: Engine, member: str) -> list[TransferRow]:
    """Every transfer the member pays or receives, newest period first."""
    t, p = transfers.c, transfer_payments.c
    query = (
        select(
            t.id,
            t.period,
            t.payer,
            t.payee,
            t.amount_minor,
            t.unit,
            t.due_on,
            p.paid_at,
            p.reference,
        )
        .select_from(transfers.outerjoin(transfer_payments, p.transfer_id == t.id))
        .where(or_(t.payer == member, t.payee == member))
        .order_by(t.period.desc(), t.id)
    )
    with engine.connect() as conn:
        return [
            TransferRow(
                row[0],
                row[1],
                row[2],
                row[3],
                from_minor(row[4], row[5]),
                row[5],
                row[6],
                row[7],
                row[8] or "",
            )
            for row in conn.execute(query)
        ]
