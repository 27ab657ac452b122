"""Opening and resolving disputes; every one recorded in the audit log with what it changed.

Each call is one transaction: the dispute's row (or its resolution) and the audit event commit
together or not at all, and a refusal (an unknown entry or dispute, a line already disputed, a
dispute already resolved, a settled period) changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from alliance.agreement import Agreement
from alliance.audit import Actor, AuditAction
from alliance.disputes import Dispute, DisputeError, DisputeStatus, clean_text, dispute_id
from alliance.money import format_amount
from alliance.statement import line_key
from alliance.storage import audit_log, settlements
from alliance.storage import disputes as store
from alliance.storage import repository as repo
from alliance.storage.schema import ledger_entries


def open_dispute(
    engine: Engine,
    agreement: Agreement,
    entry_id: str,
    reason: str,
    *,
    now: datetime,
    actor: Actor,
) -> Dispute:
    """Hold the line of ledger entry ``entry_id`` out of settlement until it is resolved."""
    reason = clean_text(reason, "reason")
    entry_id = entry_id.strip().lower()
    timezone = agreement.settings.timezone
    with engine.begin() as conn:
        query = select(ledger_entries.c.source_ref).where(ledger_entries.c.id == entry_id)
        source_ref = conn.execute(query).scalar()
        if source_ref is None:
            raise DisputeError(
                f"there is no ledger entry {entry_id!r}; a statement lists each line's entry "
                "(alliance statement --member M --period YYYY-MM --format json, or html)"
            )
        (entry,) = [e for e in repo.entries_for(conn, [source_ref]) if e.id == entry_id]
        if settlements.is_settled(conn, entry.period):
            raise DisputeError(
                f"entry {entry_id} is in {entry.period}, which is settled: its transfers are "
                "fixed. A correction is a refund or an edit of the order in the shop, and lands "
                "in the next open period"
            )
        line = line_key(entry)
        earlier = store.dispute(conn, dispute_id(line))
        if earlier is not None:
            raise DisputeError(_disputed_before(earlier, timezone))
        dispute = Dispute(
            id=dispute_id(line),
            entry=entry.id,
            line=line,
            period=entry.period,
            reason=reason,
            opened_at=now,
            opened_by=actor.who,
        )
        if not store.insert_dispute(conn, dispute, actor.command):  # opened meanwhile
            raise DisputeError(_disputed_before(store.dispute(conn, dispute.id), timezone))
        details = {
            "entry": entry.id,
            "order": entry.label,
            "deal": entry.deal_id,
            "from": entry.payer,
            "to": entry.payee,
            "amount": format_amount(entry.amount, entry.unit),
            "unit": entry.unit,
            "period": entry.period,
            "reason": reason,
        }
        audit_log.append(conn, actor, AuditAction.DISPUTE_OPENED, dispute.id, details, now)
    return dispute


def _disputed_before(earlier: Dispute | None, timezone: str) -> str:
    if earlier is None:  # pragma: no cover - a row that conflicts is there to read
        return "this line is disputed already; nothing changed"
    opened = earlier.opened_at.astimezone(ZoneInfo(timezone))
    said = (
        f"this line ({earlier.line[0]}, deal {earlier.line[1]}) is disputed already: dispute "
        f"{earlier.id}, opened {opened:%Y-%m-%d %H:%M} by {earlier.opened_by}"
    )
    if earlier.status is DisputeStatus.OPEN:
        return f"{said}; resolve it with: alliance dispute resolve {earlier.id} --accept|--reject"
    return f"{said}, {earlier.status.value}; a line is disputed once, nothing changed"


def resolve_dispute(
    engine: Engine,
    agreement: Agreement,
    dispute: str,
    *,
    accept: bool,
    note: str,
    now: datetime,
    actor: Actor,
) -> Dispute:
    """Accept (the line is not owed) or reject (it stands) an open dispute, once."""
    note = clean_text(note, "note")
    timezone = agreement.settings.timezone
    with engine.begin() as conn:
        found = store.dispute(conn, dispute.strip())
        if found is None:
            raise DisputeError(f"there is no dispute {dispute!r}; `alliance dispute` lists them")
        if found.status is not DisputeStatus.OPEN:
            raise DisputeError(_resolved_before(found, timezone))
        outcome = DisputeStatus.ACCEPTED if accept else DisputeStatus.REJECTED
        resolved = replace(found, status=outcome, note=note, resolved_at=now, resolved_by=actor.who)
        if not store.insert_resolution(conn, resolved, actor.command):  # resolved meanwhile
            raise DisputeError(_resolved_before(store.dispute(conn, found.id), timezone))
        details = {"outcome": outcome.value, "entry": found.entry, "note": note}
        audit_log.append(conn, actor, AuditAction.DISPUTE_RESOLVED, found.id, details, now)
    return resolved


def _resolved_before(found: Dispute | None, timezone: str) -> str:
    if found is None or found.resolved_at is None:  # pragma: no cover
        return "this dispute is resolved already; nothing changed"
    when = found.resolved_at.astimezone(ZoneInfo(timezone))
    return (
        f"dispute {found.id} was resolved already: {found.status.value} on "
        f"{when:%Y-%m-%d %H:%M} by {found.resolved_by} ({found.note!r}); nothing changed"
    )


def disputes(
    engine: Engine, *, member: str | None = None, period: str | None = None
) -> list[Dispute]:
    with engine.connect() as conn:
        return store.list_disputes(conn, member=member, period=period)
