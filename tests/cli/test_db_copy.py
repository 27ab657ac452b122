"""``alliance db copy``: the demo's trial ledger on SQLite (orders, clicks, gift packs,
settlements, a dispute, a payment, the audit log) moves to a new PostgreSQL database whole,
reads back the same there, keeps working there, and is never copied over a ledger in use."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

from alliance.agreement.parse import load_agreement
from alliance.audit import Actor
from alliance.cli import main
from alliance.cli.demo import run_demo
from alliance.services.reporting import member_statement
from alliance.services.settlement import record_payment, transfer_states
from alliance.storage.copy import ledger_totals
from alliance.storage.database import open_database
from alliance.storage.schema import audit_log, metadata
from tests.conftest import POSTGRES_ADMIN_URL

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    run_demo(directory, echo=lambda _line: None, now=NOW)
    return directory


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    name = f"alliance_copy_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def copy(demo: Path, target: str):
    return CliRunner().invoke(
        main,
        ["--config", str(demo / "alliance.toml"), "db", "copy", "--to", target],
        env={"ALLIANCE_DATABASE_URL": None},
    )


def counts(url: str) -> dict[str, int]:
    engine = open_database(url)
    with engine.connect() as conn:
        found = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
    engine.dispose()
    return found


@pytest.mark.slow
def test_the_demo_ledger_moves_to_postgres_whole_and_keeps_working(demo, empty_postgres):
    source_url = f"sqlite:///{demo / 'alliance.db'}"
    result = copy(demo, empty_postgres)
    assert result.exit_code == 0, result.output
    assert "every table's row count and the ledger's totals per period match" in result.output

    before, after = counts(source_url), counts(empty_postgres)
    assert after == before
    assert before["ledger_entries"] > 50 and before["audit_log"] > 3 and before["transfers"] > 0

    agreement = load_agreement(demo / "alliance.toml")
    source, target = open_database(source_url), open_database(empty_postgres)
    try:
        with source.connect() as a, target.connect() as b:
            assert ledger_totals(a) == ledger_totals(b)
        for member in agreement.members:
            here = member_statement(source, agreement, member, "2026-11", as_of=NOW)
            there = member_statement(target, agreement, member, "2026-11", as_of=NOW)
            assert there == here
        today = NOW.date()
        unpaid = [s for s in transfer_states(target, agreement, today=today) if not s.payment]
        record_payment(  # appends an audit event: the copied ids do not collide with it
            target, agreement, unpaid[0].transfer.id, "BANK-2", now=NOW, actor=Actor("ana", "t")
        )
        with target.connect() as conn:
            last = conn.execute(select(audit_log).order_by(audit_log.c.id.desc())).first()
        assert last.actor == "ana" and last.id == before["audit_log"] + 1
    finally:
        source.dispose()
        target.dispose()

    again = copy(demo, empty_postgres)
    assert again.exit_code == 1 and "already holds a ledger" in again.output
    assert counts(empty_postgres)["transfer_payments"] == before["transfer_payments"] + 1


def test_a_missing_source_ledger_is_refused(tmp_path: Path, empty_postgres) -> None:
    agreement = tmp_path / "alliance.toml"
    agreement.write_text((Path(__file__).parents[2] / "examples" / "alliance.toml").read_text())
    result = copy(tmp_path, empty_postgres)
    assert result.exit_code == 1 and "there is no ledger at" in result.output
    assert not (tmp_path / "alliance.db").exists()
