"""The sandbox store's webhooks as WooCommerce's: created through the REST API, an unsigned
ping, deliveries from a thread with WooCommerce's headers and signature, retried, a webhook
disabled after more than five failures in a row; and /wc-auth/v1/authorize's refusals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import requests

from connector.errors import AuthFailed, StoreUnavailable
from connector.http import HttpPolicy
from connector.sandbox.auth import generate_key
from connector.sandbox.seed import generate_orders
from connector.sandbox.server import start_sandbox
from connector.sandbox.webhook_hub import FAILURES_BEFORE_DISABLED, RETRY_WAITS
from connector.woocommerce.store import WooCommerceStore
from connector.woocommerce.webhook_registry import (
    listed_webhooks,
    register_webhooks,
    unregister_webhooks,
)
from connector.woocommerce.webhooks import SyncOrder, read_webhook
from tests.connector.connect_support import wait_for

pytestmark = pytest.mark.slow

ONCE = HttpPolicy(attempts=1)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A delivery URL that records what comes and answers ``status``."""

    url: str
    status: int = 200
    got: list[Received] = field(default_factory=list)


@contextmanager
def receiver() -> Iterator[Receiver]:
    found = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            found.got.append(Received(dict(self.headers.items()), body))
            self.send_response(found.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def store():
    with start_sandbox(orders=generate_orders(3, seed=4, start=9001)) as handle:
        client = WooCommerceStore("wang", handle.url, handle.key.consumer_key,
                                  handle.key.consumer_secret, policy=ONCE)  # fmt: skip
        yield handle, client
        client.close()


def deliveries(got: list[Received]) -> list[Received]:
    return [r for r in got if "X-WC-Webhook-Signature" in r.headers]


def test_a_webhook_pings_then_delivers_signed_changes_with_woocommerces_headers(store) -> None:
    handle, client = store
    with receiver() as hooks:
        ((hook_id, topic, secret),) = register_webhooks(client, hooks.url, ["order.updated"])
        ping = hooks.got[0]
        handle.state.set_status(9001, "completed")
        wait_for(lambda: deliveries(hooks.got), "no delivery")

    assert topic == "order.updated"
    assert ping.body == f"webhook_id={hook_id}".encode()
    assert "X-WC-Webhook-Signature" not in ping.headers
    (sent,) = deliveries(hooks.got)
    assert sent.headers["X-WC-Webhook-Topic"] == "order.updated"
    assert sent.headers["X-WC-Webhook-Resource"] == "order"
    assert sent.headers["X-WC-Webhook-Event"] == "updated"
    assert sent.headers["X-WC-Webhook-ID"] == str(hook_id)
    assert sent.headers["X-WC-Webhook-Source"] == handle.url + "/"
    assert sent.headers["User-Agent"].startswith("WooCommerce/")
    assert "Hookshot" in sent.headers["User-Agent"]
    event = read_webhook("wang", sent.headers, sent.body, secret)
    assert isinstance(event, SyncOrder) and event.order_id == 9001
    assert orjson.loads(sent.body) == handle.state.order(9001)  # the order as the API shows it


def test_deleted_orders_send_only_their_id(store) -> None:
    handle, client = store
    with receiver() as hooks:
        register_webhooks(client, hooks.url, ["order.deleted"])
        handle.state.delete_order(9002, force=False)
        handle.state.delete_order(9003, force=True)
        wait_for(lambda: len(deliveries(hooks.got)) == 2, "two deletions not delivered")

    assert sorted(orjson.loads(r.body)["id"] for r in deliveries(hooks.got)) == [9002, 9003]
    assert all(orjson.loads(r.body).keys() == {"id"} for r in deliveries(hooks.got))


def test_failed_deliveries_are_retried_and_the_webhook_disabled_after_five(store) -> None:
    handle, client = store
    with receiver() as hooks:
        hooks.status = 500
        register_webhooks(client, hooks.url, ["order.updated"])
        hub = handle.webhooks
        for round_ in range(FAILURES_BEFORE_DISABLED + 2):
            handle.state.modify_order(9001, customer_note=f"change {round_}")
            wait_for(lambda n=round_: len(hub.deliveries) > n or hub.webhooks()[0].status
                     == "disabled", "no delivery attempt")  # fmt: skip
        (hook,) = hub.webhooks()

    assert hook.status == "disabled"
    assert len(hub.deliveries) == FAILURES_BEFORE_DISABLED + 1
    assert all(d.attempts == 1 + len(RETRY_WAITS) and d.status == 500 for d in hub.deliveries)
    assert listed_webhooks(client)[0]["status"] == "disabled"


def test_webhooks_are_listed_without_secrets_and_deleted_only_for_good(store) -> None:
    handle, client = store
    with receiver() as hooks:
        made = register_webhooks(client, hooks.url)
        listed = listed_webhooks(client)
        with pytest.raises(StoreUnavailable, match="501 woocommerce_rest_trash_not_supported"):
            client._request("DELETE", f"webhooks/{made[0][0]}")
        deleted = unregister_webhooks(client, [hook_id for hook_id, _, _ in made] + [999])

    assert {hook["id"] for hook in listed} == {hook_id for hook_id, _, _ in made}
    assert all("secret" not in hook for hook in listed)
    assert deleted == len(made)
    assert handle.webhooks.webhooks() == []


def test_a_read_only_key_cannot_register_webhooks() -> None:
    read_only = generate_key("read")
    with start_sandbox(keys=[read_only]) as handle, receiver() as hooks:
        client = WooCommerceStore("wang", handle.url, read_only.consumer_key,
                                  read_only.consumer_secret, policy=ONCE)  # fmt: skip
        with pytest.raises(AuthFailed, match="write permissions"):
            register_webhooks(client, hooks.url)
        client.close()
        assert handle.webhooks.webhooks() == []


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("scope=read_write&user_id=x&return_url=https://a.example", 400, "callback_url"),
        ("scope=admin&user_id=x&return_url=https://a.example&callback_url=https://a.example/cb",
         400, "Invalid scope"),
        ("scope=read&user_id=x&return_url=https://a.example&callback_url=http://a.example/cb",
         401, "needs to be over SSL"),
    ],
)  # fmt: skip
def test_the_authorize_page_refuses_what_woocommerce_refuses(query, status, says) -> None:
    with start_sandbox() as handle:
        answer = requests.get(
            f"{handle.url}/wc-auth/v1/authorize?app_name=Test&{query}",
            allow_redirects=False,
            timeout=10,
        )
        granted = handle.wc_auth.grants

    assert answer.status_code == status
    assert says in answer.text
    assert granted == []


def test_a_denied_request_returns_with_success_0_and_the_state_untouched() -> None:
    with start_sandbox() as handle:
        answer = requests.get(
            f"{handle.url}/wc-auth/v1/authorize?app_name=Test&scope=read&user_id=opaque.state"
            "&return_url=https://app.example/back?x=1&callback_url=https://app.example/cb&deny",
            allow_redirects=False,
            timeout=10,
        )

    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    assert (back.netloc, back.path) == ("app.example", "/back")
    assert parse_qs(back.query) == {"x": ["1"], "success": ["0"], "user_id": ["opaque.state"]}


def test_an_approved_request_posts_the_key_as_woocommerce_does_then_returns() -> None:
    with start_sandbox(insecure_callbacks=True) as handle, receiver() as app:
        answer = requests.get(
            f"{handle.url}/wc-auth/v1/authorize?app_name=Test&scope=read_write"
            f"&user_id=opaque.state&return_url=https://app.example/back&callback_url={app.url}",
            allow_redirects=False,
            timeout=10,
        )
        (grant,) = handle.wc_auth.grants
        (posted,) = app.got
        keys = handle.wc_auth.keys

    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["success"] == ["1"]
    assert posted.headers["Content-Type"].startswith("application/json")
    assert orjson.loads(posted.body) == {
        "key_id": grant.key_id,
        "user_id": "opaque.state",
        "consumer_key": grant.key.consumer_key,
        "consumer_secret": grant.key.consumer_secret,
        "key_permissions": "read_write",
    }
    assert keys[grant.key.consumer_key].permissions == "read_write"  # the key now works
