"""The jobs: plain functions, ids in, results persisted in the database.

The same functions run under RQ (``alliance worker``) and in one process (``alliance run``),
so the pipeline cannot differ between the two. Each job loads the settings from the
environment, the agreement from its file, and reuses one database engine per process.

Jobs are coarse on purpose: RQ costs several milliseconds per job (more with the forking
worker), so there is one job per member sync and one per webhook-delivered order, never one
per order of a sync.

Failure policy: a retriable store error (down, throttled, garbled) raises
:class:`SyncFailed`, so RQ retries the job with backoff; a fatal one (bad keys, forbidden)
has already marked the member as needing attention and the job ends normally, because
retrying cannot fix keys.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.agreement.parse import load_agreement
from alliance.errors import RetriableError
from alliance.settings import Settings
from alliance.storage.database import open_database
from connector.connect import open_store
from connector.members import policy_from, sync_one
from connector.sync import SyncReport, sync_order
from worker.locks import MemberLock

log = logging.getLogger("alliance.jobs")

_ENGINES: dict[str, Engine] = {}


def _after_fork_in_child() -> None:
    """A forked job (``alliance worker --fork``) keeps the parent's engines, already migrated,
    but must never use the parent's pooled connections: it opens its own."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


class SyncFailed(RetriableError):
    """A member's sync stopped on a store error that may pass; RQ retries the job."""


@dataclass(frozen=True)
class Context:
    settings: Settings
    agreement: Agreement
    engine: Engine
    redis: Redis | None


def context(settings: Settings | None = None) -> Context:
    """What a job needs, from the environment; the engine is reused within a process."""
    settings = settings or Settings.from_env()
    agreement = load_agreement(settings.config_path)
    engine = _ENGINES.get(settings.database_url)
    if engine is None:
        engine = _ENGINES[settings.database_url] = open_database(settings.database_url)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    return Context(settings, agreement, engine, redis)


def close_engines() -> None:
    """Dispose of the engines jobs opened in this process (the demo, tests)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def sync_member_job(
    member: str, full: bool = False, *, settings: Settings | None = None
) -> dict[str, Any]:
    """Sync one member's store: what changed since its bookmark, booked.

    Under RQ only ``member`` (and ``full``) travel; the settings come from the environment.
    """
    started = time.perf_counter()
    ctx = context(settings)
    if member not in ctx.agreement.members:
        log.error("job sync %s: not a member of %s; nothing done", member, ctx.agreement.source)
        return {"member": member, "status": "unknown member"}
    ttl = ctx.settings.lock_ttl_seconds
    lock = MemberLock(ctx.redis, member, ttl=ttl) if ctx.redis is not None else None
    if lock is not None and not lock.acquire():
        log.info("job sync %s: another worker is syncing this member; skipped", member)
        return {"member": member, "status": "skipped: another worker holds the member"}
    try:
        report = sync_one(
            ctx.engine,
            ctx.agreement,
            ctx.settings,
            member,
            full=full,
            guard=lock.guard if lock is not None else None,
        )
    finally:
        if lock is not None:
            lock.release()
    outcome = summary(report, time.perf_counter() - started)
    log_job("sync", outcome)
    if report.error is not None and isinstance(report.error, RetriableError):
        raise SyncFailed(str(report.error))
    return outcome


def process_order_job(member: str, order_id: int) -> dict[str, Any]:
    """A webhook said this order changed: read it back from the store and book it."""
    started = time.perf_counter()
    ctx = context()
    store = open_store(ctx.agreement.members[member], policy=policy_from(ctx.settings))
    try:
        result = sync_order(
            ctx.engine, ctx.agreement, store, order_id, secret=ctx.settings.require_secret()
        )
    finally:
        store.close()
    outcome = {
        "member": member,
        "order": order_id,
        "status": "ok",
        "seconds": round(time.perf_counter() - started, 3),
        "fetched": 1,
        "applied": result.orders_applied,
        "booked": result.entries_booked,
        "quarantined": len(result.rejected),
    }
    log_job("order", outcome)
    return outcome


def settle_period_job() -> dict[str, Any]:
    """Slot for monthly settlement (its own issue): scheduled now, settles nothing yet."""
    outcome = {"status": "slot: settlement arrives with its issue; nothing was changed"}
    log_job("settle", outcome)
    return outcome


def issue_gift_packs_job(member: str, order_id: int) -> dict[str, Any]:
    """Slot for the gift-pack promotions issue: nothing is issued yet."""
    outcome = {"member": member, "order": order_id, "status": "slot: nothing issued yet"}
    log_job("gift-packs", outcome)
    return outcome


def flush_clicks_job() -> dict[str, Any]:
    """Slot for the widgets issue (clicks are recorded there): nothing to flush yet."""
    outcome = {"status": "slot: nothing to flush yet"}
    log_job("clicks", outcome)
    return outcome


def summary(report: SyncReport, seconds: float) -> dict[str, Any]:
    """A sync's outcome as a job result: counts only, nothing personal, no secrets."""
    return {
        "member": report.member,
        "status": "ok" if report.ok else f"failed: {report.error.kind}",  # type: ignore[union-attr]
        "seconds": round(seconds, 3),
        "requests": report.requests,
        "fetched": report.orders_fetched,
        "applied": report.booking.orders_applied,
        "booked": report.booking.entries_booked,
        "quarantined": report.quarantined,
        "bookmark": report.bookmark.isoformat() if report.bookmark else None,
        "error": str(report.error) if report.error else None,
    }


def log_job(kind: str, outcome: dict[str, Any]) -> None:
    """One line per job; ``alliance --log-format json`` turns the fields into JSON keys."""
    fields = {k: v for k, v in outcome.items() if v is not None and k != "error"}
    text = " ".join(f"{k}={v}" for k, v in fields.items())
    fine = str(outcome.get("status", "ok")).startswith(("ok", "slot", "skip"))
    extra = {"job": kind, "fields": fields}
    log.log(logging.INFO if fine else logging.WARNING, "job %s %s", kind, text, extra=extra)
