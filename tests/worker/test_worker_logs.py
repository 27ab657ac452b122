"""What a real ``alliance worker --burst`` writes: one line per job at INFO, in one timestamp
format, RQ's and Alembic's own lines only at DEBUG, and nothing but JSON with ``--log-format
json``."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from redis import Redis

from tests.worker.test_worker_cli import ALLIANCE
from worker.queues import enqueue_order, enqueue_syncs

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
"""The one timestamp format, text and JSON alike: ISO 8601, UTC, milliseconds."""
TEXT_LINE = re.compile(rf"^{TIME} (DEBUG|INFO|WARNING|ERROR) [\w.]+: \S")


def burst(redis_url: str, *options: str, log_format: str = "text") -> list[str]:
    """Queue a sync of every member and two webhook orders (one of a member that does not
    exist: the job crashes), run one burst worker, and return its stderr lines."""
    redis = Redis.from_url(redis_url)
    assert enqueue_syncs(redis, ["li", "wang", "zhang", "zhao"]) == ["li", "wang", "zhang", "zhao"]
    assert enqueue_order(redis, "wang", 2001) and enqueue_order(redis, "nobody", 5)
    done = subprocess.run(
        [str(ALLIANCE), "--log-format", log_format, "worker", "--burst", *options],
        env={**os.environ, "ALLIANCE_REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == ""  # logs go to stderr, nothing else is printed
    return done.stderr.splitlines()


def test_a_worker_writes_one_line_per_job_in_one_format(alliance, redis_url):
    alliance.stores["li"].faults.set("503@path=orders")  # down: retried later, said once
    lines = burst(redis_url)
    assert lines and all(TEXT_LINE.match(line) for line in lines), "\n".join(lines)
    jobs = [line for line in lines if " alliance.jobs: job " in line]
    syncs = {re.search(r"member=(\w+)", line)[1]: line for line in jobs if "job sync " in line}
    assert sorted(syncs) == ["li", "wang", "zhang", "zhao"] and len(jobs) == 6  # 4 syncs, 2 orders
    assert (
        " INFO " in syncs["wang"] and "fetched=150" in syncs["wang"] and "seconds=" in syncs["wang"]
    )
    assert " WARNING " in syncs["zhao"] and "status=failed: config" in syncs["zhao"]
    assert "ZHAO_WC_KEY" in syncs["zhao"]  # what is wrong, in words, on the job's own line
    assert " WARNING " in syncs["li"] and "HTTP 503 from the store" in syncs["li"]
    assert not any("sync stopped" in line for line in lines)  # the job line says it
    (crash,) = [line for line in jobs if "member=nobody" in line]
    assert (
        " ERROR " in crash and "status=failed: KeyError" in crash and "retry_in_seconds=10" in crash
    )
    noise = [line for line in lines if re.search(r" (rq|alembic)[\w.]*: ", line)]
    assert noise == [], noise  # RQ's "Job OK", "Listening on ...", the migrations: DEBUG only
    assert not any("Traceback" in line for line in lines)
    # every line is a job's or says something a job line does not (an order the store lacks)
    assert len(lines) - len(jobs) <= 1, "\n".join(lines)


def test_debug_shows_rq_and_alembic_lines_in_the_same_format(alliance, redis_url):
    alliance.stores["li"].faults.set("503@path=orders")
    lines = burst(redis_url, "--log-level", "debug")
    in_traceback = False
    for line in lines:  # every line is a record in the one format, or the crash's traceback
        if TEXT_LINE.match(line):
            in_traceback = "exception raised while executing" in line
        else:
            assert in_traceback, line
    assert any(re.search(r" DEBUG rq\.worker: .*Job OK", line) for line in lines)
    assert any(" DEBUG alembic.runtime.migration: Running upgrade" in line for line in lines)
    assert any(" DEBUG alliance.sync: li: sync stopped" in line for line in lines)
    assert any("Traceback" in line for line in lines)  # the crash's traceback, at DEBUG


def test_json_logs_are_one_json_object_per_line(alliance, redis_url, tmp_path: Path):
    lines = burst(redis_url, log_format="json")
    entries = [json.loads(line) for line in lines]  # every line, not just some
    assert all(re.fullmatch(TIME, e["time"]) for e in entries)
    jobs = [e for e in entries if e["logger"] == "alliance.jobs"]
    assert len(jobs) == 6 and {e["job"] for e in jobs} == {"sync", "order"}
    zhao = next(e for e in jobs if e.get("member") == "zhao")
    assert zhao["level"] == "warning" and zhao["status"] == "failed: config"
    assert "ZHAO_WC_KEY" in zhao["error"] and isinstance(zhao["seconds"], float)
    wang = next(e for e in jobs if e["job"] == "sync" and e["member"] == "wang")
    assert (wang["level"], wang["fetched"], wang["booked"] > 0) == ("info", 150, True)
    assert not any(e["logger"].startswith(("rq", "alembic")) for e in entries)


def test_run_once_logs_the_same_lines_without_redis(alliance):
    done = subprocess.run(
        [str(ALLIANCE), "--log-format", "json", "run", "--once"],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-3000:]  # zhao has no keys
    entries = [json.loads(line) for line in done.stderr.splitlines()]  # nothing but JSON
    syncs = {e["member"]: e for e in entries if e.get("job") == "sync"}
    assert sorted(syncs) == ["li", "wang", "zhang", "zhao"]
    assert syncs["li"]["fetched"] == 60 and syncs["zhao"]["status"] == "failed: config"
    assert not any(e["logger"].startswith(("rq", "alembic")) for e in entries)
    assert "Stopped after 4 job(s), 1 not ok." in done.stdout
