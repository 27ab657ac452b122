"""``alliance members`` output: one row per member's store, as a table or JSON.

Both say the same: a status (``ok``, ``limited``, ``failing``, ``not checked``; see
:class:`~connector.members.Condition`), what the live check found, and an earlier sync's error
as such, with its time. The details cell holds one error, the latest: the live check's when
it found one, else the last sync's. ``since sync`` is the time since the last successful
sync (``-``: never); ``needs_attention`` is ``not healthy``, so a member flagged in a row is
the one ``alliance status`` and the exit code name.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from alliance.errors import ConfigError
from alliance.report import printable, table_lines
from connector.errors import MissingKeys, TlsFailed
from connector.members import MemberStatus


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "never"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _age(span: timedelta | None) -> str:
    if span is None:
        return "-"
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _seconds(span: timedelta | None) -> int | None:
    return None if span is None else int(span.total_seconds())


def _access(status: MemberStatus) -> tuple[str, str]:
    """The store and key columns: what the live check could tell about each."""
    failure = status.failure
    if isinstance(failure, MissingKeys):
        return "not checked", "not configured"
    if isinstance(failure, TlsFailed):
        return "certificate refused", "-"
    if isinstance(failure, ConfigError):
        return "not checked", "-"
    if failure is not None:
        return "unreachable", "-"
    access = status.access
    if access is None:
        return "not checked", "-"
    if not access.reachable:
        return "unreachable", "-"
    if not access.can_read:
        return "reachable", "invalid"
    return "reachable", "read/write" if access.can_write else "read only"


def _earlier_error(status: MemberStatus) -> str | None:
    """The last sync's error, as such and when, unless the live check just said the same."""
    error = status.state.last_error
    if not error or status.own(error) == status.problem:
        return None
    return f"earlier sync at {_when(status.state.last_attempt_at)} failed: {status.own(error)}"


def _details(status: MemberStatus) -> str:
    """One error (the live check's, else the last sync's, with its time), then notes."""
    notes = [status.problem or _earlier_error(status) or ""]
    if status.access is not None and status.access.supports_modified_after is False:
        notes.append("store ignores modified_after: every sync reads all orders")
    return printable("; ".join(n for n in notes if n))[:400]


def member_status_table(statuses: list[MemberStatus]) -> str:
    headers = ["member", "status", "store", "key", "last sync", "bookmark", "since sync",
               "behind", "quarantined", "details"]  # fmt: skip
    rows = []
    for s in statuses:
        store, key = _access(s)
        rows.append(
            [
                s.member,
                s.condition.value,
                store,
                key,
                _when(s.state.last_success_at),
                _when(s.state.orders_bookmark),
                _age(s.since_last_success),
                "-" if s.orders_behind is None else str(s.orders_behind),
                str(s.quarantined),
                _details(s) or "-",
            ]
        )
    return "\n".join(table_lines(headers, rows, right={7, 8}))


def member_status_json(statuses: list[MemberStatus]) -> str:
    def one(s: MemberStatus) -> dict[str, Any]:
        store, key = _access(s)
        return {
            "member": s.member,
            "name": s.name,
            "url": s.url,
            "store": store,
            "key": key,
            "orders_total": s.access.orders_total if s.access else None,
            "last_attempt": _iso(s.state.last_attempt_at),
            "last_success": _iso(s.state.last_success_at),
            "bookmark": _iso(s.state.orders_bookmark),
            "orders_behind": s.orders_behind,
            "quarantined": s.quarantined,
            "needs_attention": not s.healthy,
            "last_sync_needs_attention": s.state.needs_attention,
            "since_last_success_seconds": _seconds(s.since_last_success),
            "ignores_modified_after": s.state.ignores_modified_after,
            "last_error": s.state.last_error or None,
            "last_error_at": _iso(s.state.last_attempt_at) if s.state.last_error else None,
            "status": s.condition.value,
            "problem": s.problem,
            "healthy": s.healthy,
        }

    return json.dumps([one(s) for s in statuses], ensure_ascii=False, indent=2)
