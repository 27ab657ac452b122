"""Engines and migrations: an SQLite file by default (WAL), PostgreSQL when asked.

``open_database(url)`` returns an engine whose schema is migrated to the newest Alembic
revision, so every command starts from a database it understands. SQLite has one write lock
per file: :func:`refused_for_now` tells a write refused because another connection holds it
(or the disk is full) from a real failure, and :func:`write_lock_free` asks without waiting
long.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from alliance.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x616C6C69616E6365  # "alliance": the advisory lock migrations take

BUSY_TIMEOUT_MS = 30_000
"""How long an SQLite connection waits for another's write lock before it gives up."""

WAL_LIMIT_BYTES = 4 * 1024 * 1024
"""The size SQLite cuts its WAL file back to whenever the log restarts
(``journal_size_limit``); the click writer's checkpoints also truncate a WAL past it
(:mod:`alliance.storage.wal`). Without it the file stays as large as it ever grew."""

_REFUSED_FOR_NOW = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
}


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
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
    cursor.close()


def refused_for_now(error: BaseException) -> bool:
    """True when SQLite refused because of the state it is in, not because of what was asked:
    another connection holds the write lock, or the disk is full (or failed a write). The
    same statement can succeed later, so the caller may keep the work and try again."""
    cause = getattr(error, "orig", None) or error
    code = getattr(cause, "sqlite_errorcode", None)
    return isinstance(cause, sqlite3.Error) and code is not None and code & 0xFF in _REFUSED_FOR_NOW


def write_lock_free(engine: Engine, wait_seconds: float) -> bool:
    """True when a write could start within ``wait_seconds``: SQLite's write lock is taken and
    given back at once (``BEGIN IMMEDIATE``; ``ROLLBACK``). A server database has no such
    lock: True once it answers. Any other failure is raised."""
    if engine.dialect.name != "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            if refused_for_now(error):
                return False
            raise
        cursor.execute("ROLLBACK")
        return True
    finally:
        try:
            raw.cursor().execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        finally:
            raw.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        # several workers starting at once on a new database migrate it one at a time: the
        # second waits, then finds the schema current (SQLite's driver would otherwise run each
        # CREATE TABLE outside any transaction, and the second "already exists")
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_database(url: str, *, create: bool = True) -> Engine:
    """An engine on a migrated database. ``create=False`` refuses an SQLite file that does not
    exist yet, so a report run from the wrong directory says so instead of opening a new,
    empty ledger and printing zeros. A database that cannot be opened (no driver, no server,
    no such database, a folder that does not exist) is a :class:`ConfigError` naming the URL,
    without its password, and the fix."""
    if not create:
        require_existing(url)
    try:
        engine = create_database_engine(url)
    except ImportError as exc:
        raise ConfigError(
            f"{_shown(url)} needs the PostgreSQL driver, which is not installed ({exc.name}); "
            "install it with: pip install 'shop-alliance[postgres]' (uv sync --extra postgres)"
        ) from exc
    try:
        migrate(engine)
    except OperationalError as exc:
        engine.dispose()
        raise ConfigError(_unopenable(url, exc)) from exc
    return engine


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names; None for a server database or an in-memory one."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def require_existing(url: str) -> None:
    """Refuse an SQLite ledger file that does not exist (see :func:`open_database`)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise ConfigError(
            f"there is no ledger at {path.resolve()}: this command reads one and would not "
            "create an empty one. Run it from the alliance's folder (the ledger lives next to "
            "alliance.toml), pass --config path/to/alliance.toml, or set ALLIANCE_DATABASE_URL "
            "to your ledger; `alliance sync` creates a new one"
        )


def _shown(url: str) -> str:
    """The URL as it may be shown: never its password."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def _unopenable(url: str, exc: OperationalError) -> str:
    said = (str(exc.orig or exc).strip().splitlines() or ["no reason given"])[0]
    path = sqlite_file(url)
    if path is not None:
        if not path.parent.exists():
            return (
                f"cannot create the ledger {path}: the folder {path.parent.resolve()} does not "
                "exist; create it (mkdir -p) or point ALLIANCE_DATABASE_URL elsewhere"
            )
        return (
            f"cannot open the ledger {path} ({said}); check the file and its folder's permissions"
        )
    parsed = make_url(normalise_url(url))
    if "does not exist" in said and "database" in said:
        return (
            f"the PostgreSQL database {parsed.database!r} does not exist at {_shown(url)}; "
            f"create it with: createdb -h {parsed.host or 'localhost'} {parsed.database}"
        )
    return (
        f"cannot reach the database at {_shown(url)} ({said}); is the server running and "
        "the URL right (host, port, user)?"
    )
