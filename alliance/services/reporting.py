"""Read side of the ledger: statements, balances, closing periods, agreement versions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from alliance.agreement import Agreement
from alliance.agreement.parse import parse_agreement
from alliance.agreement.summary import deal_terms
from alliance.disputes import held_lines
from alliance.errors import AgreementError
from alliance.statement import (
    Balance,
    LineKey,
    LineStatus,
    Statement,
    build_balances,
    build_statement,
)
from alliance.storage import disputes as dispute_store
from alliance.storage import repository as repo
from alliance.storage import settlements
from alliance.storage.period_lock import lock_for_closing
from alliance.storage.schema import agreement_versions


def member_statement(
    engine: Engine, agreement: Agreement, member: str, period: str, *, as_of: datetime
) -> Statement:
    with engine.connect() as conn:
        entries = repo.entries_in_period(conn, period, member)
        history = repo.entries_for(conn, {e.source_ref for e in entries})
        held = member_held_lines(conn, member)
        settled = settlements.is_settled(conn, period)
        terms = Terms(conn, agreement)
        terms.load({e.agreement_version for e in entries})
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
        held=held,
        terms=terms,
        settled=settled,
    )


def member_held_lines(conn: Connection, member: str) -> dict[LineKey, LineStatus]:
    """The member's lines that disputes hold, with what statements show for them."""
    return held_lines(dispute_store.list_disputes(conn, member=member))


class Terms(Mapping[tuple[str, str], str]):
    """``(agreement version, deal) -> rate or amount``, as each version said: the current
    agreement's own, and older versions' read from the text stored when they were in force
    (``agreement_versions``), each parsed once when first asked for."""

    def __init__(self, conn: Connection, agreement: Agreement) -> None:
        self._conn = conn
        self._by_version: dict[str, dict[str, str]] = {agreement.version: deal_terms(agreement)}

    def load(self, versions: set[str]) -> None:
        for version in versions:
            self._version(version)

    def _version(self, version: str) -> dict[str, str]:
        found = self._by_version.get(version)
        if found is None:
            query = select(agreement_versions.c.content).where(
                agreement_versions.c.version == version
            )
            content = self._conn.execute(query).scalar()
            try:
                found = deal_terms(parse_agreement(content)) if content else {}
            except AgreementError:  # a version that no longer parses: cite no terms
                found = {}
            self._by_version[version] = found
        return found

    def __getitem__(self, key: tuple[str, str]) -> str:
        version, deal = key
        return self._version(version)[deal]

    def get(self, key: tuple[str, str], default: str = "") -> str:  # type: ignore[override]
        version, deal = key
        return self._version(version).get(deal, default)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter([(v, d) for v, terms in self._by_version.items() for d in terms])

    def __len__(self) -> int:
        return sum(len(terms) for terms in self._by_version.values())


def period_balances(engine: Engine, period: str) -> list[Balance]:
    with engine.connect() as conn:
        return build_balances(repo.entries_in_period(conn, period))


def close_period(engine: Engine, period: str) -> bool:
    """Close a period; ``False`` if it already was closed. Waits for bookings in flight, so no
    entry lands in the period after it is closed (:mod:`alliance.storage.period_lock`)."""
    with engine.begin() as conn:
        lock_for_closing(conn)
        return repo.close_period(conn, period)


def record_agreement(engine: Engine, agreement: Agreement) -> None:
    """Keep the text of every agreement version entries were booked under (for disputes)."""
    path = Path(agreement.source)
    content = path.read_text(encoding="utf-8") if path.is_file() else ""
    with engine.begin() as conn:
        repo.record_agreement_version(
            conn, agreement.version, agreement.source, content, datetime.now(UTC)
        )
