"""Closing a period by hand, and opening it again while nothing has been paid from it.

``alliance settle`` closes a period as it settles it; ``close-period`` is for an alliance
that settles outside the tool. Both refuse a period that has not ended, and a reopen is
refused once a settlement (and so any payment) rests on the period: its transfers are fixed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.audit import Actor, AuditAction
from alliance.errors import BadInputError
from alliance.settlement import check_over
from alliance.storage import audit_log, settlements
from alliance.storage import repository as repo
from alliance.storage.period_lock import lock_for_closing


def is_closed(engine: Engine, period: str) -> bool:
    with engine.connect() as conn:
        return period in repo.closed_periods(conn)


def close_period(
    engine: Engine, agreement: Agreement, period: str, *, now: datetime, actor: Actor
) -> bool:
    """Close ``period`` (over, in the alliance's timezone); ``False`` if it already was.
    Waits for bookings in flight, so no entry lands in it after it is closed."""
    check_over(period, now, agreement.settings.timezone)
    with engine.begin() as conn:
        lock_for_closing(conn)
        if not repo.close_period(conn, period, now):
            return False
        audit_log.append(conn, actor, AuditAction.PERIOD_CLOSED, period, {}, now)
    return True


def reopen_period(engine: Engine, period: str, *, now: datetime, actor: Actor) -> None:
    """Open a closed, unsettled ``period`` again: later changes to its orders are booked into
    it again instead of the next open period. Entries already carried forward stay where
    they were booked."""
    with engine.begin() as conn:
        lock_for_closing(conn)
        if settlements.is_settled(conn, period):
            raise BadInputError(
                f"{period} is settled: its transfers are fixed and may have been paid, so it "
                "stays closed. A correction is a refund or an edit of the order in the shop, "
                "and lands in the next open period"
            )
        if not repo.reopen_period(conn, period):
            raise BadInputError(f"{period} is not closed; nothing changed")
        audit_log.append(conn, actor, AuditAction.PERIOD_REOPENED, period, {}, now)
