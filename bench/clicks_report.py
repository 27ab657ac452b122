"""The report of ``bench/clicks.py``: a table of the runs, then each ratio beside its goal."""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass

P99_GOAL_MS = 10.0
COLD_GOAL = 1000.0
WARM_GOAL = 0.8


@dataclass
class Result:
    server: str
    name: str
    rate: float
    p50: float  # ms
    p99: float
    statuses: Counter
    client_cpu: float  # fraction of one core
    server_cpu: float
    database: dict[str, int] | None = None
    round: int = 1


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def per_request(result: Result) -> float:
    """Server CPU microseconds per answered request (all its processes and threads)."""
    return result.server_cpu / result.rate * 1e6 if result.rate else 0.0


def _middle(results: list[Result]) -> Result:
    """The run with the median rate (its own latencies with it)."""
    ordered = sorted(results, key=lambda r: r.rate)
    return ordered[(len(ordered) - 1) // 2]


def report(results: list[Result], args: argparse.Namespace) -> None:
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.server, r.name), []).append(r)
    middles = [_middle(group) for group in groups.values()]
    print()
    print(
        f"the run with the median rate of {args.rounds} round(s) for bare 302 and /r; one run else"
    )
    print(
        f"{'server':8} {'configuration':18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'client cpu':>10} {'server cpu':>10} {'us/req':>7}  statuses"
    )
    for r in middles:
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(r.statuses.items()))
        print(
            f"{r.server:8} {r.name:18} {r.rate:8.0f} {r.p50:8.2f} {r.p99:8.2f} "
            f"{r.client_cpu:9.0%} {r.server_cpu:10.0%} {per_request(r):7.0f}  {statuses}"
        )
    print("us/req: server CPU microseconds per request (all its processes and threads)")
    print()
    for server in dict.fromkeys(r.server for r in results):
        bare_by_round = {r.round: r for r in groups[(server, "bare 302")]}
        for (group_server, name), group in groups.items():
            if group_server != server or not name.startswith("/r "):
                continue
            ratios = sorted(
                r.rate / bare_by_round[r.round].rate for r in group if bare_by_round[r.round].rate
            )
            ratio = ratios[(len(ratios) - 1) // 2] if ratios else 0.0
            p99s = sorted(r.p99 for r in group)
            p99 = p99s[(len(p99s) - 1) // 2]
            ok_ratio = "ok" if ratio >= 0.5 else "MISSED"
            ok_p99 = "ok" if p99 <= P99_GOAL_MS else "MISSED"
            each = ", ".join(f"{x:.2f}" for x in ratios)
            print(
                f"{server:8} {name:12} / bare: ratio {ratio:.2f} (rounds: {each}; goal >= 0.5: "
                f"{ok_ratio}); p99 {p99:.1f} ms (median; goal <= {P99_GOAL_MS:g} ms: {ok_p99})"
            )
            last = group[-1]
            if last.database:
                answered = sum(r.statuses.get(302, 0) + r.statuses.get("ok", 0) for r in group)
                counts = ", ".join(f"{k.strip()} {v}" for k, v in last.database.items())
                print(f"{'':8}   database after the runs: {counts} ({answered} answers measured)")
    for server in dict.fromkeys(r.server for r in results):
        bare_rates = sorted(r.rate for r in groups.get((server, "bare 302"), []))
        bare = bare_rates[(len(bare_rates) - 1) // 2] if bare_rates else 0.0
        for r in middles:
            if r.server != server or not r.name.startswith("block 200"):
                continue
            if "cold" in r.name:
                verdict = "ok" if r.rate >= COLD_GOAL else "MISSED"
                print(
                    f"{server:8} {r.name:18} {r.rate:6.0f}/s per process "
                    f"(goal >= {COLD_GOAL:,.0f}/s: {verdict})"
                )
            elif bare:
                ratio = r.rate / bare
                verdict = "ok" if ratio >= WARM_GOAL else "MISSED"
                print(
                    f"{server:8} {r.name:18} / bare 302 (median, measured minutes apart): "
                    f"{ratio:.2f} (goal >= {WARM_GOAL:g}: {verdict})"
                )
    if len({r.server for r in results}) > 1:
        print()
        for name in dict.fromkeys(r.name for r in middles):
            rates = {r.server: r.rate for r in middles if r.name == name}
            best = max(rates, key=lambda s: rates[s])
            others = " vs ".join(f"{s} {v:.0f}" for s, v in rates.items())
            print(f"{name:18} favours {best} ({others} req/s)")
