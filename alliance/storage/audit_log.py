"""The audit log in the database: rows are appended, never changed or removed (migration
0007's triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import orjson
from sqlalchemy import Connection, select

from alliance.audit import Actor, AuditAction, AuditEvent
from alliance.storage.schema import audit_log


def append(
    conn: Connection,
    actor: Actor,
    action: AuditAction,
    subject: str,
    details: Mapping[str, str],
    at: datetime,
) -> None:
    """Append one event, in the caller's transaction: it commits with what it records."""
    conn.execute(
        audit_log.insert().values(
            at=at,
            actor=actor.who[:200],
            command=actor.command[:500],
            action=action.value,
            subject=subject[:140],
            details=orjson.dumps(dict(details)).decode(),
        )
    )


def events(conn: Connection, since: datetime | None = None) -> list[AuditEvent]:
    """Every event (since a moment), in the order they were appended."""
    query = select(audit_log).order_by(audit_log.c.id)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    return [
        AuditEvent(
            id=row.id,
            at=row.at,
            actor=row.actor,
            command=row.command,
            action=AuditAction(row.action),
            subject=row.subject,
            details=orjson.loads(row.details),
        )
        for row in conn.execute(query)
    ]
