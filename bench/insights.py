"""Benchmark: the overlap matrix and one month of what-if, on SQLite and PostgreSQL.

    python bench/insights.py [--orders 2000000] [--customers 500000] [--members 20]
                             [--booking-orders 20000] [--skip-postgres] [--full-overlap]

The orders are generated with SQL straight into ``orders`` and ``order_profiles`` (the tables
booking fills), spread over the twelve months of 2026; each customer buys at one member or
at four. Measured in the same run:

  baseline   ``SELECT count(DISTINCT customer_key) FROM orders WHERE member = ?`` per member
  matrix     every member's customers and every pair's shared customers, with the two
             one-month-shorter windows the release rule needs, over the whole year
             (alliance.services.insights.audiences: kinds of customer counted in the
             database by alliance.storage.profiles.audience_kinds)
  simulate   alliance.services.whatif.simulate for one month at 12% instead of 10%, in
             orders replayed per second
  booking    bench/ledger.py's first pass (parse, map, attribute, book) on --booking-orders
             orders, in orders per second: the rate simulate is held against

Goals (issue 16): matrix within 5 x the baseline; simulate at least 0.5 x the booking rate.
``--full-overlap`` also times ``alliance overlap`` as a whole (complementarity and lift read
every sale of the customers shared, in Python). Not a timed test: read the ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, text

from alliance.agreement import Agreement
from alliance.agreement.parse import load_agreement
from alliance.services.insights import alliance_overlap, audiences, window
from alliance.services.whatif import simulate
from alliance.storage.database import open_database
from bench.ledger import fresh_database, generate, pipeline

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get(
    "ALLIANCE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TIMEZONE = "Asia/Shanghai"
YEAR = window("2026-12", 12, TIMEZONE)
MONTH = "2026-06"


def agreement_file(members: int, directory: Path) -> Path:
    """An alliance of ``members`` shops, each sending customers to the next at 10%."""
    lines = [
        "[alliance]",
        'name = "Benchmark Alliance"',
        'currency = "CNY"',
        f'timezone = "{TIMEZONE}"',
        "min_group_size = 10",
    ]
    for m in range(members):
        lines += [
            f"[members.m{m:02d}]",
            f'name = "Shop {m}"',
            f'url = "https://m{m:02d}.example"',
            f'categories = ["cat-{m % 7}"]',
        ]
    for m in range(members):
        seller = (m + 1) % members
        lines += [
            "[[deals]]",
            f'id = "m{m:02d}-m{seller:02d}"',
            f'referrer = "m{m:02d}"',
            f'seller = "m{seller:02d}"',
            'pay = "percent"',
            'rate = "10%"',
            f'referral_coupons = ["FROM-M{m:02d}"]',
        ]
    path = directory / "bench-alliance.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _generate_sql(dialect: str, orders: int, customers: int, members: int) -> list[str]:
    """INSERT ... SELECT statements that fill ``orders`` and ``order_profiles``.

    Order n goes to customer c = n * 7919 mod customers; the customer's k-th order (k = n div
    customers) goes to member (c + k * (1 + c mod 3)) mod members, so each customer buys at
    one to four members. Every 20th order is cancelled; every 10th carries the referral
    coupon of the member before it.
    """
    if dialect == "postgresql":
        series = f"SELECT generate_series(0::bigint, {orders - 1}) AS n"
        hexkey = "md5(c::text) || md5((c + 1000000007)::text)"
        member = f"'m' || lpad(((c + k * (c % 3)) % {members})::text, 2, '0')"
        prev = f"'from-m' || lpad(((c + k * (c % 3) + {members} - 1) % {members})::text, 2, '0')"
        at = (
            "timestamp '2026-01-01 02:00:00' + (n % 364) * interval '1 day'"
            " + (n % 600) * interval '1 minute'"
        )
        iso = f"to_char({at}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || '+00:00'"
        cte = (
            f"WITH g AS (SELECT n, (n * 7919) % {customers} AS c, n / {customers} AS k "
            f"FROM ({series}) s)"
        )
        concat = "||"
        num = "n::text"
    else:
        cte = (
            "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s "
            f"WHERE n < {orders - 1}), "
            f"g AS (SELECT n, (n * 7919) % {customers} AS c, n / {customers} AS k FROM s)"
        )
        hexkey = (
            "printf('%016x%016x%016x%016x', c * 2654435761 % 4294967291, c, "
            "c * 40503 % 65521, c + 7)"
        )
        member = f"printf('m%02d', (c + k * (c % 3)) % {members})"
        prev = f"printf('from-m%02d', (c + k * (c % 3) + {members} - 1) % {members})"
        at = (
            "datetime('2026-01-01 02:00:00', '+' || (n % 364) || ' days', "
            "'+' || (n % 600) || ' minutes')"
        )
        iso = f"replace({at}, ' ', 'T') || '+00:00'"
        concat = "||"
        num = "CAST(n AS TEXT)"
    coupons = f"CASE WHEN n % 10 = 0 THEN '[\"' {concat} {prev} {concat} '\"]' ELSE '[]' END"
    facts = (
        '\'{"currency":"CNY","created_at":"\' || '
        + iso
        + ' || \'","modified_at":"\' || '
        + iso
        + ' || \'","paid_at":"\' || '
        + iso
        + ' || \'","items_subtotal":"100.00",'
        '"discount":"0.00","shipping":"10.00","tax":"0.00","lines":[["1","",1,'
        '"100.00","100.00","Thing"]],"coupons":\' || ' + coupons + ' || \',"utm":["",'
        '"","","",""],"evidence": null}\''
    )
    sale_at = at if dialect == "postgresql" else f"{at} || '.000000'"
    insert_orders = (
        f"{cte} INSERT INTO orders (member, external_id, number, revision, source_digest, status, "
        "sale_at, items_total_minor, total_minor, refunded_minor, customer_key, country, state, "
        f"referrer, facts, booked_at) SELECT {member}, {num}, {num}, 'r', '', "
        "CASE WHEN n % 20 = 0 THEN 'cancelled' ELSE 'completed' END, "
        f"{sale_at}, 10000, 11000, 0, {hexkey}, 'CN', 'CN' || (c % 30), NULL, {facts}, {sale_at} "
        "FROM g"
    )
    insert_profiles = (
        f"{cte} INSERT INTO order_profiles (member, external_id, categories, value_band) "
        f"SELECT {member}, {num}, 'cat-' || (c % 7), '100-299' FROM g"
    )
    return [insert_orders, insert_profiles]


def fill(engine: Engine, orders: int, customers: int, members: int) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in _generate_sql(engine.dialect.name, orders, customers, members):
            conn.execute(text(statement))
    if engine.dialect.name == "postgresql":  # VACUUM too: index-only scans need it
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def timed(action: Callable[[], object], rounds: int = 3) -> tuple[float, object]:
    """The best of ``rounds`` runs (the machine is shared: the minimum is the least noisy)."""
    best, result = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def measure(
    engine: Engine,
    label: str,
    args: argparse.Namespace,
    agreement: Agreement,
    proposed: Agreement,
) -> None:
    print(f"\n{label}: generating {args.orders:,} orders, {args.customers:,} customers, "
          f"{args.members} members with SQL ...", flush=True)  # fmt: skip
    print(f"  generated in {fill(engine, args.orders, args.customers, args.members):.1f} s")
    members = sorted(agreement.members)

    def baseline() -> list[int]:
        with engine.connect() as conn:
            return [
                conn.execute(
                    text("SELECT count(DISTINCT customer_key) FROM orders WHERE member = :m"),
                    {"m": m},
                ).scalar_one()
                for m in members
            ]

    def matrix() -> dict:
        with engine.connect() as conn:
            return audiences(conn, YEAR).pairs

    base_s, counts = timed(baseline)
    matrix_s, pairs = timed(matrix)
    print(f"  baseline count(DISTINCT) x {len(members)} members  {base_s:8.2f} s "
          f"({sum(counts):,} member-customers)")  # fmt: skip
    print(f"  overlap matrix ({len(pairs)} pairs, 3 windows)     {matrix_s:8.2f} s")
    ratio = matrix_s / base_s
    print(
        f"  ratio matrix/baseline {ratio:5.2f}  (goal <= 5.00) {'OK' if ratio <= 5 else 'MISSED'}"
    )
    if args.full_overlap:
        full_s, _ = timed(lambda: alliance_overlap(engine, agreement, YEAR), rounds=1)
        print(f"  alliance overlap as a whole (with complementarity, lift) {full_s:8.2f} s")

    month_orders = 0
    with engine.connect() as conn:
        start, end = window(MONTH, 1, TIMEZONE).start, window(MONTH, 1, TIMEZONE).end
        month_orders = conn.execute(
            text("SELECT count(*) FROM orders WHERE sale_at >= :s AND sale_at < :e"),
            {"s": start.replace(tzinfo=None), "e": end.replace(tzinfo=None)},
        ).scalar_one()
    booking_rate = measure_booking(args.booking_orders)  # right before: the same machine load
    print(f"  booking (bench/ledger.py first pass, {args.booking_orders:,} orders, SQLite): "
          f"{booking_rate:,.0f} orders/s")  # fmt: skip
    sim_s, result = timed(lambda: simulate(engine, agreement, proposed, MONTH, MONTH), rounds=1)
    rate = month_orders / sim_s
    changed = sum(1 for d in result.deals if d.difference)  # type: ignore[attr-defined]
    print(f"  simulate {MONTH} ({month_orders:,} orders, {changed} deals changed) "
          f"{sim_s:8.2f} s = {rate:,.0f} orders/s")  # fmt: skip
    ratio = rate / booking_rate
    print(
        f"  ratio simulate/booking {ratio:5.2f}  (goal >= 0.50) "
        + ("OK" if ratio >= 0.5 else "MISSED")
    )


def measure_booking(orders: int) -> float:
    """bench/ledger.py's first pass, on a fresh SQLite ledger: orders booked per second."""
    example = load_agreement(ROOT / "examples" / "alliance.toml")
    pages, clicks, _mix = generate(orders, random.Random(2))
    workdir = Path(tempfile.mkdtemp(prefix="bench-insights-booking-"))
    engine = fresh_database(workdir, example, clicks, orders)
    seconds, _result = pipeline(engine, example, pages)
    engine.dispose()
    for path in sorted(workdir.iterdir()):
        path.unlink()
    workdir.rmdir()
    return orders / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--booking-orders", type=int, default=20_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--full-overlap", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-insights-"))
    agreement = load_agreement(agreement_file(args.members, workdir))
    proposed_path = workdir / "proposed.toml"
    proposed_path.write_text(
        agreement_file(args.members, workdir).read_text().replace('rate = "10%"', 'rate = "12%"')
    )
    proposed = load_agreement(proposed_path)

    if not args.skip_sqlite:
        engine = open_database(f"sqlite:///{workdir / 'insights.db'}")
        measure(engine, "SQLite", args, agreement, proposed)
        engine.dispose()
    if not args.skip_postgres:
        name = f"bench_insights_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            engine = open_database(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
            measure(engine, "PostgreSQL", args, agreement, proposed)
            engine.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    for path in sorted(workdir.iterdir()):
        path.unlink()
    workdir.rmdir()


if __name__ == "__main__":
    main()
