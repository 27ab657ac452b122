"""Settlement periods: cut in the alliance's timezone, named ``YYYY-MM``."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

_PERIOD_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def period_of(moment: datetime, timezone: str) -> str:
    """The monthly period a UTC moment falls in, as seen in the alliance's timezone."""
    local = moment.astimezone(_zone(timezone))
    return f"{local.year:04d}-{local.month:02d}"


def local_date(moment: datetime, timezone: str) -> str:
    """``YYYY-MM-DD`` of a UTC moment in the alliance's timezone (statement dates)."""
    return moment.astimezone(_zone(timezone)).date().isoformat()


def parse_period(text: str) -> str:
    """Validate a ``YYYY-MM`` period name; raises ``ValueError`` with a usable message."""
    if not isinstance(text, str) or not _PERIOD_RE.fullmatch(text):
        raise ValueError(f"period {text!r} is not YYYY-MM, e.g. 2026-12")
    return text


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def first_open_period(period: str, closed: frozenset[str] | set[str]) -> str:
    """``period`` itself if open, else the next period that is not closed (clawbacks go there)."""
    while period in closed:
        period = next_period(period)
    return period
