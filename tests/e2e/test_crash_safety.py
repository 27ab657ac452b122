"""Crash safety, for real: an ``alliance worker`` process syncing sandbox stores is killed
with SIGKILL at random moments (mid-page, mid-commit), restarted and the syncs re-queued, as
the schedule would; the ledger, order snapshots, bookmarks and quarantine it ends with are
those of a run nobody interrupted, entry for entry."""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from alliance.agreement.parse import load_agreement
from alliance.services import giftpacks
from alliance.settings import Settings
from alliance.storage.database import open_database
from alliance.storage.schema import sync_state
from connector.sandbox.latency import TWO_CORE, LatencyModel
from connector.sandbox.server import SandboxHandle
from connector.sync import sync_member
from connector.woocommerce.store import WooCommerceStore
from tests.conftest import SECRET
from tests.connector.giftpack_support import li_order
from tests.e2e.support import (
    Alliance,
    GiftPackState,
    Outcome,
    Workers,
    flushed_redis,
    gift_pack_state,
    order_counts,
    outcome,
    postgres_database,
    queue_every_member,
    sandbox_alliance,
    someone_syncs,
    sqlite_database,
    store_orders,
    worker_processes,
)
from worker import jobs
from worker.keys import GIFTPACK_QUEUE, SYNC_QUEUE
from worker.locks import MemberLock
from worker.runner import Runner

pytestmark = pytest.mark.slow

SLOW_PAGES = "slow:0.08@path=orders"
"""Each page of orders takes a while, so a kill lands inside a sync, not between syncs."""

KILLS = 5
SEED = 20261125
STORES = {  # member: (orders, seed, first id, the malformed one's position or None)
    "li": (900, 1, 10_001, 123),
    "wang": (1300, 2, 20_001, 1111),
    "zhang": (700, 3, 30_001, None),
}  # zhao has no keys: its sync fails (needs attention) every time, in both runs alike
EXPECTED = {m: count - (bad is not None) for m, (count, _, _, bad) in STORES.items()}
"""Orders each member ends with: all but the quarantined one."""


@dataclass(frozen=True)
class Kill:
    """What the database held just after one SIGKILL."""

    syncing: list[str]
    orders: dict[str, int]

    @property
    def mid_sync(self) -> bool:
        """The member being synced had some, but not all, of its orders committed."""
        return any(0 < self.orders.get(m, 0) < EXPECTED.get(m, 0) for m in self.syncing)


@pytest.fixture
def redis_db(worker_id: str) -> Iterator[tuple[str, Redis]]:
    with flushed_redis(worker_id) as pair:
        yield pair


@pytest.fixture
def alliance(tmp_path: Path) -> Iterator[Alliance]:
    documents = {
        member: store_orders(count, seed=seed, start=start, malformed=bad)
        for member, (count, seed, start, bad) in STORES.items()
    }
    with sandbox_alliance(tmp_path, documents, faults=SLOW_PAGES) as stores:
        yield stores


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh databases of one kind: for the killed run and the uninterrupted one."""
    if request.param == "sqlite":
        yield sqlite_database(tmp_path, "killed.db"), sqlite_database(tmp_path, "clean.db")
        return
    with ExitStack() as stack:
        yield stack.enter_context(postgres_database()), stack.enter_context(postgres_database())


def uninterrupted_run(alliance: Alliance, database_url: str) -> Outcome:
    """``alliance run --once``, in this process, with no Redis: the reference."""
    faults = {member: str(handle.faults) for member, handle in alliance.stores.items()}
    for handle in alliance.stores.values():
        handle.faults.clear()  # no kill to aim at: no need to be slow
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in alliance.env(database_url).items():
                patch.setenv(name, value)
            patch.delenv("ALLIANCE_REDIS_URL", raising=False)
            results = Runner(Settings.from_env()).run(cycles=1)
    finally:
        for member, handle in alliance.stores.items():
            handle.faults.set(faults[member])
        engine = jobs._ENGINES.pop(database_url, None)
        if engine is not None:
            engine.dispose()
    statuses = {r["member"]: r["status"] for r in results if "member" in r}
    assert all(statuses[m] == "ok" for m in alliance.stores), statuses
    return outcome(database_url)


def after_commits(
    process: subprocess.Popen[bytes], database_url: str, commits: int, workers: Workers
) -> None:
    """Return just after the worker committed ``commits`` more pages of orders (or ended)."""
    seen = sum(order_counts(database_url).values())
    deadline = time.monotonic() + 60
    while commits and process.poll() is None:
        assert time.monotonic() < deadline, f"no page committed:\n{workers.tail()}"
        now = sum(order_counts(database_url).values())
        if now != seen:
            seen, commits = now, commits - 1
        time.sleep(0.005)  # a page takes 80 ms (SLOW_PAGES): polled, not waited for


def killed_runs(
    workers: Workers, redis: Redis, members: list[str], database_url: str, rng: random.Random
) -> list[Kill]:
    """Start a burst worker on freshly queued syncs, kill it just after its first to fourth
    page commit (drawn by ``rng``), and again, until ``KILLS`` kills landed; a worker that
    finished first counts none."""
    kills: list[Kill] = []
    for _attempt in range(4 * KILLS):
        if len(kills) == KILLS:
            return kills
        queue_every_member(redis, members)
        [process] = workers.start()
        deadline = time.monotonic() + 30
        while process.poll() is None and not someone_syncs(redis, members):
            assert time.monotonic() < deadline, f"the worker never started:\n{workers.tail()}"
            time.sleep(0.01)
        after_commits(process, database_url, rng.randint(1, 4), workers)
        syncing = [m for m in members if MemberLock(redis, m).holder() is not None]
        if process.poll() is not None:
            assert process.returncode == 0, workers.tail()
            continue
        workers.kill(process)
        kills.append(Kill(syncing, order_counts(database_url)))
    raise AssertionError(f"only {len(kills)} of {KILLS} kills landed: {kills}")


def test_a_worker_killed_mid_sync_again_and_again_ends_with_the_uninterrupted_ledger(
    alliance: Alliance, databases: tuple[str, str], redis_db: tuple[str, Redis], tmp_path: Path
) -> None:
    killed_url, clean_url = databases
    redis_url, redis = redis_db
    reference = uninterrupted_run(alliance, clean_url)
    assert len(reference.quarantine) == 2 and len(reference.ledger) > 100

    env = alliance.env(killed_url, redis_url, ALLIANCE_LOCK_TTL_SECONDS="1")
    with worker_processes(env, tmp_path) as workers:
        kills = killed_runs(workers, redis, alliance.members, killed_url, random.Random(SEED))
        queue_every_member(redis, alliance.members)  # then one pass nobody interrupts
        workers.wait(workers.start())

    assert any(kill.mid_sync for kill in kills), f"no kill landed mid-sync: {kills}"
    assert Queue(SYNC_QUEUE, connection=redis).count == 0
    assert FailedJobRegistry(SYNC_QUEUE, connection=redis).count == 0
    engine = open_database(killed_url)
    with engine.connect() as conn:
        states = {row.member: row for row in conn.execute(select(sync_state))}
    engine.dispose()
    for member in STORES:  # the last attempt of each member succeeded
        assert states[member].last_success_at >= states[member].last_attempt_at
    assert order_counts(killed_url) == EXPECTED
    assert outcome(killed_url).differences(reference) == [], f"after kills {kills}"


def waiting_on_a_lock(database_url: str) -> bool:
    """Whether a session of that database waits for a table lock (our LOCK, below)."""
    name = make_url(database_url).database
    query = text(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = :name AND wait_event_type = 'Lock'"
    )
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(query, {"name": name}).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_kill_between_a_page_and_its_quarantine_write_loses_no_quarantined_order(
    tmp_path: Path, redis_db: tuple[str, Redis]
) -> None:
    """The kill aimed, not random: PostgreSQL holds the quarantine write back (a table lock
    taken by the test), so the worker is killed exactly after the page that holds the
    malformed order committed, and before its quarantine row did."""
    redis_url, redis = redis_db
    documents = {"wang": store_orders(400, seed=2, start=20_001, malformed=150)}
    with (
        sandbox_alliance(tmp_path, documents) as alliance,
        postgres_database() as killed_url,
        postgres_database() as clean_url,
    ):
        reference = uninterrupted_run(alliance, clean_url)
        assert len(reference.quarantine) == 1
        env = alliance.env(killed_url, redis_url, ALLIANCE_LOCK_TTL_SECONDS="1")
        blocker = create_engine(killed_url)
        with worker_processes(env, tmp_path) as workers, blocker.connect() as conn:
            conn.execute(text("LOCK TABLE quarantine IN EXCLUSIVE MODE"))  # reads still pass
            queue_every_member(redis, alliance.members)
            [process] = workers.start()
            deadline = time.monotonic() + 30
            while not waiting_on_a_lock(killed_url):
                assert process.poll() is None, f"the worker ended:\n{workers.tail()}"
                assert time.monotonic() < deadline, f"no quarantine write:\n{workers.tail()}"
                time.sleep(0.02)
            workers.kill(process)
            conn.rollback()
            queue_every_member(redis, alliance.members)
            workers.wait(workers.start())
        blocker.dispose()
        assert order_counts(killed_url) == {"wang": 399}
        resumed = outcome(killed_url)
    assert resumed.differences(reference) == []


# -- a concurrent backfill ---------------------------------------------------------------

BACKFILL_ORDERS = 1500
BACKFILL_KILLS = 2


def overtaken_after_a_commit(
    model: LatencyModel, process: subprocess.Popen[bytes], database_url: str, workers: Workers
) -> bool:
    """Wait until this worker committed a page and two later pages came back while an earlier
    one (a straggler) is still being served; False if the worker ended first."""
    seen = sum(order_counts(database_url).values())
    deadline = time.monotonic() + 60
    while process.poll() is None and sum(order_counts(database_url).values()) == seen:
        assert time.monotonic() < deadline, f"no page committed:\n{workers.tail()}"
        time.sleep(0.005)  # polled, not waited for
    while process.poll() is None and model.overtaken() < 2:
        assert time.monotonic() < deadline, f"no page overtaken:\n{workers.tail()}"
        time.sleep(0.002)
    return process.poll() is None


def test_a_worker_killed_while_several_pages_are_in_flight_resumes_to_the_same_ledger(
    databases: tuple[str, str], redis_db: tuple[str, Redis], tmp_path: Path
) -> None:
    """The kill aimed by the store's own count of pages served: after a committed page, while
    later pages overtook an earlier one. The bookmark covered only the booked prefix, so the
    resumed backfill loses and doubles nothing."""
    killed_url, clean_url = databases
    redis_url, redis = redis_db
    documents = {"wang": store_orders(BACKFILL_ORDERS, seed=2, start=20_001, malformed=700)}
    with sandbox_alliance(tmp_path, documents) as alliance:
        # 45 ms a page alone, shared as on 2 cores; every fifth page a straggler that later
        # pages overtake: the kill lands while they wait to be booked after it
        model = LatencyModel(TWO_CORE, scale=0.1, straggler_every=5, straggler_factor=8)
        alliance.stores["wang"].latency = model
        reference = uninterrupted_run(alliance, clean_url)
        assert model.peak >= 2  # the reference backfill read pages at once too
        env = alliance.env(killed_url, redis_url, ALLIANCE_LOCK_TTL_SECONDS="1")
        kills: list[int] = []
        with worker_processes(env, tmp_path) as workers:
            for _attempt in range(4 * BACKFILL_KILLS):
                if len(kills) == BACKFILL_KILLS:
                    break
                queue_every_member(redis, alliance.members)
                [process] = workers.start()
                if not overtaken_after_a_commit(model, process, killed_url, workers):
                    assert process.returncode == 0, workers.tail()
                    continue
                workers.kill(process)
                kills.append(order_counts(killed_url).get("wang", 0))
            queue_every_member(redis, alliance.members)  # then one pass nobody interrupts
            workers.wait(workers.start())
    assert len(kills) == BACKFILL_KILLS, f"only {kills} kills landed"
    assert all(0 < booked < BACKFILL_ORDERS - 1 for booked in kills), kills
    assert order_counts(killed_url) == {"wang": BACKFILL_ORDERS - 1}  # one is quarantined
    assert outcome(killed_url).differences(reference) == [], f"after kills {kills}"


# -- gift packs -----------------------------------------------------------------------------

GIFT_ORDERS = 240
"""Qualifying orders at Li: three batches of coupons per partner, one note each."""

ISSUING_FAULTS = "slow:0.25@path=coupons/batch,slow:0.02@path=notes"
"""Coupon batches and notes take a while, so a kill lands inside issuing."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_database(tmp_path, "gifts.db")
        return
    with postgres_database() as url:
        yield url


def issuing_started(redis: Redis) -> bool:
    return StartedJobRegistry(GIFTPACK_QUEUE, connection=redis).count > 0


def store_writes(stores: Mapping[str, SandboxHandle], ids: list[int]) -> int:
    """Coupons the partners' stores hold plus notes on li's orders: what issuing wrote."""
    coupons = sum(len(h.state.coupons()) for m, h in stores.items() if m != "li")
    return coupons + sum(len(stores["li"].state.notes(n)) for n in ids)


def after_store_writes(
    process: subprocess.Popen[bytes],
    stores: Mapping[str, SandboxHandle],
    ids: list[int],
    writes: int,
    workers: Workers,
) -> None:
    """Return just after the worker's ``writes``-th write to a store lands (or it ended):
    a coupon batch or a note, so the kill falls between two calls of one pack."""
    seen = store_writes(stores, ids)
    deadline = time.monotonic() + 60
    while writes and process.poll() is None:
        assert time.monotonic() < deadline, f"nothing written to a store:\n{workers.tail()}"
        now = store_writes(stores, ids)
        if now != seen:
            seen, writes = now, writes - 1
        time.sleep(0.005)


def leased_now(engine: Engine) -> bool:
    with engine.connect() as conn:
        return giftpacks.leased(conn, "li", datetime.now(UTC))


def test_a_worker_killed_while_issuing_gift_packs_leaves_every_pack_whole(
    tmp_path: Path, redis_db: tuple[str, Redis], database: str
) -> None:
    redis_url, redis = redis_db
    ids = list(range(50_001, 50_001 + GIFT_ORDERS))
    documents = {"li": [li_order(n) for n in ids], "wang": [], "zhang": [], "zhao": []}
    with sandbox_alliance(tmp_path, documents, faults=ISSUING_FAULTS) as alliance:
        li = alliance.stores["li"]
        engine = open_database(database)
        sync_member(
            engine,
            load_agreement(alliance.config),
            WooCommerceStore("li", li.url, li.key.consumer_key, li.key.consumer_secret),
            secret=SECRET.encode(),
        )  # the orders are booked; issuing is what gets killed
        env = alliance.env(database, redis_url, ALLIANCE_LOCK_TTL_SECONDS="1")

        def queue_again() -> None:  # as the next sync of li would
            with engine.connect() as conn:
                pending = giftpacks.orders_with_work(conn, load_agreement(alliance.config), "li")
            jobs.queue_gift_packs(redis, "li", pending, engine=engine)

        rng = random.Random(SEED)
        kills: list[GiftPackState] = []
        with worker_processes(env, tmp_path) as workers:
            for _attempt in range(4 * KILLS):
                if len(kills) == KILLS:
                    break
                queue_again()
                [process] = workers.start()
                deadline = time.monotonic() + 30
                while process.poll() is None and not issuing_started(redis):
                    assert time.monotonic() < deadline, f"no issuing:\n{workers.tail()}"
                    time.sleep(0.01)
                after_store_writes(process, alliance.stores, ids, rng.randint(1, 6), workers)
                if process.poll() is not None:
                    assert process.returncode == 0, workers.tail()
                    continue
                workers.kill(process)
                kills.append(gift_pack_state(database, alliance.stores, ids))
                deadline = time.monotonic() + 30
                while leased_now(engine):  # the dead worker's leases (1 s) run out
                    assert time.monotonic() < deadline, "a dead worker's lease never ran out"
                    time.sleep(0.05)
            queue_again()  # then one pass nobody interrupts
            workers.wait(workers.start())
        final = gift_pack_state(database, alliance.stores, ids)
        engine.dispose()

    assert len(kills) == KILLS, f"only {len(kills)} kills landed"
    total = 3 * GIFT_ORDERS
    assert any(0 < k.coupons_in_stores < total or 0 < k.noted < GIFT_ORDERS for k in kills), [
        (k.coupons_in_stores, k.noted) for k in kills
    ]
    assert set(final.packs.values()) == {"issued"} and len(final.packs) == GIFT_ORDERS
    for member in ("wang", "zhang", "zhao"):
        assert len(final.planned[member]) == GIFT_ORDERS  # one coupon per partner per pack
        assert final.created[member] == final.planned[member]  # no orphan or missing code
    assert all(len(notes) == 1 for notes in final.notes.values()), {
        n: len(notes) for n, notes in final.notes.items() if len(notes) != 1
    }
