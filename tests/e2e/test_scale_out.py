"""Scale-out: two and four ``alliance worker`` processes in parallel against PostgreSQL book
exactly the ledger one worker books, entry for entry, over a backfill and a second round of
changes in the stores (refunds, status changes, a trashed order, new orders, a fixed one)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from redis import Redis

from tests.e2e.support import (
    MALFORMED,
    Alliance,
    Outcome,
    flushed_redis,
    outcome,
    postgres_database,
    queue_every_member,
    sandbox_alliance,
    store_orders,
    worker_processes,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

WORKER_COUNTS = (1, 2, 4)
ORDERS = 250
BROKEN = ("sun", 77)  # sun's 78th order is malformed; the shop fixes it before the second round
SEED = 4242

MORE_MEMBERS = """
[members.chen]
name = "Chen's Nursery Furniture"
url = "https://chen.example"
credentials_env = "CHEN_WC"

[members.liu]
name = "Liu's Baby Food"
url = "https://liu.example"
credentials_env = "LIU_WC"

[members.sun]
name = "Sun's Prenatal Yoga"
url = "https://sun.example"
credentials_env = "SUN_WC"

[members.zhou]
name = "Zhou's Baby Carriers"
url = "https://zhou.example"
credentials_env = "ZHOU_WC"

[[deals]]
id = "li-chen"
referrer = "li"
seller = "chen"
pay = "percent"
rate = "10%"
referral_coupons = ["LI-FRIENDS"]

[[deals]]
id = "wang-liu"
referrer = "wang"
seller = "liu"
pay = "per_order"
amount = "12.00"
referral_coupons = ["WANG-LOVES-LI"]

[[deals]]
id = "li-sun"
referrer = "li"
seller = "sun"
pay = "percent"
rate = "6%"
referral_coupons = ["LI-FRIENDS", "ZHANG-PHOTO"]

[[deals]]
id = "wang-zhou"
referrer = "wang"
seller = "zhou"
pay = "percent"
rate = "7.5%"
referral_coupons = ["WANG-LOVES-LI"]
"""
MEMBERS = ("li", "wang", "zhang", "zhao", "chen", "liu", "sun", "zhou")


@pytest.fixture
def redis_db(worker_id: str) -> Iterator[tuple[str, Redis]]:
    with flushed_redis(worker_id) as pair:
        yield pair


@pytest.fixture
def alliance(tmp_path: Path) -> Iterator[Alliance]:
    documents = {
        member: store_orders(
            ORDERS + 30 * n,
            seed=100 + n,
            start=10_000 * (n + 1),
            malformed=BROKEN[1] if member == BROKEN[0] else None,
        )
        for n, member in enumerate(MEMBERS)
    }
    with sandbox_alliance(
        tmp_path, documents, extra_toml=MORE_MEMBERS, faults="slow:0.03@path=orders"
    ) as stores:
        assert sorted(stores.members) == sorted(MEMBERS)
        yield stores


def change_the_stores(alliance: Alliance, rng: random.Random) -> None:
    """What shoppers and shop owners do between two syncs, mostly to referred orders (those
    are the ones the ledger books)."""
    for handle in alliance.stores.values():
        state = handle.state
        paid = [o for o in state.orders() if o["status"] in ("completed", "processing")]
        referred = [o["id"] for o in paid if o["coupon_lines"]]
        state.refund(referred[0], "5.00", "Damaged box.")  # a partial refund
        state.set_status(referred[1], "refunded")  # the rest refunded
        state.set_status(referred[2], "cancelled")
        state.delete_order(referred[3], force=False)  # to the trash: its sale is reversed
        pending = [o["id"] for o in state.orders() if o["status"] in ("pending", "on-hold")]
        state.set_status(pending[0], "processing")  # paid at last
        state.mutate(4, rng)  # four more orders completed or partly refunded, four new ones
        for broken in state.orders():
            line = broken["line_items"]
            if line and line[0]["total"] == MALFORMED:
                line[0]["total"] = "10.00"
                state.modify_order(broken["id"], line_items=line)  # the shop fixes the order


def run_round(
    alliance: Alliance, database_url: str, redis_db: tuple[str, Redis], count: int, directory: Path
) -> int:
    """Queue every member's sync, run ``count`` burst workers at once until the queue is
    drained; how many of them synced something."""
    redis_url, redis = redis_db
    queue_every_member(redis, alliance.members)
    with worker_processes(alliance.env(database_url, redis_url), directory) as workers:
        workers.wait(workers.start(count), timeout=90)
    return sum("job sync member=" in log.read_text() for log in workers.logs)


def test_two_and_four_workers_book_the_ledger_one_worker_books(
    alliance: Alliance, redis_db: tuple[str, Redis], tmp_path: Path
) -> None:
    busy: dict[tuple[int, int], int] = {}
    outcomes: dict[tuple[int, int], Outcome] = {}
    with ExitStack() as stack:
        databases = {n: stack.enter_context(postgres_database()) for n in WORKER_COUNTS}
        for round_number in (1, 2):
            if round_number == 2:
                change_the_stores(alliance, random.Random(SEED))
            for n, url in databases.items():  # the same store contents for each
                directory = tmp_path / f"round{round_number}-workers{n}"
                directory.mkdir()
                busy[round_number, n] = run_round(alliance, url, redis_db, n, directory)
                outcomes[round_number, n] = outcome(url)

    assert busy[1, 4] >= 2, f"the four workers never shared the work: {busy}"
    first, last = outcomes[1, 1], outcomes[2, 1]
    assert len(first.ledger) > 100
    assert len(last.ledger) >= len(first.ledger) + 10  # the second round booked changes
    assert len(last.orders) == sum(len(h.state.orders()) for h in alliance.stores.values())
    assert first.quarantine and not last.quarantine  # quarantined, then fixed by the shop
    assert last.bookmarks.keys() == set(MEMBERS)
    for round_number in (1, 2):
        reference = outcomes[round_number, 1]
        for n in WORKER_COUNTS[1:]:
            found = outcomes[round_number, n].differences(reference)
            assert found == [], f"round {round_number}, {n} workers"
