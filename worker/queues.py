"""Putting jobs on RQ queues, each at most once, and looking at what is there.

A member's sync has one deterministic job id and is enqueued with ``unique=True``, so a
schedule tick, a webhook burst and ``alliance enqueue sync`` together still queue it once.
Finished jobs keep no result in Redis (``result_ttl=0``: the outcome is in the database), so
the id is free again as soon as a sync ends. A sync that failed for good stays in RQ's failed
registry, listed by ``alliance jobs failed``, until it is retried: by hand
(``alliance jobs retry ID``) or by the next schedule tick.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
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


def enqueue_syncs(redis: Redis, members: Iterable[str], *, full: bool = False) -> list[str]:
    """Queue a sync for each member not already queued or running; returns those queued."""
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


def list_jobs(redis: Redis, *, failed_only: bool = False) -> list[JobLine]:
    lines = []
    for name in QUEUES:
        target = queue(redis, name)
        ids: list[str] = []
        if not failed_only:
            ids += target.get_job_ids()
            ids += StartedJobRegistry(queue=target).get_job_ids()
        ids += FailedJobRegistry(queue=target).get_job_ids()
        for job in Job.fetch_many(ids, connection=redis):
            if job is None:
                continue
            status = job.get_status(refresh=False) or JobStatus.QUEUED
            error = ""
            if status == JobStatus.FAILED:
                result = job.latest_result()
                error = (result.exc_string or "").strip().splitlines()[-1] if result else ""
            lines.append(
                JobLine(
                    job.id,
                    name,
                    str(getattr(status, "value", status)),
                    job.description or "",
                    job.enqueued_at.isoformat(timespec="seconds") if job.enqueued_at else "",
                    error[:200],
                )
            )
    return lines


def retry_job(redis: Redis, job_id: str) -> None:
    """Put a failed job back on its queue (``alliance jobs retry ID``)."""
    try:
        job = Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        message = f"no job {job_id!r}; `alliance jobs failed` lists the failed ones"
        raise JobNotFound(message) from None
    status = job.get_status()
    if status != JobStatus.FAILED:
        raise JobNotFound(f"job {job_id!r} has not failed (it is {status}); nothing to do")
    FailedJobRegistry(queue=queue(redis, job.origin)).requeue(job_id)


def depths(redis: Redis) -> dict[str, int]:
    return {name: queue(redis, name).count for name in QUEUES}


def live_workers(redis: Redis) -> list[str]:
    return sorted(w.name for w in Worker.all(connection=redis))
