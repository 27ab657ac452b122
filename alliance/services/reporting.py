"""Read side of the ledger: statements, balances, closing periods, agreement versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.statement import Balance, Statement, build_balances, build_statement
from alliance.storage import repository as repo


def member_statement(
    engine: Engine, agreement: Agreement, member: str, period: str, *, as_of: datetime
) -> Statement:
    with engine.connect() as conn:
        entries = repo.entries_in_period(conn, period, member)
        history = repo.entries_for(conn, {e.source_ref for e in entries})
    settings = agreement.settings
    return build_statement(
        member,
        period,
        entries,
        history,
        currency=settings.currency,
        timezone=settings.timezone,
        holdback_days=settings.holdback_days,
        as_of=as_of,
    )


def period_balances(engine: Engine, period: str) -> list[Balance]:
    with engine.connect() as conn:
        return build_balances(repo.entries_in_period(conn, period))


def close_period(engine: Engine, period: str) -> bool:
    """Close a period; ``False`` if it already was closed."""
    with engine.begin() as conn:
        return repo.close_period(conn, period)


def record_agreement(engine: Engine, agreement: Agreement) -> None:
    """Keep the text of every agreement version entries were booked under (for disputes)."""
    path = Path(agreement.source)
    content = path.read_text(encoding="utf-8") if path.is_file() else ""
    with engine.begin() as conn:
        repo.record_agreement_version(
            conn, agreement.version, agreement.source, content, datetime.now(UTC)
        )
