"""Benchmark (issue 5): tracked links ``/r/<token>`` and partner blocks ``/w/...`` over HTTP.

    python bench/clicks.py [--seconds 10] [--rounds 3] [--connections 50] [--workers 1]
                           [--clients 1] [--servers uvicorn,granian] [--postgres [ADMIN_URL]]

Bare 302 and ``/r`` are measured in interleaved rounds (``--rounds``), each server staying up
throughout; the table shows the run with the median rate and each round's ratio is printed.
Measured in the same run, per server (uvicorn and, when installed, granian), each server in
its own process(es) on 127.0.0.1 and the load generator in another process:
  bare 302     a 10-line raw ASGI callable answering the same 302 (the ceiling)
  /r sqlite    the app's ``/r/<token>``: signature check, agreement checks, product lookup,
               click judge, durable ``book_clicks`` commit in a fresh SQLite file (WAL)
  /r postgres  the same on a throw-away PostgreSQL database (with ``--postgres``)
  block 304    ``/w/li/product`` with a matching ``If-None-Match`` (warm)
  block 200    the same without it: the cached rendering (warm)
  block cold   every request starts a new rotation slot (the app's clock jumps 60 s a
               request), so every one loads the shelves and renders the template

Load generator: ``wrk`` is not installed here, so a Python asyncio client: one HTTP/1.1
keep-alive connection per simulated user, one request in flight per connection (no
pipelining), raw asyncio streams. Every click sends a distinct user agent, so visitors are
distinct and clicks are judged valid rather than "duplicate"/"rate-limited"; tokens cycle over
all products, placements and five deals (one per-click deal books ledger entries).

A closed loop: with C connections, latency ~ C / throughput (Little's law), so p99 <= 20 ms at
50 connections needs >= 2,500 req/s. The client's and the server's CPU use are printed: a
client at ~100 % of a core means the numbers are a floor for the server, not its ceiling.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.clicks_apps import (
    ENV_CLOCK,
    ENV_DB,
    click_tokens,
    database_counts,
    prepare_database,
)
from bench.load import LoadSpec, run_load
from bench.servers import Server

# --- measuring ------------------------------------------------------------------------------


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


def measure(server: Server, specs: list[LoadSpec], label: tuple[str, str]) -> Result:
    context = multiprocessing.get_context("spawn")
    cpu0 = server.cpu()
    with context.Pool(len(specs)) as pool:
        begin = time.perf_counter()
        parts = pool.map(run_load, specs)
        wall = time.perf_counter() - begin
    server_cpu = server.cpu() - cpu0
    latencies = sorted(x for part in parts for x in part[0])
    statuses = sum((part[1] for part in parts), Counter())
    seconds = specs[0].seconds
    return Result(
        *label,
        rate=len(latencies) / seconds,
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        statuses=statuses,
        client_cpu=sum(part[2] for part in parts),
        server_cpu=server_cpu / wall,
    )


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def specs_for(args: argparse.Namespace, port: int, kind: str, paths: list[str], headers=""):
    run = uuid.uuid4().hex[:8]  # fresh visitors: clicks are judged valid, not "duplicate"
    return [
        LoadSpec(port, n, args.seconds, args.warmup, kind, paths, headers, client_id=i, run=run)
        for i, n in enumerate(split(args.connections, args.clients))
        if n
    ]


def block_etag(port: int, path: str) -> str:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    for line in data.split(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"etag:"):
            return line.split(b":", 1)[1].strip().decode()
    raise RuntimeError(f"no ETag on {path}: {data[:300]!r}")


def alliance_server(server: str, args: argparse.Namespace, url: str, clock: str) -> Server:
    """The real app on ``url`` under ``server``, its clock "real", "frozen" or "jumping"."""
    return Server(
        server,
        "bench.clicks_apps:alliance_app",
        factory=True,
        workers=args.workers,
        env={ENV_DB: url, ENV_CLOCK: clock},
    )


def run_server(server: str, args: argparse.Namespace, work: Path, tokens: list[str]) -> list:
    results = run_clicks(server, args, work, tokens)
    results += run_blocks(server, args, work)
    return results


def run_clicks(server: str, args: argparse.Namespace, work: Path, tokens: list[str]) -> list:
    """The bare 302 and ``/r`` on each database, interleaved in rounds (the machine's speed
    drifts: a round's ratio compares runs seconds apart). Every server stays up throughout."""
    click_paths = [f"/r/{t}" for t in tokens]
    databases = [("sqlite", f"sqlite:///{work / f'{server}-clicks.db'}")]
    if args.postgres:
        databases.append(("postgres", new_postgres_database(args.postgres)))
    running: list[tuple[str, Server, str | None]] = []
    try:
        bare = Server(
            server, "bench.clicks_apps:bare_app", factory=False, workers=args.workers, env={}
        )
        running.append(("bare 302", bare, None))
        for db_name, url in databases:
            prepare_database(url)
            app = alliance_server(server, args, url, "real")
            running.append((f"/r {db_name}", app, url))
        results: list[Result] = []
        for round_ in range(1, args.rounds + 1):
            for name, process, _url in running:
                specs = specs_for(args, process.port, "click", click_paths)
                result = measure(process, specs, (server, name))
                result.round = round_
                results.append(result)
        for name, _process, url in running:
            if url is not None:
                last = [r for r in results if r.name == name][-1]
                last.database = database_counts(url)
        return results
    finally:
        for _name, process, _url in running:
            process.stop()
        for db_name, url in databases:
            if db_name == "postgres":
                drop_postgres_database(args.postgres, url)


def run_blocks(server: str, args: argparse.Namespace, work: Path) -> list:
    results: list[Result] = []
    block = "/w/li/product?variant=grid"
    block_headers = "Accept-Language: en-GB,en;q=0.8\r\n"
    # blocks: warm (frozen slot) 304 and 200, then cold (a new slot every request)
    url = f"sqlite:///{work / f'{server}-blocks.db'}"
    prepare_database(url)
    app = alliance_server(server, args, url, "frozen")
    try:
        etag = block_etag(app.port, block)
        specs = specs_for(
            args, app.port, "path", [block], block_headers + f"If-None-Match: {etag}\r\n"
        )
        results.append(measure(app, specs, (server, "block 304 (warm)")))
        specs = specs_for(args, app.port, "path", [block], block_headers)
        results.append(measure(app, specs, (server, "block 200 (warm)")))
    finally:
        app.stop()
    app = alliance_server(server, args, url, "jumping")
    try:
        specs = specs_for(args, app.port, "path", [block], block_headers)
        results.append(measure(app, specs, (server, "block 200 (cold)")))
    finally:
        app.stop()
    return results


# --- PostgreSQL (optional) ------------------------------------------------------------------


def new_postgres_database(admin_url: str) -> str:
    from sqlalchemy import create_engine, text

    name = f"alliance_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(admin_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


# --- report ---------------------------------------------------------------------------------


def version_of(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


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
            ok_p99 = "ok" if p99 <= 20 else "MISSED"
            each = ", ".join(f"{x:.2f}" for x in ratios)
            print(
                f"{server:8} {name:12} / bare: ratio {ratio:.2f} (rounds: {each}; goal >= 0.5: "
                f"{ok_ratio}); p99 {p99:.1f} ms (median; goal <= 20 ms: {ok_p99})"
            )
            last = group[-1]
            if last.database:
                answered = sum(r.statuses.get(302, 0) for r in group)
                counts = ", ".join(f"{k.strip()} {v}" for k, v in last.database.items())
                print(f"{'':8}   database after the runs: {counts} ({answered} 302s measured)")
    if len({r.server for r in results}) > 1:
        print()
        for name in dict.fromkeys(r.name for r in middles):
            rates = {r.server: r.rate for r in middles if r.name == name}
            best = max(rates, key=lambda s: rates[s])
            others = " vs ".join(f"{s} {v:.0f}" for s, v in rates.items())
            print(f"{name:18} favours {best} ({others} req/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of bare 302 and /r")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--clients", type=int, default=1, help="load-generator processes")
    parser.add_argument("--servers", default="uvicorn,granian")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=os.environ.get(
            "ALLIANCE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        default=None,
        help="also measure /r on a throw-away database on this server (admin URL)",
    )
    args = parser.parse_args()
    servers = [s for s in args.servers.split(",") if s]
    if "granian" in servers and version_of("granian") == "not installed":
        print("granian is not installed: measuring uvicorn only")
        servers.remove("granian")
    load = f"wrk {shutil.which('wrk')}" if shutil.which("wrk") else "Python asyncio (raw streams)"
    print(
        f"clicks benchmark: {args.connections} connections, {args.warmup:g} s warm-up + "
        f"{args.seconds:g} s per configuration, {args.workers} server process(es), "
        f"{args.clients} load-generator process(es), {os.cpu_count()} CPUs"
    )
    print(
        f"load generator: {'Python asyncio (raw streams, keep-alive, no pipelining)'}; "
        f"wrk found: {'yes' if 'wrk ' in load else 'no'}"
    )
    extras = ", ".join(f"{p} {version_of(p)}" for p in ("httptools", "uvloop"))
    print(
        f"python {sys.version.split()[0]}; uvicorn {version_of('uvicorn')} ({extras}); "
        f"granian {version_of('granian')}; starlette {version_of('starlette')}; "
        f"SQLAlchemy {version_of('SQLAlchemy')}"
    )
    tokens = click_tokens()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-clicks-") as work:
        for server in servers:
            print(f"measuring {server} ...", flush=True)
            results += run_server(server, args, Path(work), tokens)
    report(results, args)


if __name__ == "__main__":
    main()
