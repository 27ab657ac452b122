"""SQLite's write-ahead log kept small: checkpointed beside the writers, truncated when idle.

Commits append to the ``-wal`` file; a checkpoint copies it into the database, and the next
writer starts the log again from the top, but only if that checkpoint caught up with every
commit. Under a steady stream of clicks a passive checkpoint never quite does, so the log
kept growing (66 MB over a 4.3 MB database), and a file never shrinks by itself: on a small
volume the log alone filled the disk. So a thread (:class:`WalKeeper`) looks at the log's
size every :data:`LOOK_SECONDS` (a ``stat``), and:

* when the log has passed :data:`~alliance.storage.database.WAL_LIMIT_BYTES`, copies all of
  it into the database so that the next writer starts it again from the top, cut back to
  the limit (``wal_checkpoint(RESTART)``), even though writers are busy: they wait for that
  one checkpoint (15 ms here; the click writer holds its clicks meanwhile);
* else, every :data:`CHECKPOINT_SECONDS`, truncates it to nothing when nothing was committed
  since the last checkpoint (``PRAGMA data_version``: idle; ``wal_checkpoint(TRUNCATE)``),
  and otherwise copies what it can without blocking anyone (``PASSIVE``).

Under load the log so stays near the limit (it grows about 8 MB a second at 1,500 clicks a
second here, so by at most a look's worth past it); when the load stops it goes to zero.

Every connection also has ``journal_size_limit`` set, so a log that restarts is cut back to
the limit. A checkpoint that cannot finish (a long reader, another process's lock, a full
disk) is simply tried again at the next look.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from sqlalchemy import Connection, Engine

from alliance.storage.database import WAL_LIMIT_BYTES, refused_for_now

log = logging.getLogger("alliance.storage")

LOOK_SECONDS = 0.1
"""How often the keeper looks at the WAL's size (one ``stat``)."""

CHECKPOINT_SECONDS = 1.0
"""How often the keeper checkpoints a WAL below the limit (passive, or truncating if idle)."""

CHECKPOINT_WAIT_MS = 100
"""How long a truncating checkpoint waits for the write lock and for readers to move on; it
holds writers back while it waits, so it gives up soon and tries again at the next look."""


def wal_path(engine: Engine) -> Path | None:
    """The ``-wal`` file of an SQLite file database; None for anything else."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(f"{database}-wal")


def wal_bytes(path: Path) -> int:
    """The WAL file's size (0 when there is none)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class WalKeeper:
    """Keeps one SQLite database's WAL small from a thread of its own (see the module)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.path = wal_path(engine)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._version: int | None = None
        self._last = time.monotonic()  # the last checkpoint

    def start(self) -> None:
        """Start the thread (again, if it stopped); nothing to do for a server database."""
        if self.path is None or (self._thread is not None and self._thread.is_alive()):
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="alliance-wal", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            try:
                while not self._stopping.wait(LOOK_SECONDS):
                    try:
                        self.tend(conn)
                    except Exception as exc:  # a writer's own autocheckpoint is the backstop
                        if not refused_for_now(exc):
                            log.warning("WAL checkpoint failed: %r", exc)
                        conn.rollback()
            finally:
                conn.invalidate()  # its short busy timeout must not go back to the pool

    def tend(self, conn: Connection) -> str:
        """One look: the checkpoint mode used (``""`` for none)."""
        assert self.path is not None
        size = wal_bytes(self.path)
        due = time.monotonic() - self._last >= CHECKPOINT_SECONDS
        if size == 0 or (size <= WAL_LIMIT_BYTES and not due):
            return ""
        version = conn.exec_driver_sql("PRAGMA data_version").scalar_one()
        idle, self._version = version == self._version, version
        mode = "TRUNCATE" if idle else "RESTART" if size > WAL_LIMIT_BYTES else "PASSIVE"
        conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").fetchall()
        conn.commit()
        self._last = time.monotonic()
        return mode
