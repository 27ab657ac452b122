"""One settings object, read from the environment at the entry point and passed down.

| variable | meaning | default |
|---|---|---|
| ``ALLIANCE_CONFIG`` | the agreement file | ``alliance.toml`` in the working directory |
| ``ALLIANCE_DATABASE_URL`` | SQLAlchemy URL (SQLite or PostgreSQL) | ``sqlite:///alliance.db`` |
| ``ALLIANCE_SECRET`` | the alliance's secret: customer keys, link signatures, coupons | none |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from alliance.errors import ConfigError

DEFAULT_CONFIG = "alliance.toml"
"""Where the agreement is looked for when neither ``--config`` nor ``ALLIANCE_CONFIG`` says."""

DEFAULT_DATABASE_URL = "sqlite:///alliance.db"
"""An SQLite file in the working directory: the embedded default, no server needed."""

MIN_SECRET_LENGTH = 32
"""Characters of ``ALLIANCE_SECRET`` below which keys and signatures would be guessable."""


@dataclass(frozen=True)
class Settings:
    config_path: Path
    database_url: str
    secret: str | None = None

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, config: str | os.PathLike | None = None
    ) -> Settings:
        env = os.environ if env is None else env
        return cls(
            config_path=Path(config or env.get("ALLIANCE_CONFIG") or DEFAULT_CONFIG),
            database_url=env.get("ALLIANCE_DATABASE_URL") or DEFAULT_DATABASE_URL,
            secret=env.get("ALLIANCE_SECRET") or None,
        )

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
