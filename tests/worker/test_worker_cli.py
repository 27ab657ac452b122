"""``alliance enqueue``, ``worker --burst``, ``jobs``, ``status`` and ``run``: as users run them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from alliance.cli import main

ALLIANCE = Path(sys.executable).with_name("alliance")
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARNING|ERROR) [\w.]+: \S")


def cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_enqueue_then_a_burst_worker_books_every_store(alliance, redis_url, monkeypatch):
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    first = cli("enqueue", "sync")
    assert first.exit_code == 0, first.output
    assert "li: queued" in first.output and "zhao: queued" in first.output
    again = cli("enqueue", "sync", "--member", "li")
    assert again.output == "li: already queued\n"
    listing = cli("jobs")
    assert "alliance-sync-li" in listing.output and "queued" in listing.output

    done = subprocess.run(
        [str(ALLIANCE), "--log-format", "json", "worker", "--burst"],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    syncs = {line["member"]: line for line in lines if line.get("job") == "sync"}
    assert syncs["wang"]["fetched"] == 150 and syncs["wang"]["status"] == "ok"
    assert syncs["zhao"]["status"] == "failed: config"  # no keys: needs attention, no retry
    for secret in (v for k, v in alliance.env.items() if k.endswith("_SECRET") and v):
        assert secret not in done.stderr  # no secret in any log line

    assert cli("jobs", "failed").output.strip() == "No failed jobs."
    status = cli("status")
    assert status.exit_code == 1  # zhao needs attention
    assert "needs attention: zhao" in status.output
    assert "queues: alliance-orders 0, alliance-giftpacks 0, alliance-sync 0" in status.output
    report = json.loads(cli("status", "--format", "json").output)
    assert report["needs_attention"] == ["zhao"] and report["workers"] == []
    wang = next(m for m in report["members"] if m["member"] == "wang")
    assert wang["orders_behind"] == 0 and wang["healthy"]


def test_jobs_retry_names_what_is_wrong(alliance, redis_url, monkeypatch):
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    result = cli("jobs", "retry", "alliance-sync-nobody")
    assert result.exit_code == 1 and "no job 'alliance-sync-nobody'" in result.output


def test_queue_commands_without_redis_say_what_to_set(alliance):
    result = cli("enqueue", "sync")
    assert result.exit_code == 1
    assert "ALLIANCE_REDIS_URL is not set" in result.output and "alliance run" in result.output


def test_run_once_syncs_every_member_without_redis(alliance):
    result = cli("run", "--once")
    assert result.exit_code == 1  # zhao has no keys
    assert "Stopped after 4 job(s), 1 not ok." in result.output
    status = cli("status", "--format", "json")
    members = {m["member"]: m for m in json.loads(status.output)["members"]}
    assert members["li"]["last_success"] and members["zhang"]["healthy"]
    assert json.loads(status.output)["queues"] is None


def test_run_stops_cleanly_between_jobs_on_ctrl_c(alliance, tmp_path):
    env = {**os.environ, "ALLIANCE_SYNC_INTERVAL_MINUTES": "1"}
    process = subprocess.Popen(
        [str(ALLIANCE), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        database = Path(alliance.database_url.removeprefix("sqlite:///"))
        while time.monotonic() < deadline and not _synced(database, "zhang"):
            time.sleep(0.2)
        assert _synced(database, "zhang"), "alliance run never synced zhang within a minute"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err[-2000:]
    assert "Stopped after" in out and "Traceback" not in err


def _synced(database: Path, member: str) -> bool:
    import sqlite3

    if not database.exists():
        return False
    try:
        with sqlite3.connect(database) as conn:
            row = conn.execute(
                "SELECT last_success_at FROM sync_state WHERE member = ?", (member,)
            ).fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def test_a_worker_with_its_schedule_syncs_every_member_on_its_own(alliance, redis_url):
    env = {**os.environ, "ALLIANCE_REDIS_URL": redis_url}
    process = subprocess.Popen(
        [str(ALLIANCE), "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        database = Path(alliance.database_url.removeprefix("sqlite:///"))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(
            _synced(database, m) for m in ("li", "wang", "zhang")
        ):
            time.sleep(0.3)
        assert all(_synced(database, m) for m in ("li", "wang", "zhang"))  # nobody enqueued
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err[-3000:]
    assert "job schedule" in err and "queued=4" in err  # the cron tick queued every member
    odd = [line for line in err.splitlines() if not TEXT_LINE.match(line)]
    assert odd == []  # the scheduler's process logs in the worker's one format too
    assert _session_ends(process.pid)  # the scheduler process stopped with the worker


def _session_ends(session: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-s", str(session)], capture_output=True, text=True)
        if not found.stdout.strip():
            return True
        time.sleep(0.2)
    return False


def test_a_manual_sync_beside_workers_takes_each_members_lock(alliance, redis_url, monkeypatch):
    from redis import Redis

    from worker.locks import MemberLock

    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    busy = MemberLock(Redis.from_url(redis_url), "wang")
    assert busy.acquire()  # a worker is syncing wang right now
    result = cli("sync", "--member", "wang", "--member", "li")
    assert "wang: a worker is syncing this member now; skipped" in result.output
    assert "li: 60 order(s) fetched" in result.output
    busy.release()
    again = cli("sync", "--member", "wang")
    assert again.exit_code == 0 and "wang: 150 order(s) fetched" in again.output
