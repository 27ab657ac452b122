"""Days and months in the alliance's timezone, computed by the database from UTC columns.

PostgreSQL converts with ``timezone()`` (``AT TIME ZONE``); SQLite, which has no time zones,
calls a deterministic Python function registered on its connection. Either way a grouped
query counts per local day without a row passing through Python.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, func


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _sqlite_local_day(value: str | None, timezone: str) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return moment.astimezone(_zone(timezone)).date().isoformat()


def local_day(conn: Connection, column: Any, timezone: str) -> ColumnElement[str]:
    """``YYYY-MM-DD`` of a UTC column in ``timezone``, in SQL."""
    if conn.dialect.name == "postgresql":
        local = func.timezone(timezone, func.timezone("UTC", column))
        return func.to_char(local, "YYYY-MM-DD")
    raw = conn.connection.driver_connection
    raw.create_function("alliance_local_day", 2, _sqlite_local_day, deterministic=True)
    return func.alliance_local_day(column, timezone)


def local_month(conn: Connection, column: Any, timezone: str) -> ColumnElement[str]:
    return func.substr(local_day(conn, column, timezone), 1, 7)


def day_start(day: str, timezone: str) -> datetime:
    """The UTC moment the local ``day`` (or the month ``YYYY-MM``) begins."""
    if len(day) == 7:
        day += "-01"
    return datetime.combine(
        date.fromisoformat(day), datetime.min.time(), _zone(timezone)
    ).astimezone(UTC)


def day_of(moment: datetime, timezone: str) -> str:
    return moment.astimezone(_zone(timezone)).date().isoformat()
