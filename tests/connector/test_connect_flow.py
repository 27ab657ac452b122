"""Connect your store end to end: the sandbox store's /wc-auth/v1/authorize, a real HTTPS app,
the key stored encrypted, webhooks registered and delivered, the first sync, disconnect."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from alliance.services.key_vault import KeyVault
from alliance.services.store_connections import connected_members, load_connection
from alliance.storage.schema import orders
from connector.store_connections import (
    disconnect,
    open_connected_store,
    start_connect,
)
from connector.woocommerce.webhook_registry import TOPICS
from tests.connector.connect_support import (
    KEYS_SECRET,
    MEMBER,
    Connectable,
    commission,
    connectable,
    first_sync_done,
    stored_text,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def world(sqlite_engine, agreement, tmp_path):
    with connectable(sqlite_engine, agreement, tmp_path) as found:
        yield found


@pytest.fixture
def any_world(engine, agreement, tmp_path):
    """On SQLite and on PostgreSQL."""
    with connectable(engine, agreement, tmp_path) as found:
        yield found


def approve(world: Connectable, *flags: str) -> requests.Response:
    """The shop owner opens the link the alliance made (the sandbox approves at once)."""
    url = start_connect(world.engine, world.agreement, world.settings, MEMBER, world.app.url)
    return requests.get(url + "".join(f"&{flag}" for flag in flags), allow_redirects=False)


def returned(answer: requests.Response) -> dict[str, list[str]]:
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)


def stored_status(engine, order_id: int) -> str | None:
    with engine.connect() as conn:
        found = conn.execute(
            select(orders.c.status).where(
                orders.c.member == MEMBER, orders.c.external_id == str(order_id)
            )
        )
        return found.scalar_one_or_none()


def test_an_approved_key_is_stored_encrypted_with_webhooks_and_a_first_sync(any_world) -> None:
    world = any_world
    answer = approve(world)

    assert returned(answer)["success"] == ["1"]
    assert answer.headers["Location"].startswith(f"{world.app.url}/connect/done?")
    grant = world.store.wc_auth.grants[-1]
    assert grant.callback_status == 200
    stored = stored_text(world.engine)
    assert grant.key.consumer_secret not in stored
    assert grant.key.consumer_key not in stored
    connection = load_connection(world.engine, KeyVault(KEYS_SECRET), MEMBER)
    assert connection is not None
    assert connection.consumer_secret == grant.key.consumer_secret
    hooks = world.store.webhooks.webhooks()
    assert sorted(hook.topic for hook in hooks) == sorted(TOPICS)
    assert {hook.delivery_url for hook in hooks} == {
        f"{world.app.url}/webhooks/woocommerce/{MEMBER}"
    }
    assert len({hook.secret for hook in hooks}) == len(TOPICS)  # each its own secret
    for hook in hooks:
        assert hook.secret not in stored
    wait_for(lambda: first_sync_done(world.engine), "the first sync did not run")
    assert stored_status(world.engine, 7001) is not None  # the store's orders are booked


def test_webhooks_the_alliance_registered_are_delivered_signed_and_acted_on(any_world) -> None:
    world = any_world
    approve(world)
    wait_for(lambda: first_sync_done(world.engine), "the first sync did not run")
    trashed, deleted = 7101, 7102  # each earned Li a commission
    assert commission(world.engine, trashed) > 0 and commission(world.engine, deleted) > 0

    world.store.state.delete_order(trashed, force=False)
    wait_for(lambda: stored_status(world.engine, trashed) == "trash", "trash not booked")
    world.store.state.delete_order(deleted, force=True)
    wait_for(lambda: stored_status(world.engine, deleted) == "trash", "deletion not booked")

    expected = {("order.deleted", trashed), ("order.deleted", deleted)}

    def delivered() -> set[tuple[str, int]]:
        return {(d.topic, d.resource_id) for d in world.store.webhooks.deliveries}

    wait_for(lambda: delivered() >= expected, "the deliveries were not recorded")
    assert all(d.status == 200 for d in world.store.webhooks.deliveries)
    assert commission(world.engine, trashed) == 0  # reversed
    assert commission(world.engine, deleted) == 0  # deleted for good: reversed like trashed


def test_disconnect_deletes_the_webhooks_and_forgets_the_key(world) -> None:
    approve(world)
    assert len(world.store.webhooks.webhooks()) == len(TOPICS)

    done = disconnect(world.engine, world.agreement, world.settings, MEMBER)

    assert done.webhooks_deleted == len(TOPICS)
    assert done.problem == ""
    assert world.store.webhooks.webhooks() == []
    assert connected_members(world.engine) == []


def test_a_denied_request_stores_nothing(world) -> None:
    answer = approve(world, "deny")

    assert returned(answer)["success"] == ["0"]
    assert world.store.wc_auth.grants == []
    assert connected_members(world.engine) == []
    assert world.store.webhooks.webhooks() == []


def test_a_read_only_key_is_refused_and_the_store_revokes_it(world) -> None:
    answer = approve(world, "read_only")

    assert answer.status_code == 401  # the store's error page: the callback refused the key
    grant = world.store.wc_auth.grants[-1]
    assert grant.callback_status == 403
    assert grant.key.consumer_key not in world.store.wc_auth.keys  # deleted by the store
    assert connected_members(world.engine) == []
    assert world.store.webhooks.webhooks() == []


def test_a_replayed_state_is_refused_and_the_first_key_stays(world) -> None:
    url = start_connect(world.engine, world.agreement, world.settings, MEMBER, world.app.url)
    assert requests.get(url, allow_redirects=False).status_code == 302
    first = world.store.wc_auth.grants[-1].key

    again = requests.get(url, allow_redirects=False)

    assert again.status_code == 401
    assert world.store.wc_auth.grants[-1].callback_status == 403
    connection = load_connection(world.engine, KeyVault(KEYS_SECRET), MEMBER)
    assert connection is not None and connection.consumer_key == first.consumer_key
    assert len(world.store.webhooks.webhooks()) == len(TOPICS)


def test_a_forged_state_is_refused(world) -> None:
    url = start_connect(world.engine, world.agreement, world.settings, MEMBER, world.app.url)
    forged = url.replace("user_id=", "user_id=x", 1)

    assert requests.get(forged, allow_redirects=False).status_code == 401
    assert world.store.wc_auth.grants[-1].callback_status == 403
    assert connected_members(world.engine) == []


def test_a_forged_callback_with_another_stores_key_is_refused(world) -> None:
    """Someone who read a genuine state posts a key of a store they control: the key must
    open the member's own store, so it is refused and the state is spent."""
    url = start_connect(world.engine, world.agreement, world.settings, MEMBER, world.app.url)
    state = parse_qs(urlsplit(url).query)["user_id"][0]
    body = {
        "key_id": 9,
        "user_id": state,
        "consumer_key": "ck_" + "1" * 40,
        "consumer_secret": "cs_" + "2" * 40,
        "key_permissions": "read_write",
    }
    answer = requests.post(
        f"{world.app.url}/connect/callback", json=body, verify=world.app.ca_path, timeout=10
    )

    assert answer.status_code == 403
    assert "does not open" in answer.json()["error"]
    assert connected_members(world.engine) == []


def test_a_store_refuses_a_callback_over_plain_http(world) -> None:
    plain = world.app.url.replace("https://", "http://")
    url = start_connect(world.engine, world.agreement, world.settings, MEMBER, plain)

    answer = requests.get(url, allow_redirects=False)

    assert answer.status_code == 401
    assert "needs to be over SSL" in answer.text
    assert world.store.wc_auth.grants == []


def test_keys_in_the_environment_win_over_a_stored_key(world) -> None:
    approve(world)
    env = {"WANG_WC_KEY": world.store.key.consumer_key, "WANG_WC_SECRET": "cs_wrong"}

    from_env = open_connected_store(
        world.engine, world.agreement, world.settings, MEMBER, environ=env
    )
    stored = open_connected_store(world.engine, world.agreement, world.settings, MEMBER, environ={})

    assert from_env.spec()["consumer_secret"] == "cs_wrong"
    assert stored.spec()["consumer_secret"] == world.store.wc_auth.grants[-1].key.consumer_secret
    assert stored.check_access().can_write


def test_with_redis_the_first_sync_is_queued_for_the_workers(
    sqlite_engine, agreement, tmp_path, worker_id
) -> None:
    from alliance.cli.web_app import sync_queue
    from tests.e2e.support import flushed_redis
    from worker.keys import SYNC_QUEUE, sync_job_id
    from worker.queues import queue

    with flushed_redis(worker_id) as (url, redis):
        queued = sync_queue(url)
        with connectable(sqlite_engine, agreement, tmp_path, queue_sync=queued) as world:
            approve(world)
            jobs = queue(redis, SYNC_QUEUE)
            wait_for(lambda: sync_job_id(MEMBER) in jobs.job_ids, "no sync job was queued")
            job = jobs.fetch_job(sync_job_id(MEMBER))
            assert job is not None and job.args == (MEMBER,)
            assert not first_sync_done(world.engine)  # the workers run it, not the app
