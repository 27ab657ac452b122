"""Clicks held in memory while SQLite cannot take them, so a shop's page never waits on us.

The click writer commits on the event loop (:mod:`widgets.click_writer`) through a connection
that does not wait for SQLite's write lock. It used to wait up to 30 s: while another process
held the lock (a sync) the whole app froze, clicks, ``/healthz`` and blocks alike (17-45 s).
Now a batch the database refuses for now (the lock is held, or the disk is full) comes here:

* Its clicks join a queue, behind any held before them, so they are judged in the order they
  came. A thread of its own writes the queue a batch at a time as soon as the database takes
  it, trying again while it is busy or full; new clicks queue behind until it is empty.
* Each request still waits for its click's commit, but no longer than :data:`HOLD_SECONDS`:
  then its 302 goes out and the click stays held. A batch leaves the queue only once
  committed, and click ids are write-if-new, so no click is dropped or written twice.
* At most :data:`MAX_HELD_CLICKS` are held. Past that a click is refused
  (:class:`DatabaseBusy`: a 503 with ``Retry-After``, nothing recorded and no click id sent
  out), counted and logged: a 302 is never sent for a click that cannot be kept.
* When the app stops, held clicks get :data:`STOP_WAIT_SECONDS` to be written; any left are
  logged as lost. They live in memory only, so a crash while the lock is held loses them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from itertools import islice
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine

from alliance.errors import RetriableError
from alliance.storage.database import refused_for_now

log = logging.getLogger("alliance.clicks")

HOLD_SECONDS = 0.25
"""How long a request waits for its held click's commit before its 302 goes out anyway: a
lock held for a moment (another process's commit) still gives a durable click, a long one
costs each shopper a quarter of a second."""

MAX_HELD_CLICKS = 10_000
"""Clicks a process holds at most (a few MB); past it a click is refused with a 503."""

RETRY_AFTER_SECONDS = 5
"""``Retry-After`` of the 503 a refused click gets."""

WRITE_WAIT_MS = 1000
"""How long the holding thread's connection waits for the write lock at each try."""

PAUSE_SECONDS = (0.01, 0.25)
"""The pause after a refused try: the first, doubled up to the second (a full disk refuses
at once; a held lock was already waited for, :data:`WRITE_WAIT_MS`)."""

WARN_AFTER_SECONDS = 1.0
"""Holding is logged once it lasts this long."""

STOP_WAIT_SECONDS = 10.0
"""How long a stopping app lets its held clicks be written before it gives up on them."""

T = TypeVar("T")
Waiter = asyncio.Future[None]
"""The request waiting for its click to be committed (or let go)."""


class DatabaseBusy(RetriableError):
    """The database cannot take clicks now and this process already holds as many as it may."""


class HeldClicks(Generic[T]):
    """The queue of held clicks and the thread that writes it (see the module's docstring).

    ``write(conn, clicks)`` records a batch inside the transaction it is given.
    """

    def __init__(
        self, engine: Engine, write: Callable[[Connection, list[T]], object], batch_size: int
    ) -> None:
        self.engine = engine
        self.write = write
        self.batch_size = batch_size
        self.holding = False
        """True from the first click held until the last is committed: clicks queue here."""
        self.refused = 0
        """Clicks refused since the app started (each got a 503)."""
        self.busy_since: float | None = None  # time.monotonic() when holding began
        self._refused_before = 0  # self.refused when holding began
        self._warned = False  # holding has been logged
        self._queue: deque[tuple[T, Waiter]] = deque()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._giving_up = threading.Event()

    def __len__(self) -> int:
        return len(self._queue)

    def hold(self, batch: list[tuple[T, Waiter]]) -> None:
        """On the event loop: queue ``batch`` behind the clicks held before it. Each waiter is
        released at its click's commit or after :data:`HOLD_SECONDS`, whichever comes first;
        past :data:`MAX_HELD_CLICKS` a waiter gets :class:`DatabaseBusy`."""
        loop = asyncio.get_running_loop()
        with self._lock:
            room = max(MAX_HELD_CLICKS - len(self._queue), 0)
            taken, refused = batch[:room], batch[room:]
            self._queue.extend(taken)
            if not self.holding:
                self.holding, self.busy_since = True, time.monotonic()
                self._refused_before, self._warned = self.refused, False
            if self._thread is None:
                self._giving_up.clear()
                self._thread = threading.Thread(
                    target=self._write_held, name="alliance-held-clicks", daemon=True
                )
                self._thread.start()
        for _, waiter in taken:
            loop.call_later(HOLD_SECONDS, _let_go, waiter)
        if refused:
            if self.refused == self._refused_before:
                log.warning(
                    "%d clicks held: more clicks are refused (503) until the database takes them",
                    MAX_HELD_CLICKS,
                )
            self.refused += len(refused)
            error = DatabaseBusy(f"the database is busy and {MAX_HELD_CLICKS} clicks are held")
            for _, waiter in refused:
                resolve(waiter, error)

    def stop(self) -> None:
        """Let the held clicks be written for up to :data:`STOP_WAIT_SECONDS`, then give up."""
        thread = self._thread
        if thread is None:
            return
        thread.join(timeout=STOP_WAIT_SECONDS)
        self._giving_up.set()
        thread.join(timeout=WRITE_WAIT_MS / 1000 + 1)

    def _write_held(self) -> None:
        """The holding thread: write the queue, a batch at a time, until it is empty."""
        pause = PAUSE_SECONDS[0]
        conn: Connection | None = None
        try:
            while True:
                with self._lock:
                    if not self._queue or self._giving_up.is_set():
                        self._finish()
                        return
                    batch = list(islice(self._queue, self.batch_size))
                try:
                    if conn is None:
                        conn = self.engine.connect()
                        conn.exec_driver_sql(f"PRAGMA busy_timeout={WRITE_WAIT_MS}")
                        conn.commit()
                    with conn.begin():
                        self.write(conn, [click for click, _ in batch])
                except Exception as exc:
                    if refused_for_now(exc):
                        self._warn_once(exc)
                        self._giving_up.wait(pause)
                        pause = min(pause * 2, PAUSE_SECONDS[1])
                        continue
                    log.error("recording %d held click(s) failed: %r", len(batch), exc)
                    error: BaseException | None = exc
                else:
                    error, pause = None, PAUSE_SECONDS[0]
                with self._lock:
                    for _ in batch:
                        self._queue.popleft()
                for _, waiter in batch:
                    _resolve_from_thread(waiter, error)
        finally:
            if conn is not None:
                conn.invalidate()  # its busy timeout must not go back to the pool

    def _finish(self) -> None:
        """Under the lock: the queue is written (or given up on); new clicks go inline."""
        if self._queue:
            log.error(
                "%d held click(s) could not be written before the app stopped: lost",
                len(self._queue),
            )
            self._queue.clear()
        elif self._warned or self.refused > self._refused_before:
            log.warning(
                "the database takes clicks again: held them for %.1f s, refused %d",
                time.monotonic() - (self.busy_since or time.monotonic()),
                self.refused - self._refused_before,
            )
        self.holding, self.busy_since, self._thread = False, None, None

    def _warn_once(self, error: BaseException) -> None:
        """Log holding once it has lasted :data:`WARN_AFTER_SECONDS` (a truncating
        checkpoint or another process's commit holds clicks for a few ms: not worth a line)."""
        since = self.busy_since or time.monotonic()
        if not self._warned and time.monotonic() - since >= WARN_AFTER_SECONDS:
            self._warned = True
            log.warning(
                "the database has refused clicks for %.0f s (%s); holding them in memory "
                "(at most %d) until it takes them",
                time.monotonic() - since,
                getattr(error, "orig", error),
                MAX_HELD_CLICKS,
            )


def resolve(done: Waiter, error: BaseException | None) -> None:
    """On the loop: tell a waiting request its click's outcome (nothing if it has gone)."""
    if done.done():  # let go already, or the client disconnected
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


def _let_go(done: Waiter) -> None:
    """The request stops waiting for its held click's commit: its 302 goes out now."""
    if not done.done():
        done.set_result(None)


def _resolve_from_thread(done: Waiter, error: BaseException | None) -> None:
    with suppress(RuntimeError):  # the loop has closed: nobody waits any more
        done.get_loop().call_soon_threadsafe(resolve, done, error)
