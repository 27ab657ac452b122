"""One settings object, read from the environment at the entry point and passed down.

| variable | meaning | default |
|---|---|---|
| ``ALLIANCE_CONFIG`` | the agreement file | ``alliance.toml`` in the working directory |
| ``ALLIANCE_DATABASE_URL`` | SQLAlchemy URL (SQLite or PostgreSQL) | alliance.db by the agreement |
| ``ALLIANCE_SECRET`` | the alliance's secret: customer keys, link signatures, coupons | none |
| ``ALLIANCE_HTTP_CONNECT_TIMEOUT`` | seconds to wait for a store to accept a connection | 5 |
| ``ALLIANCE_HTTP_READ_TIMEOUT`` | seconds to wait for a store's answer | 30 |
| ``ALLIANCE_HTTP_ATTEMPTS`` | tries per request on 429/502/503/504 and connection errors | 5 |
| ``ALLIANCE_SYNC_OVERLAP_SECONDS`` | how far before the bookmark each sync starts reading | 300 |
| ``ALLIANCE_REDIS_URL`` | Redis for the job queues; unset: ``alliance run`` mode | none |
| ``ALLIANCE_SYNC_INTERVAL_MINUTES`` | how often each member's store is synced on schedule | 15 |
| ``ALLIANCE_LOCK_TTL_SECONDS`` | how long a silent (crashed) worker keeps a member or pack | 300 |
| ``ALLIANCE_GIFTPACK_NOTE_WAIT_MINUTES`` | how long a note waits for a partner store | 60 |
| ``ALLIANCE_ACTOR`` | who the audit log names for settling, paying, disputing | login@host |
| ``ALLIANCE_KEYS_SECRET`` | encrypts the API keys of stores connected through the app | none |
| ``ALLIANCE_PUBLIC_URL`` | the app's address for stores (connect, webhooks) | the request's |
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from alliance.errors import ConfigError

DEFAULT_CONFIG = "alliance.toml"
"""Where the agreement is looked for when neither ``--config`` nor ``ALLIANCE_CONFIG`` says."""

DEFAULT_DATABASE_URL = "sqlite:///alliance.db"
"""The ledger of an agreement in the working directory: the embedded default, no server."""


def default_database_url(config_path: Path) -> str:
    """``alliance.db`` next to the agreement file, wherever the command is run from."""
    if config_path.parent == Path("."):
        return DEFAULT_DATABASE_URL
    return f"sqlite:///{config_path.parent / 'alliance.db'}"


MIN_SECRET_LENGTH = 32
"""Characters of ``ALLIANCE_SECRET`` below which keys and signatures would be guessable."""


def default_actor() -> str:
    """``login@host`` of this process (``unknown`` for a login the system cannot name)."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid: containers
        login = "unknown"
    return f"{login}@{socket.gethostname()}"


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a number from {low:g} to {high:g}, not {text!r}")
    return value


@dataclass(frozen=True)
class Settings:
    config_path: Path
    database_url: str
    secret: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    http_attempts: int = 5
    sync_overlap_seconds: int = 300
    redis_url: str | None = None
    sync_interval_minutes: int = 15
    lock_ttl_seconds: int = 300
    giftpack_note_wait_minutes: int = 60
    actor: str = ""  # who the audit log names; empty: login@host (see default_actor)
    keys_secret: str | None = None  # store keys at rest (alliance.services.key_vault)
    public_url: str | None = None  # https://go.example: callbacks and webhook deliveries

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, config: str | os.PathLike | None = None
    ) -> Settings:
        env = os.environ if env is None else env
        config_path = Path(config or env.get("ALLIANCE_CONFIG") or DEFAULT_CONFIG)
        return cls(
            config_path=config_path,
            database_url=env.get("ALLIANCE_DATABASE_URL") or default_database_url(config_path),
            secret=env.get("ALLIANCE_SECRET") or None,
            connect_timeout=_number(env, "ALLIANCE_HTTP_CONNECT_TIMEOUT", 5.0, 0.1, 600),
            read_timeout=_number(env, "ALLIANCE_HTTP_READ_TIMEOUT", 30.0, 0.1, 3600),
            http_attempts=int(_number(env, "ALLIANCE_HTTP_ATTEMPTS", 5, 1, 20)),
            sync_overlap_seconds=int(
                _number(env, "ALLIANCE_SYNC_OVERLAP_SECONDS", 300, 0, 7 * 86400)
            ),
            redis_url=env.get("ALLIANCE_REDIS_URL") or None,
            sync_interval_minutes=int(
                _number(env, "ALLIANCE_SYNC_INTERVAL_MINUTES", 15, 1, 7 * 24 * 60)
            ),
            lock_ttl_seconds=int(_number(env, "ALLIANCE_LOCK_TTL_SECONDS", 300, 1, 86400)),
            giftpack_note_wait_minutes=int(
                _number(env, "ALLIANCE_GIFTPACK_NOTE_WAIT_MINUTES", 60, 0, 30 * 24 * 60)
            ),
            actor=(env.get("ALLIANCE_ACTOR") or "").strip()[:200],
            keys_secret=env.get("ALLIANCE_KEYS_SECRET") or None,
            public_url=(env.get("ALLIANCE_PUBLIC_URL") or "").rstrip("/") or None,
        )

    @property
    def who(self) -> str:
        """Who the audit log says acted: ``ALLIANCE_ACTOR``, else ``login@host``."""
        return self.actor or default_actor()

    def require_redis(self) -> str:
        if not self.redis_url:
            raise ConfigError(
                "ALLIANCE_REDIS_URL is not set; set it to your Redis, e.g. "
                "redis://127.0.0.1:6379/0, or run everything in one process with: alliance run"
            )
        return self.redis_url

    def require_secret(self) -> bytes:
        """The alliance secret, or a clear error saying how to set one."""
        how = (
            "set ALLIANCE_SECRET to a random value of at least 32 characters, e.g. the output of\n"
            '  python -c "import secrets; print(secrets.token_urlsafe(32))"\n'
            "and keep it: changing it changes every customer key and link signature"
        )
        if not self.secret:
            raise ConfigError(f"ALLIANCE_SECRET is not set; this command needs it: {how}")
        if len(self.secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"ALLIANCE_SECRET is too short ({len(self.secret)} characters, at least "
                f"{MIN_SECRET_LENGTH} needed): {how}"
            )
        return self.secret.encode()
