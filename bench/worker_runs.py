"""The worker benchmark's runs: one configuration, from an empty database to the ledger.

Each run is timed from starting its processes to the last one exiting, with the CPU time of
the workers, the store process, PostgreSQL and Redis read around it, and its ledger checked
against the first run's.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from alliance.storage.database import open_database
from bench.cpu import Cpu, busy_seconds
from bench.worker_context import ALLIANCE, CPUS, NOISE, ROOT, SECRET, Context
from bench.worker_ledger import Ledger, fresh_postgres, last_success, ledger_of
from bench.worker_stores import store_keys
from worker.keys import SYNC_QUEUE
from worker.queues import enqueue_syncs


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    cpu: Cpu
    ledger: Ledger
    complete: float  # seconds until the last member's sync recorded its success
    again: float | None = None  # a second burst at once: every member synced, nothing new

    @property
    def disturbed(self) -> bool:
        """The rest of the machine took more than ``NOISE`` of its cores during the run."""
        return self.cpu.other > NOISE * self.seconds * CPUS


def environment(ctx: Context, database_url: str, redis_url: str | None) -> dict[str, str]:
    """What `alliance worker` and `alliance run` read: settings and every member's keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
    env |= {"ALLIANCE_CONFIG": str(ctx.config), "ALLIANCE_DATABASE_URL": database_url}
    env["ALLIANCE_SECRET"] = SECRET
    if redis_url is not None:
        env["ALLIANCE_REDIS_URL"] = redis_url
    for member in ctx.members:
        env[f"{member.upper()}_WC_KEY"], env[f"{member.upper()}_WC_SECRET"] = store_keys(member)
    return env


def settle(limit: float = 60.0) -> None:
    """Wait (at most ``limit`` seconds) for a second in which the machine is nearly idle: other
    work on a shared machine takes cores from the run and disturbs its figures."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = busy_seconds()
        time.sleep(1.0)
        if busy_seconds() - before < NOISE * CPUS:
            return


def run_workers(name: str, count: int, fork: bool, ctx: Context) -> Run:
    """``count`` burst workers from an empty database to the complete ledger; at two workers
    also a second burst at once, whose jobs find nothing new: what a job itself costs."""
    env = environment(ctx, fresh_postgres(ctx.postgres), ctx.redis_url)
    started, seconds, cpu = burst(name, count, fork, env, ctx)
    ledger = check(name, ledger_of(env["ALLIANCE_DATABASE_URL"]), ctx)
    complete = last_success(env["ALLIANCE_DATABASE_URL"]) - started
    again = burst(name, count, fork, env, ctx)[1] if count == 2 else None
    return Run(name, seconds, cpu, ledger, complete, again)


def burst(
    name: str, count: int, fork: bool, env: dict[str, str], ctx: Context
) -> tuple[float, float, Cpu]:
    """Queue every member's sync, then time ``count`` ``alliance worker --burst`` processes from
    their start to the last one's exit; (started, as a Unix time, seconds, CPU)."""
    redis = Redis.from_url(ctx.redis_url)
    redis.flushdb()
    enqueue_syncs(redis, ctx.members)
    command = [*ALLIANCE, "worker", "--burst", "--queues", SYNC_QUEUE] + ["--fork"] * fork
    logs = [(ctx.scratch / f"{name.replace(' ', '-')}-{n}.log").open("w") for n in range(count)]
    before, epoch, started = Cpu.now(ctx.store_pid), time.time(), time.perf_counter()
    workers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        for log in logs
    ]
    codes = [worker.wait() for worker in workers]
    seconds, cpu = time.perf_counter() - started, Cpu.now(ctx.store_pid) - before
    for log in logs:
        log.close()
    queue = Queue(SYNC_QUEUE, connection=redis)
    left = (len(queue), len(FailedJobRegistry(queue=queue)), len(ScheduledJobRegistry(queue=queue)))
    redis.flushdb()
    redis.close()
    if any(codes) or any(left):
        tail = Path(logs[0].name).read_text()[-2000:]
        raise SystemExit(f"{name}: exit codes {codes}; queued/failed/retrying {left}\n{tail}")
    return epoch, seconds, cpu


def run_single(ctx: Context) -> Run:
    path = ctx.scratch / "single.db"
    for stale in ctx.scratch.glob("single.db*"):
        stale.unlink()
    database_url = f"sqlite:///{path}"
    open_database(database_url).dispose()
    env = environment(ctx, database_url, None)
    log = ctx.scratch / "single.log"
    before, epoch, started = Cpu.now(ctx.store_pid), time.time(), time.perf_counter()
    code = subprocess.call(
        [*ALLIANCE, "run", "--once"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    seconds, cpu = time.perf_counter() - started, Cpu.now(ctx.store_pid) - before
    if code:
        raise SystemExit(f"alliance run --once: exit status {code}\n{log.read_text()[-2000:]}")
    ledger = check("sqlite", ledger_of(database_url), ctx)
    return Run("sqlite", seconds, cpu, ledger, last_success(database_url) - epoch)


def check(name: str, ledger: Ledger, ctx: Context) -> Ledger:
    expected = len(ctx.members) * ctx.per_store
    if ledger.orders + ledger.quarantined != expected or ledger.entries == 0:
        raise SystemExit(f"{name}: incomplete ledger {ledger}; expected {expected:,} orders")
    first = ctx.ledgers.setdefault("first", ledger)
    if ledger != first:
        raise SystemExit(f"{name}: ledger {ledger} differs from an earlier run's {first}")
    return ledger


def startup_seconds(ctx: Context) -> float:
    """What one ``alliance worker --burst`` costs with nothing to do (imports, Redis, exit);
    the median of three."""
    redis = Redis.from_url(ctx.redis_url)
    redis.flushdb()
    env = environment(ctx, "sqlite:///" + str(ctx.scratch / "idle.db"), ctx.redis_url)
    command = [*ALLIANCE, "worker", "--burst", "--queues", SYNC_QUEUE]
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.check_call(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        times.append(time.perf_counter() - started)
    redis.flushdb()  # the idle workers' records
    redis.close()
    return statistics.median(times)
