"""Benchmark (issue 5): tracked links ``/r/<token>`` and partner blocks ``/w/...`` over HTTP.

    python bench/clicks.py [--seconds 10] [--connections 50] [--workers 1] [--clients 1]
                           [--servers uvicorn,granian] [--postgres [ADMIN_URL]]

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
import asyncio
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "examples" / "alliance.toml"
SECRET = "bench-secret-bench-secret-bench-secret-0123456789"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"
LINKS = [  # (source, target, deal): every deal kind the example agreement has
    ("li", "wang", "li-wang"),  # percent: click always valid
    ("li", "zhao", "li-zhao"),  # per click: judged, valid clicks booked in the ledger
    ("wang", "li", "wang-li"),
    ("wang", "zhang", "wang-zhang"),
    ("zhang", "zhao", "zhang-zhao"),  # swap
]
PRODUCTS_PER_MEMBER = 40
PLACEMENTS = ("product", "cart", "thankyou", "article")
BARE_LOCATION = (
    b"https://zhao.example/product/item-7/?utm_source=alliance&utm_medium=article"
    b"&utm_campaign=li-zhao&utm_content=AAAAAAAAAAAAAAAAAAAAAA"
)
ENV_DB = "BENCH_CLICKS_DATABASE_URL"
ENV_CLOCK = "BENCH_CLICKS_CLOCK"  # "real" | "frozen" | "jumping"


# --- the servers' apps (imported by uvicorn / granian in their own processes) ---------------


async def bare_app(scope: dict, receive: Any, send: Any) -> None:
    """The ceiling: the same 302 (Location, no-store), no work at all."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        return await send({"type": "lifespan.shutdown.complete"})
    headers = [(b"location", BARE_LOCATION), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


class JumpingClock:
    """A clock that moves one rotation slot (60 s) per call: every block request is cold."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 60.0
        return self.now


def alliance_app() -> Any:
    """The real app (``widgets.app.create_app``) on the database the bench prepared."""
    from alliance.settings import Settings
    from widgets.app import create_app

    settings = Settings(config_path=EXAMPLE, database_url=os.environ[ENV_DB], secret=SECRET)
    app = create_app(settings)
    clock = os.environ.get(ENV_CLOCK, "real")
    if clock == "frozen":  # warm blocks stay in one slot however long the run
        frozen = time.time()
        app.state.clock = lambda: frozen
    elif clock == "jumping":
        app.state.clock = JumpingClock()
    return app


# --- preparing a database -------------------------------------------------------------------


def prepare_database(url: str) -> None:
    """Migrate and seed products for every member (published, in stock, on its own store)."""
    from alliance.agreement.parse import load_agreement
    from alliance.storage.catalog import upsert_products
    from alliance.storage.database import open_database
    from connector.woocommerce.product_fixtures import woo_product
    from connector.woocommerce.products import map_product

    agreement = load_agreement(EXAMPLE)
    engine = open_database(url)
    items = []
    for k, (member, info) in enumerate(sorted(agreement.members.items()), start=1):
        for n in range(PRODUCTS_PER_MEMBER):
            raw = woo_product(1000 * k + n, name=f"{member} item {n}", site=info.url)
            items.append(map_product(raw, member))
    with engine.begin() as conn:
        upsert_products(conn, items)
    engine.dispose()


def click_tokens() -> list[str]:
    """Signed tokens over every (link, product, placement): the paths clients cycle over."""
    from alliance.agreement.parse import load_agreement
    from widgets.links import LinkClaim, link_key, sign_link

    members = sorted(load_agreement(EXAMPLE).members)
    key = link_key(SECRET.encode())
    tokens = []
    for source, target, deal in LINKS:
        k = members.index(target) + 1
        for n in range(PRODUCTS_PER_MEMBER):
            for placement in PLACEMENTS:
                claim = LinkClaim(source, target, str(1000 * k + n), placement, deal)
                tokens.append(sign_link(key, claim))
    random.Random(5).shuffle(tokens)
    return tokens


def database_counts(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from alliance.storage.database import create_database_engine
    from alliance.storage.schema import clicks, ledger_entries

    engine = create_database_engine(url)
    with engine.connect() as conn:
        out = {"clicks": conn.execute(select(func.count()).select_from(clicks)).scalar_one()}
        for reason, count in conn.execute(
            select(clicks.c.invalid_reason, func.count()).group_by(clicks.c.invalid_reason)
        ):
            out[f"  {reason or 'valid'}"] = count
        query = select(func.count()).select_from(ledger_entries)
        out["ledger entries"] = conn.execute(query).scalar_one()
    engine.dispose()
    return out


# --- the load generator (its own process) ---------------------------------------------------


@dataclass
class LoadSpec:
    port: int
    connections: int
    seconds: float
    warmup: float
    kind: str  # "click" | "path"
    paths: list[str] = field(default_factory=list)
    headers: str = ""
    client_id: int = 0


async def _one_connection(spec: LoadSpec, index: int, warm_until: float, deadline: float, out):
    latencies, statuses = out
    reader, writer = await asyncio.open_connection("127.0.0.1", spec.port)
    host = f"Host: 127.0.0.1:{spec.port}\r\n"
    paths = spec.paths
    n = index * 7919
    tag = f"{spec.client_id}.{index}"
    try:
        while True:
            start = time.perf_counter()
            if start >= deadline:
                return
            path = paths[n % len(paths)]
            if spec.kind == "click":  # a distinct visitor per click
                extra = f"User-Agent: {BROWSER} Safari/537.36 bench/{tag}.{n}\r\n"
            else:
                extra = spec.headers
            n += 1
            writer.write(f"GET {path} HTTP/1.1\r\n{host}{extra}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            lowered = head.lower()
            at = lowered.find(b"\r\ncontent-length:")
            if at >= 0:
                end = lowered.index(b"\r\n", at + 2)
                length = int(lowered[at + 17 : end])
                if length:
                    await reader.readexactly(length)
            elif b"transfer-encoding: chunked" in lowered:
                while True:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            if start >= warm_until:
                latencies.append(time.perf_counter() - start)
                statuses[int(head[9:12])] += 1
    finally:
        writer.close()


async def _load(spec: LoadSpec) -> tuple[list[float], Counter]:
    out: tuple[list[float], Counter] = ([], Counter())
    begin = time.perf_counter()
    warm_until, deadline = begin + spec.warmup, begin + spec.warmup + spec.seconds
    await asyncio.gather(
        *(_one_connection(spec, i, warm_until, deadline, out) for i in range(spec.connections))
    )
    return out


def run_load(spec: LoadSpec) -> tuple[list[float], Counter, float]:
    """Entry point of a load-generator process: latencies (s), statuses, share of a core used."""
    cpu, wall = time.process_time(), time.perf_counter()
    latencies, statuses = asyncio.run(_load(spec))
    return latencies, statuses, (time.process_time() - cpu) / (time.perf_counter() - wall)


# --- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(server: str, target: str, factory: bool, port: int, workers: int) -> list[str]:
    python = sys.executable
    if server == "uvicorn":
        command = [python, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
        return command + (["--factory"] if factory else [])
    command = [python, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    return command + (["--factory"] if factory else []) + [target]


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and all its descendants (live and reaped), from /proc."""
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields_ = text[text.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields_[1])
        stats[int(entry.name)] = fields_
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += sum(int(v) for v in stats[p][11:15]) / tick
        todo += [c for c, parent in parents.items() if parent == p]
    return total


class Server:
    def __init__(self, server: str, target: str, *, factory: bool, workers: int, env: dict):
        self.port = free_port()
        command = server_command(server, target, factory, self.port, workers)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            command,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if sock.recv(16).startswith(b"HTTP/1.1"):
                        time.sleep(0.5)  # let every worker come up
                        return
            except OSError:
                time.sleep(0.1)
        self.log.seek(0)
        output = self.log.read().decode(errors="replace")
        self.stop()
        raise RuntimeError("server did not start:\n" + output)

    def cpu(self) -> float:
        return tree_cpu(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


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
    return [
        LoadSpec(port, n, args.seconds, args.warmup, kind, paths, headers, client_id=i)
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


def run_server(server: str, args: argparse.Namespace, work: Path, tokens: list[str]) -> list:
    results: list[Result] = []
    click_paths = [f"/r/{t}" for t in tokens]
    block = "/w/li/product?variant=grid"
    block_headers = "Accept-Language: en-GB,en;q=0.8\r\n"
    # bare 302
    bare = Server(server, "bench.clicks:bare_app", factory=False, workers=args.workers, env={})
    try:
        specs = specs_for(args, bare.port, "click", click_paths)
        results.append(measure(bare, specs, (server, "bare 302")))
    finally:
        bare.stop()
    # /r on each database, each a fresh one
    databases = [("sqlite", f"sqlite:///{work / f'{server}-clicks.db'}")]
    if args.postgres:
        databases.append(("postgres", new_postgres_database(args.postgres)))
    for db_name, url in databases:
        try:
            prepare_database(url)
            env = {ENV_DB: url, ENV_CLOCK: "real"}
            app = Server(
                server, "bench.clicks:alliance_app", factory=True, workers=args.workers, env=env
            )
            try:
                specs = specs_for(args, app.port, "click", click_paths)
                result = measure(app, specs, (server, f"/r {db_name}"))
            finally:
                app.stop()
            result.database = database_counts(url)
            results.append(result)
        finally:
            if db_name == "postgres":
                drop_postgres_database(args.postgres, url)
    # blocks: warm (frozen slot) 304 and 200, then cold (a new slot every request)
    url = f"sqlite:///{work / f'{server}-blocks.db'}"
    prepare_database(url)
    app = Server(
        server,
        "bench.clicks:alliance_app",
        factory=True,
        workers=args.workers,
        env={ENV_DB: url, ENV_CLOCK: "frozen"},
    )
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
    app = Server(
        server,
        "bench.clicks:alliance_app",
        factory=True,
        workers=args.workers,
        env={ENV_DB: url, ENV_CLOCK: "jumping"},
    )
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


def report(results: list[Result], args: argparse.Namespace) -> None:
    print()
    print(
        f"{'server':8} {'configuration':18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'client cpu':>10} {'server cpu':>10}  statuses"
    )
    for r in results:
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(r.statuses.items()))
        print(
            f"{r.server:8} {r.name:18} {r.rate:8.0f} {r.p50:8.2f} {r.p99:8.2f} "
            f"{r.client_cpu:9.0%} {r.server_cpu:10.0%}  {statuses}"
        )
    print()
    by = {(r.server, r.name): r for r in results}
    for server in dict.fromkeys(r.server for r in results):
        bare = by[(server, "bare 302")]
        for r in results:
            if r.server != server or not r.name.startswith("/r "):
                continue
            ratio = r.rate / bare.rate if bare.rate else 0.0
            ok_ratio = "ok" if ratio >= 0.5 else "MISSED"
            ok_p99 = "ok" if r.p99 <= 20 else "MISSED"
            print(
                f"{server:8} {r.name:12} / bare: ratio {ratio:.2f} (goal >= 0.5: {ok_ratio}); "
                f"p99 {r.p99:.1f} ms (goal <= 20 ms: {ok_p99})"
            )
            if r.database:
                answered = r.statuses.get(302, 0)
                counts = ", ".join(f"{k.strip()} {v}" for k, v in r.database.items())
                print(f"{'':8}   database after the run: {counts} ({answered} 302s measured)")
    if len({r.server for r in results}) > 1:
        print()
        for name in dict.fromkeys(r.name for r in results):
            rates = {r.server: r.rate for r in results if r.name == name}
            best = max(rates, key=lambda s: rates[s])
            others = " vs ".join(f"{s} {v:.0f}" for s, v in rates.items())
            print(f"{name:18} favours {best} ({others} req/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before")
    parser.add_argument("--connections", type=int, default=50)
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
