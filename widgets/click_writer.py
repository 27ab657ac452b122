"""One writer per process records clicks in batches, so a click costs a share of a commit.

A click must be stored before its 302 leaves (durability), but one transaction per click makes
every request wait for a commit, and under load the writers queue for SQLite's single write
lock (``bench/clicks.py``: about 600 clicks/s, p99 over 300 ms). So ``/r`` hands its click to
this writer and waits: the writer takes the clicks that have arrived (up to
:data:`MAX_BATCH`), judges them in one transaction (two queries a batch; each click also
sees the batch's earlier ones), writes them at once, commits, and only then releases the
waiting requests. A failed batch fails every waiting request: none gets a 302.

Where the batch is written depends on the database (measured in ``bench/clicks.py``):

* **SQLite** (a file in this process): on the event loop itself, as soon as the requests
  that arrived together have been prepared. A commit here is CPU work in this process, and
  a writer thread would only trade the GIL with the loop on every click: 3,100 clicks/s
  inline against 1,950/s with a thread. While a batch is written the loop waits, like the
  clicks in it; a SQLite lock held by another process (a sync) makes it wait longer.
  The batches go through one connection of their own that never checkpoints the WAL as it
  commits (a checkpoint syncs the disk: 10-20 ms here, and the loop would wait through
  it); a thread checkpoints every :data:`CHECKPOINT_SECONDS` beside the writer instead, and
  the connection checkpoints itself only if the WAL reaches :data:`BACKSTOP_PAGES`.
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
from widgets.links import LinkClaim
from widgets.visitors import Candidate, ClickJudge

log = logging.getLogger("alliance.clicks")

MAX_BATCH = 64
"""Clicks per transaction at most: enough to amortise a commit, small enough to stay quick."""

CHECKPOINT_SECONDS = 1.0
"""How often the checkpoint thread copies the WAL into the SQLite database file."""

BACKSTOP_PAGES = 16_000
"""WAL pages (4 KiB each) at which the writer's own commits checkpoint after all (64 MiB)."""


@dataclass(frozen=True)
class PendingClick:
    claim: LinkClaim
    click_id: str
    visitor: str
    agent: str
    at: datetime


Waiter = asyncio.Future[None]
"""The request waiting for its click to be committed."""

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
        self._checkpoints: threading.Thread | None = None
        self._stopping = threading.Event()
        self._queue: queue.Queue[object] = queue.Queue()  # threaded
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def record(self, click: PendingClick) -> None:
        """Store ``click`` (judged, booked) and return once it is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if self.inline:
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
        self._stopping.set()
        if self._checkpoints is not None:
            self._checkpoints.join(timeout=10)
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- inline ----------------------------------------------------------------------------

    def _write_waiting(self) -> None:
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        if self._waiting:
            asyncio.get_running_loop().call_soon(self._write_waiting)
        self.write_batch(batch, self._loop_connection)

    def _loop_connection(self) -> Connection:
        """The inline batches' connection (opened on first use), and the checkpoint thread."""
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
            if self.engine.dialect.name != "sqlite":
                return self._connection  # only SQLite has a WAL to mind
            self._connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            self._connection.commit()
        if self.engine.dialect.name == "sqlite" and (
            self._checkpoints is None or not self._checkpoints.is_alive()
        ):
            self._stopping.clear()
            self._checkpoints = threading.Thread(
                target=self._checkpoint_every, name="alliance-wal-checkpoints", daemon=True
            )
            self._checkpoints.start()
        return self._connection

    def _checkpoint_every(self) -> None:
        """Copy the WAL into the database file now and then, beside the writer (PASSIVE:
        it never blocks the writer or readers; the disk sync happens on this thread)."""
        with self.engine.connect() as conn:
            while not self._stopping.wait(CHECKPOINT_SECONDS):
                try:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    conn.commit()
                except Exception as exc:  # the writer's backstop still checkpoints
                    log.warning("WAL checkpoint failed: %r", exc)

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
            log.error("recording %d click(s) failed: %r", len(batch), exc)
            error = exc
        for _click, waiter in batch:
            if self.inline:
                _resolve(waiter, error)
            else:
                waiter.get_loop().call_soon_threadsafe(_resolve, waiter, error)

    def _write(self, conn: Connection, pending: list[PendingClick]) -> None:
        verdicts = self.judge.judge_batch(
            conn, [Candidate(c.claim.deal_id, c.visitor, c.agent, c.at) for c in pending]
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


def _resolve(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the request went away (client disconnected): nothing to tell
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
