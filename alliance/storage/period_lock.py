"""The period lock: no entry lands in a period while it is being closed (settled).

Booking reads which periods are closed, then appends entries; a settlement closes its period,
then sums it. Were the two to interleave, an entry could land in a period just settled and
never be paid. So bookers read the closed periods under :func:`closed_periods_held` and
closers take :func:`lock_for_closing` first. On PostgreSQL that is a transaction-scoped
advisory lock, shared for bookers (who never wait for each other) and exclusive for a closer;
on SQLite it is the database's one write lock, taken before the read instead of at the first
write.
"""

from __future__ import annotations

from sqlalchemy import Connection, update

from alliance.storage import repository as repo
from alliance.storage.schema import periods

PERIOD_LOCK = 0x616C6C7065726964
"""The advisory lock key of closing periods on PostgreSQL ("allperid")."""

_TAKE_WRITE_LOCK = update(periods).where(periods.c.period == "").values(period="")
"""A write that changes nothing: on SQLite the write lock is the transaction's from here."""


def closed_periods_held(conn: Connection) -> frozenset[str]:
    """The closed periods, read so that none can be closed before this transaction ends:
    what a booking transaction plans its entries against."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({PERIOD_LOCK})")
    else:
        conn.execute(_TAKE_WRITE_LOCK)
    return repo.closed_periods(conn)


def lock_for_closing(conn: Connection) -> None:
    """Wait until no booking transaction is between reading the closed periods and committing,
    and keep new ones waiting until this transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PERIOD_LOCK})")
    else:
        conn.execute(_TAKE_WRITE_LOCK)
