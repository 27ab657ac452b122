"""One worker per member at a time: a Redis lock with a TTL, and a fencing token.

The lock (``SET NX EX``) keeps a second worker from starting a member's sync while one runs;
its TTL frees the member when the holder dies (SIGKILL, a lost machine). A lock alone is not
enough: a holder that stalls past the TTL (a long GC pause, a frozen VM) wakes up believing it
still holds it. So each acquisition also takes a fencing token (an ``INCR``, always larger than
the last), and every page the sync commits first records the token in the database
(:func:`alliance.services.sync_records.pass_fence`), refusing if a newer token already wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from sqlalchemy import Connection, Engine

from alliance.agreement import Agreement
from alliance.errors import RetriableError
from alliance.services import sync_records as records
from alliance.settings import Settings
from connector.members import sync_one
from connector.sync import Progress, SyncReport
from worker.connection import connect
from worker.keys import key_for

LOCK_TTL_SECONDS = 300
"""How long a silent holder keeps the member; the sync refreshes it after every page."""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_REBASE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local token = redis.call('incr', KEYS[2])
if token < tonumber(ARGV[2]) then
  token = tonumber(ARGV[2])
  redis.call('set', KEYS[2], token)
end
redis.call('set', KEYS[1], token, 'KEEPTTL')
return token
"""
_REFRESH = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""


class LockLost(RetriableError):
    """Another worker took the member over (this one stalled past its lock's TTL)."""


@dataclass
class MemberLock:
    """``with MemberLock(redis, "li") as lock: ...``; ``lock.token`` is the fencing token."""

    redis: Redis
    member: str
    ttl: int = LOCK_TTL_SECONDS
    token: int | None = None

    @property
    def key(self) -> str:
        return key_for("lock", self.member)

    def acquire(self) -> bool:
        token = int(self.redis.incr(key_for("fence", self.member)))
        if self.redis.set(self.key, token, nx=True, ex=self.ttl):
            self.token = token
            return True
        return False

    def refresh(self) -> bool:
        if self.token is None:
            return False
        return bool(self.redis.eval(_REFRESH, 1, self.key, self.token, self.ttl))

    def release(self) -> None:
        if self.token is not None:
            self.redis.eval(_RELEASE, 1, self.key, self.token)
            self.token = None

    def holder(self) -> int | None:
        value = self.redis.get(self.key)
        return int(value) if value is not None else None

    def guard(self, conn: Connection) -> None:
        """The fencing check, run inside each page's transaction before it commits."""
        if self.token is not None and records.pass_fence(conn, self.member, self.token):
            self.refresh()
            return
        stored = records.current_fence(conn, self.member)
        rebased = self.token is not None and stored is not None and self._rebase(stored + 1)
        if rebased and records.pass_fence(conn, self.member, self.token):  # type: ignore[arg-type]
            self.refresh()
            return
        raise LockLost(
            f"{self.member}: another worker now syncs this member (fencing token "
            f"{self.token} is stale); this worker's page was not committed"
        )

    def _rebase(self, minimum: int) -> bool:
        """Still the holder, but Redis lost its counter (a restart without persistence, a
        flush, a failover) and our token is older than the database's: move the counter past
        it and take a fresh token, atomically, only if the lock is still ours."""
        fence = key_for("fence", self.member)
        token = self.redis.eval(_REBASE, 2, self.key, fence, self.token, minimum)
        if not token:
            return False
        self.token = int(token)
        return True


def locked_syncs(
    engine: Engine,
    agreement: Agreement,
    settings: Settings,
    members: list[str],
    *,
    full: bool = False,
    progress: Callable[[str], Progress | None] | None = None,
) -> list[SyncReport]:
    """``alliance sync`` beside running workers: each member under its lock and fencing."""
    redis = connect(settings.require_redis())  # a message, not a traceback, when it is down
    reports = []
    for member in members:
        lock = MemberLock(redis, member, ttl=settings.lock_ttl_seconds)
        if not lock.acquire():
            reports.append(SyncReport(member, skipped="a worker is syncing this member now"))
            continue
        try:
            reports.append(
                sync_one(
                    engine,
                    agreement,
                    settings,
                    member,
                    full=full,
                    progress=progress(member) if progress else None,
                    guard=lock.guard,
                )
            )
        finally:
            lock.release()
    return reports
