"""Is anyone running the schedule? ``alliance status`` asks it of the members' last syncs.

Nothing tells a stopped schedule from a quiet one but time: with ``alliance worker`` (Redis) or
``alliance run`` (no Redis) working, every member's sync succeeds every sync interval. A sync
whose last success is older than :data:`OVERDUE_AFTER_INTERVALS` intervals (or that never
succeeded) is overdue: the schedule is not running, or that member's store keeps failing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

OVERDUE_AFTER_INTERVALS = 2
"""One missed tick is a slow sync or a retry; two in a row is a schedule nobody runs."""


def overdue_syncs(
    last_successes: Iterable[tuple[str, datetime | None]], interval_minutes: int, now: datetime
) -> list[str]:
    """The members whose last successful sync is older than the allowed intervals (or none)."""
    allowed = timedelta(minutes=interval_minutes * OVERDUE_AFTER_INTERVALS)
    return [member for member, last in last_successes if last is None or now - last > allowed]


def schedule_verdict(redis: bool, workers: int, overdue: list[str]) -> str | None:
    """One sentence for ``alliance status`` when the schedule seems to stand still, else None."""
    late = f"syncs are overdue for {', '.join(overdue)}" if overdue else "no sync is overdue yet"
    if redis and workers == 0:
        return (
            f"no worker is running ({late}): start `alliance worker` (systemd, supervisor), "
            "or unset ALLIANCE_REDIS_URL and run `alliance run`"
        )
    if overdue:
        runner = "the workers" if redis else "`alliance run`"
        return f"{late}: is {runner} running, and do those stores answer? (`alliance members`)"
    return None
