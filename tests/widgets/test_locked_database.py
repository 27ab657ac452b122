"""A locked SQLite file never freezes the web app: while another process or connection holds
the write lock, clicks, ``/healthz`` and blocks answer within a second, and every click that
got its 302 is written once the lock is released: none lost, none counted twice."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from alliance.agreement import Agreement
from alliance.storage.database import refused_for_now, write_lock_free
from tests.widgets.test_app import Server
from tests.widgets.test_blocks import BROWSER_FETCH, make_app, seed_partners
from tests.widgets.test_redirect import BROWSER, token

LINK = f"/r/{token('li', 'zhao', '401', 'li-zhao')}"  # a per-click deal: clicks are booked too
T = TypeVar("T")
ANSWER_WITHIN = 1.0
"""Seconds any answer may take while the database is locked."""

_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN " + sys.argv[2])
conn.execute("UPDATE products SET name = name WHERE 0")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


@contextmanager
def another_process_locks(path: Path, how: str) -> Iterator[Callable[[], None]]:
    """A second process holds the write lock (``BEGIN IMMEDIATE`` or ``EXCLUSIVE``) until the
    block ends or the yielded function is called."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"
    released = threading.Lock()

    def release() -> None:
        with released:
            if holder.poll() is None:
                holder.stdin.write("go\n")  # type: ignore[union-attr]
                holder.stdin.flush()  # type: ignore[union-attr]
                assert holder.wait(timeout=10) == 0

    try:
        yield release
    finally:
        release()


@contextmanager
def another_connection_locks(path: Path, how: str) -> Iterator[Callable[[], None]]:
    """A second connection in this process holds the write lock until the block ends."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"BEGIN {how}")
    conn.execute("UPDATE products SET name = name WHERE 0")

    def release() -> None:
        if conn.in_transaction:
            conn.execute("COMMIT")

    try:
        yield release
    finally:
        release()
        conn.close()


HOLDERS = {"process": another_process_locks, "connection": another_connection_locks}


def stored(path: Path) -> tuple[list[str], int]:
    """The click ids stored and the ledger entries booked, read as any reader would."""
    with sqlite3.connect(path) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM clicks")]
        (entries,) = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()
    return ids, entries


def click_id(answer: httpx.Response) -> str:
    return parse_qs(urlsplit(answer.headers["location"]).query)["utm_content"][0]


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """What ``call`` returned, and the seconds it took."""
    start = time.monotonic()
    answer = call()
    return answer, time.monotonic() - start


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def app_and_path(sqlite_engine: Engine, agreement: Agreement):
    seed_partners(sqlite_engine, per_member=6)  # zhao's products are 400-405
    return make_app(sqlite_engine, agreement), Path(sqlite_engine.url.database)


@pytest.mark.parametrize(
    ("holder", "how"),
    [("process", "EXCLUSIVE"), ("process", "IMMEDIATE"), ("connection", "IMMEDIATE")],
)
def test_while_the_write_lock_is_held_nothing_waits_and_no_click_is_lost(
    app_and_path, holder: str, how: str
) -> None:
    app, path = app_and_path
    with Server(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/w/li/article").status_code == 200  # a block in the cache
        assert http.get("/healthz").json()["status"] == "ok"

        def click(n: int) -> tuple[httpx.Response, float]:
            return timed(lambda: http.get(LINK, headers={"user-agent": f"{BROWSER} v/{n}"}))

        with HOLDERS[holder](path, how), ThreadPoolExecutor(8) as pool:
            clicks = list(pool.map(click, range(40)))  # 40 shoppers, 8 at a time
            health, health_took = timed(lambda: http.get("/healthz"))
            cached, cached_took = timed(lambda: http.get("/w/li/article"))
            cold, cold_took = timed(lambda: http.get("/w/li/cart"))
            assert stored(path) == ([], 0)  # nothing could be written yet
        assert [a.status_code for a, _ in clicks] == [302] * 40
        assert max(took for _, took in clicks) < ANSWER_WITHIN
        assert (health.status_code, health.json()["status"]) == (200, "database busy")
        assert health_took < ANSWER_WITHIN
        assert (cached.status_code, cold.status_code) == (200, 200)
        assert max(cached_took, cold_took) < ANSWER_WITHIN
        sent = sorted(click_id(a) for a, _ in clicks)
        assert wait_for(lambda: len(stored(path)[0]) >= 40), "the held clicks were not written"
        assert wait_for(lambda: http.get("/healthz").json()["status"] == "ok")
        assert http.get(LINK, headers={"user-agent": f"{BROWSER} after"}).status_code == 302
    ids, entries = stored(path)
    assert sorted(ids) == sorted([*sent, ids[-1]]) and len(set(ids)) == 41  # none lost or doubled
    assert entries == 41  # 41 distinct shoppers on a per-click deal: each click paid once


def test_past_the_bound_a_click_gets_a_quick_503_and_is_not_recorded(
    app_and_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import widgets.held_clicks as held_clicks

    monkeypatch.setattr(held_clicks, "MAX_HELD_CLICKS", 5)
    app, path = app_and_path
    with Server(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        with another_process_locks(path, "IMMEDIATE"), caplog.at_level(logging.WARNING):
            answers = [
                timed(lambda n=n: http.get(LINK, headers={"user-agent": f"{BROWSER} v/{n}"}))
                for n in range(8)
            ]
        assert [a.status_code for a, _ in answers] == [302] * 5 + [503] * 3
        assert max(took for _, took in answers) < ANSWER_WITHIN
        refused = answers[-1][0]
        assert refused.headers["retry-after"] and "location" not in refused.headers
        sent = sorted(click_id(a) for a, _ in answers[:5])
        assert wait_for(lambda: len(stored(path)[0]) >= 5)
    assert sorted(stored(path)[0]) == sent
    assert "refused" in caplog.text


def test_clicks_held_when_the_server_stops_are_written_once_the_lock_is_released(
    app_and_path,
) -> None:
    app, path = app_and_path
    with (
        another_process_locks(path, "IMMEDIATE") as release,
        Server(app) as base,
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        answers = [http.get(LINK, headers={"user-agent": f"{BROWSER} v/{n}"}) for n in range(3)]
        assert stored(path) == ([], 0)
        threading.Timer(0.5, release).start()  # while the server is stopping
    assert [a.status_code for a in answers] == [302] * 3
    assert sorted(stored(path)[0]) == sorted(click_id(a) for a in answers)


def test_impressions_counted_during_a_long_lock_are_written_after_it(
    tmp_path: Path,
    agreement: Agreement,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A lock outlasting the busy timeout once made the impressions flush fail, which lost
    the counts it had drained and stopped every later flush."""
    import alliance.storage.database as database
    import widgets.app as app_module

    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 300)  # 30 s in production
    monkeypatch.setattr(app_module, "IMPRESSIONS_FLUSH_SECONDS", 0.2)
    engine = database.open_database(f"sqlite:///{tmp_path / 'alliance.db'}")
    seed_partners(engine, per_member=6)
    path = tmp_path / "alliance.db"

    def written() -> int:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT coalesce(sum(cards), 0) FROM impressions").fetchone()[0]

    try:
        app = make_app(engine, agreement)
        with (  # a shopper's browser running embed.js: only its requests count as cards shown
            Server(app) as base,
            httpx.Client(base_url=base, timeout=10, headers=BROWSER_FETCH) as http,
        ):
            kept = "impressions not added to the database, kept for the next try"
            with another_process_locks(path, "IMMEDIATE"), caplog.at_level(logging.WARNING):
                for placement in ("article", "cart", "thankyou"):
                    failed = caplog.text.count(kept)
                    assert http.get(f"/w/li/{placement}?embed=1").status_code == 200
                    assert wait_for(lambda n=failed: caplog.text.count(kept) > n)  # a flush fails
                assert written() == 0
            shown = sum(app.state.impressions.totals.values())
            assert wait_for(lambda: written() == shown), f"{written()} of {shown} cards written"
            assert http.get("/w/li/product?embed=1").status_code == 200  # flushing goes on
            shown = sum(app.state.impressions.totals.values())
            assert wait_for(lambda: written() == shown), f"{written()} of {shown} cards written"
    finally:
        engine.dispose()


def test_the_lock_probe_says_busy_within_its_wait_and_free_once_released(
    sqlite_engine: Engine,
) -> None:
    path = Path(sqlite_engine.url.database)
    with another_connection_locks(path, "EXCLUSIVE") as release:
        answer, took = timed(lambda: write_lock_free(sqlite_engine, 0.2))
        assert answer is False and 0.15 < took < ANSWER_WITHIN
        with pytest.raises(OperationalError) as refused, sqlite_engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=0")
            conn.exec_driver_sql(
                "INSERT INTO impressions (day, source_member, placement, partner, cards) "
                "VALUES ('2026-12-01', 'li', 'x', 'wang', 1)"
            )
        assert refused_for_now(refused.value)
        release()
        assert write_lock_free(sqlite_engine, 0.2) is True
    with pytest.raises(OperationalError) as wrong, sqlite_engine.connect() as conn:
        conn.exec_driver_sql("SELECT * FROM no_such_table")
    assert not refused_for_now(wrong.value)  # a real failure is not "busy for now"


def test_held_clicks_are_judged_in_the_order_they_came(app_and_path) -> None:
    app, path = app_and_path
    with Server(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        with another_process_locks(path, "IMMEDIATE"):
            answers = [http.get(LINK, headers={"user-agent": BROWSER}) for _ in range(3)]
            answers.append(http.get(LINK, headers={"user-agent": "curl/8.5.0"}))
        assert [a.status_code for a in answers] == [302] * 4
        assert wait_for(lambda: len(stored(path)[0]) == 4)
    with sqlite3.connect(path) as conn:
        verdicts = dict(conn.execute("SELECT id, invalid_reason FROM clicks"))
        (entries,) = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()
    assert [verdicts[click_id(a)] or "valid" for a in answers] == [
        "valid",
        "duplicate",
        "duplicate",
        "bot",
    ]
    assert entries == 1  # one paid click, as with the database free
