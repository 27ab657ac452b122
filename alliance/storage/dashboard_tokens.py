"""Dashboard sign-in tokens, stored as their SHA-256 digest only, revoked by a timestamp."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from alliance.storage.schema import dashboard_tokens

_t = dashboard_tokens.c


@dataclass(frozen=True)
class TokenRow:
    digest: str
    role: str  # member | admin
    member: str  # "" for the admin
    created_at: datetime
    revoked_at: datetime | None


def add_token(conn: Connection, digest: str, role: str, member: str, at: datetime) -> None:
    conn.execute(
        dashboard_tokens.insert().values(
            digest=digest, role=role, member=member, created_at=at, revoked_at=None
        )
    )


def find_token(conn: Connection, digest: str) -> TokenRow | None:
    row = conn.execute(select(dashboard_tokens).where(_t.digest == digest)).mappings().first()
    return None if row is None else TokenRow(**row)


def revoke_tokens(conn: Connection, role: str, member: str, at: datetime) -> int:
    """Revoke every live token of ``role`` (and ``member``); returns how many."""
    query = (
        update(dashboard_tokens)
        .where(_t.role == role, _t.member == member, _t.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return conn.execute(query).rowcount or 0
