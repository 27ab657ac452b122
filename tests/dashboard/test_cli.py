"""``alliance members token``, ``alliance admin token`` and ``alliance dashboard refresh`` as
users run them: a token printed once that signs in, revoking, and mistakes refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from alliance.agreement.parse import load_agreement
from alliance.cli import main
from alliance.services.dashboard_access import Role, sign_in
from alliance.storage.database import open_database
from tests.conftest import EXAMPLE, SECRET
from tests.dashboard.support import seed_story


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = open_database(url)
    seed_story(engine, load_agreement(EXAMPLE))
    engine.dispose()
    return url


@pytest.fixture
def cli(database: str):
    env = {"ALLIANCE_DATABASE_URL": database, "ALLIANCE_SECRET": SECRET,
           "ALLIANCE_CONFIG": str(EXAMPLE)}  # fmt: skip

    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=env)

    return run


def token_in(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("dash_"))


def signs_in(database: str, token: str):
    engine = open_database(database)
    try:
        return sign_in(engine, load_agreement(EXAMPLE), token)
    finally:
        engine.dispose()


def test_a_member_token_is_printed_once_and_signs_that_member_in(cli, database):
    result = cli("members", "token", "li")
    assert result.exit_code == 0, result.output
    assert "shown once" in result.output and "/dashboard/sign-in" in result.output
    principal = signs_in(database, token_in(result.output))
    assert principal is not None and (principal.role, principal.member) == (Role.MEMBER, "li")
    again = token_in(cli("members", "token", "li").output)
    assert again != token_in(result.output)


def test_revoking_a_member_s_tokens_stops_them_signing_in(cli, database):
    token = token_in(cli("members", "token", "wang").output)
    result = cli("members", "token", "wang", "--revoke")
    assert result.exit_code == 0 and "Revoked 1 sign-in token(s) of wang" in result.output
    assert signs_in(database, token) is None


def test_the_admin_token_signs_in_the_admin(cli, database):
    result = cli("admin", "token")
    principal = signs_in(database, token_in(result.output))
    assert principal is not None and principal.is_admin
    assert "Revoked 1 admin" in cli("admin", "token", "--revoke").output


def test_a_token_for_someone_not_in_the_alliance_is_refused_in_one_line(cli):
    result = cli("members", "token", "nobody")
    assert result.exit_code == 1
    assert "'nobody' is not a member of the alliance; members are: li, wang, zhang, zhao" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_refresh_brings_the_figures_up_to_date(cli):
    result = cli("dashboard", "refresh")
    assert result.exit_code == 0, result.output
    assert "Dashboard figures up to date: orders of 2 member(s)" in result.output
    assert "Dashboard figures up to date" in cli("dashboard", "refresh", "--full").output
