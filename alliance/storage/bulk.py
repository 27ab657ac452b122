"""Bulk writes without per-row SQLAlchemy overhead, for the ledger's hot path.

SQLAlchemy's ``execute(stmt, rows)`` rebuilds a parameter dict and runs every type's bind
processor for each row; for 1,000-order batches that was a third of the booking time
(``bench/ledger.py``). Here the statement is compiled once per dialect, each column's own
bind processor is looked up once, and the DBAPI's ``executemany`` gets plain tuples. The SQL
and the stored values are exactly what SQLAlchemy would have produced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.dml import Insert

_Compiled = tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...], bool]
_cache: dict[tuple[int, str], _Compiled] = {}


def _compile(conn: Connection, key: int, stmt: Insert, columns: Sequence[str]) -> _Compiled:
    dialect = conn.dialect
    cached = _cache.get((key, dialect.name))
    if cached is not None:
        return cached
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    order = tuple(compiled.positiontup or ()) if compiled.positional else tuple(columns)
    table_columns = stmt.table.c  # type: ignore[attr-defined]
    processors = tuple(
        table_columns[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
    )
    result = (compiled.string, order, processors, bool(compiled.positional))
    _cache[(key, dialect.name)] = result
    return result


def execute_many(
    conn: Connection, key: int, stmt: Insert, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """Run ``stmt`` for every row of values given in ``columns`` order; rows affected.

    ``key`` identifies the statement shape for the compile cache (one per call site).
    """
    if not rows:
        return 0
    sql, order, processors, positional = _compile(conn, key, stmt, columns)
    # only the few columns with a processor (datetimes) need work per row
    convert = [(columns.index(n), p) for n, p in zip(order, processors, strict=True) if p]
    converted = []
    for row in rows:
        values = list(row)
        for i, process in convert:
            values[i] = process(values[i])
        converted.append(values)
    if positional:
        where = [columns.index(name) for name in order]
        if where == list(range(len(columns))):
            params: list[Any] = [tuple(values) for values in converted]
        else:
            params = [tuple([values[i] for i in where]) for values in converted]
    else:
        params = [dict(zip(columns, values, strict=True)) for values in converted]
    return conn.exec_driver_sql(sql, params).rowcount
