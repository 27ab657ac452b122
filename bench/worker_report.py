"""The worker benchmark's report: the table, the speedups against one worker, and the ledger.

Speedups are ratios within a round, so a slow spell of a shared machine hits both sides.
"""

from __future__ import annotations

import statistics
from dataclasses import fields

from bench.cpu import Cpu
from bench.worker_context import CPUS
from bench.worker_runs import Run

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
