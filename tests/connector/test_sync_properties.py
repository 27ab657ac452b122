"""Property: whatever a shop does between and during syncs, the ledger ends up exact.

Hypothesis plays a shop's life: new orders, refunds, status changes (cancel, complete, trash),
syncs, and syncs while orders change between page requests (the sandbox's ``mutate`` fault).
After a final quiet sync the stored orders and the ledger must equal those a fresh database
gets from the store's final state in one go: nothing skipped, nothing booked twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance.agreement.parse import load_agreement
from alliance.storage.database import open_database
from connector.fixtures.orders import woo_order
from connector.http import HttpPolicy, StoreClient
from connector.sandbox.server import start_sandbox
from connector.sync import sync_member
from connector.woocommerce.store import WooCommerceStore
from tests.conftest import EXAMPLE, SECRET
from tests.connector.test_sync import expected_from, ledger, snapshots

AGREEMENT = load_agreement(EXAMPLE)
BASE = datetime(2026, 11, 5, 1, 0, tzinfo=UTC)
KEY = SECRET.encode()

STATUSES = st.sampled_from(["cancelled", "completed", "trash", "refunded"])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("new"), st.integers(1, 3)),
        st.tuples(st.just("refund"), st.integers(0, 200)),
        st.tuples(STATUSES, st.integers(0, 200)),
        st.tuples(st.just("sync"), st.just(0)),
        st.tuples(st.just("sync-while-changing"), st.integers(1, 3)),
    ),
    min_size=1,
    max_size=8,
)


def initial_orders(count: int) -> list[dict]:
    result = []
    for n in range(count):
        moment = BASE + timedelta(seconds=37 * n)
        coupons = [("LI-FRIENDS", Decimal("5.00"))] if n % 2 == 0 else []
        status = "processing" if n % 3 else "completed"
        result.append(woo_order(7001 + n, status=status, created=moment, modified=moment,
                                coupons=coupons))  # fmt: skip
    return result


def apply(handle, operation: tuple[str, int], next_id: list[int]) -> None:
    kind, number = operation
    state = handle.state
    ids = sorted(o["id"] for o in state.orders())
    if kind == "new":
        for _ in range(number):
            now = datetime.now(UTC)
            coupons = [("LI-FRIENDS", Decimal("5.00"))]
            new = woo_order(next_id[0], created=now, modified=now, coupons=coupons)
            del new["id"]  # the store numbers it, as WooCommerce does (never reusing an id)
            state.add_order(new)
            next_id[0] += 1
        return
    order = state.order(ids[number % len(ids)])
    if kind == "refund":
        refunded = sum(-Decimal(r["total"]) for r in order["refunds"])
        left = Decimal(order["total"]) - refunded
        if order["status"] in ("processing", "completed") and left > 3:
            state.refund(order["id"], "3.00")
        return
    if order["status"] != "trash":
        state.set_status(order["id"], kind)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=operations, count=st.integers(80, 230))
def test_the_ledger_matches_the_stores_final_state(steps, count) -> None:
    with TemporaryDirectory() as scratch, start_sandbox(orders=initial_orders(count)) as handle:
        engine = open_database(f"sqlite:///{Path(scratch) / 'synced.db'}")
        client = StoreClient("wang", policy=HttpPolicy(attempts=2), sleep=lambda _s: None)
        store = WooCommerceStore(
            "wang", handle.url, handle.key.consumer_key, handle.key.consumer_secret, client=client
        )
        next_id = [9001]
        for step in steps:
            if step[0] == "sync":
                assert sync_member(engine, AGREEMENT, store, secret=KEY, products=False).ok
            elif step[0] == "sync-while-changing":
                handle.faults.set(f"mutate:{step[1]}@path=orders")
                assert sync_member(engine, AGREEMENT, store, secret=KEY, products=False).ok
                handle.faults.clear()
            else:
                apply(handle, step, next_id)
        assert sync_member(engine, AGREEMENT, store, secret=KEY, products=False).ok
        final = handle.state.orders()
        want_ledger, want_snapshots = expected_from(final, AGREEMENT, Path(scratch))
        try:
            synced = {k: v for k, v in snapshots(engine).items()}
            trashed = {str(o["id"]) for o in final if o["status"] == "trash"}
            assert {k: v for k, v in synced.items() if k not in trashed} == want_snapshots
            got = {k: v for k, v in ledger(engine).items() if v != 0}
            assert got == {k: v for k, v in want_ledger.items() if v != 0}
        finally:
            engine.dispose()
