"""Moving a ledger to another database: a trial on SQLite becomes the alliance's PostgreSQL.

Both sides are migrated to the newest schema first, so every table of :data:`metadata` exists
on both with the same columns. The copy runs in one transaction on the target, streaming
each table in batches (memory stays flat), parents before children; then it compares row
counts of every table and the ledger's totals per period and unit before it commits. A
target that already holds rows is refused untouched: a copy never merges two ledgers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, func, insert, select, text

from alliance.errors import BadInputError
from alliance.storage.schema import ledger_entries, metadata

BATCH_ROWS = 5_000
"""Rows read and written per round trip: big enough to be fast, small enough to stay flat."""


class CopyMismatch(BadInputError):
    """What was written does not match what was read; nothing was committed."""


@dataclass(frozen=True)
class CopiedTable:
    name: str
    rows: int


def occupied_tables(conn: Connection) -> list[str]:
    """The tables of the ledger's schema that hold at least one row."""
    return [
        table.name
        for table in metadata.sorted_tables
        if conn.execute(select(1).select_from(table).limit(1)).first() is not None
    ]


def copy_ledger(
    source: Engine,
    target: Engine,
    *,
    progress: Callable[[str, int], None] = lambda _table, _rows: None,
) -> list[CopiedTable]:
    """Copy every table of ``source`` into the empty ``target`` (both migrated), check it,
    and commit; or raise, leaving the target as it was."""
    copied = []
    with source.connect() as reading, target.begin() as writing:
        occupied = occupied_tables(writing)
        if occupied:
            raise BadInputError(
                f"the target database already holds a ledger (rows in {', '.join(occupied[:4])}"
                f"{'...' if len(occupied) > 4 else ''}); copy into a new, empty database "
                "(createdb), never over one in use"
            )
        for table in metadata.sorted_tables:
            rows = _copy_table(reading, writing, table, progress)
            copied.append(CopiedTable(table.name, rows))
        _restart_sequences(writing)
        _compare(reading, writing)
    return copied


def _copy_table(
    reading: Connection,
    writing: Connection,
    table: Table,
    progress: Callable[[str, int], None],
) -> int:
    done = 0
    result = reading.execution_options(yield_per=BATCH_ROWS).execute(select(table))
    for batch in result.mappings().partitions(BATCH_ROWS):
        writing.execute(insert(table), [dict(row) for row in batch])
        done += len(batch)
        progress(table.name, done)
    return done


def _restart_sequences(writing: Connection) -> None:
    """Ids were copied as they were: PostgreSQL's sequences restart after the highest, so the
    next row appended (an audit event, say) does not collide with a copied one."""
    if writing.dialect.name != "postgresql":
        return
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and len(table.primary_key.columns) == 1
            ):
                sequence = writing.execute(
                    text("SELECT pg_get_serial_sequence(:table, :column)"),
                    {"table": table.name, "column": column.name},
                ).scalar()
                if sequence:
                    writing.execute(
                        text(
                            f"SELECT setval('{sequence}', "
                            f"COALESCE((SELECT max({column.name}) FROM {table.name}), 0) + 1, "
                            "false)"
                        )
                    )


def ledger_totals(conn: Connection) -> dict[tuple[str, str], tuple[int, int]]:
    """Per (period, unit): the number of entries and the sum of their amounts (minor units)."""
    query = select(
        ledger_entries.c.period,
        ledger_entries.c.unit,
        func.count(),
        func.sum(ledger_entries.c.amount_minor),
    ).group_by(ledger_entries.c.period, ledger_entries.c.unit)
    return {(p, u): (int(n), int(total or 0)) for p, u, n, total in conn.execute(query)}


def _compare(reading: Connection, writing: Connection) -> None:
    for table in metadata.sorted_tables:
        count = select(func.count()).select_from(table)
        read, written = reading.execute(count).scalar_one(), writing.execute(count).scalar_one()
        if read != written:
            raise CopyMismatch(
                f"{table.name}: {read} rows read but {written} written; nothing was committed"
            )
    if ledger_totals(reading) != ledger_totals(writing):
        raise CopyMismatch("the ledger's totals differ after the copy; nothing was committed")
