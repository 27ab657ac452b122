"""Storage types: UTC in and out, and the exact text SQLAlchemy itself would store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from alliance.storage.schema import UTCDateTime

MOMENTS = [
    datetime(2026, 12, 1, tzinfo=UTC),
    datetime(2026, 12, 1, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=8))),
    datetime(1999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_sqlite_datetimes_are_written_in_sqlalchemys_own_format(moment):
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_naive_datetimes_are_refused_so_no_local_time_sneaks_in(dialect):
    process = UTCDateTime().bind_processor(dialect)
    with pytest.raises(ValueError, match="UTC-aware"):
        (process or (lambda v: UTCDateTime().process_bind_param(v, dialect)))(datetime(2026, 1, 1))


def test_values_come_back_as_aware_utc():
    value = UTCDateTime().process_result_value(datetime(2026, 12, 1, 8, 0), sqlite.dialect())
    assert value == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
