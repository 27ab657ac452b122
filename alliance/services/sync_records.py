"""What the sync remembers per member: bookmarks, the last outcome, and quarantined orders.

The orders bookmark is the newest ``date_modified_gmt`` whose orders are committed. It only
moves forward (the UPDATE says so), so a late or repeated call can never rewind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, or_, select, update

from alliance.errors import OrderDataError
from alliance.storage.repository import _chunks, _insert
from alliance.storage.schema import orders, quarantine, sync_state

_REASON_MAX = 500


@dataclass(frozen=True)
class SyncState:
    member: str
    orders_bookmark: datetime | None = None
    trash_bookmark: datetime | None = None
    products_bookmark: datetime | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str = ""
    last_error_kind: str = ""
    needs_attention: bool = False
    ignores_modified_after: bool = False
    store_orders_total: int | None = None
    fence: int | None = None


@dataclass(frozen=True)
class QuarantinedOrder:
    member: str
    external_id: str
    date_modified: str
    reason: str
    first_seen_at: datetime
    last_seen_at: datetime


def _ensure(conn: Connection, member: str) -> None:
    stmt = _insert(conn, sync_state).values(
        member=member,
        last_error="",
        last_error_kind="",
        needs_attention=False,
        ignores_modified_after=False,
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["member"]))


def load_states(conn: Connection) -> dict[str, SyncState]:
    rows = conn.execute(select(sync_state)).mappings()
    return {row["member"]: SyncState(**row) for row in rows}


def load_state(conn: Connection, member: str) -> SyncState:
    row = conn.execute(select(sync_state).where(sync_state.c.member == member)).mappings().first()
    return SyncState(**row) if row else SyncState(member)


def has_orders(conn: Connection, member: str) -> bool:
    """Whether anything of the member's is stored (else a sync skips digest lookups)."""
    query = select(orders.c.external_id).where(orders.c.member == member).limit(1)
    return conn.execute(query).first() is not None


def advance_bookmark(conn: Connection, member: str, column: str, moment: datetime) -> None:
    """Move a bookmark forward to ``moment``; never backward."""
    _ensure(conn, member)
    col = sync_state.c[column]
    conn.execute(
        update(sync_state)
        .where(sync_state.c.member == member, or_(col.is_(None), col < moment))
        .values({column: moment})
    )


def pass_fence(conn: Connection, member: str, token: int) -> bool:
    """Record ``token`` as the member's newest writer; False if a newer token already wrote.

    The storage half of fencing: a worker whose lock expired (it stalled, the lock moved on)
    still believes it holds the member; its next write is refused here, in the same
    transaction as the write, so nothing it computed commits.
    """
    _ensure(conn, member)
    fence = sync_state.c.fence
    result = conn.execute(
        update(sync_state)
        .where(sync_state.c.member == member, or_(fence.is_(None), fence <= token))
        .values(fence=token)
    )
    return result.rowcount == 1


def current_fence(conn: Connection, member: str) -> int | None:
    query = select(sync_state.c.fence).where(sync_state.c.member == member)
    return conn.execute(query).scalar_one_or_none()


def record_attempt(conn: Connection, member: str, at: datetime) -> None:
    _ensure(conn, member)
    conn.execute(update(sync_state).where(sync_state.c.member == member).values(last_attempt_at=at))


def record_success(
    conn: Connection,
    member: str,
    at: datetime,
    *,
    store_orders_total: int | None,
    ignores_modified_after: bool,
) -> None:
    _ensure(conn, member)
    conn.execute(
        update(sync_state)
        .where(sync_state.c.member == member)
        .values(
            last_success_at=at,
            last_error="",
            last_error_kind="",
            needs_attention=False,
            store_orders_total=store_orders_total,
            ignores_modified_after=ignores_modified_after,
        )
    )


def record_failure(
    conn: Connection, member: str, *, kind: str, message: str, needs_attention: bool
) -> None:
    _ensure(conn, member)
    conn.execute(
        update(sync_state)
        .where(sync_state.c.member == member)
        .values(
            last_error=message[:_REASON_MAX],
            last_error_kind=kind[:32],
            needs_attention=needs_attention,
        )
    )


def reset_bookmarks(conn: Connection, member: str) -> None:
    """For ``alliance sync --full``: read everything again (digests keep it cheap)."""
    _ensure(conn, member)
    conn.execute(
        update(sync_state)
        .where(sync_state.c.member == member)
        .values(orders_bookmark=None, trash_bookmark=None, products_bookmark=None)
    )


# -- quarantine ---------------------------------------------------------------------------


def quarantine_orders(
    conn: Connection,
    member: str,
    rejected: Iterable[tuple[OrderDataError, str]],
    at: datetime,
) -> int:
    """Keep refused orders (id, revision date, reason) until a later revision maps cleanly."""
    rows = [
        {
            "member": member,
            "external_id": error.external_id or f"?{error.order}"[:64],
            "date_modified": date_modified[:32],
            "reason": f"{error.field}: {error.message}"[:_REASON_MAX],
            "first_seen_at": at,
            "last_seen_at": at,
        }
        for error, date_modified in rejected
    ]
    if not rows:
        return 0
    stmt = _insert(conn, quarantine)
    stmt = stmt.on_conflict_do_update(
        index_elements=["member", "external_id"],
        set_={
            "date_modified": stmt.excluded.date_modified,
            "reason": stmt.excluded.reason,
            "last_seen_at": stmt.excluded.last_seen_at,
        },
    )
    conn.execute(stmt, rows)
    return len(rows)


def release_quarantine(conn: Connection, member: str, external_ids: Iterable[str]) -> None:
    """Orders that now mapped and booked leave the quarantine."""
    ids = list(external_ids)
    for chunk in _chunks(ids):
        conn.execute(
            delete(quarantine).where(
                and_(quarantine.c.member == member, quarantine.c.external_id.in_(chunk))
            )
        )


def quarantined(conn: Connection, member: str | None = None) -> list[QuarantinedOrder]:
    query = select(quarantine).order_by(quarantine.c.member, quarantine.c.external_id)
    if member is not None:
        query = query.where(quarantine.c.member == member)
    return [QuarantinedOrder(**row) for row in conn.execute(query).mappings()]


def quarantine_counts(conn: Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in conn.execute(select(quarantine.c.member)):
        counts[row.member] = counts.get(row.member, 0) + 1
    return counts
