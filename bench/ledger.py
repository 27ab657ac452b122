"""Benchmark: 100,000 WooCommerce orders through mapping, attribution, commission and ledger.

    python bench/ledger.py [--orders 100000] [--rounds 5] [--keep DIR]

Measured in the same run, on the same pages of order JSON:
  baseline   plain ``json.loads`` of every page (what merely reading the orders costs)
  first      parse + map + attribute + commission + book into a fresh SQLite file
  replay     the same pages again: must book nothing, and run at least twice as fast
  typed      the same two passes through the typed records (``connector.woocommerce.records``,
             msgspec): each order decoded straight into the fields the firewall keeps,
             digested over its own bytes, skipped on replay without being decoded; into a
             second fresh ledger, which must end identical to the first one

Goals (issue 2): first-pass rate >= 0.5 x the json.loads rate; replay >= 2 x the first pass.
Goals (issue 17, typed): first pass >= 1.0 x json.loads; replay >= 3 x the first pass.
Not a timed test: machines are shared and noisy; read the ratios, not the absolute numbers.
Each round measures everything back to back on a fresh ledger; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from alliance.agreement.parse import load_agreement
from alliance.clicks import Click
from alliance.services.booking import BookingResult, book_clicks
from alliance.storage.database import open_database
from alliance.storage.schema import gift_coupons
from connector.fixtures.orders import woo_order
from connector.woocommerce.ingest import ingest_pages
from connector.woocommerce.typed_ingest import ingest_typed_pages

ROOT = Path(__file__).resolve().parents[1]
SECRET = b"bench-secret-bench-secret-bench-secret-0000"
PAGE = 100  # orders per page, as GET /orders?per_page=100 returns them
START = datetime(2026, 12, 1, tzinfo=UTC)
CLOCK = START + timedelta(days=60)
"""The clock the orders are booked by: after the newest of them (none is "in the future")."""
PRODUCTS = {
    "li": [
        (101, "Organic cotton bodysuit", Decimal("129.00")),
        (102, "Swaddle set", Decimal("219.00")),
    ],
    "wang": [(201, "Natural baby wash", Decimal("59.00")), (202, "Massage oil", Decimal("88.00"))],
    "zhang": [(301, "Shape sorter", Decimal("139.00")), (302, "Name puzzle", Decimal("189.00"))],
    "zhao": [
        (401, "Newborn session", Decimal("1280.00")),
        (402, "Mini session", Decimal("680.00")),
    ],
}
COUPONS = {"li": "WANG-LOVES-LI", "wang": "LI-FRIENDS", "zhang": "WANG-TOYS", "zhao": "ZHANG-PHOTO"}
CLICK_TARGETS = {"wang": "li-wang", "zhao": "li-zhao"}


def generate(count: int, rng: random.Random) -> tuple[dict[str, list[str]], list[Click], Counter]:
    """Pages of WooCommerce JSON per member with a realistic mix, plus the clicks they cite."""
    clicks: list[Click] = []
    mix: Counter = Counter()
    orders: dict[str, list[dict]] = {m: [] for m in PRODUCTS}
    members = list(PRODUCTS)
    for n in range(count):
        member = members[n % 4]
        created = START + timedelta(seconds=n * 20)
        coupons, attribution, refunds = [], None, None
        roll = rng.random()
        if roll < 0.25:
            coupons = [(COUPONS[member], Decimal("5.00"))]
            mix["referral coupon"] += 1
        elif roll < 0.30 and member != "li":
            coupons = [(f"GIFT-{n:06d}", Decimal("10.00"))]
            mix["gift-pack coupon"] += 1
        elif roll < 0.40 and member in CLICK_TARGETS:
            click_id = f"k{n:07d}"
            clicks.append(
                Click(click_id, "li", member, CLICK_TARGETS[member], created - timedelta(hours=1))
            )
            attribution = {
                "utm_source": "alliance",
                "utm_campaign": CLICK_TARGETS[member],
                "utm_content": click_id,
            }
            mix["tracked click"] += 1
        else:
            mix["organic"] += 1
        if attribution is None and rng.random() < 0.9:
            # a shopper checkout: WooCommerce records all 17 attribution keys, UTMs empty
            attribution = {"source_type": rng.choice(["typein", "organic", "referral"])}
        status = rng.choices(
            ["completed", "processing", "pending", "cancelled", "refunded"], [70, 15, 6, 5, 4]
        )[0]
        if status == "completed" and rng.random() < 0.08:
            refunds = [Decimal("10.00")]
            mix["partial refund"] += 1
        mix[status] += 1
        picks = rng.sample(PRODUCTS[member], k=rng.choice([1, 2]))
        orders[member].append(
            woo_order(
                100_000 + n,
                status=status,
                created=created,
                lines=[(pid, name, rng.choice([1, 2]), price) for pid, name, price in picks],
                coupons=coupons,
                refunds=refunds,
                attribution=attribution,
                tax_rate=Decimal("0.13"),
                cod=status == "processing" and rng.random() < 0.2,
                rng=rng,
            )
        )
    pages = {
        m: [json.dumps(lst[i : i + PAGE], ensure_ascii=False) for i in range(0, len(lst), PAGE)]
        for m, lst in orders.items()
    }
    return pages, clicks, mix


def baseline(pages: dict[str, list[str]], loads=json.loads) -> float:
    """Seconds to merely parse every page."""
    started = time.perf_counter()
    for member_pages in pages.values():
        for page in member_pages:
            loads(page)
    return time.perf_counter() - started


def pipeline(
    engine, agreement, pages: dict[str, list[str]], ingest=ingest_pages
) -> tuple[float, BookingResult]:
    """What a sync does with each page: parse, skip what is known, map (firewall), book."""
    total = BookingResult()
    started = time.perf_counter()
    for member, member_pages in pages.items():
        total.add(ingest(engine, agreement, member_pages, member=member, secret=SECRET, now=CLOCK))
    return time.perf_counter() - started, total


def ledger_of(engine) -> list[tuple]:
    from sqlalchemy import select

    from alliance.storage.schema import ledger_entries

    e = ledger_entries.c
    with engine.connect() as conn:
        rows = conn.execute(select(e.source_ref, e.deal_id, e.payer, e.payee, e.amount_minor))
        return sorted(tuple(row) for row in rows)


def fresh_database(workdir: Path, agreement, clicks: list[Click], orders: int, name="bench"):
    """An empty ledger holding the clicks and gift-pack coupons the orders cite."""
    db = workdir / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = open_database(f"sqlite:///{db}")
    book_clicks(engine, agreement, clicks)
    with engine.begin() as conn:
        conn.execute(
            gift_coupons.insert(),
            [
                {
                    "member": m,
                    "code": f"gift-{n:06d}",
                    "promotion_id": "newborn-gift-pack",
                    "trigger_ref": "li/1",
                    "created_at": START,
                    "expires_at": START + timedelta(days=60),
                }
                for n in range(orders)
                for m in ("wang", "zhang", "zhao")
                if n % 4 == list(PRODUCTS).index(m)
            ],
        )
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="keep the SQLite file in this directory")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; medians are reported")
    args = parser.parse_args()

    agreement = load_agreement(ROOT / "examples" / "alliance.toml")
    print(f"generating {args.orders:,} WooCommerce orders ...", flush=True)
    pages, clicks, mix = generate(args.orders, random.Random(2))
    size = sum(len(p) for ps in pages.values() for p in ps)
    print(
        f"  {size / args.orders:,.0f} bytes of JSON per order; mix: "
        + ", ".join(f"{k} {v}" for k, v in sorted(mix.items()))
    )

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    workdir.mkdir(parents=True, exist_ok=True)

    # The machine is shared and its speed drifts by a third within minutes. Each round
    # measures the baselines and the pipeline back to back on a fresh ledger, so a round's
    # ratios compare like with like; the median round is reported.
    n = args.orders
    labels = {
        "json": "json.loads only (baseline)",
        "orjson": "orjson.loads only (our parser)",
        "first": "end to end, first pass",
        "replay": "end to end, replay (unchanged)",
        "typed first": "typed records, first pass",
        "typed replay": "typed records, replay",
    }
    ratios: dict[str, list[float]] = {
        "first/json": [],
        "replay/first": [],
        "first/orjson": [],
        "typed first/json": [],
        "typed replay/first": [],
    }
    identical: list[bool] = []
    rates: dict[str, list[float]] = {key: [] for key in labels}
    booked_on_replay: list[int] = []
    for round_number in range(1, args.rounds + 1):
        engine = fresh_database(workdir, agreement, clicks, n)
        times = {"json": baseline(pages), "orjson": baseline(pages, orjson.loads)}
        times["first"], first = pipeline(engine, agreement, pages)
        times["replay"], replay = pipeline(engine, agreement, pages)
        typed_engine = fresh_database(workdir, agreement, clicks, n, "typed")
        times["typed first"], _typed = pipeline(typed_engine, agreement, pages, ingest_typed_pages)
        times["typed replay"], typed_replay = pipeline(
            typed_engine, agreement, pages, ingest_typed_pages
        )
        identical.append(ledger_of(engine) == ledger_of(typed_engine))
        booked_on_replay.append(typed_replay.entries_booked)
        engine.dispose()
        typed_engine.dispose()
        ratios["typed first/json"].append(times["json"] / times["typed first"])
        ratios["typed replay/first"].append(times["typed first"] / times["typed replay"])
        for key, seconds in times.items():
            rates[key].append(n / seconds)
        booked_on_replay.append(replay.entries_booked)
        ratios["first/json"].append(times["json"] / times["first"])
        ratios["replay/first"].append(times["first"] / times["replay"])
        ratios["first/orjson"].append(times["orjson"] / times["first"])
        print(
            f"round {round_number}/{args.rounds}: "
            + ", ".join(f"{name} {values[-1]:.2f}" for name, values in ratios.items())
            + f"; replay booked {replay.entries_booked}",
            flush=True,
        )

    print(f"\nmedians over {args.rounds} rounds ({n:,} orders each pass):")
    for key, label in labels.items():
        print(f"  {label:32s} {statistics.median(rates[key]):>10,.0f} orders/s")
    print(
        f"  first pass: {first.entries_booked:,} entries booked, {first.attributed:,} orders "
        f"attributed, {len(first.rejected)} rejected"
    )
    print()
    goals = {
        "first/json": 0.5,
        "replay/first": 2.0,
        "first/orjson": None,
        "typed first/json": 1.0,
        "typed replay/first": 3.0,
    }
    for name, values in ratios.items():
        ratio, goal = statistics.median(values), goals[name]
        verdict = (
            "(the overhead over our own parser)"
            if goal is None
            else f"(goal >= {goal:.2f}) {'OK' if ratio >= goal else 'MISSED'}"
        )
        print(
            f"ratio {name:18s} {ratio:5.2f}  range {min(values):.2f}-{max(values):.2f}  {verdict}"
        )
    nothing = not any(booked_on_replay)
    print(f"replay booked nothing in every round: {'OK' if nothing else booked_on_replay}")
    print(
        "typed ledger identical to the plain one in every round: "
        f"{'OK' if all(identical) else identical}; machine: 2 cores shared with other work"
    )


if __name__ == "__main__":
    main()
