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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DeserializationError, DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.agreement.parse import load_agreement
from alliance.audit import Actor
from alliance.errors import RetriableError
from alliance.services import giftpacks
from alliance.services.booking import BookingResult
from alliance.services.settlement import settle_due
from alliance.settings import Settings
from alliance.storage.database import open_database
from connector.connect import open_store
from connector.giftpacks import LinkFor, issue_gift_packs
from connector.members import policy_from, sync_one
from connector.store_connections import connected_environ
from connector.sync import SyncReport, sync_delivered_order
from worker.connection import client
from worker.keys import GIFTPACK_QUEUE, giftpack_job_id
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
    redis = client(settings.redis_url) if settings.redis_url else None
    return Context(settings, agreement, engine, redis)


def close_engines() -> None:
    """Dispose of the engines jobs opened in this process (the demo, tests)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def sync_member_job(
    member: str,
    full: bool = False,
    *,
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
    follow_up: bool = True,
) -> dict[str, Any]:
    """Sync one member's store: what changed since its bookmark, booked.

    Under RQ only ``member`` (and ``full``) travel; the settings come from the environment.
    With Redis (and ``follow_up``), a gift-pack job is then queued per trigger order with work
    (``alliance run`` does that work in its own process instead).
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
            clock=clock,
        )
    finally:
        if lock is not None:
            lock.release()
    outcome = summary(report, time.perf_counter() - started)
    log_job("sync", outcome)
    if follow_up and ctx.redis is not None and report.ok:
        queue_gift_packs(ctx.redis, member, gift_pack_orders(ctx, member), engine=ctx.engine)
    if report.error is not None and isinstance(report.error, RetriableError):
        raise SyncFailed(str(report.error))
    return outcome


def process_order_job(member: str, order_id: int, deleted: bool = False) -> dict[str, Any]:
    """A webhook said this order changed (``deleted``: was deleted): read it back and book it."""
    started = time.perf_counter()
    ctx = context()
    credentials = connected_environ(ctx.engine, ctx.agreement, ctx.settings)
    store = open_store(ctx.agreement.members[member], credentials, policy=policy_from(ctx.settings))
    try:
        secret = ctx.settings.require_secret()
        booked = sync_delivered_order(
            ctx.engine, ctx.agreement, store, order_id, deleted=deleted, secret=secret
        )
    finally:
        store.close()
    result = booked or BookingResult()  # None: nothing to book (logged why)
    if ctx.redis is not None and any(p.trigger_member == member for p in ctx.agreement.promotions):
        # the job finds out whether the order qualifies
        queue_gift_packs(ctx.redis, member, [order_id], engine=ctx.engine)
    outcome = {
        "member": member,
        "order": order_id,
        "deleted": True if deleted else None,  # order.deleted: trashed, or gone for good
        "status": "ok",
        "seconds": round(time.perf_counter() - started, 3),
        "fetched": 1,
        "applied": result.orders_applied,
        "booked": result.entries_booked,
        "quarantined": len(result.rejected),
    }
    log_job("order", outcome)
    return outcome


SETTLE_COMMAND = "job settle (the worker's schedule)"
"""What the audit log says a scheduled settlement came from."""


def settle_period_job(
    *, settings: Settings | None = None, clock: Callable[[], datetime] | None = None
) -> dict[str, Any]:
    """The monthly settlement: from the previous month's settlement day on (its end plus
    ``holdback_days``, in the alliance's timezone) settle it once, when none of its lines is
    pending; otherwise log what blocks it (and try again at the next run). Scheduled daily,
    so a worker that was down, or a month that was blocked, is settled as soon as it can be."""
    started = time.perf_counter()
    ctx = context(settings)
    now = clock() if clock is not None else datetime.now(UTC)
    actor = Actor(ctx.settings.who, SETTLE_COMMAND)
    outcome = settle_due(ctx.engine, ctx.agreement, now=now, actor=actor)
    outcome["seconds"] = round(time.perf_counter() - started, 3)
    log_job("settle", outcome)
    return outcome


LinkFactory = Callable[[Agreement, bytes], LinkFor | None]
"""(agreement, alliance secret) -> how a gift-pack note links to a partner's store."""

_gift_links: LinkFactory | None = None


def provide_gift_links(factory: LinkFactory | None) -> None:
    """The composition root (``alliance worker``, ``alliance run``) hands the jobs the tracked
    links' signer, which lives with the web app; without it notes carry no links."""
    global _gift_links
    _gift_links = factory


def issue_gift_packs_job(
    member: str,
    order_id: int | str | None = None,
    *,
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
) -> dict[str, Any]:
    """Gift packs of ``member``'s trigger orders: plan, revoke, create coupons, send notes.

    Queued once per trigger order a sync or webhook booked (``order_id``); each run does the
    member's whole open work, grouped per partner store, so the first job of a burst does it
    and the rest find it done. Store failures leave coupons pending for the next run (the
    next sync queues it again), so the job itself never fails on them.
    """
    started = time.perf_counter()
    ctx = context(settings)
    base: dict[str, Any] = {"member": member, "order": order_id}
    if member not in ctx.agreement.members:
        log.error("job gift-packs %s: not a member of %s; nothing done", member,
                  ctx.agreement.source)  # fmt: skip
        return {**base, "status": "unknown member"}
    secret = ctx.settings.require_secret()
    policy = policy_from(ctx.settings)
    agreement = ctx.agreement

    credentials = connected_environ(ctx.engine, agreement, ctx.settings)

    def opener(name: str) -> Any:
        return open_store(agreement.members[name], credentials, policy=policy)

    report = issue_gift_packs(
        ctx.engine,
        agreement,
        secret=secret,
        open_store=opener,
        link_for=_gift_links(agreement, secret) if _gift_links is not None else None,
        members=[member],
        note_wait=timedelta(minutes=ctx.settings.giftpack_note_wait_minutes),
        lease_ttl=timedelta(seconds=ctx.settings.lock_ttl_seconds),
        **({"clock": clock} if clock is not None else {}),
    )
    status = "needs attention" if report.needs_attention else "ok"
    outcome = {**base, "status": status, "seconds": round(time.perf_counter() - started, 3)}
    outcome |= report.summary()
    log_job("gift-packs", outcome)
    return outcome


def gift_pack_orders(ctx: Context, member: str) -> list[str]:
    """The member's trigger orders with gift-pack work (none when it triggers no promotion)."""
    with ctx.engine.connect() as conn:  # a promotion removed: its packs may still be open
        return giftpacks.orders_with_work(conn, ctx.agreement, member)


GIFTPACK_RETRY = Retry(max=3, interval=[60, 300, 1800])
"""A gift-pack job that crashed (not a store failure: those leave coupons pending) tries again."""


def queue_gift_packs(
    redis: Redis,
    member: str,
    order_ids: Iterable[str | int],
    *,
    engine: Engine | None = None,
) -> int:
    """Queue one gift-pack job per trigger order, each at most once; returns how many.

    A job of that id left behind (failed, or started by a worker that died: ``engine`` given
    and no pack of the member is leased now) is replaced, so a crash never blocks an order.
    """
    target = Queue(GIFTPACK_QUEUE, connection=redis)
    queued = 0
    for order_id in order_ids:
        job_id = giftpack_job_id(member, order_id)
        for _attempt in range(2):
            try:
                target.enqueue(
                    issue_gift_packs_job,
                    member,
                    str(order_id),
                    job_id=job_id,
                    unique=True,
                    retry=GIFTPACK_RETRY,
                    result_ttl=0,
                    failure_ttl=7 * 24 * 3600,
                    description=f"gift packs {member}#{order_id}",
                )
                queued += 1
                break
            except DuplicateJobError:
                if not _left_behind(redis, job_id, member, engine):
                    break
    return queued


def _left_behind(redis: Redis, job_id: str, member: str, engine: Engine | None) -> bool:
    """Delete a job of this id that will never run again; True when it was deleted."""
    try:
        job = Job.fetch(job_id, connection=redis)
        status = job.get_status(refresh=False)
    except NoSuchJobError:
        return True  # it ended meanwhile: the id is free
    dead = status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
    if status == JobStatus.STARTED and engine is not None:
        with engine.connect() as conn:  # a live issuer renews its leases after every call
            dead = not giftpacks.leased(conn, member, datetime.now(UTC))
    if dead:
        job.delete()
    return dead


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


def log_job(kind: str, outcome: dict[str, Any], *, level: int | None = None) -> None:
    """One line per job: what, for whom, the outcome, how long, the counts, and in words what
    went wrong; ``alliance --log-format json`` turns the fields into JSON keys."""
    shown = {k: v for k, v in outcome.items() if v is not None}
    fields = {k: v for k, v in shown.items() if k not in ("error", "blocked")}
    text = " ".join(f"{k}={v}" for k, v in fields.items())
    reason = outcome.get("blocked") or outcome.get("error")
    if reason:  # "2026-11 has 3 line(s) ..." (a settlement), "li: GET orders: HTTP 503 ..."
        text += f": {reason}"
    fine = str(outcome.get("status", "ok")).startswith(("ok", "slot", "skip"))
    extra = {"job": kind, "fields": shown}
    level = level or (logging.INFO if fine else logging.WARNING)
    log.log(level, "job %s %s", kind, text, extra=extra)


JOB_KINDS = {
    "sync_member_job": "sync",
    "process_order_job": "order",
    "issue_gift_packs_job": "gift-packs",
    "settle_period_job": "settle",
    "schedule_syncs_job": "schedule",
    "flush_clicks_job": "clicks",
}
"""The job line's name for each job function."""


LAST_ERROR = "alliance_last_error"
"""The job meta key holding why its last run failed (``alliance jobs`` shows it by a retry)."""


def failure_text(error: BaseException | None) -> str:
    """An exception in one line: the last line of its message (typed errors say it all)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[-1][:300]


def log_failed_job(job: Job, error: BaseException | None, seconds: float | None) -> None:
    """The one line of a job that raised (a sync that failed on its store has said so in its
    own line already): what, for whom, how long, the error, and whether RQ tries it again."""
    if isinstance(error, SyncFailed):
        return
    try:
        function, args = (job.func_name or "").rsplit(".", 1)[-1], list(job.args or ())
    except DeserializationError:  # a job this code cannot read: its id says what it was
        function, args = job.id, []
    kind = JOB_KINDS.get(function, function)
    outcome: dict[str, Any] = {"member": args[0] if args else None}
    if kind in ("order", "gift-packs") and len(args) > 1:
        outcome["order"] = args[1]
    outcome["status"] = f"failed: {type(error).__name__}"
    outcome["seconds"] = round(seconds, 3) if seconds is not None else None
    outcome["retry_in_seconds"] = job.get_retry_interval() if job.retries_left else None
    outcome["error"] = failure_text(error)
    passing = isinstance(error, RetriableError)  # a store or Redis that may be back; else a bug
    log_job(kind, outcome, level=logging.WARNING if passing else logging.ERROR)
