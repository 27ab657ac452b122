"""Workers leave promptly: two ``alliance worker --burst`` processes exit within seconds of the
last job, not after RQ's 60-second wait for a pub/sub message (rq 3 with redis-py 8.2)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from alliance.storage.database import open_database
from alliance.storage.schema import orders
from worker.keys import QUEUES, SYNC_QUEUE
from worker.queues import enqueue_syncs
from worker.workers import PUBSUB_WAIT_SECONDS, PromptForkWorker, PromptSimpleWorker

ALLIANCE = Path(sys.executable).with_name("alliance")
PROMPT = 5.0
"""Seconds a burst worker may take to leave once the queues are empty (the wait is 1 s)."""


def test_two_burst_workers_exit_within_seconds_of_the_last_job(alliance, redis_url):
    redis = Redis.from_url(redis_url)
    assert enqueue_syncs(redis, ["li", "wang", "zhang"]) == ["li", "wang", "zhang"]
    env = {**os.environ, "ALLIANCE_REDIS_URL": redis_url}
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [str(ALLIANCE), "worker", "--burst"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    queue = Queue(SYNC_QUEUE, connection=redis)
    running = StartedJobRegistry(queue=queue)
    while (queue.count or running.count) and time.monotonic() - started < 90:
        time.sleep(0.05)
    done = time.monotonic()  # the last job has finished: nothing is left to do
    for worker in workers:
        _out, err = worker.communicate(timeout=90)
        assert worker.returncode == 0, err[-2000:]
    assert time.monotonic() - done < PROMPT, "a burst worker lingered after its work"
    engine = open_database(alliance.database_url)
    with engine.connect() as conn:
        members = conn.execute(select(func.count(func.distinct(orders.c.member)))).scalar_one()
    engine.dispose()
    assert members == 3


def test_a_worker_stops_listening_within_a_second_of_being_told(redis_url):
    """The listener blocked in its wait (as when the reply to RQ's UNSUBSCRIBE is read before
    the stop flag is set: a race) stops within its short wait; RQ's would hold it for 60 s."""
    redis = Redis.from_url(redis_url)
    for kind in (PromptSimpleWorker, PromptForkWorker):
        worker = kind(list(QUEUES), connection=redis)
        worker.subscribe()
        channel = worker.pubsub_channel_name
        deadline = time.monotonic() + 10
        while redis.pubsub_numsub(channel) != [(channel.encode(), 1)]:
            assert time.monotonic() < deadline, "the worker never subscribed to its channel"
            time.sleep(0.01)  # then the listener reads the confirmation and waits for more
        assert worker.pubsub_thread.is_alive()
        started = time.monotonic()
        worker.pubsub_thread.stop()  # what RQ's unsubscribe does, when no reply wakes it
        assert time.monotonic() - started < PUBSUB_WAIT_SECONDS + 1.5, kind.__name__
        assert not worker.pubsub_thread.is_alive()
        worker.pubsub.close()
