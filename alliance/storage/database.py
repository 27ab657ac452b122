"""Engines and migrations: an SQLite file by default (WAL), PostgreSQL when asked.

``open_database(url)`` returns an engine whose schema is migrated to the newest Alembic
revision, so every command starts from a database it understands.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from alliance.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x616C6C69616E6365  # "alliance": the advisory lock migrations take


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(
            "ALLIANCE_DATABASE_URL is not a database URL; use sqlite:///alliance.db or "
            "postgresql://user@host/dbname"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"database {parsed.get_backend_name()!r} is not supported; use SQLite or PostgreSQL"
        )
    return parsed.render_as_string(hide_password=False)


def create_database_engine(url: str) -> Engine:
    """An engine with the pragmas and pool settings this project relies on (not migrated)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # several workers starting at once on a new database migrate it one at a time
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_database(url: str) -> Engine:
    """An engine on a migrated database."""
    engine = create_database_engine(url)
    migrate(engine)
    return engine
