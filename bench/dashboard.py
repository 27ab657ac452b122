"""Benchmark: the dashboard's overview page over a large alliance, on PostgreSQL.

    python bench/dashboard.py [--entries 1000000] [--clicks 5000000] [--members 50]
                              [--warm 500] [--small 0.1]

50 members, 1,000,000 ledger entries (one per partner-referred order, plus half as many
orders of the members' own) and 5,000,000 clicks over the 12 months before now are written
straight into PostgreSQL with ``generate_series`` (no Python per row), then the rollups are
built once (``refresh_rollups``, a full count) and once more after a small batch of new
bookings (an incremental refresh). The web app runs as ``alliance serve`` builds it (widgets
with the dashboard mounted) in its own uvicorn process; over real HTTP, with a signed-in
session:

  bare        GET /dashboard/sign-in: a page of the same app that reads no data (baseline)
  cold        each member's overview requested once, in a freshly started server (the first
              request of the process is shown apart: it also compiles the templates)
  warm        m00's overview requested --warm times in a row

p50 and p99 of each, and their ratio to the bare page's. Memory: the server's resident size
after the warm requests, once with a --small fraction of the data and once with all of it
(flat means the page's memory does not grow with the ledger). Goals (issue 14): overview
p99 under 100 ms warm and under 500 ms cold. Not a timed test: the machine is shared; read
the ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alliance.agreement.parse import parse_agreement
from alliance.services.dashboard import refresh_rollups
from alliance.services.dashboard_access import issue_token
from alliance.storage.database import open_database

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-dashboard-secret-0123456789-0123456789-0123456789"
TZ = "Asia/Shanghai"


def agreement_text(members: int) -> str:
    """An agreement of ``members`` shops, each paying its ring neighbour 10%."""
    lines = [
        "[alliance]", 'name = "Bench Alliance"', 'currency = "CNY"', f'timezone = "{TZ}"', "",
    ]  # fmt: skip
    for m in range(members):
        name, url = f'name = "Shop {m:02d}"', f'url = "https://m{m:02d}.example"'
        lines += [f"[members.m{m:02d}]", name, url, f'credentials_env = "M{m:02d}_WC"', ""]
    for m in range(members):
        lines += ["[[deals]]", f'id = "d{m:02d}"', f'referrer = "m{(m + 1) % members:02d}"',
                  f'seller = "m{m:02d}"', 'pay = "percent"', 'rate = "10%"', ""]  # fmt: skip
    return "\n".join(lines)


def postgres_database() -> tuple[str, Callable[[], None]]:
    name = f"alliance_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


_MEMBER = "'m' || lpad((({expr}) % {members})::text, 2, '0')"

ORDERS = """
INSERT INTO orders (member, external_id, number, revision, source_digest, status, sale_at,
  items_total_minor, total_minor, refunded_minor, customer_key, country, state, referrer,
  facts, booked_at)
SELECT {member}, i::text, i::text, 'r1', 'd',
  CASE WHEN i % 25 = 0 THEN 'refunded' ELSE 'completed' END,
  CAST(:now AS timestamp) - (((i * 7919) % 31536000) * interval '1 second'),
  8000 + (i % 400) * 100, 9000 + (i % 400) * 100, 0,
  md5(((i * 104729) % {customers})::text), 'CN', 'SH',
  CASE WHEN i % 3 <> 0 THEN {referrer} END, '{{}}',
  CAST(:now AS timestamp) - (((i * 7919) % 31536000) * interval '1 second')
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i
"""

ENTRIES = """
INSERT INTO ledger_entries (id, source, source_ref, revision, deal_id, kind, payer, payee, unit,
  amount_minor, base_minor, period, occurred_at, agreement_version, label, booked_at)
SELECT md5('e' || external_id), 'order', member || '/' || external_id, 'r1', 'bench', 'sale',
  member, referrer, 'CNY', items_total_minor / 10, items_total_minor,
  to_char(timezone('{tz}', timezone('UTC', sale_at)), 'YYYY-MM'), sale_at, 'bench', 'bench',
  booked_at
FROM orders
WHERE referrer IS NOT NULL AND external_id::bigint BETWEEN :first AND :last
"""

CLICKS = """
INSERT INTO clicks (id, source_member, target_member, deal_id, product_id, placement,
  clicked_at, visitor_key, agent_class, valid, invalid_reason)
SELECT 'c' || i, {source}, {target}, 'bench', 'p1', 'article',
  CAST(:now AS timestamp) - (((i * 15485863) % 31536000) * interval '1 second'),
  md5(i::text), 'browser', i % 10 <> 0, CASE WHEN i % 10 = 0 THEN 'bot' ELSE '' END
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i
"""


def generate(engine: Engine, args: argparse.Namespace, fraction: tuple[float, float], now) -> float:
    """Write the slice ``fraction`` of the orders, entries and clicks; returns seconds."""
    members = args.members
    orders = args.entries * 3 // 2  # two in three referred: one ledger entry each
    member = _MEMBER.format(expr="i", members=members)
    referrer = _MEMBER.format(expr="i + 1 + (i % 7)", members=members)
    source = _MEMBER.format(expr="i * 31", members=members)
    target = _MEMBER.format(expr="i * 31 + 1 + (i % 11)", members=members)
    started = time.perf_counter()
    with engine.begin() as conn:
        first, last = int(orders * fraction[0]) + 1, int(orders * fraction[1])
        conn.execute(
            text(ORDERS.format(member=member, referrer=referrer, customers=orders // 3)),
            {"now": now.replace(tzinfo=None), "first": first, "last": last},
        )
        conn.execute(text(ENTRIES.format(tz=TZ)), {"first": first, "last": last})
        first, last = int(args.clicks * fraction[0]) + 1, int(args.clicks * fraction[1])
        conn.execute(
            text(CLICKS.format(source=source, target=target)),
            {"now": now.replace(tzinfo=None), "first": first, "last": last},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("orders", "ledger_entries", "clicks")
        )


class WebServer:
    """``alliance serve``'s app (widgets + dashboard) in a uvicorn process of its own."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __enter__(self) -> str:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        command = [sys.executable, "-m", "uvicorn", "alliance.cli.web_app:alliance_app",
                   "--factory", "--host", "127.0.0.1", "--port", str(port),
                   "--log-level", "warning", "--no-access-log"]  # fmt: skip
        self.process = subprocess.Popen(command, env={**os.environ, **self.env})
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/dashboard/sign-in", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the web app did not start")
            time.sleep(0.05)

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def signed_in(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    form = client.get("/dashboard/sign-in").text
    marker = 'name="csrf" value="'
    start = form.index(marker) + len(marker)
    csrf = form[start : form.index('"', start)]
    answer = client.post("/dashboard/sign-in", data={"token": token, "csrf": csrf})
    assert answer.status_code == 200 and "/dashboard/alliance" in str(answer.url), answer.text
    return client


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, (path, answer.status_code)
    return elapsed * 1000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(url: str, token: str, members: int, warm: int) -> dict[str, object]:
    client = signed_in(url, token)
    first = timed(client, "/dashboard/members/m00")  # also compiles the templates
    cold = [timed(client, f"/dashboard/members/m{m:02d}") for m in range(1, members)]
    bare = [timed(client, "/dashboard/sign-in") for _ in range(warm)]
    hot = [timed(client, "/dashboard/members/m00") for _ in range(warm)]
    client.close()
    return {"first": first, "cold": cold, "bare": bare, "warm": hot}


def report(name: str, result: dict, rss: float) -> None:
    bare50, bare99 = percentile(result["bare"], 50), percentile(result["bare"], 99)
    print(f"\n{name}: web process {rss:.0f} MiB resident after the requests")
    print(f"  {'':8} {'p50 ms':>8} {'p99 ms':>8} {'x bare p50':>11}")
    print(f"  {'bare':8} {bare50:8.1f} {bare99:8.1f} {1:11.1f}")
    for label in ("cold", "warm"):
        p50, p99 = percentile(result[label], 50), percentile(result[label], 99)
        print(f"  {label:8} {p50:8.1f} {p99:8.1f} {p50 / bare50:11.1f}")
    print(f"  first request of the process (templates compiled): {result['first']:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--clicks", type=int, default=5_000_000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--warm", type=int, default=500, help="warm requests (and bare ones)")
    parser.add_argument("--small", type=float, default=0.1, help="the first size measured")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    url, drop = postgres_database()
    folder = Path(tempfile.mkdtemp(prefix="alliance-bench-dashboard-"))
    config = folder / "alliance.toml"
    config.write_text(agreement_text(args.members), encoding="utf-8")
    agreement = parse_agreement(config.read_text(encoding="utf-8"), source=str(config))
    env = {"ALLIANCE_DATABASE_URL": url, "ALLIANCE_CONFIG": str(config),
           "ALLIANCE_SECRET": SECRET}  # fmt: skip
    engine = open_database(url)
    try:
        token = issue_token(engine, agreement, None)
        print(f"PostgreSQL, {args.members} members; data over the 12 months before {now:%Y-%m-%d}")
        for low, high in ((0.0, args.small), (args.small, 1.0)):
            seconds = generate(engine, args, (low, high), now)
            o, e, c = counts(engine)
            print(f"\ndata: {o:,} orders, {e:,} ledger entries, {c:,} clicks "
                  f"(generated in {seconds:.0f} s)")  # fmt: skip
            started = time.perf_counter()
            refresh_rollups(engine, agreement, now=now, full=True)  # the rows are all back-dated
            print(f"rollups counted in full in {time.perf_counter() - started:.1f} s")
            server = WebServer(env)
            with server as base:
                result = measure(base, token, args.members, args.warm)
                report(f"{e:,} entries, {c:,} clicks", result, server.rss_mib())
        small_batch(engine, agreement, now)
    finally:
        engine.dispose()
        drop()


def small_batch(engine: Engine, agreement, now: datetime) -> None:
    """An incremental refresh after a day's worth of new bookings (1,000 orders and entries,
    5,000 clicks) at the full size: what a refresh every minute costs."""
    later = now + timedelta(minutes=5)
    with engine.begin() as conn:
        conn.execute(text("UPDATE orders SET booked_at = :at WHERE external_id::bigint % 1500 = 7"),
                     {"at": later.replace(tzinfo=None)})  # fmt: skip
    started = time.perf_counter()
    refresh_rollups(engine, agreement, now=later + timedelta(seconds=1))
    print(f"\nincremental refresh after ~1,000 re-booked orders: "
          f"{time.perf_counter() - started:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
