"""One writer per process records clicks in batches, so a click costs a share of a commit.

A click must be stored before its 302 leaves (durability), but one transaction per click makes
every request wait for a commit, and under load the writers queue for SQLite's single write
lock (``bench/clicks.py``: about 600 clicks/s, p99 over 300 ms). So ``/r`` hands its click to
this writer and waits: the writer takes the clicks that have arrived (up to
:data:`MAX_BATCH`), judges them in one transaction (two queries a batch; each click also
sees the batch's earlier ones), writes them at once, commits, and only then releases the
waiting requests. A failed batch fails every waiting request: none gets a 302 (a batch the
database refuses only for now, busy or full, is held instead: see below).

Where the batch is written depends on the database (measured in ``bench/clicks.py``):

* **SQLite** (a file in this process): on the event loop itself, as soon as the requests
  that arrived together have been prepared. A commit here is CPU work in this process, and
  a writer thread would only trade the GIL with the loop on every click: 3,100 clicks/s
  inline against 1,950/s with a thread. While a batch is written the loop waits, like the
  clicks in it, but never for the write lock: the connection does not wait for it
  (:data:`LOOP_WAIT_MS`), and a batch the database refuses for now (another process holds
  the lock, a checkpoint restarts the WAL, the disk is full) is held in memory and written
  by a thread (:mod:`widgets.held_clicks`); its requests get their 302 at the commit or
  after a quarter of a second. The batches go through one connection of their own that
  never checkpoints the WAL as it commits (a checkpoint syncs the disk: 10-20 ms here, and
  the loop would wait through it); a thread keeps the WAL small beside the writer instead
  (:class:`alliance.storage.wal.WalKeeper`), and the connection checkpoints itself only if
  the WAL reaches :data:`BACKSTOP_PAGES`.
* **A database server** (PostgreSQL): on a thread of its own, so the loop goes on while the
  batch crosses the network (1,750 clicks/s against 1,300/s inline).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement
from alliance.clicks import Click
from alliance.services.booking import book_clicks_in
from alliance.storage.database import refused_for_now
from alliance.storage.wal import WalKeeper
from widgets.held_clicks import HeldClicks, Waiter, resolve
from widgets.links import LinkClaim
from widgets.visitors import Candidate, ClickJudge

log = logging.getLogger("alliance.clicks")

MAX_BATCH = 64
"""Clicks per transaction at most: enough to amortise a commit, small enough to stay quick."""

BACKSTOP_PAGES = 2048
"""WAL pages (4 KiB each) at which the writer's own commits checkpoint after all (8 MiB,
twice what the WAL keeper holds the log to), should the keeper fall behind."""

LOOP_WAIT_MS = 0
"""How long the event loop's connection waits for SQLite's write lock: not at all (a batch
it cannot write now is held, :mod:`widgets.held_clicks`)."""


@dataclass(frozen=True)
class PendingClick:
    claim: LinkClaim
    click_id: str
    visitor: str
    agent: str
    at: datetime


_STOP = object()


class ClickWriter:
    """The process's click writer (see the module's docstring for where it writes)."""

    def __init__(
        self,
        engine: Engine,
        agreement: Agreement,
        judge: ClickJudge,
        *,
        inline: bool | None = None,
    ) -> None:
        self.engine = engine
        self.agreement = agreement
        self.judge = judge
        self.inline = engine.dialect.name == "sqlite" if inline is None else inline
        """Write on the event loop (SQLite) rather than on a thread of its own."""
        self._waiting: list[tuple[PendingClick, Waiter]] = []  # inline: this loop's batch
        self._connection: Connection | None = None  # inline: the batches' own connection
        self.held: HeldClicks[PendingClick] = HeldClicks(engine, self._write, MAX_BATCH)
        """Inline: clicks the database could not take yet."""
        self.wal = WalKeeper(engine)
        self._queue: queue.Queue[object] = queue.Queue()  # threaded
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def record(self, click: PendingClick) -> None:
        """Store ``click`` (judged, booked) and return once it is committed; while the
        database cannot take it, once it has been held for a moment (:class:`HeldClicks`)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if self.inline and self.held.holding:  # behind the clicks held before it
            self.held.hold([(click, done)])
        elif self.inline:
            self._waiting.append((click, done))
            if len(self._waiting) == 1:  # the first of a batch: write once the others are in
                loop.call_soon(self._write_waiting)
        else:
            self._ensure_started()
            self._queue.put((click, done))
        await done

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
        self.held.stop()
        self.wal.stop()
        if self._connection is not None:
            self._connection.invalidate()  # its pragmas must not go back to the pool
            self._connection.close()
            self._connection = None

    # -- inline ----------------------------------------------------------------------------

    def _write_waiting(self) -> None:
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        if self._waiting:
            asyncio.get_running_loop().call_soon(self._write_waiting)
        if self.held.holding:  # clicks before these are held: these wait behind them
            self.held.hold(batch)
        else:
            self.write_batch(batch, self._loop_connection)

    def _loop_connection(self) -> Connection:
        """The inline batches' connection (opened on first use), and the WAL keeper."""
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
            if self.engine.dialect.name != "sqlite":
                return self._connection  # only SQLite has a WAL and a write lock to mind
            self._connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            self._connection.exec_driver_sql(f"PRAGMA busy_timeout={LOOP_WAIT_MS}")
            self._connection.commit()
        self.wal.start()
        return self._connection

    # -- threaded --------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="alliance-click-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    self.write_batch(batch)  # type: ignore[arg-type]
                    return
                batch.append(item)
            self.write_batch(batch)  # type: ignore[arg-type]

    # -- both ------------------------------------------------------------------------------

    def write_batch(
        self,
        batch: list[tuple[PendingClick, Waiter]],
        connection: Callable[[], Connection] | None = None,
    ) -> None:
        """One transaction for these clicks (on ``connection()``, else a pooled connection);
        every waiter learns the outcome."""
        error: BaseException | None = None
        try:
            if connection is None:
                with self.engine.begin() as conn:
                    self._write(conn, [click for click, _ in batch])
            else:
                conn = connection()
                with conn.begin():
                    self._write(conn, [click for click, _ in batch])
        except BaseException as exc:  # every waiting request learns of it: none gets a 302
            if self.inline and refused_for_now(exc):
                self.held.hold(batch)  # busy or full for now: written when it frees
                return
            log.error("recording %d click(s) failed: %r", len(batch), exc)
            error = exc
        for _click, waiter in batch:
            if self.inline:
                resolve(waiter, error)
            else:
                waiter.get_loop().call_soon_threadsafe(resolve, waiter, error)

    def _write(self, conn: Connection, pending: list[PendingClick]) -> None:
        verdicts = self.judge.judge_batch(
            conn,
            [Candidate(c.claim.deal_id, c.visitor, c.agent, c.at, c.claim.target) for c in pending],
        )
        records = [
            Click(
                id=click.click_id,
                source_member=click.claim.source,
                target_member=click.claim.target,
                deal_id=click.claim.deal_id,
                clicked_at=click.at,
                product_id=click.claim.product_id,
                placement=click.claim.placement,
                visitor_key=click.visitor,
                agent_class=click.agent,
                valid=verdict.valid,
                invalid_reason=verdict.reason,
            )
            for click, verdict in zip(pending, verdicts, strict=True)
        ]
        book_clicks_in(conn, self.agreement, records, records[-1].clicked_at)
