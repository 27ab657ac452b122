"""Redis down or misconfigured: every command that needs it names the server it could not use
(never its password), says what to do, and exits 1, with no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from alliance.cli import main
from alliance.errors import ConfigError, RetriableError
from tests.conftest import EXAMPLE, SECRET
from worker.connection import connect, redacted

ALLIANCE = Path(sys.executable).with_name("alliance")
PASSWORD = "hunter2-pw"
DOWN = {  # nothing listens on port 1
    f"redis://:{PASSWORD}@127.0.0.1:1/0": "redis://:***@127.0.0.1:1/0",
    f"redis://alliance:{PASSWORD}@127.0.0.1:1/0": "redis://alliance:***@127.0.0.1:1/0",
}
MALFORMED = [
    "127.0.0.1:6379",  # no scheme
    f"redis://:{PASSWORD}@127.0.0.1:port/0",
    f"redis://127.0.0.1:{PASSWORD}/0",  # the password where the port goes
    "redis://127.0.0.1:6379/0?socket_timeout=soon",
]
COMMANDS = [
    ["enqueue", "sync"],
    ["jobs"],
    ["jobs", "failed"],
    ["jobs", "retry", "alliance-sync-li"],
    ["status"],
    ["sync", "--member", "li"],
    ["run", "--once"],
]


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The example alliance on a fresh SQLite file; its stores are never reached."""
    env = {
        "ALLIANCE_CONFIG": str(EXAMPLE),
        "ALLIANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'alliance.db'}",
        "ALLIANCE_SECRET": SECRET,
        "ALLIANCE_HTTP_ATTEMPTS": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def assert_says_what_to_do(output: str) -> None:
    assert output.startswith("error: "), output
    assert PASSWORD not in output and "Traceback" not in output
    assert "ALLIANCE_REDIS_URL" in output and "alliance run" in output


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("url", list(DOWN), ids=["password", "user-and-password"])
def test_a_command_with_redis_down_names_the_server_and_what_to_do(
    offline: dict[str, str], args: list[str], url: str
) -> None:
    result = CliRunner().invoke(main, args, env={"ALLIANCE_REDIS_URL": url})
    assert result.exit_code == 1, result.output
    assert_says_what_to_do(result.output)
    assert f"Redis at {DOWN[url]}" in result.output and "start Redis" in result.output


@pytest.mark.parametrize("args", [*COMMANDS, ["serve"]], ids=" ".join)
@pytest.mark.parametrize("url", MALFORMED)
def test_a_command_with_a_malformed_redis_url_says_to_fix_it(
    offline: dict[str, str], args: list[str], url: str
) -> None:
    result = CliRunner().invoke(main, args, env={"ALLIANCE_REDIS_URL": url})
    assert result.exit_code == 1, result.output
    assert_says_what_to_do(result.output)
    assert "is not a Redis URL" in result.output


@pytest.mark.parametrize("url", [*DOWN, MALFORMED[1]])
def test_a_burst_worker_without_its_redis_exits_1_with_a_message(
    offline: dict[str, str], url: str
) -> None:
    done = subprocess.run(
        [str(ALLIANCE), "worker", "--burst"],
        env={**os.environ, "ALLIANCE_REDIS_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert_says_what_to_do(done.stderr)


def test_passwords_are_masked_wherever_they_are_written() -> None:
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redacted("redis://:s3cret@queue.internal:6379/0") == "redis://:***@queue.internal:6379/0"
    assert redacted("rediss://app:s3cret@queue.internal/2") == "rediss://app:***@queue.internal/2"
    assert redacted("redis://s3cret@queue.internal") == "redis://***@queue.internal"
    assert redacted("redis://:p@ss/w0rd@host:6379/0") == "redis://:***@host:6379/0"
    assert redacted("unix://:s3cret@/run/redis.sock?db=1") == "unix://:***@/run/redis.sock?db=1"
    assert redacted("redis://host:6379/0?password=s3cret") == "redis://host:6379/0?password=***"
    assert redacted("redis://host:s3cret/0") == "redis://host:***/0"
    assert redacted("redis://[::1]:6379/0") == "redis://[::1]:6379/0"


def test_the_errors_belong_to_the_projects_tree() -> None:
    with pytest.raises(RetriableError, match="start Redis"):
        connect(next(iter(DOWN)))
    with pytest.raises(ConfigError, match="is not a Redis URL"):
        connect(MALFORMED[0])
