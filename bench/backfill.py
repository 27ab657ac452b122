"""Benchmark: a first backfill from a store that takes its time, against sequential paging.

    python bench/backfill.py [--orders 50000] [--scale 1.0] [--profiles 2-core,larger-host]

The sandbox store runs in its own process with a latency model (``connector.sandbox.latency``):
a page of 100 orders takes about 0.45 s alone and the time is shared between the requests it
serves at once, as measured on a genuine WooCommerce store on two cores (two at once: 2.1x
the pages per second; four or eight: no more), or on a larger host (flat up to six at once).
``--scale`` shrinks every time by that factor (0.25: a page takes 0.11 s alone).

Measured in the same run, per profile:

  sequential  the official ``woocommerce`` client (``API.get``), page after page, as every
              peer tool pages: the floor of a backfill that waits on the store
  ours        ``sync_member`` from an empty ledger: pages in flight found by the AIMD
              controller (cap 4, the default), booked in listing order

and once, with the latency model off, ``sync_member`` with ``concurrency=1``: its ledger and
order snapshots must equal those of every concurrent backfill. The store's request log gives
the 429/5xx answers (goal: none provoked by us).

Goals (issue 17): ours >= 1.8x sequential on the 2-core profile, >= 3x on the larger host.
Not a timed test: the machine is shared; the ratio is what to read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select
from woocommerce import API

from alliance.agreement.parse import load_agreement
from alliance.storage.database import open_database
from alliance.storage.schema import ledger_entries, orders
from connector.http import HttpPolicy, StoreClient
from connector.sync import sync_member
from connector.woocommerce.store import WooCommerceStore

ROOT = Path(__file__).resolve().parents[1]
SECRET = b"bench-secret-bench-secret-bench-secret-0000"
KEY = "ck_" + "b" * 40
KEY_SECRET = "cs_" + "c" * 40
PER_PAGE = 100
GOALS = {"2-core": 1.8, "larger-host": 3.0, "literal-2-core": 1.0}


def serve(orders: int) -> None:
    """The store process: serves until stdin closes; ``latency NAME SCALE``, ``off`` and
    ``stats`` lines on stdin change the model and report on it (one JSON line each)."""
    from connector.sandbox.auth import ApiKey
    from connector.sandbox.latency import PROFILES, LatencyModel
    from connector.sandbox.seed import generate_orders, generate_products
    from connector.sandbox.server import start_sandbox

    products = generate_products()
    handle = start_sandbox(
        orders=generate_orders(orders, products=products),
        products=products,
        keys=[ApiKey(KEY, KEY_SECRET, "read_write")],
    )
    print(json.dumps({"url": handle.url}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["latency"]:
            handle.latency = LatencyModel(PROFILES[words[1]], scale=float(words[2]))
            handle.state.request_log.clear()
        elif words[:1] == ["off"]:
            handle.latency = None
        elif words[:1] == ["stats"]:
            model = handle.latency
            statuses = [entry[3] for entry in list(handle.state.request_log)]
            print(
                json.dumps(
                    {
                        "peak": model.peak if model else 0,
                        "served": model.served if model else 0,
                        "errors": sum(1 for s in statuses if s == 429 or s >= 500),
                        "requests": len(statuses),
                    }
                ),
                flush=True,
            )
    handle.stop()


class Store:
    """The store process, seen from the benchmark."""

    def __init__(self, orders: int) -> None:
        command = [sys.executable, __file__, "--serve", str(orders)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.url = json.loads(self._line())["url"]

    def _line(self) -> str:
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            raise SystemExit("the sandbox store stopped")
        return line

    def tell(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def stats(self) -> dict[str, int]:
        self.tell("stats")
        return json.loads(self._line())

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def sequential(url: str) -> tuple[float, int]:
    """Every page through the official client, one after the other; (seconds, orders)."""
    api = API(url, KEY, KEY_SECRET, version="wc/v3", timeout=120)
    started = time.perf_counter()
    count, page = 0, 1
    while True:
        params = {"per_page": PER_PAGE, "page": page, "orderby": "modified", "order": "asc"}
        response = api.get("orders", params=params)
        response.raise_for_status()
        documents = response.json()
        count += len(documents)
        if len(documents) < PER_PAGE or page >= int(response.headers["X-WP-TotalPages"]):
            return time.perf_counter() - started, count
        page += 1


def ours(url: str, agreement, database: Path, concurrency: int | None = None):
    engine = open_database(f"sqlite:///{database}")
    client = StoreClient("wang", policy=HttpPolicy(attempts=5, pool_size=8))
    store = WooCommerceStore("wang", url, KEY, KEY_SECRET, client=client)
    started = time.perf_counter()
    report = sync_member(
        engine, agreement, store, secret=SECRET, products=False, concurrency=concurrency
    )
    seconds = time.perf_counter() - started
    store.close()
    if not report.ok:
        raise SystemExit(f"backfill failed: {report.error}")
    books = booked(engine)
    engine.dispose()
    return seconds, report, books


def booked(engine) -> tuple[dict, dict]:
    """The ledger (net per order, deal, payer, payee) and the order snapshots."""
    e = ledger_entries.c
    query = select(e.source_ref, e.deal_id, e.payer, e.payee, func.sum(e.amount_minor)).group_by(
        e.source_ref, e.deal_id, e.payer, e.payee
    )
    with engine.connect() as conn:
        ledger = {tuple(row[:4]): int(row[4]) for row in conn.execute(query)}
        rows = conn.execute(select(orders.c.external_id, orders.c.status, orders.c.refunded_minor))
        snapshots = {row[0]: (row[1], row[2]) for row in rows}
    return ledger, snapshots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--profiles", default="2-core,larger-host")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    agreement = load_agreement(ROOT / "examples" / "alliance.toml")
    print(f"starting a sandbox store with {args.orders:,} orders (its own process)...")
    store = Store(args.orders)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            run(store, agreement, Path(scratch), args)
    finally:
        store.close()


def run(store: Store, agreement, scratch: Path, args: argparse.Namespace) -> None:
    print("reference: one page at a time, latency model off, into its own ledger...")
    store.tell("off")
    _, ref_report, reference = ours(store.url, agreement, scratch / "reference.db", 1)
    print(
        f"  {ref_report.orders_fetched:,} orders, {len(reference[0]):,} ledger lines; "
        f"machine: 2 cores shared with other work (read the ratios, not the seconds)"
    )
    verdicts = []
    for name in args.profiles.split(","):
        store.tell(f"latency {name} {args.scale}")
        base_s, base_n = sequential(store.url)
        base = store.stats()
        store.tell(f"latency {name} {args.scale}")  # a fresh model: its own peak and log
        ours_s, report, books = ours(store.url, agreement, scratch / f"{name}.db")
        mine = store.stats()
        same = books == reference
        ratio = base_s / ours_s
        goal = GOALS.get(name, 1.0)
        ok = ratio >= goal and mine["errors"] == 0 and same and report.orders_fetched == base_n
        verdicts.append(ok)
        print(f"\nprofile {name} (latency x{args.scale:g}):")
        print(
            f"  sequential, official client: {base_s:7.1f} s  {base_n / base_s:6.0f} orders/s  "
            f"{base['requests']} requests, peak {base['peak']} at once"
        )
        print(
            f"  ours (sync_member, cap 4):   {ours_s:7.1f} s  "
            f"{report.orders_fetched / ours_s:6.0f} orders/s  {mine['requests']} requests, "
            f"peak {mine['peak']} at once, {report.booking.entries_booked:,} entries booked"
        )
        print(f"  speed-up {ratio:.2f}x  (goal >= {goal:g}x)")
        print(f"  429/5xx answers provoked by us: {mine['errors']}  (goal 0)")
        print(f"  ledger and snapshots identical to the one-page-at-a-time sync: {same}")
        print(f"  verdict: {'OK' if ok else 'MISSED'}")
    if not all(verdicts):
        print("\nsome goals were missed (see above)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
