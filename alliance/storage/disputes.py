"""Disputes in the database: one row when opened, one more when resolved, nothing changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from alliance.disputes import Dispute, DisputeStatus
from alliance.storage.schema import dispute_resolutions, disputes

_d, _r = disputes.c, dispute_resolutions.c
_QUERY = select(disputes, _r.outcome, _r.note, _r.resolved_at, _r.resolved_by).outerjoin(
    dispute_resolutions, _r.dispute_id == _d.id
)


def _dispute(row: Any) -> Dispute:
    return Dispute(
        id=row.id,
        entry=row.entry_id,
        line=(row.source_ref, row.deal_id, row.payer, row.payee, row.unit),
        period=row.period,
        reason=row.reason,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        status=DisputeStatus(row.outcome) if row.outcome else DisputeStatus.OPEN,
        note=row.note or "",
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by or "",
    )


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_dispute(conn: Connection, dispute: Dispute, command: str) -> bool:
    """Record an opened dispute; False when its line already has one (nothing is written)."""
    source_ref, deal_id, payer, payee, unit = dispute.line
    stmt = (
        _insert(conn, disputes)
        .values(
            id=dispute.id,
            entry_id=dispute.entry,
            source_ref=source_ref,
            deal_id=deal_id,
            payer=payer,
            payee=payee,
            unit=unit,
            period=dispute.period,
            reason=dispute.reason[:500],
            opened_at=dispute.opened_at,
            opened_by=dispute.opened_by[:200],
            command=command[:500],
        )
        .on_conflict_do_nothing()
        .returning(_d.id)
    )
    return conn.execute(stmt).first() is not None


def insert_resolution(conn: Connection, dispute: Dispute, command: str) -> bool:
    """Record how a dispute was resolved; False when it already was (nothing is written)."""
    stmt = (
        _insert(conn, dispute_resolutions)
        .values(
            dispute_id=dispute.id,
            outcome=dispute.status.value,
            note=dispute.note[:500],
            resolved_at=dispute.resolved_at,
            resolved_by=dispute.resolved_by[:200],
            command=command[:500],
        )
        .on_conflict_do_nothing()
        .returning(_r.dispute_id)
    )
    return conn.execute(stmt).first() is not None


def dispute(conn: Connection, dispute_id: str) -> Dispute | None:
    row = conn.execute(_QUERY.where(_d.id == dispute_id)).first()
    return None if row is None else _dispute(row)


def list_disputes(
    conn: Connection, *, member: str | None = None, period: str | None = None
) -> list[Dispute]:
    """Disputes in the order they were opened (of one member's lines, of one period)."""
    query = _QUERY
    if member is not None:
        query = query.where(or_(_d.payer == member, _d.payee == member))
    if period is not None:
        query = query.where(_d.period == period)
    return [_dispute(row) for row in conn.execute(query.order_by(_d.opened_at, _d.id))]
