"""``alliance members connect`` and ``disconnect``: the link, and messages instead of
tracebacks when the alliance is not set up for it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from alliance.cli import main
from tests.conftest import EXAMPLE, SECRET
from tests.connector.connect_support import KEYS_SECRET


@pytest.fixture
def alliance(tmp_path: Path):
    env = {
        "ALLIANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "ALLIANCE_SECRET": SECRET,
        "ALLIANCE_CONFIG": str(EXAMPLE),
        "ALLIANCE_KEYS_SECRET": KEYS_SECRET,
        "ALLIANCE_PUBLIC_URL": "",
    }

    def run(*args: str, **extra: str):
        return CliRunner().invoke(main, list(args), env={**env, **extra}, catch_exceptions=False)

    return run


def test_connect_prints_the_members_own_authorize_page(alliance) -> None:
    done = alliance("members", "connect", "wang", "--app-url", "https://go.example")

    assert done.exit_code == 0, done.output
    link = next(line for line in done.output.splitlines() if line.startswith("https://"))
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://wang.example/wc-auth/v1/authorize"
    )
    asked = parse_qs(parts.query)
    assert asked["scope"] == ["read_write"]
    assert asked["callback_url"] == ["https://go.example/connect/callback"]
    assert asked["return_url"] == ["https://go.example/connect/done"]
    assert SECRET not in link and KEYS_SECRET not in link


def test_connect_without_a_keys_secret_says_how_to_set_one(alliance) -> None:
    done = alliance(
        "members", "connect", "wang", "--app-url", "https://go.example", ALLIANCE_KEYS_SECRET=""
    )

    assert done.exit_code == 1
    assert "ALLIANCE_KEYS_SECRET is not set" in done.output
    assert "Traceback" not in done.output


def test_connect_without_the_apps_address_says_where_to_give_it(alliance) -> None:
    done = alliance("members", "connect", "wang")

    assert done.exit_code == 1
    assert "--app-url" in done.output and "ALLIANCE_PUBLIC_URL" in done.output


def test_connect_names_the_real_members_for_an_unknown_one(alliance) -> None:
    done = alliance("members", "connect", "nobody", "--app-url", "https://go.example")

    assert done.exit_code == 1
    assert "members are: li, wang, zhang, zhao" in done.output


def test_disconnecting_a_member_never_connected_says_so(alliance) -> None:
    alliance("members", "connect", "wang", "--app-url", "https://go.example")  # makes the ledger

    done = alliance("members", "disconnect", "wang")

    assert done.exit_code == 1
    assert "wang is not connected through the alliance" in done.output
    assert "WANG_WC_KEY" in done.output
