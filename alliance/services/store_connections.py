"""Connected stores: their API key and webhook secrets, kept encrypted, and the connect states.

A store connected through ``/wc-auth/v1/authorize`` leaves a consumer key and secret and one
secret per webhook the alliance registered; they are stored as Fernet tokens
(:mod:`alliance.services.key_vault`) and decrypted only when a store is opened. Environment
credentials (``<CREDENTIALS_ENV>_KEY`` / ``_SECRET``) still work and win when set:
:func:`credentials_environ` lays the stored keys *under* the environment, under the same
variable names, so every way of opening a store sees one mapping.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.services.key_vault import KeyVault
from alliance.storage import store_connections as rows


@dataclass(frozen=True)
class StoredWebhook:
    id: int
    topic: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class StoreConnection:
    """A member's connected store, decrypted; ``repr`` shows no secret."""

    member: str
    store_url: str
    key_id: int
    key_permissions: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    webhooks: tuple[StoredWebhook, ...] = ()
    connected_at: datetime | None = None

    def webhook_secret(self, webhook_id: int) -> str:
        """The secret of the webhook with this id, or "" when it is not one of ours."""
        return next((hook.secret for hook in self.webhooks if hook.id == webhook_id), "")


def save_connection(engine: Engine, vault: KeyVault, connection: StoreConnection) -> None:
    hooks = [{"id": h.id, "topic": h.topic, "secret": h.secret} for h in connection.webhooks]
    row = rows.ConnectionRow(
        member=connection.member,
        store_url=connection.store_url,
        key_id=connection.key_id,
        key_permissions=connection.key_permissions,
        consumer_key=vault.encrypt(connection.consumer_key),
        consumer_secret=vault.encrypt(connection.consumer_secret),
        webhooks=vault.encrypt(orjson.dumps(hooks).decode()),
        connected_at=connection.connected_at or datetime.now().astimezone(),
    )
    with engine.begin() as conn:
        rows.save(conn, row)


def _decrypted(vault: KeyVault, row: rows.ConnectionRow) -> StoreConnection:
    hooks = orjson.loads(vault.decrypt(row.webhooks))
    return StoreConnection(
        member=row.member,
        store_url=row.store_url,
        key_id=row.key_id,
        key_permissions=row.key_permissions,
        consumer_key=vault.decrypt(row.consumer_key),
        consumer_secret=vault.decrypt(row.consumer_secret),
        webhooks=tuple(StoredWebhook(h["id"], h["topic"], h["secret"]) for h in hooks),
        connected_at=row.connected_at,
    )


def load_connection(engine: Engine, vault: KeyVault, member: str) -> StoreConnection | None:
    with engine.connect() as conn:
        row = rows.load(conn, member)
    return None if row is None else _decrypted(vault, row)


def connected_members(engine: Engine) -> list[str]:
    """Members with a stored connection (nothing is decrypted)."""
    with engine.connect() as conn:
        return [row.member for row in rows.load_all(conn)]


def remove_connection(engine: Engine, member: str) -> bool:
    """Forget the member's key and webhook secrets; False when there was none."""
    with engine.begin() as conn:
        return rows.remove(conn, member)


def issue_state_nonce(engine: Engine, member: str, now: datetime) -> str:
    """A fresh single-use nonce for one connect attempt of ``member``."""
    nonce = secrets.token_hex(16)
    with engine.begin() as conn:
        rows.record_state(conn, nonce, member, now)
    return nonce


def use_state_nonce(engine: Engine, nonce: str, member: str, now: datetime) -> bool:
    """True the first time only: a replayed state (or one never issued) is refused."""
    with engine.begin() as conn:
        return rows.use_state(conn, nonce, member, now)


class StoredCredentials(Mapping[str, str]):
    """The environment, with connected stores' keys under their ``<CREDENTIALS_ENV>_KEY`` and
    ``_SECRET`` names where the environment has none. Decrypts only the variable asked for,
    so a store opened with environment keys never needs ``ALLIANCE_KEYS_SECRET``."""

    def __init__(
        self,
        environ: Mapping[str, str],
        stored: Mapping[str, tuple[str, rows.ConnectionRow]],
        keys_secret: str | None,
    ) -> None:
        self._environ = environ
        self._stored = stored  # variable -> (which field, the member's row)
        self._keys_secret = keys_secret

    def __getitem__(self, name: str) -> str:
        value = self._environ.get(name)
        if value or name not in self._stored:
            if value is None:
                raise KeyError(name)
            return value
        which, row = self._stored[name]
        return KeyVault(self._keys_secret).decrypt(getattr(row, which))

    def __iter__(self) -> Iterator[str]:
        yield from self._environ
        yield from (name for name in self._stored if name not in self._environ)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def credentials_environ(
    engine: Engine,
    agreement: Agreement,
    environ: Mapping[str, str],
    keys_secret: str | None,
) -> Mapping[str, str]:
    """``environ`` plus the stored keys of connected members (see :class:`StoredCredentials`);
    ``environ`` itself when no member of the agreement is connected."""
    with engine.connect() as conn:
        found = {row.member: row for row in rows.load_all(conn)}
    stored: dict[str, tuple[str, rows.ConnectionRow]] = {}
    for member_id, row in found.items():
        member = agreement.members.get(member_id)
        if member is None or member.url.rstrip("/") != row.store_url.rstrip("/"):
            continue  # a key for another store (the agreement moved it) opens nothing here
        stored[member.key_variable] = ("consumer_key", row)
        stored[member.secret_variable] = ("consumer_secret", row)
    return StoredCredentials(environ, stored, keys_secret) if stored else environ
