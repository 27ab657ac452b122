"""Benchmark: 20 members x 2,500 orders, from empty to a complete ledger, by RQ workers.

    python bench/worker.py [--members 20] [--orders 2500] [--rounds 3]

Configurations, each from an empty (migrated) database to the complete ledger:

  sqlite     ``alliance run --once``: one process, no Redis (the embedded default)
  pg 1/2/4   ``alliance worker --burst`` x N on PostgreSQL + Redis (SimpleWorker, the default)
  pg 2 fork  the same with ``--fork`` (RQ's forking Worker: one child per job)

Every member's store is a sandbox store (real HTTP, OAuth 1.0a); all of them live in ONE extra
process, one server thread each, started once and serving the same generated orders to every
run. For the worker runs the syncs are queued first (``enqueue_syncs``), then the clock runs
from starting the workers to the last one exiting: their start-up is part of the cost. The
time until the last sync recorded its success is printed too (a burst worker takes up to a
second to exit after its last job). At two workers the syncs are run again at once, finding
nothing new: what a job costs under each worker class. Each run must end with every order
stored and the same ledger as every other run (a digest of the orders and of the net ledger per
order, deal, payer and payee).

Goal: >= 1.6x the orders/s of one worker with two, on this 2-core machine. Where the CPU went
(workers, the store process, PostgreSQL, Redis, the rest of the machine) is read from /proc and
printed per configuration, to show what limits four workers. Each run waits for a quiet second
first, and a run the rest of the machine disturbed anyway is flagged; rounds run the
configurations in turn, and speedups are ratios within a round, so slow spells of a shared
machine hit both sides of a ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from alliance.storage.database import open_database
from alliance.storage.schema import ledger_entries, orders, quarantine, sync_state
from bench.cpu import Cpu, busy_seconds
from connector.sandbox.auth import ApiKey
from connector.sandbox.seed import generate_orders, generate_products
from connector.sandbox.server import start_sandbox
from worker.keys import SYNC_QUEUE
from worker.queues import enqueue_syncs

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-bench-secret-bench-secret-0000"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/8"
"""Flushed between runs: clear of the tests' DBs (9-12 for tests/e2e, 13-15 for tests/worker)."""
DATABASE = "alliance_bench_worker"
ALLIANCE = [sys.executable, "-m", "alliance.cli"]
CPUS = os.cpu_count() or 1
NOISE = 0.1
"""A run in which the rest of the machine used more than this share of its cores is flagged."""


# --- the stores: one process, one thread per store -----------------------------------------


def member_ids(count: int) -> list[str]:
    return [f"m{n:02d}" for n in range(1, count + 1)]


def store_keys(member: str) -> tuple[str, str]:
    """Fixed WooCommerce keys per store: ck_/cs_ + 40 hex characters."""
    return (
        "ck_" + hashlib.sha1(f"key {member}".encode()).hexdigest(),
        "cs_" + hashlib.sha1(f"secret {member}".encode()).hexdigest(),
    )


def serve_stores() -> None:
    """The store process (``python -c``, argv: members orders): prints ``{member: url}`` as one
    JSON line, then serves until its stdin closes."""
    count, per_store = int(sys.argv[1]), int(sys.argv[2])
    products = generate_products()
    handles = {}
    for n, member in enumerate(member_ids(count), start=1):
        made = generate_orders(per_store, seed=n, start=n * 1_000_000 + 1, products=products)
        key, secret = store_keys(member)
        handles[member] = start_sandbox(
            orders=made, products=products, keys=[ApiKey(key, secret, "read_write")]
        )
    print(json.dumps({member: handle.url for member, handle in handles.items()}), flush=True)
    sys.stdin.read()
    for handle in handles.values():
        handle.stop()


def start_stores(members: int, per_store: int) -> tuple[subprocess.Popen, dict[str, str]]:
    script = "from bench.worker import serve_stores; serve_stores()"
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(members), str(per_store)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line:
        raise SystemExit(f"the store process stopped (exit status {process.wait()})")
    return process, json.loads(line)


# --- the agreement: 20 members, deals on the seed's referral coupons -----------------------


_HEADER = """[alliance]
name = "Benchmark Alliance"
currency = "CNY"
timezone = "Asia/Shanghai"
"""
_MEMBER = """
[members.{member}]
name = "Sandbox store {member}"
url = "{url}"
credentials_env = "{env}"
"""
_DEALS = """
[[deals]]
id = "{left}-{seller}-percent"
referrer = "{left}"
seller = "{seller}"
pay = "percent"
rate = "10%"
referral_coupons = ["LI-FRIENDS"]

[[deals]]
id = "{right}-{seller}-order"
referrer = "{right}"
seller = "{seller}"
pay = "per_order"
amount = "15.00"
referral_coupons = ["WANG-LOVES-LI"]
"""
_SWAP = """
[[deals]]
id = "{first}-{second}-swap"
pay = "swap"
members = ["{first}", "{second}"]
referral_coupons = {{ {first} = ["ZHANG-PHOTO"], {second} = ["ZHANG-PHOTO"] }}
"""


def agreement_text(urls: dict[str, str]) -> str:
    """Each store pays its left neighbour 10% for "li-friends" and its right neighbour 15.00
    per order for "wang-loves-li"; pairs of stores swap credits on "zhang-photo". These are
    the codes ``generate_orders`` puts on about 15% of the orders."""
    members = list(urls)
    parts = [_HEADER]
    parts += [_MEMBER.format(member=m, url=u, env=f"{m.upper()}_WC") for m, u in urls.items()]
    for n, seller in enumerate(members):
        left, right = members[n - 1], members[(n + 1) % len(members)]
        parts.append(_DEALS.format(left=left, right=right, seller=seller))
    for first, second in zip(members[::2], members[1::2], strict=False):
        parts.append(_SWAP.format(first=first, second=second))
    return "".join(parts)


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


# --- databases and the ledger check --------------------------------------------------------


def fresh_postgres(admin_url: str) -> str:
    """An empty, migrated database ``alliance_bench_worker``; returns its URL."""
    url = make_url(admin_url)
    with psycopg.connect(
        url.set(drivername="postgresql").render_as_string(False), autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    database_url = url.set(database=DATABASE).render_as_string(hide_password=False)
    open_database(database_url).dispose()  # migrated before the clock runs, as a deploy would
    return database_url


def drop_postgres(admin_url: str) -> None:
    url = make_url(admin_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@dataclass(frozen=True)
class Ledger:
    orders: int
    quarantined: int
    entries: int
    amount_minor: int
    digest: str


def ledger_of(database_url: str) -> Ledger:
    """Counts, the sum of amount_minor, and a digest of every order's booked facts and of the
    net ledger per (order, deal, payer, payee): equal digests mean equal ledgers."""
    engine = open_database(database_url)
    o, e = orders.c, ledger_entries.c
    digest = hashlib.sha256()
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    o.member, o.external_id, o.status, o.total_minor, o.refunded_minor, o.referrer
                )
            ).all()
            net = conn.execute(
                select(
                    e.source_ref, e.deal_id, e.payer, e.payee, e.unit, func.sum(e.amount_minor)
                ).group_by(e.source_ref, e.deal_id, e.payer, e.payee, e.unit)
            ).all()
            entries, amount = conn.execute(
                select(func.count(), func.coalesce(func.sum(e.amount_minor), 0))
            ).one()
            held = conn.execute(select(func.count()).select_from(quarantine)).scalar_one()
    finally:
        engine.dispose()
    # sorted here, not by the database: PostgreSQL's collation is not SQLite's byte order
    for row in sorted(tuple(str(v) for v in r) for r in [*rows, *net]):
        digest.update(repr(row).encode())
    return Ledger(len(rows), held, entries, int(amount), digest.hexdigest()[:16])


def last_success(database_url: str) -> float:
    """When the last member's sync recorded its success, as a Unix time."""
    engine = open_database(database_url)
    try:
        with engine.connect() as conn:
            moment = conn.execute(select(func.max(sync_state.c.last_success_at))).scalar_one()
    finally:
        engine.dispose()
    if isinstance(moment, str):  # SQLite hands back the stored text for an aggregate
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC).timestamp()


# --- the runs ------------------------------------------------------------------------------


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


@dataclass
class Context:
    members: list[str]
    per_store: int
    config: Path
    scratch: Path
    store_pid: int
    postgres: str
    redis_url: str
    ledgers: dict[str, Ledger]


def claim_redis(url: str) -> None:
    """Refuse a Redis DB another client is connected to: flushing it would break their work."""
    client = Redis.from_url(url)
    number = client.connection_pool.connection_kwargs.get("db", 0)
    own = client.client_id()
    others = [c for c in client.client_list() if int(c["db"]) == number and int(c["id"]) != own]
    client.close()
    if others:
        raise SystemExit(f"{url}: {len(others)} other client(s) use this Redis DB; pick a free one")


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


# --- report --------------------------------------------------------------------------------

CONFIGS = (("sqlite", 0, False), ("pg 1", 1, False), ("pg 2", 2, False), ("pg 4", 4, False),
           ("pg 2 fork", 2, True))  # fmt: skip


LABELS = {
    "sqlite": "single process (run, SQLite)",
    "pg 1": "1 worker (Simple, PostgreSQL)",
    "pg 2": "2 workers (Simple, PostgreSQL)",
    "pg 4": "4 workers (Simple, PostgreSQL)",
    "pg 2 fork": "2 workers (forking Worker)",
}


def report(runs: dict[str, list[Run]], total: int, members: int, startup: float) -> None:
    median = {name: statistics.median(r.seconds for r in rs) for name, rs in runs.items()}
    best = {name: min(r.seconds for r in rs) for name, rs in runs.items()}
    done = {name: statistics.median(r.complete for r in rs) for name, rs in runs.items()}
    print()
    print(
        f"{total:,} orders, {len(runs['pg 1'])} round(s). seconds: from start until every process"
    )
    print("exited (median, best); ledger: until the last sync recorded success (median)")
    head = (
        f"{'configuration':<30} {'median':>6} {'best':>6} {'ledger':>6} {'orders/s':>8} {'vs 1':>5}"
    )
    print(f"{head} | {'busy':>4} {'workers':>7} {'store':>5} {'pg':>5} {'redis':>5} {'other':>5}")
    for name, rs in runs.items():
        cpu = Cpu(*(statistics.mean(getattr(r.cpu, f.name) for r in rs) for f in fields(Cpu)))
        busy = statistics.mean(r.cpu.machine / (r.seconds * CPUS) for r in rs)
        print(
            f"{LABELS[name]:<30} {median[name]:6.2f} {best[name]:6.2f} {done[name]:6.2f} "
            f"{total / median[name]:8,.0f} {median['pg 1'] / median[name]:4.2f}x | {busy:4.0%} "
            f"{cpu.workers:7.1f} {cpu.store:5.1f} {cpu.postgres:5.1f} {cpu.redis:5.1f} "
            f"{cpu.other:5.1f}"
        )
    print(f"busy: the machine's share of its {CPUS} cores; then CPU seconds per run (mean): the")
    print("worker processes (or `alliance run`), the store process, PostgreSQL, Redis, and other:")
    print("the rest of the machine (the kernel, anything else running; large = a disturbed run)")
    print()
    for workers in ("pg 2", "pg 4"):
        pairs = list(zip(runs["pg 1"], runs[workers], strict=True))
        ratios = [one.seconds / many.seconds for one, many in pairs]
        quiet = [f"{one.seconds / many.seconds:.2f}x" for one, many in pairs
                 if not (one.disturbed or many.disturbed)]  # fmt: skip
        mid = statistics.median(ratios)
        goal = f"; goal >= 1.60x: {'OK' if mid >= 1.6 else 'MISSED'}" if workers == "pg 2" else ""
        print(
            f"speedup, {workers[3:]} workers: pg 1 / pg {workers[3:]} in the same round: median "
            f"{mid:.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}){goal}"
        )
        ledger_ratio = statistics.median(one.complete / many.complete for one, many in pairs)
        print(
            f"    best vs best {best['pg 1'] / best[workers]:.2f}x; undisturbed rounds: "
            f"{', '.join(quiet) or 'none'}; until the ledger is complete: {ledger_ratio:.2f}x"
        )
    fork = median["pg 2 fork"] / median["pg 2"]
    print(
        f"at 2 workers, SimpleWorker {median['pg 2']:.2f} s, forking Worker "
        f"{median['pg 2 fork']:.2f} s ({fork:.2f}x the time)"
    )
    simple, forked = (
        statistics.median(r.again or 0.0 for r in runs[n]) for n in ("pg 2", "pg 2 fork")
    )
    per_job = (forked - simple) * 2 / members * 1000  # two workers share the jobs
    print(
        f"again at once, nothing new ({members} jobs, 2 workers): SimpleWorker {simple:.2f} s, "
        f"forking Worker {forked:.2f} s, {per_job:.0f} ms more per job"
    )
    print(f"one idle `alliance worker --burst` (start-up, imports, exit): {startup:.2f} s")
    ledger = next(iter(runs.values()))[0].ledger
    print(
        f"every run: {ledger.orders:,} orders, {ledger.quarantined} quarantined, "
        f"{ledger.entries:,} ledger entries, sum {ledger.amount_minor:,} minor units, "
        f"digest {ledger.digest}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--orders", type=int, default=2500, help="orders per member's store")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=POSTGRES, help="a database to create others from")
    parser.add_argument("--redis", default=REDIS, help="a Redis DB this benchmark may flush")
    args = parser.parse_args()
    if args.members < 2:
        parser.error("an alliance needs at least 2 members")
    total = args.members * args.orders
    claim_redis(args.redis)
    print(f"starting {args.members} sandbox stores x {args.orders:,} orders (one process)...")
    store, urls = start_stores(args.members, args.orders)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            config = Path(scratch) / "alliance.toml"
            config.write_text(agreement_text(urls), encoding="utf-8")
            subprocess.check_call(
                [*ALLIANCE, "--config", str(config), "check"], cwd=ROOT, stdout=subprocess.DEVNULL
            )
            ctx = Context(list(urls), args.orders, config, Path(scratch), store.pid,
                          args.postgres, args.redis, {})  # fmt: skip
            runs: dict[str, list[Run]] = {name: [] for name, _, _ in CONFIGS}
            for round_no in range(1, args.rounds + 1):
                for name, count, fork in CONFIGS:
                    settle()
                    run = run_single(ctx) if count == 0 else run_workers(name, count, fork, ctx)
                    runs[name].append(run)
                    print(
                        f"round {round_no}: {name:<9} {run.seconds:6.2f} s "
                        f"{total / run.seconds:7,.0f} orders/s (workers {run.cpu.workers:5.1f}, "
                        f"store {run.cpu.store:4.1f}, pg {run.cpu.postgres:4.1f}, "
                        f"other {run.cpu.other:4.1f} CPU s)"
                        + (" disturbed" if run.disturbed else ""),
                        flush=True,
                    )
            startup = startup_seconds(ctx)
            report(runs, total, args.members, startup)
    finally:
        drop_postgres(args.postgres)
        store.stdin.close()  # type: ignore[union-attr]
        try:
            store.wait(timeout=10)
        except subprocess.TimeoutExpired:
            store.kill()


if __name__ == "__main__":
    main()
