"""Benchmark: 1,000 gift packs through ``issue_gift_packs`` against the same HTTP work, plainly.

    python bench/giftpacks.py [--packs 1000] [--rounds 3]

Li's store holds 1,000 qualifying trigger orders (items over the newborn gift pack's 300.00);
each earns a pack of three coupons, one each in Wang's, Zhang's and Zhao's stores, and one
customer note on Li's order. The four sandbox stores run in one extra process (as stores on
other machines would; their CPU is not ours), plain HTTP with OAuth 1.0a, and every measurement
gets fresh stores (a store's coupon lookup grows with the coupons it holds). Measured in the
same run, interleaved round by round:

  floor   one plain ``requests.Session``: the same 3,000 coupons created by ``POST
          coupons/batch`` calls of 100, then one ``POST orders/<id>/notes`` per pack; nothing
          stored, nothing checked but the status
  ours    ``issue_gift_packs`` on a fresh SQLite database that has synced Li's orders (not
          timed): plan the packs, lease them, create the coupons grouped per partner store,
          record each outcome, record each note's intent, post the notes, record them, settle

Goals (issue 12): at most one batch call per partner per 100 packs plus one note per pack, so
HTTP calls per pack at most 3 x ceil(packs / 100) / packs + 1; packs/s at least 0.5 x the
floor. The calls are counted twice: by our stores' clients and by the sandbox stores' own
request logs. Not a timed test: the machine is shared and noisy; the median of the per-round
ratios is reported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson
import requests
from woocommerce.oauth import OAuth

from alliance.agreement import Agreement
from alliance.agreement.parse import parse_agreement
from alliance.cli.promotion_commands import gift_links
from alliance.storage.database import open_database
from connector.giftpacks import issue_gift_packs
from connector.http import HttpPolicy, StoreClient
from connector.sync import sync_member
from connector.woocommerce.store import WooCommerceStore

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "alliance.toml"
SECRET = b"bench-secret-bench-secret-bench-secret-0000"
MEMBERS = ("li", "wang", "zhang", "zhao")
PARTNERS = MEMBERS[1:]
BATCH = 100
FIRST_ORDER = 5001
NOW = datetime.now(UTC).replace(microsecond=0)
PRODUCTS = {
    "li": [(101, "Organic cotton gift set", "320.00")],
    "wang": [(501, "Organic baby wash", "59.00")],
    "zhang": [(601, "Wooden stacking rings", "88.00")],
    "zhao": [(701, "Newborn photo shoot", "899.00")],
}


def keys(member: str) -> tuple[str, str]:
    """Fixed WooCommerce keys per store: ck_/cs_ + 40 characters."""
    return "ck_" + (member * 40)[:40], "cs_" + (member[::-1] * 40)[:40]


# -- the store process ----------------------------------------------------------------------


def serve_stores() -> None:
    """The store process (``python -c``, argv: packs). Reads commands on stdin, one a line:
    ``fresh`` stops the stores and starts four new ones, printing ``{member: url}``; ``log``
    prints ``{member: {"METHOD endpoint": count}}`` of what the current stores answered."""
    from connector.fixtures.orders import woo_order
    from connector.fixtures.products import woo_product
    from connector.sandbox.auth import ApiKey
    from connector.sandbox.server import start_sandbox

    packs = int(sys.argv[1])
    created = NOW - timedelta(days=2)
    li_orders = orjson.dumps(
        [
            woo_order(
                FIRST_ORDER + n,
                status="processing",
                created=created + timedelta(seconds=n),
                lines=[(101, "Organic cotton gift set", 1, Decimal("320.00"))],
            )
            for n in range(packs)
        ]
    )
    handles: dict = {}
    for line in sys.stdin:
        command = line.strip()
        if command == "fresh":
            for handle in handles.values():
                handle.stop()
            handles = {}
            for member in MEMBERS:
                key, secret = keys(member)
                products = [woo_product(pid, name=name, price=Decimal(price), modified=created)
                            for pid, name, price in PRODUCTS[member]]  # fmt: skip
                handles[member] = start_sandbox(
                    orders=orjson.loads(li_orders) if member == "li" else (),
                    products=products,
                    keys=[ApiKey(key, secret, "read_write")],
                )
            print(json.dumps({m: h.url for m, h in handles.items()}), flush=True)
        elif command == "log":
            counts = {
                m: Counter(f"{method} {_kind(path)}" for method, path, *_ in h.state.request_log)
                for m, h in handles.items()
            }
            print(json.dumps(counts), flush=True)
    for handle in handles.values():
        handle.stop()


def _kind(path: str) -> str:
    """``/wp-json/wc/v3/orders/5001/notes`` -> ``orders/<id>/notes``."""
    path = path.split("/wc/v3/", 1)[-1]
    return re.sub(r"/\d+", "/<id>", path)


class Stores:
    """The store process, driven over its stdin."""

    def __init__(self, packs: int) -> None:
        script = "from bench.giftpacks import serve_stores; serve_stores()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", script, str(packs)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _ask(self, command: str) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the store process stopped (exit status {self.process.wait()})")
        return json.loads(line)

    def fresh(self) -> dict[str, str]:
        return self._ask("fresh")

    def log(self) -> dict[str, dict[str, int]]:
        return self._ask("log")

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


# -- the agreement ------------------------------------------------------------------------


def agreement_for(urls: dict[str, str]) -> Agreement:
    """The example agreement pointed at the stores, its gift pack running around today."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for member, url in urls.items():
        text = text.replace(f'url = "https://{member}.example"', f'url = "{url}"')
    head, marker, tail = text.partition("[[promotions]]")
    tail = re.sub(r"^starts = \S+", f"starts = {(NOW - timedelta(days=30)).date()}", tail,
                  count=1, flags=re.M)  # fmt: skip
    tail = re.sub(r"^ends = \S+", f"ends = {(NOW + timedelta(days=30)).date()}", tail,
                  count=1, flags=re.M)  # fmt: skip
    return parse_agreement(head + marker + tail, "bench-giftpacks.toml")


class TimedStore(WooCommerceStore):
    """Our store client, adding up the time its calls take (the rest of a run is ours)."""

    seconds = 0.0

    def _request(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return super()._request(*args, **kwargs)
        finally:
            TimedStore.seconds += time.perf_counter() - started


def open_store(agreement: Agreement, member: str) -> WooCommerceStore:
    key, secret = keys(member)
    client = StoreClient(member, policy=HttpPolicy(attempts=5))
    return TimedStore(member, agreement.members[member].url, key, secret, client=client)


# -- the floor ----------------------------------------------------------------------------


def floor(urls: dict[str, str], packs: int) -> tuple[float, int]:
    """The same coupons and notes with one plain Session; returns (seconds, requests)."""
    session = requests.Session()
    session.trust_env = False
    expires = (NOW + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sent = 0

    def post(member: str, endpoint: str, body: dict) -> dict | list:
        nonlocal sent
        key, secret = keys(member)
        signed = OAuth(
            f"{urls[member]}/wp-json/wc/v3/{endpoint}", key, secret, version="wc/v3", method="POST"
        ).get_oauth_url()
        response = session.post(signed, json=body, timeout=30)
        response.raise_for_status()
        sent += 1
        return response.json()

    started = time.perf_counter()
    for p, member in enumerate(PARTNERS):
        for first in range(0, packs, BATCH):
            coupons = [
                {
                    "code": f"FLR-{p}{n:06d}-{member[:3].upper()}",
                    "amount": "30.00",
                    "discount_type": "fixed_cart",
                    "individual_use": False,
                    "description": "Refined Parenting Alliance gift pack newborn-gift-pack: a "
                    "gift for a customer of Li's Organic Baby Clothes. Single use.",
                    "date_expires": expires,
                    "usage_limit": 1,
                    "usage_limit_per_user": 1,
                    "meta_data": [{"key": "alliance_gift_pack", "value": "newborn-gift-pack"}],
                }
                for n in range(first, min(first + BATCH, packs))
            ]
            answer = post(member, "coupons/batch", {"create": coupons})
            if any("error" in item for item in answer["create"]):  # type: ignore[index]
                raise SystemExit(f"the floor's batch at {member} had refused items")
    for n in range(packs):
        post("li", f"orders/{FIRST_ORDER + n}/notes", {"note": note(n), "customer_note": True})
    seconds = time.perf_counter() - started
    session.close()
    return seconds, sent


def note(n: int) -> str:
    """A note as long as ours: three partners, codes, expiry and tracked links."""
    lines = [
        "Thank you for your order! It earned you a gift pack from Refined Parenting Alliance "
        "(Spend 300 on Li's baby clothes, get partner gifts), one gift at each of our partner "
        "shops:",
        "",
    ]
    for p, shop in enumerate(("Wang's Natural Baby Care", "Zhang's Toys", "Zhao Photography")):
        lines.append(
            f"- {shop}: Trial set: 30.00 CNY off. Code FLR-{p}{n:06d}-XXXX, valid until "
            f"2027-02-05. https://go.parenting.example/r/{'A' * 94}"
        )
    return "\n".join([*lines, "", "Each code works once, in that shop only."])


# -- ours ----------------------------------------------------------------------------------


def ours(urls: dict[str, str], packs: int, scratch: Path, round_no: int):
    """Li synced into a fresh SQLite ledger (not timed), then ``issue_gift_packs`` timed."""
    agreement = agreement_for(urls)
    engine = open_database(f"sqlite:///{scratch / f'round{round_no}.db'}")
    li = open_store(agreement, "li")
    synced = sync_member(engine, agreement, li, secret=SECRET, products=False)
    li.close()
    if not synced.ok or synced.orders_fetched != packs:
        raise SystemExit(f"li's sync: {synced.error or synced.orders_fetched} orders")
    secret = SECRET + str(round_no).encode()  # other codes each round
    TimedStore.seconds = 0.0
    started = time.perf_counter()
    report = issue_gift_packs(
        engine,
        agreement,
        secret=secret,
        open_store=lambda member: open_store(agreement, member),
        link_for=gift_links(agreement, secret),
    )
    seconds = time.perf_counter() - started
    engine.dispose()
    counts = report.summary()
    if (counts["planned"], counts["issued"], counts["attention"]) != (packs, packs, 0):
        raise SystemExit(f"not every pack was issued: {counts}, {report.problems[:3]}")
    return seconds, TimedStore.seconds, report


def calls(log: dict[str, dict[str, int]]) -> tuple[dict[str, int], int, int]:
    """Batch calls per partner, note calls at li, and every call, from the stores' own logs."""
    batches = {m: log[m].get("POST coupons/batch", 0) for m in PARTNERS}
    notes = log["li"].get("POST orders/<id>/notes", 0)
    every = sum(sum(per.values()) for per in log.values()) - log["li"].get("GET orders", 0)
    return batches, notes, every  # li's order listing is the sync before, not issuing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    packs = args.packs
    batch_goal = math.ceil(packs / BATCH)
    goal = len(PARTNERS) * batch_goal + packs
    print(
        f"{packs:,} gift packs of three coupons ({len(PARTNERS) * packs:,} coupons, {packs:,} "
        "notes); four sandbox stores in one extra process, fresh for every measurement"
    )
    stores = Stores(packs)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as scratch:
            floor(stores.fresh(), min(packs, BATCH))  # warm up: connections, both processes
            for round_no in range(1, args.rounds + 1):
                floor_s, floor_calls = floor(stores.fresh(), packs)
                our_s, http_s, report = ours(stores.fresh(), packs, Path(scratch), round_no)
                batches, notes, answered = calls(stores.log())
                rows.append((packs / floor_s, packs / our_s, report.requests, batches, notes))
                print(
                    f"round {round_no}: floor {packs / floor_s:5,.0f} packs/s ({floor_s:.2f} s, "
                    f"{floor_calls} calls) | ours {packs / our_s:5,.0f} packs/s ({our_s:.2f} s: "
                    f"{http_s:.2f} s in {report.requests} calls, {our_s - http_s:.2f} s the rest; "
                    f"the stores answered {answered}: batches "
                    f"{'/'.join(str(batches[m]) for m in PARTNERS)}, notes {notes}) | ratio "
                    f"{floor_s / our_s:.2f}"
                )
    finally:
        stores.close()

    ratios = [our / base for base, our, *_ in rows]
    print()
    print(f"floor median {statistics.median(r[0] for r in rows):7,.0f} packs/s")
    print(f"ours  median {statistics.median(r[1] for r in rows):7,.0f} packs/s")
    worst = max(r[2] for r in rows)
    per_partner = max(max(r[3].values()) for r in rows)
    notes_sent = max(r[4] for r in rows)
    within = worst <= goal and per_partner <= batch_goal and notes_sent <= packs
    print(
        f"HTTP calls per pack: {worst / packs:.3f} ({worst} for {packs:,} packs; at most "
        f"{per_partner} batch calls per partner, {notes_sent} notes); goal <= {goal / packs:.3f} "
        f"({batch_goal} batch calls per partner + 1 note per pack): {'OK' if within else 'MISSED'}"
    )
    verdict = "OK" if statistics.median(ratios) >= 0.5 else "MISSED"
    print(
        f"ratio ours/floor: median {statistics.median(ratios):.2f} "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}); goal >= 0.50: {verdict}"
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
