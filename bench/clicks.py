"""Benchmark (issues 5, 17): tracked links ``/r/<token>`` and partner blocks ``/w/...`` over HTTP.

    python bench/clicks.py [--seconds 10] [--rounds 3] [--connections 50] [--workers 1]
                           [--clients 1] [--servers uvicorn,granian] [--postgres [ADMIN_URL]]
                           [--generator auto|wrk|python]

Bare 302 and ``/r`` are measured in interleaved rounds (``--rounds``), each server staying up
throughout; the table shows the run with the median rate and each round's ratio is printed.
Measured in the same run, per server (uvicorn and, when installed, granian), each server in
its own process(es) on 127.0.0.1 and the load generator in another process:
  bare 302     a 10-line raw ASGI callable answering the same 302 (the ceiling)
  /r per-click the app's ``/r/<token>`` on li's per-click deal with zhao: signature check,
               agreement checks, product lookup, click judge, durable ``book_clicks`` commit
               in a fresh SQLite file (WAL), and ledger entries for the valid clicks
  /r percent   the same on li's percent deal with wang: judged and recorded, paid nothing
  (postgres)   both again on a throw-away PostgreSQL database (with ``--postgres``)
  block 304    ``/w/li/product`` with a matching ``If-None-Match`` (warm)
  block 200    the same without it: the cached rendering (warm)
  block cold   every request starts a new rotation slot (the app's clock jumps 60 s a
               request), so every one chooses and renders its cards afresh; the shelves are
               kept per catalog version (``widgets.shelves.ShelfCache``)

Load generator: ``wrk`` (``scripts/bench-deps.sh`` installs it; ``bench/wrk.py``) when it is
installed, else a Python asyncio client (``bench/load.py``); the report says which. Either
way one HTTP/1.1 keep-alive connection per simulated user, one request in flight per
connection (no pipelining). Every click sends a distinct user agent, so visitors are distinct
and clicks are judged valid rather than "duplicate"/"rate-limited"; tokens cycle over all
products and placements of the deal measured.

A closed loop: with C connections, latency ~ C / throughput (Little's law), so p99 <= 10 ms at
50 connections needs >= 5,000 req/s. The client's and the server's CPU use are printed: a
client at ~100 % of a core means the numbers are a floor for the server, not its ceiling (the
Python client is; wrk takes a fraction of that).

Goals (issue 17, with wrk): ``/r`` >= 0.5x the bare 302 and p99 <= 10 ms at 50 connections,
on both deals; a cold block >= 1,000/s per process; a warm block 200 >= 0.8x the bare 302.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.clicks_apps import (
    ENV_CLOCK,
    ENV_DB,
    EXAMPLE,
    LINKS,
    PLACEMENTS,
    PRODUCTS_PER_MEMBER,
    SECRET,
    database_counts,
    prepare_database,
)
from bench.clicks_report import Result, percentile, report
from bench.load import LoadSpec, run_load
from bench.servers import Server
from bench.wrk import run_wrk, wrk_path

DEALS = {"per-click": "li-zhao", "percent": "li-wang"}
"""The ``/r`` configurations: li's judged per-click deal (ledger entries per valid click) and
its percent deal (judged and recorded, paid only on a sale)."""

# --- measuring ------------------------------------------------------------------------------


GENERATOR = "python"
"""``wrk`` or ``python``: chosen once in :func:`main`."""


def measure(server: Server, specs: list[LoadSpec], label: tuple[str, str]) -> Result:
    if GENERATOR == "wrk":
        return measure_wrk(server, specs, label)
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


def measure_wrk(server: Server, specs: list[LoadSpec], label: tuple[str, str]) -> Result:
    """The same load from one wrk process: all connections, the first spec's paths."""
    spec = specs[0]
    connections = sum(s.connections for s in specs)
    cpu0, begin = server.cpu(), time.perf_counter()
    run = run_wrk(
        spec.port, connections, spec.seconds, spec.warmup, spec.kind, spec.paths, spec.headers,
        tag=f"{spec.run}{label[1].replace(' ', '')}",
    )  # fmt: skip
    server_cpu = (server.cpu() - cpu0) / (time.perf_counter() - begin)
    return Result(*label, run.rate, run.p50, run.p99, run.statuses, run.client_cpu, server_cpu)


def deal_tokens(deal: str) -> list[str]:
    """Signed tokens over every product and placement of one deal: the paths clients cycle."""
    from alliance.agreement.parse import load_agreement
    from widgets.links import LinkClaim, link_key, sign_link

    members = sorted(load_agreement(EXAMPLE).members)
    key = link_key(SECRET.encode())
    tokens = []
    for source, target, deal_id in LINKS:
        if deal_id != deal:
            continue
        k = members.index(target) + 1
        for n in range(PRODUCTS_PER_MEMBER):
            for placement in PLACEMENTS:
                claim = LinkClaim(source, target, str(1000 * k + n), placement, deal_id)
                tokens.append(sign_link(key, claim))
    random.Random(5).shuffle(tokens)
    return tokens


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


def run_server(server: str, args: argparse.Namespace, work: Path) -> list:
    results = run_clicks(server, args, work)
    results += run_blocks(server, args, work)
    return results


def run_clicks(server: str, args: argparse.Namespace, work: Path) -> list:
    """The bare 302 and ``/r`` on each deal and database, interleaved in rounds (the machine's
    speed drifts: a round's ratio compares runs seconds apart). Every server stays up."""
    bare_paths = [f"/r/{t}" for t in deal_tokens(DEALS["percent"])]
    databases = [("sqlite", f"sqlite:///{work / f'{server}-clicks.db'}")]
    if args.postgres:
        databases.append(("postgres", new_postgres_database(args.postgres)))
    running: list[tuple[str, Server, str | None, list[str]]] = []
    started: list[Server] = []
    try:
        bare = Server(
            server, "bench.clicks_apps:bare_app", factory=False, workers=args.workers, env={}
        )
        started.append(bare)
        running.append(("bare 302", bare, None, bare_paths))
        for db_name, url in databases:
            prepare_database(url)
            app = alliance_server(server, args, url, "real")
            started.append(app)
            for deal_name, deal in DEALS.items():
                paths = [f"/r/{t}" for t in deal_tokens(deal)]
                suffix = "" if db_name == "sqlite" else f" {db_name}"
                running.append((f"/r {deal_name}{suffix}", app, url, paths))
        results: list[Result] = []
        for round_ in range(1, args.rounds + 1):
            for name, process, _url, paths in running:
                specs = specs_for(args, process.port, "click", paths)
                result = measure(process, specs, (server, name))
                result.round = round_
                results.append(result)
        for name, _process, url, _paths in running:
            if url is not None:
                last = [r for r in results if r.name == name][-1]
                last.database = database_counts(url)
        return results
    finally:
        for process in started:
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
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="the load generator: wrk when installed (auto), or the Python client",
    )
    args = parser.parse_args()
    servers = [s for s in args.servers.split(",") if s]
    if "granian" in servers and version_of("granian") == "not installed":
        print("granian is not installed: measuring uvicorn only")
        servers.remove("granian")
    parser_generator = args.generator
    global GENERATOR
    if parser_generator == "auto":
        GENERATOR = "wrk" if wrk_path() else "python"
    elif parser_generator == "wrk" and not wrk_path():
        raise SystemExit("wrk is not installed: run scripts/bench-deps.sh (or --generator python)")
    else:
        GENERATOR = parser_generator
    print(
        f"clicks benchmark: {args.connections} connections, {args.warmup:g} s warm-up + "
        f"{args.seconds:g} s per configuration, {args.workers} server process(es), "
        f"{args.clients} load-generator process(es), {os.cpu_count()} CPUs"
    )
    if GENERATOR == "wrk":
        version = subprocess.run([wrk_path() or "wrk", "-v"], capture_output=True, text=True)
        said = (version.stdout or version.stderr).split("\n")[0].strip()
        print(f"load generator: wrk ({wrk_path()}, {said}), 1 thread, keep-alive")
    else:
        print(
            "load generator: Python asyncio (raw streams, keep-alive, no pipelining); wrk "
            f"{'found but not chosen' if wrk_path() else 'not installed'}: it takes a core "
            "the server needs, so read its figures as a floor"
        )
    extras = ", ".join(f"{p} {version_of(p)}" for p in ("httptools", "uvloop"))
    print(
        f"python {sys.version.split()[0]}; uvicorn {version_of('uvicorn')} ({extras}); "
        f"granian {version_of('granian')}; starlette {version_of('starlette')}; "
        f"SQLAlchemy {version_of('SQLAlchemy')}"
    )
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-clicks-") as work:
        for server in servers:
            print(f"measuring {server} ...", flush=True)
            results += run_server(server, args, Path(work))
    report(results, args)


if __name__ == "__main__":
    main()
