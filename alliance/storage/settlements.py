"""Settlements in the database: the month's sums, and the stored settlement.

A settlement is written once, in the transaction that closes its period, and never changed
(the tables refuse UPDATE and DELETE): :func:`load_settlement` reads back exactly what was
written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from alliance.ledger import Entry
from alliance.money import CREDIT, from_minor, to_minor
from alliance.settlement import (
    HeldLine,
    Payment,
    Settlement,
    SwapBalance,
    SwapKey,
    Transfer,
    swap_balance,
)
from alliance.storage import repository as repo
from alliance.storage.schema import (
    dispute_resolutions,
    disputes,
    ledger_entries,
    settlement_holds,
    settlement_releases,
    settlements,
    swap_balances,
    transfer_payments,
    transfers,
)

_e = ledger_entries.c


# -- the month -----------------------------------------------------------------------------


def period_sums(conn: Connection, period: str) -> list[tuple[str, str, str, int, int]]:
    """``(payer, payee, unit, amount_minor, entries)`` per direction: one pass over the
    period, summed by the database (the benchmark's baseline is this query without counts)."""
    query = (
        select(_e.payer, _e.payee, _e.unit, func.sum(_e.amount_minor), func.count())
        .where(_e.period == period)
        .group_by(_e.payer, _e.payee, _e.unit)
    )
    return [(p, q, u, int(s), int(n)) for p, q, u, s, n in conn.execute(query)]


def recent_entries(conn: Connection, period: str, after: datetime) -> list[Entry]:
    """The period's entries that occurred after ``after``: the only ones that can be pending."""
    query = select(ledger_entries).where(_e.period == period, _e.occurred_at > after)
    return [repo.entry_from_row(row) for row in conn.execute(query)]


_LINE = and_(
    disputes.c.source_ref == _e.source_ref,
    disputes.c.deal_id == _e.deal_id,
    disputes.c.payer == _e.payer,
    disputes.c.payee == _e.payee,
    disputes.c.unit == _e.unit,
)


def held_entries(conn: Connection, period: str) -> list[tuple[Entry, str]]:
    """Entries of ``period`` on a line an open or accepted dispute holds, with its id."""
    query = (
        select(ledger_entries, disputes.c.id.label("dispute_id"))
        .join(disputes, _LINE)
        .outerjoin(dispute_resolutions, dispute_resolutions.c.dispute_id == disputes.c.id)
        .where(
            _e.period == period,
            or_(
                dispute_resolutions.c.outcome.is_(None), dispute_resolutions.c.outcome == "accepted"
            ),
        )
        .order_by(_e.occurred_at, _e.id)
    )
    return [(repo.entry_from_row(row), row.dispute_id) for row in conn.execute(query)]


def releasable(conn: Connection, period: str) -> list[tuple[Entry, str]]:
    """Entries an earlier settlement held whose dispute was since rejected and that no
    settlement has paid yet: the settlement of ``period`` pays them."""
    released = select(settlement_releases.c.entry_id)
    query = (
        select(ledger_entries, settlement_holds.c.dispute_id)
        .join(settlement_holds, settlement_holds.c.entry_id == _e.id)
        .join(
            dispute_resolutions, dispute_resolutions.c.dispute_id == settlement_holds.c.dispute_id
        )
        .where(
            settlement_holds.c.period < period,
            dispute_resolutions.c.outcome == "rejected",
            _e.id.not_in(released),
        )
        .order_by(_e.occurred_at, _e.id)
    )
    return [(repo.entry_from_row(row), row.dispute_id) for row in conn.execute(query)]


def swap_brought_forward(conn: Connection) -> dict[SwapKey, int]:
    """Each pair's credits over every settlement made so far (in the order they were made)."""
    c = swap_balances.c
    query = select(c.member_a, c.member_b, func.sum(c.change)).group_by(c.member_a, c.member_b)
    return {(a, b): int(total) for a, b, total in conn.execute(query) if int(total)}


# -- the settlement ------------------------------------------------------------------------


def insert_settlement(conn: Connection, settlement: Settlement, agreement_version: str) -> None:
    """Write a settlement whole: its row, transfers, swap balances, holds and releases."""
    s = settlement
    conn.execute(
        settlements.insert().values(
            period=s.period,
            currency=s.currency,
            settled_at=s.settled_at,
            as_of=s.as_of,
            settled_by=s.settled_by[:200],
            command=s.command[:500],
            forced=s.forced,
            due_on=s.due_on.isoformat(),
            entries=s.entries,
            agreement_version=agreement_version,
        )
    )
    rows: list[dict[str, Any]] = [
        {
            "id": t.id,
            "period": t.period,
            "payer": t.payer,
            "payee": t.payee,
            "unit": t.unit,
            "amount_minor": to_minor(t.amount, t.unit),
            "due_on": t.due_on.isoformat(),
        }
        for t in s.transfers
    ]
    if rows:
        conn.execute(transfers.insert(), rows)
    swaps = []
    for b in s.swap_balances:
        first, second = sorted((b.owed_by, b.owed_to))
        sign = 1 if b.owed_by == first else -1
        swaps.append(
            {
                "period": s.period,
                "member_a": first,
                "member_b": second,
                "brought_forward": sign * to_minor(b.brought_forward, CREDIT),
                "change": sign * to_minor(b.this_period, CREDIT),
                "carried_forward": sign * to_minor(b.carried_forward, CREDIT),
            }
        )
    if swaps:
        conn.execute(swap_balances.insert(), swaps)
    holds = [{"period": s.period, "entry_id": h.entry, "dispute_id": h.dispute} for h in s.held]
    if holds:
        conn.execute(settlement_holds.insert(), holds)
    releases = [{"entry_id": h.entry, "period": s.period} for h in s.released]
    if releases:
        conn.execute(settlement_releases.insert(), releases)


def settled_periods(conn: Connection) -> list[str]:
    return list(conn.execute(select(settlements.c.period).order_by(settlements.c.period)).scalars())


def is_settled(conn: Connection, period: str) -> bool:
    query = select(settlements.c.period).where(settlements.c.period == period)
    return conn.execute(query).first() is not None


def load_settlement(conn: Connection, period: str) -> Settlement | None:
    """The stored settlement of ``period``, exactly as it was written, or None."""
    row = conn.execute(select(settlements).where(settlements.c.period == period)).first()
    if row is None:
        return None
    t = transfers.c
    found = conn.execute(select(transfers).where(t.period == period).order_by(t.payer, t.payee))
    c = swap_balances.c
    swaps = conn.execute(
        select(swap_balances).where(c.period == period).order_by(c.member_a, c.member_b)
    )
    held = _lines(conn, settlement_holds, period)
    released = _lines(conn, settlement_releases, period)
    return Settlement(
        period=row.period,
        currency=row.currency,
        settled_at=row.settled_at,
        settled_by=row.settled_by,
        command=row.command,
        forced=row.forced,
        as_of=row.as_of,
        due_on=date.fromisoformat(row.due_on),
        entries=row.entries,
        transfers=tuple(_transfer(r) for r in found),
        swap_balances=tuple(_swap(r) for r in swaps),
        held=held,
        released=released,
    )


def _transfer(row: Any) -> Transfer:
    amount = from_minor(row.amount_minor, row.unit)
    return Transfer(
        row.id, row.period, row.payer, row.payee, amount, row.unit, date.fromisoformat(row.due_on)
    )


def _swap(row: Any) -> SwapBalance:
    return swap_balance((row.member_a, row.member_b), row.brought_forward, row.change)


def _lines(conn: Connection, table: Any, period: str) -> tuple[HeldLine, ...]:
    """A settlement's held (or released) lines, with their dispute as it stands now."""
    dispute_of = (
        table.c.dispute_id
        if "dispute_id" in table.c
        else select(settlement_holds.c.dispute_id)
        .where(settlement_holds.c.entry_id == table.c.entry_id)
        .scalar_subquery()
    )
    query = (
        select(
            ledger_entries,
            disputes.c.id.label("dispute"),
            disputes.c.reason,
            dispute_resolutions.c.outcome,
        )
        .select_from(table)
        .join(ledger_entries, _e.id == table.c.entry_id)
        .join(disputes, disputes.c.id == dispute_of)
        .outerjoin(dispute_resolutions, dispute_resolutions.c.dispute_id == disputes.c.id)
        .where(table.c.period == period)
        .order_by(_e.occurred_at, _e.id)
    )
    return tuple(
        held_line(repo.entry_from_row(r), r.dispute, r.outcome, r.reason)
        for r in conn.execute(query)
    )


def held_line(entry: Entry, dispute: str, outcome: str | None, reason: str) -> HeldLine:
    return HeldLine(
        entry=entry.id,
        dispute=dispute,
        status=outcome or "open",
        period=entry.period,
        order=entry.label,
        deal=entry.deal_id,
        payer=entry.payer,
        payee=entry.payee,
        unit=entry.unit,
        amount=entry.amount,
        reason=reason,
    )


# -- transfers and payments ----------------------------------------------------------------


def transfers_with_payments(
    conn: Connection, period: str | None = None, member: str | None = None
) -> list[tuple[Transfer, Payment | None]]:
    """Transfers (of a period, of a member) with their payment, by period, payer, payee."""
    t, p = transfers.c, transfer_payments.c
    query = select(transfers, p.paid_at, p.reference, p.recorded_by).outerjoin(
        transfer_payments, p.transfer_id == t.id
    )
    if period is not None:
        query = query.where(t.period == period)
    if member is not None:
        query = query.where(or_(t.payer == member, t.payee == member))
    query = query.order_by(t.period, t.payer, t.payee)
    return [
        (
            _transfer(row),
            None
            if row.paid_at is None
            else Payment(row.id, row.paid_at, row.reference, row.recorded_by),
        )
        for row in conn.execute(query)
    ]


def transfer_with_payment(
    conn: Connection, transfer_id: str
) -> tuple[Transfer, Payment | None] | None:
    t, p = transfers.c, transfer_payments.c
    query = (
        select(transfers, p.paid_at, p.reference, p.recorded_by)
        .outerjoin(transfer_payments, p.transfer_id == t.id)
        .where(t.id == transfer_id)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    payment = (
        None
        if row.paid_at is None
        else Payment(row.id, row.paid_at, row.reference, row.recorded_by)
    )
    return _transfer(row), payment


def insert_payment(conn: Connection, payment: Payment, command: str) -> bool:
    """Record a payment; False when the transfer already had one (nothing is written)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(transfer_payments)
        .values(
            transfer_id=payment.transfer_id,
            paid_at=payment.paid_at,
            reference=payment.reference[:500],
            recorded_by=payment.recorded_by[:200],
            command=command[:500],
        )
        .on_conflict_do_nothing()
        .returning(transfer_payments.c.transfer_id)
    )
    return conn.execute(stmt).first() is not None


def entries_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    wanted = list(ids)
    for start in range(0, len(wanted), repo.IN_CHUNK):
        chunk = wanted[start : start + repo.IN_CHUNK]
        for row in conn.execute(select(ledger_entries).where(_e.id.in_(chunk))):
            found[row.id] = repo.entry_from_row(row)
    return found
