"""The worker benchmark's sandbox stores: one extra process, one server thread per store.

One process serves every member's store so that the stores cost the runs one known process,
whose CPU time is measured apart from the workers'.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

from bench.worker_context import ROOT
from connector.sandbox.auth import ApiKey
from connector.sandbox.seed import generate_orders, generate_products
from connector.sandbox.server import start_sandbox


def member_ids(count: int) -> list[str]:
    return [f"m{n:02d}" for n in range(1, count + 1)]


def store_keys(member: str) -> tuple[str, str]:
    """Fixed WooCommerce keys per store: ck_/cs_ + 40 hex characters."""
    return (
        "ck_" + hashlib.sha1(f"key {member}".encode()).hexdigest(),
        "cs_" + hashlib.sha1(f"secret {member}".encode()).hexdigest(),
    )


def serve_stores() -> None:
    """The store process (``python -c``, argv: members orders): prints ``{member: url}`` as one
    JSON line, then serves until its stdin closes."""
    count, per_store = int(sys.argv[1]), int(sys.argv[2])
    products = generate_products()
    handles = {}
    for n, member in enumerate(member_ids(count), start=1):
        made = generate_orders(per_store, seed=n, start=n * 1_000_000 + 1, products=products)
        key, secret = store_keys(member)
        handles[member] = start_sandbox(
            orders=made, products=products, keys=[ApiKey(key, secret, "read_write")]
        )
    print(json.dumps({member: handle.url for member, handle in handles.items()}), flush=True)
    sys.stdin.read()
    for handle in handles.values():
        handle.stop()


def start_stores(members: int, per_store: int) -> tuple[subprocess.Popen, dict[str, str]]:
    script = "from bench.worker_stores import serve_stores; serve_stores()"
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(members), str(per_store)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line:
        raise SystemExit(f"the store process stopped (exit status {process.wait()})")
    return process, json.loads(line)
