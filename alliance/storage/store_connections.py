"""Rows of ``store_connections`` and ``connect_states``: what a connected store left us.

Only ciphertext goes in and comes out here (``alliance.services.store_connections`` holds the
vault); the connect states are single-use, and using one is a conditional UPDATE, so two
callbacks racing with the same state cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select, update

from alliance.storage.repository import _insert
from alliance.storage.schema import connect_states, store_connections


@dataclass(frozen=True)
class ConnectionRow:
    member: str
    store_url: str
    key_id: int
    key_permissions: str
    consumer_key: str  # ciphertext
    consumer_secret: str  # ciphertext
    webhooks: str  # ciphertext
    connected_at: datetime


def save(conn: Connection, row: ConnectionRow) -> None:
    """Insert or replace the member's connection (connecting again replaces the old key)."""
    values = row.__dict__.copy()
    stmt = _insert(conn, store_connections).values(**values)
    changed = {name: stmt.excluded[name] for name in values if name != "member"}
    conn.execute(stmt.on_conflict_do_update(index_elements=["member"], set_=changed))


def load(conn: Connection, member: str) -> ConnectionRow | None:
    found = conn.execute(select(store_connections).where(store_connections.c.member == member))
    row = found.mappings().first()
    return None if row is None else ConnectionRow(**row)


def load_all(conn: Connection) -> list[ConnectionRow]:
    rows = conn.execute(select(store_connections).order_by(store_connections.c.member))
    return [ConnectionRow(**row) for row in rows.mappings()]


def remove(conn: Connection, member: str) -> bool:
    result = conn.execute(delete(store_connections).where(store_connections.c.member == member))
    return result.rowcount > 0


STATES_KEPT = timedelta(days=1)
"""Connect states older than this are deleted when a new one is issued (they expire in an
hour), so links asked for and never used do not pile up."""


def record_state(conn: Connection, nonce: str, member: str, issued_at: datetime) -> None:
    conn.execute(delete(connect_states).where(connect_states.c.issued_at < issued_at - STATES_KEPT))
    conn.execute(
        _insert(conn, connect_states).values(nonce=nonce, member=member, issued_at=issued_at)
    )


def use_state(conn: Connection, nonce: str, member: str, now: datetime) -> bool:
    """Mark the state used; False when it is unknown, another member's, or used already."""
    result = conn.execute(
        update(connect_states)
        .where(
            connect_states.c.nonce == nonce,
            connect_states.c.member == member,
            connect_states.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return result.rowcount == 1
