"""Settling a period, and paying what it says: load, ask the domain, store, once.

``settle`` is idempotent by construction: a period's settlement is written once, in the same
transaction that closes the period, and settling it again reads that settlement back. The
month is summed by the database (one ``GROUP BY`` pass, memory flat in the number of
entries); only the few lines disputes hold or release, and the lines that can still be
pending (the last ``holdback_days`` of the period, and only before its settlement day), are
read one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement
from alliance.audit import Actor, AuditAction
from alliance.disputes import Dispute, clean_text
from alliance.errors import BadInputError
from alliance.money import CREDIT, format_amount, from_minor, to_minor
from alliance.periods import next_period, period_of
from alliance.settlement import (
    NotSettleable,
    Payment,
    PendingLines,
    Settlement,
    Transfer,
    TransferStatus,
    carry_swap_balances,
    check_over,
    due_on,
    pending_lines,
    period_start,
    plan_transfers,
    settlement_day,
    transfer_status,
)
from alliance.storage import audit_log, settlements
from alliance.storage import disputes as dispute_store
from alliance.storage import repository as repo
from alliance.storage.period_lock import lock_for_closing


@dataclass(frozen=True)
class Settled:
    settlement: Settlement
    created: bool  # False: it was settled before, and this is what was stored then


def settle(
    engine: Engine,
    agreement: Agreement,
    period: str,
    *,
    now: datetime,
    actor: Actor,
    force: bool = False,
) -> Settled:
    """Settle ``period``: close it, net what every member owes every other into transfers,
    carry the swap credits forward, keep disputed lines out; or read back the settlement made
    before. Raises :class:`~alliance.settlement.NotSettleable` (nothing changed) for a period
    not over yet, and :class:`~alliance.settlement.PendingLines` while lines are pending,
    unless ``force``."""
    timezone = agreement.settings.timezone
    with engine.connect() as conn:
        stored = settlements.load_settlement(conn, period)
    if stored is not None:
        return Settled(stored, created=False)
    check_over(period, now, timezone)
    with engine.begin() as conn:
        lock_for_closing(conn)
        stored = settlements.load_settlement(conn, period)  # another settled it meanwhile
        if stored is not None:
            return Settled(stored, created=False)
        settlement = _settle_in(conn, agreement, period, now=now, actor=actor, force=force)
    return Settled(settlement, created=True)


def _settle_in(
    conn: Connection,
    agreement: Agreement,
    period: str,
    *,
    now: datetime,
    actor: Actor,
    force: bool,
) -> Settlement:
    config = agreement.settings
    held = settlements.held_entries(conn, period)
    if not force:
        _refuse_pending(conn, agreement, period, now, {entry.id for entry, _ in held})
    repo.close_period(conn, period, now)
    sums = settlements.period_sums(conn, period)
    released = settlements.releasable(conn, period)
    obligations: dict[str, list[tuple[str, str, int]]] = {}
    for payer, payee, unit, amount, _count in sums:
        obligations.setdefault(unit, []).append((payer, payee, amount))
    for entry, _dispute in held:  # out of this settlement
        obligations.setdefault(entry.unit, []).append(
            (entry.payer, entry.payee, -to_minor(entry.amount, entry.unit))
        )
    for entry, _dispute in released:  # into it, at last
        obligations.setdefault(entry.unit, []).append(
            (entry.payer, entry.payee, to_minor(entry.amount, entry.unit))
        )
    currency = agreement.currency
    due = due_on(now, config.timezone, config.payment_due_days)
    money = [(a, b, from_minor(m, currency)) for a, b, m in obligations.get(currency, [])]
    said = _disputes(conn, [d for _, d in (*held, *released)])
    settlement = Settlement(
        period=period,
        currency=currency,
        settled_at=now,
        settled_by=actor.who,
        command=actor.command,
        forced=force,
        as_of=now,
        due_on=due,
        entries=sum(count for *_, count in sums),
        transfers=plan_transfers(period, money, currency=currency, due_on=due),
        swap_balances=carry_swap_balances(
            settlements.swap_brought_forward(conn), obligations.get(CREDIT, [])
        ),
        held=tuple(
            settlements.held_line(e, d, said[d].status.value, said[d].reason) for e, d in held
        ),
        released=tuple(
            settlements.held_line(e, d, said[d].status.value, said[d].reason) for e, d in released
        ),
    )
    settlements.insert_settlement(conn, settlement, agreement.version)
    total = sum((t.amount for t in settlement.transfers), Decimal(0))
    details = {
        "transfers": str(len(settlement.transfers)),
        "total": format_amount(total, currency),
        "currency": currency,
        "entries": str(settlement.entries),
        "held": str(len(settlement.held)),
        "released": str(len(settlement.released)),
        "forced": "yes" if force else "no",
        "due_on": due.isoformat(),
    }
    audit_log.append(conn, actor, AuditAction.SETTLED, period, details, now)
    return settlement


def _disputes(conn: Connection, dispute_ids: list[str]) -> dict[str, Dispute]:
    found = {}
    for dispute_id in sorted(set(dispute_ids)):
        dispute = dispute_store.dispute(conn, dispute_id)
        if dispute is not None:  # a hold or release names a dispute that exists
            found[dispute_id] = dispute
    return found


def _refuse_pending(
    conn: Connection, agreement: Agreement, period: str, now: datetime, held: set[str]
) -> None:
    """Raise :class:`PendingLines` when lines of the period are still inside the holdback.

    Only the lines of the period's last ``holdback_days`` can be, and only before its
    settlement day: those are read with their orders' history and judged as statements do."""
    config = agreement.settings
    holdback = timedelta(days=config.holdback_days)
    if now >= period_start(next_period(period), config.timezone) + holdback:
        return
    recent = settlements.recent_entries(conn, period, now - holdback)
    if not recent:
        return
    history = repo.entries_for(conn, {e.source_ref for e in recent})
    count, until = pending_lines(
        recent, history, as_of=now, holdback_days=config.holdback_days, held=held
    )
    if count and until is not None:
        raise PendingLines(period, count, until, config.timezone)


def previous_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


def settle_due(engine: Engine, agreement: Agreement, *, now: datetime, actor: Actor) -> dict:
    """The worker's settlement: the previous month, on or after its settlement day, once,
    when nothing is pending; otherwise what blocks it. A result for the job log."""
    config = agreement.settings
    period = previous_period(period_of(now, config.timezone))
    with engine.connect() as conn:
        if settlements.is_settled(conn, period):
            return {"status": "ok: already settled", "period": period}
    opens = settlement_day(period, config.timezone, config.holdback_days, config.settlement_day)
    today = now.astimezone(ZoneInfo(config.timezone)).date()
    if today < opens:
        return {"status": "ok: not due yet", "period": period, "settles_on": opens.isoformat()}
    try:
        settled = settle(engine, agreement, period, now=now, actor=actor)
    except PendingLines as exc:
        return {
            "status": "blocked",
            "period": period,
            "pending": exc.count,
            "until": exc.until.isoformat(),
            "blocked": str(exc),
        }
    s = settled.settlement
    return {
        "status": "ok: settled" if settled.created else "ok: already settled",
        "period": period,
        "transfers": len(s.transfers),
        "held": len(s.held),
        "due_on": s.due_on.isoformat(),
    }


# -- transfers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferState:
    transfer: Transfer
    payment: Payment | None
    status: TransferStatus
    days_overdue: int


def transfer_states(
    engine: Engine,
    agreement: Agreement,
    *,
    today: date,
    period: str | None = None,
    member: str | None = None,
) -> list[TransferState]:
    """Transfers with their payment and where they stand today (the alliance's date)."""
    with engine.connect() as conn:
        rows = settlements.transfers_with_payments(conn, period, member)
    return [_state(t, p, today) for t, p in rows]


def _state(transfer: Transfer, payment: Payment | None, today: date) -> TransferState:
    status = transfer_status(transfer, payment, today)
    late = (today - transfer.due_on).days if status is TransferStatus.OVERDUE else 0
    return TransferState(transfer, payment, status, late)


def record_payment(
    engine: Engine,
    agreement: Agreement,
    transfer_id: str,
    reference: str,
    *,
    now: datetime,
    actor: Actor,
) -> TransferState:
    """Record that a transfer was paid, once; :class:`BadInputError` for a transfer that does
    not exist or was paid already (nothing changed)."""
    reference = clean_text(reference, "reference")
    with engine.begin() as conn:
        found = settlements.transfer_with_payment(conn, transfer_id)
        if found is None:
            raise BadInputError(
                f"there is no transfer {transfer_id!r}; `alliance transfers` lists them "
                "(settle a period first: `alliance settle --period YYYY-MM`)"
            )
        transfer, paid = found
        payment = Payment(transfer_id, now, reference, actor.who)
        if paid is not None or not settlements.insert_payment(conn, payment, actor.command):
            if paid is None:  # recorded by someone else between this read and this write
                _, paid = settlements.transfer_with_payment(conn, transfer_id) or found
            raise BadInputError(_paid_before(transfer, paid, agreement.settings.timezone))
        cur = transfer.unit
        details = {
            "from": transfer.payer,
            "to": transfer.payee,
            "amount": format_amount(transfer.amount, cur),
            "currency": cur,
            "period": transfer.period,
            "reference": reference,
        }
        audit_log.append(conn, actor, AuditAction.TRANSFER_PAID, transfer_id, details, now)
    today = now.astimezone(ZoneInfo(agreement.settings.timezone)).date()
    return _state(transfer, payment, today)


def _paid_before(transfer: Transfer, paid: Payment | None, timezone: str) -> str:
    said = ""
    if paid is not None:
        when = paid.paid_at.astimezone(ZoneInfo(timezone))
        said = (
            f" (recorded {when:%Y-%m-%d %H:%M} by {paid.recorded_by}, reference {paid.reference!r})"
        )
    return (
        f"transfer {transfer.id} ({transfer.payer} to {transfer.payee}) was paid already{said}; "
        "nothing changed. A correction is a refund in the shop: it lands in the next open period"
    )


def settlement_of(engine: Engine, period: str) -> Settlement | None:
    with engine.connect() as conn:
        return settlements.load_settlement(conn, period)


__all__ = [
    "NotSettleable",
    "PendingLines",
    "Settled",
    "TransferState",
    "previous_period",
    "record_payment",
    "settle",
    "settle_due",
    "settlement_of",
    "transfer_states",
]
