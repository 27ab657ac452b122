"""Benchmark: backfill a 50,000-order sandbox store through the connector, then sync 100 changes.

    python bench/sync.py [--orders 50000] [--rounds 3] [--changes 100]

The sandbox store runs in its own process (``alliance sandbox serve --generate N``), on plain
HTTP with OAuth 1.0a, as a real store on another machine would be reached. Measured in the
same run, on the same pages (``per_page=100``, ``orderby=modified&order=asc``):

  floor      one plain ``requests.Session`` fetching every page and ``json.loads`` on each;
             nothing stored (what merely downloading the orders costs)
  backfill   ``sync_member`` from an empty SQLite ledger: fetch, digest, map (the firewall),
             attribute, commission, book, bookmark after every committed page
  ingest     for the breakdown: the same pages, already in memory, through the ingest path
             alone (what issue 2's benchmark measures); backfill / ingest shows what the
             connector itself costs

Goal (issue 3): backfill rate >= 0.5 x the floor rate. A backfill this large fetches in a
process of its own (``connector/fetch_process.py``), so on this machine three processes
(the store, the fetcher, the booker) share its two cores, where the floor needs two.
Then ``--changes`` orders are changed in the store (refunds and status changes through the
official ``woocommerce`` client) and the member is synced again: the requests and the
time must follow the changes, not the store size.
Not a timed test: the machine is shared and noisy; each round measures both back to back and
the median of the per-round ratios is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests
from woocommerce import API
from woocommerce.oauth import OAuth

from alliance.agreement.parse import load_agreement
from alliance.storage.database import open_database
from connector.http import HttpPolicy, StoreClient
from connector.sync import sync_member
from connector.woocommerce.ingest import ingest_pages
from connector.woocommerce.store import WooCommerceStore

ROOT = Path(__file__).resolve().parents[1]
SECRET = b"bench-secret-bench-secret-bench-secret-0000"
KEY = "ck_" + "b" * 40
KEY_SECRET = "cs_" + "c" * 40
PER_PAGE = 100


def start_store(orders: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-c", "from alliance.cli.sandbox_commands import sandbox; sandbox()",
        "serve", "--port", str(port), "--generate", str(orders),
        "--consumer-key", KEY, "--consumer-secret", KEY_SECRET,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the sandbox store stopped: {process.stderr.read().decode()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the sandbox store did not start within 300 s")


def floor(url: str, keep: list[bytes] | None = None) -> tuple[float, int, int]:
    """Every page with one plain Session and json.loads; returns (seconds, orders, bytes)."""
    session = requests.Session()
    session.trust_env = False
    started = time.perf_counter()
    count = size = 0
    page = 1
    while True:
        query = f"orderby=modified&order=asc&dates_are_gmt=true&per_page={PER_PAGE}&page={page}"
        signed = OAuth(
            f"{url}/wp-json/wc/v3/orders?{query}", KEY, KEY_SECRET, version="wc/v3", method="GET"
        ).get_oauth_url()
        response = session.get(signed, timeout=30)
        response.raise_for_status()
        orders = json.loads(response.content)
        if keep is not None:
            keep.append(response.content)
        count += len(orders)
        size += len(response.content)
        if len(orders) < PER_PAGE or page >= int(response.headers["X-WP-TotalPages"]):
            break
        page += 1
    return time.perf_counter() - started, count, size


def ingest_only(pages: list[bytes], agreement, directory: Path, round_no: int) -> float:
    """The same pages, already in memory, through the ingest path alone: no HTTP."""
    engine = open_database(f"sqlite:///{directory / f'ingest{round_no}.db'}")
    started = time.perf_counter()
    ingest_pages(engine, agreement, pages, member="wang", secret=SECRET, batch_size=PER_PAGE)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def connect(url: str) -> WooCommerceStore:
    client = StoreClient("wang", policy=HttpPolicy(attempts=5))
    return WooCommerceStore("wang", url, KEY, KEY_SECRET, client=client)


def backfill(url: str, agreement, directory: Path, round_no: int):
    engine = open_database(f"sqlite:///{directory / f'round{round_no}.db'}")
    store = connect(url)
    started = time.perf_counter()
    report = sync_member(engine, agreement, store, secret=SECRET, products=False)
    seconds = time.perf_counter() - started
    store.close()
    if not report.ok:
        raise SystemExit(f"backfill failed: {report.error}")
    return engine, seconds, report


def change_orders(url: str, count: int) -> None:
    """Refund or complete ``count`` orders through the official client (as a shop would)."""
    api = API(url, KEY, KEY_SECRET, version="wc/v3", timeout=30)
    changed = 0
    page = 1
    while changed < count:
        listed = api.get("orders", params={"per_page": 100, "page": page, "status": "processing"})
        listed.raise_for_status()
        candidates = listed.json()
        if not candidates:
            raise SystemExit("not enough processing orders to change")
        for order in candidates:
            if changed == count:
                break
            if changed % 2:
                response = api.put(f"orders/{order['id']}", {"status": "completed"})
            else:
                response = api.post(f"orders/{order['id']}/refunds", {"amount": "1.00"})
            response.raise_for_status()
            changed += 1
        page += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()
    agreement = load_agreement(ROOT / "examples" / "alliance.toml")
    print(f"starting a sandbox store with {args.orders:,} orders (its own process)...")
    process, url = start_store(args.orders)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            run(url, agreement, Path(scratch), args)
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(url: str, agreement, scratch: Path, args: argparse.Namespace) -> None:
    pages: list[bytes] = []
    floor(url, pages)  # warm up: the store's caches and ours; keeps the pages for ingest_only
    rows = []
    engine = report = None
    for round_no in range(1, args.rounds + 1):
        floor_s, floor_n, floor_bytes = floor(url)
        ingest_s = ingest_only(pages, agreement, scratch, round_no)
        if engine is not None:
            engine.dispose()
        engine, ours_s, report = backfill(url, agreement, scratch, round_no)
        if report.orders_fetched != floor_n:
            raise SystemExit(f"backfill saw {report.orders_fetched} orders, floor {floor_n}")
        rows.append((floor_n / floor_s, report.orders_fetched / ours_s, floor_n / ingest_s))
        print(
            f"round {round_no}: floor {floor_n / floor_s:8,.0f} orders/s "
            f"({floor_bytes / floor_n:,.0f} B/order, {floor_s:.2f} s) | backfill "
            f"{report.orders_fetched / ours_s:8,.0f} orders/s ({ours_s:.2f} s, "
            f"{report.requests} requests, {report.booking.entries_booked:,} entries) | "
            f"ingest alone {floor_n / ingest_s:8,.0f} orders/s | "
            f"ratio {report.orders_fetched / ours_s / (floor_n / floor_s):.2f}"
        )
    ratios = [ours / base for base, ours, _ in rows]
    print()
    print(f"floor    median {statistics.median(r[0] for r in rows):8,.0f} orders/s")
    print(f"backfill median {statistics.median(r[1] for r in rows):8,.0f} orders/s")
    print(
        f"ingest alone (same pages from memory, no HTTP) median "
        f"{statistics.median(r[2] for r in rows):8,.0f} orders/s; backfill/ingest alone "
        f"{statistics.median(r[1] / r[2] for r in rows):.2f} (what fetching costs on top)"
    )
    verdict = "OK" if statistics.median(ratios) >= 0.5 else "MISSED"
    print(
        f"ratio backfill/floor: median {statistics.median(ratios):.2f} "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}); goal >= 0.50: {verdict}"
    )

    backfill_requests, backfill_seconds = report.requests, report.seconds
    store = connect(url)
    idle = sync_member(engine, agreement, store, secret=SECRET, products=False)
    change_orders(url, args.changes)
    started = time.perf_counter()
    changed = sync_member(engine, agreement, store, secret=SECRET, products=False)
    seconds = time.perf_counter() - started
    print()
    print(
        f"no changes: {idle.requests} requests, {idle.orders_fetched} orders re-read "
        f"(the overlap window), {idle.seconds:.2f} s"
    )
    print(
        f"{args.changes} changes: {changed.requests} requests, {changed.orders_fetched} orders "
        f"fetched, {changed.booking.orders_applied} applied, {changed.booking.entries_booked} "
        f"entries, {seconds:.2f} s"
    )
    print(
        f"backfill of {args.orders:,}: {backfill_requests} requests, {backfill_seconds:.2f} s; "
        f"the incremental sync used {changed.requests / backfill_requests:.1%} of the requests "
        f"and {seconds / backfill_seconds:.1%} of the time"
    )
    store.close()
    engine.dispose()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
