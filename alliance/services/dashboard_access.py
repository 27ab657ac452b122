"""Who may sign in to the dashboard: tokens issued per member (and one for the admin),
shown once, kept only as their SHA-256, revocable.

A token is 32 random bytes (``secrets.token_urlsafe``): with that much entropy a plain SHA-256
is as good as a slow password hash, and lets every request check its session's token (still
live?) with one primary-key read.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import NamedTuple

from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.errors import ConfigError
from alliance.storage import dashboard_tokens as store

TOKEN_BYTES = 32
TOKEN_PREFIX = "dash_"
"""Tokens start with this, so that a leaked one is recognisable (and a secret scanner can
find it); the rest is random."""

MAX_TOKEN_LENGTH = 200
"""Longer input is not a token: refused before it is hashed."""


class Role(str, Enum):
    MEMBER = "member"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who a session belongs to: a member (``member`` set) or the admin."""

    role: Role
    member: str  # "" for the admin
    digest: str  # the token's digest: the session ends when that token is revoked

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_see(self, member: str) -> bool:
        """The admin sees every member; a member only itself."""
        return self.is_admin or self.member == member


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    engine: Engine, agreement: Agreement, member: str | None, *, now: datetime | None = None
) -> str:
    """A new sign-in token for ``member`` (None: the admin). Returned once; only its digest
    is stored. Earlier tokens stay valid until revoked."""
    if member is not None and member not in agreement.members:
        known = ", ".join(sorted(agreement.members))
        raise ConfigError(f"{member!r} is not a member of the alliance; members are: {known}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    role = Role.ADMIN if member is None else Role.MEMBER
    with engine.begin() as conn:
        store.add_token(
            conn, token_digest(token), role.value, member or "", now or datetime.now(UTC)
        )
    return token


def revoke_tokens(
    engine: Engine, agreement: Agreement, member: str | None, *, now: datetime | None = None
) -> int:
    """Revoke every token of ``member`` (None: the admin's); their sessions end at their next
    request. Returns how many were revoked."""
    if member is not None and member not in agreement.members:
        raise ConfigError(f"{member!r} is not a member of the alliance")
    role = Role.ADMIN if member is None else Role.MEMBER
    with engine.begin() as conn:
        return store.revoke_tokens(conn, role.value, member or "", now or datetime.now(UTC))


def principal_for_digest(engine: Engine, agreement: Agreement, digest: str) -> Principal | None:
    """The principal of a live token, or None (unknown, revoked, or a member no longer in
    the agreement)."""
    with engine.connect() as conn:
        row = store.find_token(conn, digest)
    if row is None or row.revoked_at is not None:
        return None
    role = Role(row.role)
    if role is Role.MEMBER and row.member not in agreement.members:
        return None
    return Principal(role, row.member, row.digest)


def sign_in(engine: Engine, agreement: Agreement, token: str) -> Principal | None:
    """The principal a typed token signs in, or None."""
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return principal_for_digest(engine, agreement, token_digest(token))


class DemoTokens(NamedTuple):
    members: dict[str, str]  # member -> token
    admin: str


def issue_demo_tokens(engine: Engine, agreement: Agreement) -> DemoTokens:
    """A fresh token for every member and one for the admin, for the demo to print."""
    members = {member: issue_token(engine, agreement, member) for member in agreement.members}
    return DemoTokens(members, issue_token(engine, agreement, None))
