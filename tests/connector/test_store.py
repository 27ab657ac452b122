"""WooCommerceStore and its HTTP policy against a real sandbox store over real sockets."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connector.errors import (
    AuthFailed,
    BadResponse,
    NotFound,
    RateLimited,
    StoreUnavailable,
    TlsFailed,
)
from connector.fixtures.orders import woo_order
from connector.http import HttpPolicy, StoreClient
from connector.sandbox.auth import generate_key
from connector.sandbox.server import start_sandbox
from connector.storefront import NewCoupon
from connector.woocommerce.store import WooCommerceStore

BASE = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def orders(count: int, start: int = 1001) -> list[dict]:
    moments = [BASE + timedelta(minutes=n) for n in range(count)]
    return [woo_order(start + n, created=m, modified=m) for n, m in enumerate(moments)]


class Sleeps(list):
    """Records the waits the policy asks for instead of spending them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connect(handle, *, sleeps=None, policy=None, key=None, **options) -> WooCommerceStore:
    key = key or handle.key
    client = StoreClient(
        "li",
        policy=policy or HttpPolicy(attempts=3),
        verify=handle.ca_path or True,
        sleep=sleeps if sleeps is not None else Sleeps(),
    )
    return WooCommerceStore(
        "li", handle.url, key.consumer_key, key.consumer_secret, client=client, **options
    )


@pytest.fixture
def sandbox():
    with start_sandbox(orders=orders(250)) as handle:
        yield handle


def test_lists_orders_over_plain_http_with_oauth(sandbox) -> None:
    store = connect(sandbox)
    page = store.list_orders(modified_after=BASE + timedelta(minutes=99, seconds=30), per_page=100)
    assert page.total == 150  # orders modified at minute 100 and later
    assert page.total_pages == 2
    assert [d["id"] for d in page.documents] == list(range(1101, 1201))  # oldest change first
    assert store.get_order(1005)["id"] == 1005


def test_many_requests_reuse_one_connection_and_fresh_nonces(sandbox) -> None:
    store = connect(sandbox)
    for _ in range(30):  # a reused OAuth nonce would be refused by the store
        assert store.list_orders(modified_after=None, per_page=1).total == 250
    assert store.requests_sent == 30


def test_plain_permalink_site_through_rest_route(tmp_path) -> None:
    with start_sandbox(orders=orders(3), rest_route_only=True) as handle:
        pretty = connect(handle)
        with pytest.raises(NotFound) as caught:
            pretty.list_orders(modified_after=None)
        assert "rest_route" in str(caught.value)
        store = connect(handle, rest_route=True)  # signed as PHP encodes "/wc/v3/orders"
        assert store.list_orders(modified_after=None).total == 3


def test_https_basic_auth_with_a_private_ca_ignores_requests_ca_bundle(monkeypatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")  # would override verify=
    with start_sandbox(orders=orders(5), tls=True) as handle:
        assert handle.url.startswith("https://")
        assert connect(handle).list_orders(modified_after=None).total == 5
        via_query = connect(handle, query_string_auth=True)
        assert via_query.list_orders(modified_after=None).total == 5


def test_https_refuses_an_unknown_certificate() -> None:
    with start_sandbox(orders=orders(1), tls=True) as handle:
        client = StoreClient("li", policy=HttpPolicy(attempts=1), verify=True, sleep=Sleeps())
        store = WooCommerceStore(
            "li", handle.url, handle.key.consumer_key, handle.key.consumer_secret, client=client
        )
        with pytest.raises(TlsFailed, match="certificate is not trusted"):
            store.list_orders(modified_after=None)


def test_429_is_retried_after_the_stores_retry_after(sandbox) -> None:
    sleeps = Sleeps()
    store = connect(sandbox, sleeps=sleeps)
    sandbox.faults.set("429:2@next=2@path=orders")
    page = store.list_orders(modified_after=None)
    assert page.total == 250
    assert store.requests_sent == 3
    assert len(sleeps) == 2 and all(s >= 2 for s in sleeps)


def test_a_long_retry_after_gives_up_at_once(sandbox) -> None:
    sleeps = Sleeps()
    store = connect(sandbox, sleeps=sleeps)
    sandbox.faults.set("429:3600@next=1")
    with pytest.raises(RateLimited, match="li: GET orders"):
        store.list_orders(modified_after=None)
    assert sleeps == [] and store.requests_sent == 1


@pytest.mark.parametrize("fault", ["503", "502", "504"])
def test_unavailable_store_is_retried_with_backoff_then_reported(sandbox, fault) -> None:
    sleeps = Sleeps()
    store = connect(sandbox, sleeps=sleeps, policy=HttpPolicy(attempts=4, backoff_initial=0.5))
    sandbox.faults.set(f"{fault}@path=orders")
    with pytest.raises(StoreUnavailable) as caught:
        store.list_orders(modified_after=None)
    assert store.requests_sent == 4
    assert len(sleeps) == 3
    assert all(0 <= s <= 0.5 * 2**n for n, s in enumerate(sleeps))  # full jitter, doubling cap
    message = str(caught.value)
    assert message.startswith("li: GET orders: HTTP") and "try again later" in message


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("html", "an HTML page with status 200"),
        ("html:202", "an HTML page with status 202"),
        ("truncate", "truncated or broken"),
        ("wrongtype", "text/plain"),
        ("disconnect", "cut off"),
    ],
)
def test_answers_that_are_not_the_apis_json_are_typed_bad_responses(sandbox, fault, words) -> None:
    store = connect(sandbox, policy=HttpPolicy(attempts=2))
    sandbox.faults.set(f"{fault}@path=orders")
    with pytest.raises((BadResponse, StoreUnavailable)) as caught:
        store.list_orders(modified_after=None)
    assert words in str(caught.value)
    assert store.requests_sent == 2


def test_a_garbled_page_then_a_good_one_succeeds(sandbox) -> None:
    store = connect(sandbox)
    sandbox.faults.set("truncate@next=1@path=orders")
    assert store.list_orders(modified_after=None).total == 250


def test_slow_store_times_out_with_the_configured_read_timeout(sandbox) -> None:
    store = connect(sandbox, policy=HttpPolicy(attempts=1, read_timeout=0.3))
    sandbox.faults.set("slow:2@path=orders")
    with pytest.raises(StoreUnavailable, match="timed out"):
        store.list_orders(modified_after=None)


def test_store_that_is_down_names_the_member_and_never_the_url() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = generate_key()
    store = WooCommerceStore(
        "li",
        f"https://127.0.0.1:{port}",
        key.consumer_key,
        key.consumer_secret,
        query_string_auth=True,
        client=StoreClient("li", policy=HttpPolicy(attempts=2), sleep=Sleeps()),
    )
    with pytest.raises(StoreUnavailable) as caught:
        store.list_orders(modified_after=None)
    message = str(caught.value)
    assert message.startswith("li: GET orders: cannot connect")
    assert key.consumer_secret not in message and key.consumer_key not in message
    assert "127.0.0.1" not in message


def test_wrong_secret_fails_at_once_without_leaking_it(sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = generate_key()
    bad = type(wrong)(sandbox.key.consumer_key, wrong.consumer_secret)
    store = connect(sandbox, key=bad)
    with pytest.raises(AuthFailed) as caught:
        store.list_orders(modified_after=None)
    assert store.requests_sent == 1  # 4xx is never retried
    message = str(caught.value)
    assert "li: GET orders: HTTP 401" in message and "consumer key and secret" in message
    for text in (message, caplog.text):
        assert wrong.consumer_secret not in text and sandbox.key.consumer_secret not in text


def test_read_only_key_cannot_write(sandbox) -> None:
    read_only = generate_key("read")
    with start_sandbox(keys=[read_only]) as handle:
        store = connect(handle)
        assert store.check_access().can_read
        access = store.check_access()
        assert not access.can_write and "write permissions" in (access.problem or "")
        with pytest.raises(AuthFailed, match="write permissions"):
            store.create_coupons([NewCoupon("GIFT-1", Decimal("10"))])


def test_coupon_batches_of_100_with_duplicates_reported_per_code(sandbox) -> None:
    store = connect(sandbox)
    first = store.create_coupons([NewCoupon("PACK-A", Decimal("30"))])
    assert first[0].ok and first[0].coupon_id
    coupons = [NewCoupon(f"PACK-{n:03}", Decimal("15.50")) for n in range(150)]
    coupons.append(NewCoupon("pack-a", Decimal("30")))  # codes are case-insensitive
    outcomes = store.create_coupons(coupons)
    assert store.requests_sent == 1 + 2  # 151 coupons in two batches
    assert sum(o.coupon_id is not None for o in outcomes) == 150
    assert outcomes[-1].already_exists and outcomes[-1].ok
    stored = {c["code"] for c in sandbox.state.coupons()}
    assert "pack-000" in stored and "PACK-000" not in stored  # the store lowercases codes
    store.expire_coupon(first[0].coupon_id, BASE)
    expired = [c for c in sandbox.state.coupons() if c["id"] == first[0].coupon_id]
    assert expired[0]["date_expires_gmt"] == "2026-11-01T08:00:00"


def test_customer_note_on_an_order(sandbox) -> None:
    store = connect(sandbox)
    note_id = store.add_order_note(1001, "Your gift pack code from Wang: PACK-7")
    notes = sandbox.state.notes(1001)
    assert [n["id"] for n in notes] == [note_id]
    assert notes[0]["customer_note"] is True


def test_capability_probe_tells_old_stores_apart() -> None:
    with start_sandbox(orders=orders(2)) as modern:
        assert connect(modern).supports_modified_after() is True
    with start_sandbox(orders=orders(2), legacy_ignores_modified_after=True) as old:
        assert connect(old).supports_modified_after() is False


def test_the_official_clients_quirks_that_the_store_class_avoids() -> None:
    """With ``query_string_auth`` the official client writes the secret into the caller's
    params dict, and it opens a new connection per call; WooCommerceStore does neither."""
    from woocommerce import API

    with start_sandbox(orders=orders(3), tls=True) as handle:
        api = API(
            handle.url,
            handle.key.consumer_key,
            handle.key.consumer_secret,
            version="wc/v3",
            query_string_auth=True,
            verify_ssl=handle.ca_path,
        )
        params = {"per_page": 1}
        assert api.get("orders", params=params).status_code == 200
        assert params["consumer_secret"] == handle.key.consumer_secret  # the quirk
        store = connect(handle, query_string_auth=True)
        mine = {"per_page": 1}
        assert store._request("GET", "orders", mine).status == 200
        assert mine == {"per_page": 1}
