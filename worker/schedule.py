"""The schedule, with RQ's own ``CronScheduler``: member syncs every N minutes, and a daily
settlement check that settles the previous month on its settlement day. No home-made cron
loop when Redis is there (``alliance run`` is the no-Redis mode).

The scheduler only enqueues ticks; the tick (:func:`schedule_syncs_job`) queues
one sync per member under its unique id. So several ``alliance worker`` processes, each with a
scheduler, still queue each member's sync once.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

from redis import Redis
from rq.cron import CronScheduler

from alliance.settings import Settings
from worker import jobs
from worker.keys import HOUSEKEEPING_QUEUE
from worker.logs import configure_logging
from worker.queues import enqueue_syncs

SETTLEMENT_CRON = "0 3 * * *"
"""03:00 UTC every day: the job settles the previous month once, from its settlement day on
(the month's end plus the agreement's ``holdback_days``), and logs what blocks it until then."""


def schedule_syncs_job() -> dict[str, Any]:
    """The schedule's tick: queue a sync of every member (each at most once)."""
    ctx = jobs.context()
    if ctx.redis is None:
        return {"status": "no redis", "queued": 0}
    queued = enqueue_syncs(ctx.redis, list(ctx.agreement.members))
    outcome = {"status": "ok", "queued": len(queued), "members": queued}
    jobs.log_job("schedule", outcome)
    return outcome


def build_scheduler(redis: Redis, settings: Settings) -> CronScheduler:
    scheduler = CronScheduler(connection=redis, name="")
    scheduler.register(
        schedule_syncs_job,
        queue_name=HOUSEKEEPING_QUEUE,
        interval=settings.sync_interval_minutes * 60,
        result_ttl=0,
        name="sync every member",
    )
    scheduler.register(
        jobs.settle_period_job,
        queue_name=HOUSEKEEPING_QUEUE,
        cron=SETTLEMENT_CRON,
        result_ttl=3600,
        name="monthly settlement (checked daily)",
    )
    return scheduler


def _run_scheduler(redis_url: str, parent: int, log_format: str, log_level: str) -> None:
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    configure_logging(log_format, log_level)  # a spawned child: the worker's lines, its format
    settings = Settings.from_env()
    build_scheduler(Redis.from_url(redis_url), settings).start()


def _exit_with_parent(parent: int) -> None:
    """A worker killed with SIGKILL cannot stop its scheduler: the scheduler notices instead."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def start_scheduler_process(
    redis_url: str, *, log_format: str = "text", log_level: str = "info"
) -> BaseProcess:
    """The cron scheduler in a child process of ``alliance worker`` (it owns its signals),
    logging as the worker does."""
    process = multiprocessing.get_context("spawn").Process(
        target=_run_scheduler,
        args=(redis_url, os.getpid(), log_format, log_level),
        name="alliance-cron",
        daemon=True,
    )
    process.start()
    return process
