"""The web app as the composition root wires it: webhook orders go to the worker's queue on
Redis when ``ALLIANCE_REDIS_URL`` is set, and are synced inline without it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from alliance.agreement import Agreement
from alliance.cli.web_app import alliance_app
from alliance.errors import ConfigError
from alliance.storage.schema import orders
from tests.e2e.support import flushed_redis
from tests.widgets.test_app import HOOK_SECRET, delivery
from tests.widgets.test_redirect import test_settings
from worker.keys import ORDERS_QUEUE, order_job_id


@pytest.fixture
def redis_url(worker_id: str) -> Iterator[str]:
    with flushed_redis(worker_id) as (url, _client):
        yield url


def test_with_redis_a_webhook_order_is_queued_once_for_the_workers_and_not_booked_inline(
    sqlite_engine: Engine, agreement: Agreement, redis_url: str
) -> None:
    settings = dataclasses.replace(test_settings(), redis_url=redis_url)
    app = alliance_app(
        settings,
        agreement=agreement,
        engine=sqlite_engine,
        environ={"WANG_WC_WEBHOOK_SECRET": HOOK_SECRET},  # no API keys: inline would fail
    )
    with TestClient(app) as client:
        headers, body = delivery(6001)
        first = client.post("/webhooks/woocommerce/wang", content=body, headers=headers)
        again = client.post("/webhooks/woocommerce/wang", content=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == {"status": "queued"}
    queue = Queue(ORDERS_QUEUE, connection=Redis.from_url(redis_url))
    assert queue.job_ids == [order_job_id("wang", 6001)]  # a re-delivery is not queued twice
    (job,) = queue.jobs
    assert job.args == ("wang", 6001)
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 0


def test_without_redis_the_app_has_no_queue_and_syncs_webhook_orders_inline(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    app = alliance_app(test_settings(), agreement=agreement, engine=sqlite_engine)
    assert app.state.webhooks.queue_order is None


def test_a_deletion_is_queued_as_a_deletion_beside_an_update_of_the_same_order(
    sqlite_engine: Engine, agreement: Agreement, redis_url: str
) -> None:
    settings = dataclasses.replace(test_settings(), redis_url=redis_url)
    environ = {"WANG_WC_WEBHOOK_SECRET": HOOK_SECRET}
    app = alliance_app(settings, agreement=agreement, engine=sqlite_engine, environ=environ)
    with TestClient(app) as client:
        for topic in ("order.updated", "order.deleted"):
            headers, body = delivery(6001, topic=topic)
            answer = client.post("/webhooks/woocommerce/wang", content=body, headers=headers)
            assert answer.status_code == 202
    queue = Queue(ORDERS_QUEUE, connection=Redis.from_url(redis_url))
    update, deletion = queue.jobs
    assert (update.args, update.kwargs) == (("wang", 6001), {})
    assert (deletion.args, deletion.kwargs) == (("wang", 6001), {"deleted": True})
    assert deletion.id == order_job_id("wang", 6001, deleted=True)


def test_with_redis_down_a_webhook_answers_503_for_a_retry_and_logs_where(
    sqlite_engine: Engine, agreement: Agreement, caplog: pytest.LogCaptureFixture
) -> None:
    down = "redis://alliance:hunter2-pw@127.0.0.1:1/0"  # nothing listens on port 1
    settings = dataclasses.replace(test_settings(), redis_url=down)
    environ = {"WANG_WC_WEBHOOK_SECRET": HOOK_SECRET}
    app = alliance_app(settings, agreement=agreement, engine=sqlite_engine, environ=environ)
    with TestClient(app) as client:
        headers, body = delivery(6001)
        answer = client.post("/webhooks/woocommerce/wang", content=body, headers=headers)
    assert answer.status_code == 503 and "error" in answer.json()
    assert "redis://alliance:***@127.0.0.1:1/0" in caplog.text
    assert "hunter2" not in caplog.text + answer.text and "Traceback" not in caplog.text


def test_a_malformed_redis_url_stops_the_app_before_it_serves(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    settings = dataclasses.replace(test_settings(), redis_url="redis://:hunter2-pw@host:port/0")
    with pytest.raises(ConfigError, match="is not a Redis URL") as caught:
        alliance_app(settings, agreement=agreement, engine=sqlite_engine)
    assert "hunter2" not in str(caught.value)
