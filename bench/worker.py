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

The parts: ``worker_stores`` (the store process), ``worker_agreement``, ``worker_ledger`` (the
databases and the ledger every run must end with), ``worker_runs`` (one configuration's run)
and ``worker_report``; this file reads the options and runs the rounds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis import Redis

from bench.worker_agreement import agreement_text
from bench.worker_context import ALLIANCE, ROOT, Context
from bench.worker_ledger import drop_postgres
from bench.worker_report import report
from bench.worker_runs import Run, run_single, run_workers, settle, startup_seconds
from bench.worker_stores import start_stores

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/8"
"""Flushed between runs: clear of the tests' DBs (9-12 for tests/e2e, 13-15 for tests/worker)."""

CONFIGS = (("sqlite", 0, False), ("pg 1", 1, False), ("pg 2", 2, False), ("pg 4", 4, False),
           ("pg 2 fork", 2, True))  # fmt: skip


def claim_redis(url: str) -> None:
    """Refuse a Redis DB another client is connected to: flushing it would break their work."""
    client = Redis.from_url(url)
    number = client.connection_pool.connection_kwargs.get("db", 0)
    own = client.client_id()
    others = [c for c in client.client_list() if int(c["db"]) == number and int(c["id"]) != own]
    client.close()
    if others:
        raise SystemExit(f"{url}: {len(others)} other client(s) use this Redis DB; pick a free one")


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
