"""Putting jobs on RQ queues, each at most once, and looking at what is there.

A member's sync has one deterministic job id and is enqueued with ``unique=True``, so a
schedule tick, a webhook burst and ``alliance enqueue sync`` together still queue it once.
Finished jobs keep no result in Redis (``result_ttl=0``: the outcome is in the database), so
the id is free again as soon as a sync ends. A sync that failed for good stays in RQ's failed
registry, listed by ``alliance jobs failed``, until it is retried: by hand
(``alliance jobs retry ID``) or by the next schedule tick.

A sync that failed on a store that may come back waits for its retry in RQ's scheduled
registry: its id is taken meanwhile (so ``enqueue`` queues nothing), ``alliance jobs`` lists it
with when it runs next, and ``jobs retry ID`` or ``enqueue sync --now`` bring it forward.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import (
    DeferredJobRegistry,
    FailedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.worker import Worker

from alliance.errors import BadInputError
from worker import jobs
from worker.connection import reached
from worker.keys import ORDERS_QUEUE, QUEUES, SYNC_QUEUE, order_job_id, sync_job_id
from worker.locks import MemberLock

SYNC_RETRY = Retry(max=4, interval=[30, 120, 600, 1800])
"""A store that is down or throttling gets four more tries over about 45 minutes."""

SYNC_TIMEOUT = 3600
"""Seconds a sync may run: a first backfill of a large, slow store takes a while."""

FAILURE_TTL = 7 * 24 * 3600
"""Failed jobs are kept a week for ``alliance jobs failed``."""


def queue(redis: Redis, name: str) -> Queue:
    return Queue(name, connection=redis)


def enqueue_syncs(
    redis: Redis, members: Iterable[str], *, full: bool = False, now: bool = False
) -> list[str]:
    """Queue a sync for each member not already queued or running; returns those queued.
    ``now``: a sync waiting for its retry is queued now instead (brought forward)."""
    target = queue(redis, SYNC_QUEUE)
    failed = FailedJobRegistry(queue=target)
    queued = []
    for member in members:
        job_id = sync_job_id(member)
        _free_if_abandoned(redis, job_id, member)
        if job_id in failed.get_job_ids():
            failed.requeue(job_id)  # the schedule retries what failed for good last time
            queued.append(member)
            continue
        if now and _bring_forward(redis, target, job_id):
            queued.append(member)
            continue
        try:
            target.enqueue(
                jobs.sync_member_job,
                member,
                full=full,
                job_id=job_id,
                unique=True,
                retry=SYNC_RETRY,
                job_timeout=SYNC_TIMEOUT,
                result_ttl=0,
                failure_ttl=FAILURE_TTL,
                description=f"sync {member}",
            )
            queued.append(member)
        except DuplicateJobError:
            continue  # queued or running already: never twice
    return queued


def _bring_forward(redis: Redis, target: Queue, job_id: str) -> bool:
    """Queue now a job that waits in the scheduled registry (a retry); False if it is not
    there (any more: the scheduler may just have queued it)."""
    try:
        ScheduledJobRegistry(queue=target).requeue(job_id)
    except (InvalidJobOperation, NoSuchJobError):
        return False
    return True


def sync_waits(redis: Redis, members: Iterable[str]) -> dict[str, datetime]:
    """Members whose sync waits for its retry, and when RQ queues it (UTC)."""
    registry = ScheduledJobRegistry(queue=queue(redis, SYNC_QUEUE))
    times = _scheduled_times(redis, registry)
    return {m: times[sync_job_id(m)] for m in members if sync_job_id(m) in times}


def sync_state(redis: Redis, member: str) -> str:
    """Where a member's sync that was not queued stands, in words for ``alliance enqueue``."""
    try:
        status = Job.fetch(sync_job_id(member), connection=redis).get_status(refresh=False)
    except NoSuchJobError:
        return "already queued or running"
    if status == JobStatus.STARTED:
        return "running now"
    if status == JobStatus.SCHEDULED:
        when = sync_waits(redis, [member]).get(member)
        due = f" at {clock_time(when)}" if when else ""
        return f"waits for its retry{due}; `alliance enqueue sync --now` runs it now"
    if status == JobStatus.DEFERRED:
        return "waits for another job to finish"
    return "already queued"


def clock_time(moment: datetime, now: datetime | None = None) -> str:
    """``23:45:00 UTC (in 9 min)``: when a job runs next, for people."""
    now = now or datetime.now(UTC)
    seconds = int((moment - now).total_seconds())
    if seconds <= 0:
        relative = "due now"
    elif seconds < 120:
        relative = f"in {seconds} s"
    elif seconds < 7200:
        relative = f"in {seconds // 60} min"
    else:
        relative = f"in {seconds // 3600} h {seconds % 3600 // 60} min"
    day = "" if moment.date() == now.date() else moment.strftime("%Y-%m-%d ")
    return f"{day}{moment:%H:%M:%S} UTC ({relative})"


def _scheduled_times(redis: Redis, registry: ScheduledJobRegistry) -> dict[str, datetime]:
    entries = redis.zrange(registry.key, 0, -1, withscores=True)
    return {
        (key.decode() if isinstance(key, bytes) else str(key)): datetime.fromtimestamp(score, UTC)
        for key, score in entries
    }


def _free_if_abandoned(redis: Redis, job_id: str, member: str) -> None:
    """A sync RQ still calls started, while nobody holds the member's lock, died with its
    worker (SIGKILL, a lost machine): delete it, so the member can be queued again at once.

    The lock is the truth about who syncs a member: a running sync holds it and refreshes it
    after every page; RQ's own bookkeeping would keep the dead job "started" for its whole
    timeout. (A worker that has just taken the job but not yet the lock would see its job
    deleted; its sync still completes, and the re-queued one then finds nothing to do.)
    """
    try:
        job = Job.fetch(job_id, connection=redis)
        started = job.get_status(refresh=False) == JobStatus.STARTED
        if started and MemberLock(redis, member).holder() is None:
            job.delete()
    except (NoSuchJobError, InvalidJobOperation):
        return  # it finished (and vanished) meanwhile: nothing to free


def enqueue_order(redis: Redis, member: str, order_id: int, *, deleted: bool = False) -> bool:
    """Queue "sync this order" (a webhook delivery; ``deleted``: an ``order.deleted`` one);
    duplicates collapse into one job. Raises :class:`~worker.connection.RedisUnavailable`
    when Redis is down."""
    try:
        with reached(redis):  # the web app's first use of Redis may be long after it started
            queue(redis, ORDERS_QUEUE).enqueue(
                jobs.process_order_job,
                member,
                order_id,
                **({"deleted": True} if deleted else {}),
                job_id=order_job_id(member, order_id, deleted=deleted),
                unique=True,
                retry=Retry(max=3, interval=[10, 60, 300]),
                result_ttl=0,
                failure_ttl=FAILURE_TTL,
                description=f"order {member}#{order_id}" + (" deleted" if deleted else ""),
            )
        return True
    except DuplicateJobError:
        return False


class JobNotFound(BadInputError):
    """``alliance jobs retry`` was given an id that is not a failed job."""


@dataclass(frozen=True)
class JobLine:
    """One row of ``alliance jobs``."""

    id: str
    queue: str
    status: str
    description: str
    enqueued_at: str
    error: str
    next_run: datetime | None = None  # a scheduled job (a retry): when RQ queues it
    retries_left: int | None = None


def list_jobs(redis: Redis, *, failed_only: bool = False) -> list[JobLine]:
    """Every job on the queues: queued, running, waiting for its retry (scheduled), waiting
    for another job (deferred) and failed; ``failed_only``: the failed ones."""
    lines = []
    for name in QUEUES:
        target = queue(redis, name)
        ids: list[str] = []
        next_runs: dict[str, datetime] = {}
        if not failed_only:
            ids += target.get_job_ids()
            ids += StartedJobRegistry(queue=target).get_job_ids()
            next_runs = _scheduled_times(redis, ScheduledJobRegistry(queue=target))
            ids += list(next_runs)
            ids += DeferredJobRegistry(queue=target).get_job_ids()
        ids += FailedJobRegistry(queue=target).get_job_ids()
        for job in Job.fetch_many(list(dict.fromkeys(ids)), connection=redis):
            if job is None:
                continue
            status = job.get_status(refresh=False) or JobStatus.QUEUED
            error = ""
            if status in (JobStatus.FAILED, JobStatus.SCHEDULED):  # a retry: why it waits
                result = job.latest_result()
                text = ((result.exc_string if result else "") or "").strip()
                error = text.splitlines()[-1] if text else str(job.meta.get(jobs.LAST_ERROR, ""))
            lines.append(
                JobLine(
                    job.id,
                    name,
                    str(getattr(status, "value", status)),
                    job.description or "",
                    job.enqueued_at.isoformat(timespec="seconds") if job.enqueued_at else "",
                    error[:200],
                    next_runs.get(job.id),
                    job.retries_left,
                )
            )
    return lines


def retry_job(redis: Redis, job_id: str) -> str:
    """Put a failed job back on its queue, or queue now one that waits for its retry
    (``alliance jobs retry ID``); returns what was done, in words."""
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        message = f"no job {job_id!r}; `alliance jobs` lists the queued, waiting and failed ones"
        raise JobNotFound(message) from None
    status = job.get_status()
    target = queue(redis, job.origin)
    if status == JobStatus.FAILED:
        FailedJobRegistry(queue=target).requeue(job_id)
        return "queued again"
    if status == JobStatus.SCHEDULED:
        due = _scheduled_times(redis, ScheduledJobRegistry(queue=target)).get(job_id)
        if _bring_forward(redis, target, job_id) and due is not None:
            return f"queued now (its retry was due at {clock_time(due)})"
        return "queued now"
    state = {JobStatus.QUEUED: "queued", JobStatus.STARTED: "running"}.get(
        status, str(getattr(status, "value", status))
    )
    raise JobNotFound(
        f"job {job_id!r} is {state}, not failed or waiting for a retry; nothing to do"
    )


def depths(redis: Redis) -> dict[str, int]:
    return {name: queue(redis, name).count for name in QUEUES}


def live_workers(redis: Redis) -> list[str]:
    return sorted(w.name for w in Worker.all(connection=redis))
