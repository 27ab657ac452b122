"""The job functions on a real Redis with RQ's own worker, and in one process without Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import func, select

from alliance.services import sync_records as records
from alliance.storage.database import open_database
from alliance.storage.schema import ledger_entries, orders
from tests.e2e.support import empty
from worker import jobs
from worker.keys import QUEUES, sync_job_id
from worker.locks import LockLost, MemberLock
from worker.queues import enqueue_syncs, list_jobs, retry_job
from worker.runner import Runner
from worker.workers import PromptSimpleWorker


def counts(database_url: str) -> tuple[int, int, int]:
    engine = open_database(database_url)
    with engine.connect() as conn:
        order_count = conn.execute(select(func.count()).select_from(orders)).scalar_one()
        entries = conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()
        total = conn.execute(select(func.coalesce(func.sum(ledger_entries.c.amount_minor), 0)))
        result = (order_count, entries, int(total.scalar_one()))
    engine.dispose()
    return result


def work(redis: Redis) -> None:
    PromptSimpleWorker(list(QUEUES), connection=redis).work(burst=True, with_scheduler=False)


def test_a_queued_sync_runs_under_rq_and_books_the_store(alliance, redis_url, monkeypatch):
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    assert enqueue_syncs(redis, ["li", "wang"]) == ["li", "wang"]
    assert enqueue_syncs(redis, ["li", "wang", "zhang"]) == ["zhang"]  # never queued twice
    work(redis)
    assert counts(alliance.database_url)[0] == 60 + 150 + 30
    assert list_jobs(redis) == []  # done, nothing kept: the outcome is in the database
    assert enqueue_syncs(redis, ["li"]) == ["li"]  # the id is free again


def test_single_process_mode_gives_the_same_ledger_as_the_workers(alliance, redis_url, tmp_path):
    Runner(jobs.context().settings).run(cycles=1)
    single = counts(alliance.database_url)

    other = f"sqlite:///{tmp_path / 'workers.db'}"
    settings = jobs.context().settings
    from dataclasses import replace

    worker_settings = replace(settings, database_url=other, redis_url=redis_url)
    redis = Redis.from_url(redis_url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ALLIANCE_DATABASE_URL", other)
        patch.setenv("ALLIANCE_REDIS_URL", redis_url)
        enqueue_syncs(redis, list(jobs.context(worker_settings).agreement.members))
        work(redis)
    assert counts(other) == single
    assert single[1] > 0


def test_a_store_that_is_down_is_retried_and_bad_keys_are_not(alliance, redis_url, monkeypatch):
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    alliance.stores["li"].faults.set("503@path=orders")
    enqueue_syncs(redis, ["li", "zhao"])
    work(redis)
    failed = {j.id: j for j in list_jobs(redis, failed_only=True)}
    scheduled = redis.zrange("rq:scheduled:alliance-sync", 0, -1)
    assert sync_job_id("li").encode() in scheduled  # to be retried with backoff, not dropped
    assert sync_job_id("zhao") not in failed  # fatal: the member needs attention instead
    engine = open_database(alliance.database_url)
    with engine.connect() as conn:
        zhao = records.load_state(conn, "zhao")
        li = records.load_state(conn, "li")
    engine.dispose()
    assert zhao.needs_attention and "ZHAO_WC_KEY" in zhao.last_error
    assert not li.needs_attention and li.last_error_kind == "unavailable"
    assert li.orders_bookmark is None


def test_a_failed_job_is_listed_and_retried_from_the_cli_functions(
    alliance, redis_url, monkeypatch
):
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    alliance.stores["wang"].faults.set("html@path=orders")
    from rq import Queue

    queue = Queue("alliance-sync", connection=redis)
    queue.enqueue(jobs.sync_member_job, "wang", job_id=sync_job_id("wang"), result_ttl=0)
    work(redis)
    [failed] = list_jobs(redis, failed_only=True)
    assert failed.id == sync_job_id("wang") and "SyncFailed" in failed.error
    assert "HTML page" in failed.error
    alliance.stores["wang"].faults.clear()
    retry_job(redis, failed.id)
    work(redis)
    assert list_jobs(redis, failed_only=True) == []
    assert counts(alliance.database_url)[0] == 150


def test_two_workers_never_sync_one_member_at_once(alliance, redis_url, monkeypatch):
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    holder = MemberLock(redis, "wang")
    assert holder.acquire()
    outcome = jobs.sync_member_job("wang")
    assert outcome["status"].startswith("skipped")
    assert counts(alliance.database_url)[0] == 0
    holder.release()
    assert jobs.sync_member_job("wang")["status"] == "ok"


def test_a_stalled_holder_is_fenced_out_after_its_lock_expires(alliance, redis_url):
    redis = Redis.from_url(redis_url)
    engine = open_database(alliance.database_url)
    stalled = MemberLock(redis, "wang", ttl=1)
    assert stalled.acquire()
    redis.delete(stalled.key)  # its TTL ran out while it was frozen
    newer = MemberLock(redis, "wang")
    assert newer.acquire() and newer.token > stalled.token
    with engine.begin() as conn:
        newer.guard(conn)  # the new holder writes first
    with pytest.raises(LockLost), engine.begin() as conn:
        records.advance_bookmark(conn, "wang", "orders_bookmark", jobs_moment())
        stalled.guard(conn)  # the old one wakes up: refused, and its write rolls back
    with engine.connect() as conn:
        assert records.load_state(conn, "wang").orders_bookmark is None
    engine.dispose()


def jobs_moment():
    from tests.worker.conftest import BASE

    return BASE + timedelta(days=1)


def test_webhook_orders_are_queued_once_and_booked(alliance, redis_url, monkeypatch):
    from worker.queues import enqueue_order

    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    assert enqueue_order(redis, "wang", 2001)
    assert not enqueue_order(redis, "wang", 2001)  # a duplicate delivery collapses
    assert enqueue_order(redis, "wang", 2003)
    work(redis)
    booked = counts(alliance.database_url)
    assert booked[0] == 2 and booked[1] == 2  # both carry Li's coupon: a commission each
    assert enqueue_order(redis, "wang", 2001)  # a later delivery of the same order: queued again
    work(redis)
    assert counts(alliance.database_url) == booked  # and booked once, whatever the deliveries


def test_syncs_go_on_after_redis_loses_its_counters(alliance, redis_url, monkeypatch):
    """A Redis restart without persistence restarts the fencing counter below the database's
    fence; the holder of the lock moves it past, instead of failing every sync after."""
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    for _ in range(3):
        assert jobs.sync_member_job("zhang")["status"] == "ok"
    empty(redis)  # Redis came back empty (but for this test's claim on the DB)
    alliance.stores["zhang"].state.refund(3001, "1.00")
    outcome = jobs.sync_member_job("zhang")
    assert outcome["status"] == "ok" and outcome["applied"] == 1
    assert int(redis.get("alliance:fence:zhang")) > 3
