"""Shared pieces of the end-to-end tests: sandbox stores wired into an agreement, real
``alliance worker`` processes, a dedicated Redis DB, fresh databases, and the state two runs
must agree on (ledger, order snapshots, bookmarks, quarantine)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import create_engine, select, text

from alliance.agreement.parse import load_agreement
from alliance.storage.database import open_database
from alliance.storage.schema import ledger_entries, orders, quarantine, sync_state
from connector.sandbox.seed import generate_orders, generate_products
from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.conftest import EXAMPLE, POSTGRES_ADMIN_URL, SECRET
from worker.keys import SYNC_QUEUE, sync_job_id
from worker.locks import MemberLock
from worker.queues import enqueue_syncs

REDIS_BASE_URL = os.environ.get("ALLIANCE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
ALLIANCE = Path(sys.executable).with_name("alliance")
"""The console script of this venv: the worker runs as an operator would start it."""

BOOKMARK_COLUMNS = ("orders_bookmark", "trash_bookmark", "products_bookmark")
MALFORMED = "twelve"
"""An order line total no store would send: the order is quarantined with its reason."""

REDIS_DATABASES = (15, 14, 13, 12, 11, 10, 9)
"""Redis DBs the tests claim, one per running test (the benchmark uses 8)."""

CLAIM = "alliance-e2e:claimed-by"
"""Set (with a TTL) in the DB a test runs on, so a test of another run on this machine,
sharing the Redis server, takes another DB instead of flushing this one."""


@contextmanager
def flushed_redis(worker_id: str) -> Iterator[tuple[str, Redis]]:
    """A Redis DB of this test's own, claimed for as long as it runs, empty before and after:
    each xdist worker starts looking at a different DB, and a DB another test (of this run or
    another on the machine) has claimed is skipped, never flushed."""
    first = (int(worker_id[2:]) if worker_id.startswith("gw") else 0) % len(REDIS_DATABASES)
    token = uuid.uuid4().hex
    for number in REDIS_DATABASES[first:] + REDIS_DATABASES[:first]:
        url = f"{REDIS_BASE_URL}/{number}"
        client = Redis.from_url(url)
        try:
            claimed = client.set(CLAIM, token, nx=True, ex=600)
        except Exception as exc:
            pytest.fail(f"Redis at {REDIS_BASE_URL} is needed for these tests: {exc}")
        if claimed:
            break
        client.close()
    else:
        pytest.fail(f"Redis DBs {REDIS_DATABASES} are all claimed by other test runs")
    try:
        empty(client)
        yield url, client
    finally:
        client.flushdb()
        client.close()


def empty(client: Redis) -> None:
    """Every key but the claim: as a Redis that came back empty, still ours."""
    for key in client.scan_iter():
        if key != CLAIM.encode():
            client.delete(key)


# -- stores and the agreement -------------------------------------------------------------


def store_orders(count: int, *, seed: int, start: int, malformed: int | None = None) -> list:
    """Realistic orders (statuses, refunds, referral coupons); ``malformed`` spoils one."""
    documents = generate_orders(count, seed=seed, start=start)
    if malformed is not None:
        documents[malformed]["line_items"][0]["total"] = MALFORMED
    return documents


@dataclass
class Alliance:
    """Sandbox stores for some members of an agreement file that points at them."""

    config: Path
    stores: dict[str, SandboxHandle]
    members: list[str]

    def env(self, database_url: str, redis_url: str | None = None, **extra: str) -> dict[str, str]:
        """What ``alliance worker`` reads: the environment of a deployment, nothing else."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
        env |= {
            "ALLIANCE_CONFIG": str(self.config),
            "ALLIANCE_DATABASE_URL": database_url,
            "ALLIANCE_SECRET": SECRET,
            "ALLIANCE_HTTP_ATTEMPTS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        if redis_url is not None:
            env["ALLIANCE_REDIS_URL"] = redis_url
        for member in self.members:
            handle = self.stores.get(member)
            env[f"{member.upper()}_WC_KEY"] = handle.key.consumer_key if handle else ""
            env[f"{member.upper()}_WC_SECRET"] = handle.key.consumer_secret if handle else ""
        return env | extra


@contextmanager
def sandbox_alliance(
    directory: Path,
    documents: Mapping[str, list[dict[str, Any]]],
    *,
    extra_toml: str = "",
    faults: str | None = None,
) -> Iterator[Alliance]:
    """A store per key of ``documents``, served from this process; the example agreement
    (plus ``extra_toml``: more members and deals) rewritten to point at them."""
    with ExitStack() as stack:
        stores = {
            member: stack.enter_context(
                start_sandbox(orders=docs, products=generate_products(), faults=faults)
            )
            for member, docs in documents.items()
        }
        content = EXAMPLE.read_text(encoding="utf-8") + extra_toml
        for member, handle in stores.items():
            content = content.replace(f'url = "https://{member}.example"', f'url = "{handle.url}"')
        config = directory / "alliance.toml"
        config.write_text(content, encoding="utf-8")
        members = list(load_agreement(config).members)
        yield Alliance(config, stores, members)


# -- worker processes ---------------------------------------------------------------------


@dataclass
class Workers:
    """``alliance worker --burst`` processes; every one is killed (SIGKILL) on ``close``."""

    env: dict[str, str]
    directory: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self, count: int = 1) -> list[subprocess.Popen]:
        started = []
        for _ in range(count):
            log = self.directory / f"worker-{len(self.logs)}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [str(ALLIANCE), "worker", "--burst"],
                    env=self.env,
                    cwd=self.directory,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            self.processes.append(process)
            self.logs.append(log)
            started.append(process)
        return started

    def wait(self, processes: Iterable[subprocess.Popen], timeout: float = 60) -> None:
        """Wait for burst workers to drain the queues and exit; they must exit cleanly."""
        deadline = time.monotonic() + timeout
        for process in processes:
            try:
                code = process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                message = f"a worker still runs after {timeout} s:\n{self.tail()}"
                raise AssertionError(message) from None
            assert code == 0, f"a worker exited with {code}:\n{self.tail()}"

    def kill(self, process: subprocess.Popen) -> None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    def tail(self, lines: int = 30) -> str:
        if not self.logs:
            return ""
        text_lines = self.logs[-1].read_text(errors="replace").splitlines()
        return "\n".join(text_lines[-lines:])

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def worker_processes(env: dict[str, str], directory: Path) -> Iterator[Workers]:
    workers = Workers(env, directory)
    try:
        yield workers
    finally:
        workers.close()


def queue_every_member(redis: Redis, members: list[str], timeout: float = 15) -> None:
    """Enqueue a sync of every member, as the schedule's ticks would, until each is queued.

    A member whose killed holder's lock has not expired yet is not queued by that tick
    (its abandoned job still counts as running); a later tick, after the lock's TTL, is.
    """
    target = Queue(SYNC_QUEUE, connection=redis)
    deadline = time.monotonic() + timeout
    while True:
        enqueue_syncs(redis, members)
        waiting = set(target.get_job_ids())
        missing = [m for m in members if sync_job_id(m) not in waiting]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"never queued again: {missing}")
        time.sleep(0.1)


def someone_syncs(redis: Redis, members: Iterable[str]) -> bool:
    """Whether any member's lock is held: a sync is under way."""
    return any(MemberLock(redis, m).holder() is not None for m in members)


# -- databases ----------------------------------------------------------------------------


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, migrated database on the PostgreSQL server, dropped at the end."""
    name = f"alliance_e2e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is needed for these tests: {exc}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        open_database(url).dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sqlite_database(directory: Path, name: str) -> str:
    """A fresh, migrated SQLite file (migrated here, so worker processes never race to)."""
    url = f"sqlite:///{directory / name}"
    open_database(url).dispose()
    return url


@dataclass(frozen=True)
class Outcome:
    """What a sync leaves behind that every run must agree on, entry for entry."""

    ledger: frozenset[tuple]
    orders: frozenset[tuple]
    bookmarks: dict[str, tuple]
    quarantine: frozenset[tuple]

    def differences(self, other: Outcome) -> list[str]:
        """Readable differences (a few rows each), empty when the two are equal."""
        found = []
        for name in ("ledger", "orders", "quarantine"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                only_mine = sorted(mine - theirs, key=repr)[:5]
                only_theirs = sorted(theirs - mine, key=repr)[:5]
                found.append(
                    f"{name}: {len(mine)} vs {len(theirs)} rows; only here {only_mine}; "
                    f"only there {only_theirs}"
                )
        if self.bookmarks != other.bookmarks:
            found.append(f"bookmarks: {self.bookmarks} vs {other.bookmarks}")
        return found


def outcome(database_url: str) -> Outcome:
    """The ledger and order snapshots without their ``booked_at`` (a wall-clock time), the
    bookmarks, and the quarantine without its seen-at times."""
    engine = open_database(database_url)
    held = quarantine.c
    try:
        with engine.connect() as conn:

            def rows(*columns: Any) -> frozenset[tuple]:
                return frozenset(tuple(row) for row in conn.execute(select(*columns)))

            states = rows(sync_state.c.member, *(sync_state.c[n] for n in BOOKMARK_COLUMNS))
            return Outcome(
                ledger=rows(*(c for c in ledger_entries.c if c.name != "booked_at")),
                orders=rows(*(c for c in orders.c if c.name != "booked_at")),
                bookmarks={row[0]: row[1:] for row in states},
                quarantine=rows(held.member, held.external_id, held.date_modified, held.reason),
            )
    finally:
        engine.dispose()


def order_counts(database_url: str) -> dict[str, int]:
    """Orders committed per member, read while (or just after) a worker writes."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT member, COUNT(*) FROM orders GROUP BY member"))
            return {member: int(count) for member, count in rows}
    finally:
        engine.dispose()


# -- gift packs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GiftPackState:
    """What issuing gift packs left in the database and in the stores."""

    packs: dict[str, str]  # trigger order id -> pack status
    planned: dict[str, frozenset[str]]  # partner -> codes the database planned there
    created: dict[str, frozenset[str]]  # partner -> codes its store holds
    notes: dict[int, list[str]]  # li order id -> its customer notes

    @property
    def coupons_in_stores(self) -> int:
        return sum(len(codes) for codes in self.created.values())

    @property
    def noted(self) -> int:
        return sum(1 for notes in self.notes.values() if notes)


def gift_pack_state(
    database_url: str, stores: Mapping[str, SandboxHandle], order_ids: Iterable[int]
) -> GiftPackState:
    from alliance.storage.schema import gift_coupons, gift_packs

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            query = select(gift_packs.c.trigger_order_id, gift_packs.c.status)
            packs = {order: status for order, status in conn.execute(query)}
            planned: dict[str, set[str]] = {}
            for member, code in conn.execute(select(gift_coupons.c.member, gift_coupons.c.code)):
                planned.setdefault(member, set()).add(code)
    finally:
        engine.dispose()
    partners = [m for m in stores if m != "li"]
    li = stores["li"].state
    return GiftPackState(
        packs={k: str(v) for k, v in packs.items()},
        planned={m: frozenset(planned.get(m, ())) for m in partners},
        created={m: frozenset(c["code"] for c in stores[m].state.coupons()) for m in partners},
        notes={n: [x["note"] for x in li.notes(n) if x["customer_note"]] for n in order_ids},
    )
