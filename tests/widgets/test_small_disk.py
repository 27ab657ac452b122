"""SQLite's WAL under click load, on a small disk: it stays under its bound, goes back to
nothing when the clicks stop, and a full disk holds clicks until space is freed, then the app
records again. The small disk is a 20 MB tmpfs, mounted for the test (skipped where it cannot
be mounted); the bound is also checked on an ordinary temporary directory."""

from __future__ import annotations

import errno
import http.client
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.storage.database import WAL_LIMIT_BYTES, open_database
from alliance.storage.wal import wal_bytes
from tests.widgets.test_app import Server
from tests.widgets.test_blocks import make_app, seed_partners
from tests.widgets.test_locked_database import ANSWER_WITHIN, stored, timed, wait_for
from tests.widgets.test_redirect import BROWSER, token

SMALL_DISK_MB = 20
LOAD_CLICKS = 5000
"""Enough clicks to write several times the WAL's bound (and, with an unbounded WAL, to fill
the small disk)."""
WAL_BOUND = 2 * WAL_LIMIT_BYTES + 1024 * 1024
"""The most the WAL may reach: twice its limit (where the click writer's own backstop
checkpoint is), plus a batch's pages. It was 64 MiB."""

LINKS = [
    f"/r/{token('li', 'zhao', str(400 + n), 'li-zhao', placement)}"
    for n in range(6)
    for placement in ("product", "cart", "thankyou", "article")
]


def mount_small_disk(where: Path) -> None:
    """A tmpfs of :data:`SMALL_DISK_MB` at ``where``; skips the test when it cannot be mounted
    (not root, no mount namespace)."""
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK_MB}m", "tmpfs", str(where)],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a {SMALL_DISK_MB} MB tmpfs here: {exc}")


def unmount(where: Path) -> None:
    if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(where)], check=True)  # still open somewhere


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mount_small_disk(disk)
    try:
        yield disk
    finally:
        unmount(disk)


@pytest.fixture(params=["small tmpfs", "tmp dir"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return request.getfixturevalue("small_disk") if request.param == "small tmpfs" else tmp_path


@pytest.fixture
def engine_on(disk: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{disk / 'alliance.db'}")
    seed_partners(engine, per_member=6)  # zhao's products are 400-405
    yield engine
    engine.dispose()


class WalSizes:
    """The WAL file's size, sampled every few milliseconds on a thread while in use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sizes: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.sizes.append(wal_bytes(self.path))

    def __enter__(self) -> WalSizes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def click_load(base: str, clicks: int, connections: int = 16) -> Counter[int]:
    """``clicks`` clicks by as many shoppers over ``connections`` keep-alive connections;
    the statuses they got."""
    address = urlsplit(base)

    def one_connection(first: int) -> Counter[int]:
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        statuses: Counter[int] = Counter()
        for n in range(first, clicks, connections):
            conn.request("GET", LINKS[n % len(LINKS)], headers={"User-Agent": f"{BROWSER} {n}"})
            answer = conn.getresponse()
            answer.read()
            statuses[answer.status] += 1
        conn.close()
        return statuses

    with ThreadPoolExecutor(connections) as pool:
        return sum(pool.map(one_connection, range(connections)), Counter())


def test_a_long_click_load_keeps_the_wal_under_its_bound_and_empties_it_when_idle(
    disk: Path, engine_on: Engine, agreement: Agreement
) -> None:
    database = disk / "alliance.db"
    wal = disk / "alliance.db-wal"
    with Server(make_app(engine_on, agreement)) as base, WalSizes(wal) as sampled:
        statuses = click_load(base, LOAD_CLICKS)
        assert wait_for(lambda: wal_bytes(wal) == 0, seconds=5), "the idle WAL was not truncated"
    assert statuses == {302: LOAD_CLICKS}
    written = max(sampled.sizes)
    assert written <= WAL_BOUND, f"the WAL reached {written / 2**20:.1f} MiB"
    assert len(set(stored(database)[0])) == LOAD_CLICKS


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; returns it (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (256 * 1024, 4096, 1):  # the last pages too
            try:
                while out.write(b"\0" * size):
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def test_on_a_full_disk_clicks_are_held_and_recorded_once_space_is_freed(
    small_disk: Path, agreement: Agreement
) -> None:
    engine = open_database(f"sqlite:///{small_disk / 'alliance.db'}")
    seed_partners(engine, per_member=6)
    database, wal = small_disk / "alliance.db", small_disk / "alliance.db-wal"
    try:
        app = make_app(engine, agreement)
        with Server(app) as base, httpx.Client(base_url=base, timeout=10) as http:

            def click(n: int) -> tuple[httpx.Response, float]:
                return timed(lambda: http.get(LINKS[n], headers={"user-agent": f"{BROWSER} {n}"}))

            assert click(0)[0].status_code == 302
            assert wait_for(lambda: wal_bytes(wal) == 0), "the idle WAL was not truncated"
            filler = fill(small_disk)
            while_full = [click(n) for n in range(1, 6)]
            health = http.get("/healthz").json()
            assert stored(database)[0] != [] and len(stored(database)[0]) == 1
            filler.unlink()  # space is freed
            assert wait_for(lambda: len(stored(database)[0]) == 6), "held clicks not written"
            after = click(6)[0]
            assert wait_for(lambda: http.get("/healthz").json()["status"] == "ok")
    finally:
        engine.dispose()
    assert [a.status_code for a, _ in while_full] == [302] * 5
    assert max(took for _, took in while_full) < ANSWER_WITHIN
    assert health["status"] == "database busy" and health["clicks_held"] == 5
    assert after.status_code == 302
    ids, entries = stored(database)
    assert len(ids) == len(set(ids)) == 7 and entries == 7  # none lost, none doubled
