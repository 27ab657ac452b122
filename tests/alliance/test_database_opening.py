"""Opening the ledger: every way it can fail is one line naming the URL (never its password)
and the fix; a command that only reads never creates an empty ledger; the default ledger
lives next to the agreement file, wherever the command is run from."""

from __future__ import annotations

import json
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from alliance.cli import main
from alliance.errors import ConfigError
from alliance.settings import Settings
from alliance.storage.database import open_database
from connector.fixtures.orders import woo_order
from tests.conftest import EXAMPLE, POSTGRES_ADMIN_URL, SECRET

SERVER = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]


def refusal(url: str, **options: bool) -> str:
    with pytest.raises(ConfigError) as raised:
        open_database(url, **options)
    message = str(raised.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_missing_postgres_driver_says_which_extra_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    message = refusal("postgresql://ana:s3cret-pw@db.example/alliance")
    assert "postgresql+psycopg://ana:***@db.example/alliance" in message
    assert "shop-alliance[postgres]" in message and "s3cret-pw" not in message


def test_a_missing_postgres_database_says_how_to_create_it() -> None:
    name = f"alliance_missing_{uuid.uuid4().hex[:8]}"
    message = refusal(f"{SERVER}/{name}")
    assert f"the PostgreSQL database {name!r} does not exist" in message
    assert f"createdb -h 127.0.0.1 {name}" in message


def test_a_server_that_is_down_is_named_without_its_password() -> None:
    message = refusal("postgresql://ana:s3cret-pw@127.0.0.1:1/alliance")
    assert message.startswith(
        "cannot reach the database at postgresql+psycopg://ana:***@127.0.0.1:1/"
    )
    assert "is the server running" in message and "s3cret-pw" not in message


def test_an_sqlite_file_in_a_missing_folder_names_the_folder(tmp_path: Path) -> None:
    message = refusal(f"sqlite:///{tmp_path / 'nowhere' / 'alliance.db'}")
    assert f"the folder {tmp_path / 'nowhere'} does not exist" in message
    assert "mkdir -p" in message


def test_a_reader_refuses_a_missing_ledger_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "alliance.db"
    message = refusal(f"sqlite:///{path}", create=False)
    assert f"there is no ledger at {path}" in message
    assert not path.exists()
    open_database(f"sqlite:///{path}").dispose()  # a writer creates it
    open_database(f"sqlite:///{path}", create=False).dispose()  # then readers open it


def test_the_default_ledger_is_next_to_the_agreement(tmp_path: Path) -> None:
    assert Settings.from_env({}, config=tmp_path / "alliance.toml").database_url == (
        f"sqlite:///{tmp_path / 'alliance.db'}"
    )
    assert Settings.from_env({}).database_url == "sqlite:///alliance.db"
    chosen = {"ALLIANCE_DATABASE_URL": "sqlite:///elsewhere.db"}
    assert (
        Settings.from_env(chosen, config=tmp_path / "a.toml").database_url
        == chosen["ALLIANCE_DATABASE_URL"]
    )


def test_a_statement_from_another_folder_reads_the_agreements_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alliance = tmp_path / "alliance"
    alliance.mkdir()
    agreement = alliance / "alliance.toml"
    agreement.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    orders = alliance / "wang.json"
    sale = woo_order(11, coupons=[("LI-FRIENDS", Decimal(0))])
    orders.write_text(json.dumps([sale]), encoding="utf-8")
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    env = {"ALLIANCE_SECRET": SECRET, "ALLIANCE_DATABASE_URL": None, "ALLIANCE_CONFIG": None}

    def run(*args: str):
        return CliRunner().invoke(main, ["--config", str(agreement), *args], env=env)

    imported = run("import-orders", "--member", "wang", str(orders))
    assert imported.exit_code == 0, imported.output
    period = sale["date_paid_gmt"][:7]
    statement = json.loads(run("statement", "-m", "li", "-p", period, "--format", "json").output)
    assert [line["order"] for line in statement["lines"]] == ["wang#11"]
    assert (alliance / "alliance.db").exists() and not (elsewhere / "alliance.db").exists()

    lost = CliRunner().invoke(main, ["statement", "-m", "li", "-p", period], env=env)
    assert lost.exit_code == 1 and "alliance.toml" in lost.output, lost.output
    assert not (elsewhere / "alliance.db").exists()
