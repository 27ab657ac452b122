"""Webhook orders handed to the workers: a deletion travels with the order, and is booked."""

from __future__ import annotations

from redis import Redis

from tests.worker.test_jobs import counts, work
from worker.keys import ORDERS_QUEUE
from worker.queues import enqueue_order, list_jobs


def test_a_queued_deletion_reverses_an_order_the_store_deleted_for_good(
    alliance, redis_url, monkeypatch
):
    monkeypatch.setenv("ALLIANCE_REDIS_URL", redis_url)
    redis = Redis.from_url(redis_url)
    assert enqueue_order(redis, "wang", 2001)
    work(redis)
    assert counts(alliance.database_url)[1:] > (0, 0)  # Li's coupon: a commission
    alliance.stores["wang"].state.delete_order(2001, force=True)  # the store now answers 404
    assert enqueue_order(redis, "wang", 2001)  # an update delivered late: nothing to book
    assert enqueue_order(redis, "wang", 2001, deleted=True)  # not collapsed into the update
    assert not enqueue_order(redis, "wang", 2001, deleted=True)  # a re-delivery is
    work(redis)
    assert list_jobs(redis, failed_only=True) == []  # neither job failed, neither is retried
    assert counts(alliance.database_url) == (1, 2, 0)  # the accrual, and its reversal
    assert redis.llen(f"rq:queue:{ORDERS_QUEUE}") == 0
