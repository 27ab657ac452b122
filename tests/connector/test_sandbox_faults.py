"""Fault injection: every kind observably happens over a real socket; plans parse strictly."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
import woocommerce

from connector.sandbox.faults import FaultPlan
from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.connector.sandbox_fixtures import https_session, store_orders


@pytest.fixture(scope="module")
def store() -> Iterator[SandboxHandle]:
    with start_sandbox(orders=store_orders(), tls=True) as handle:
        yield handle


@pytest.fixture
def session(store: SandboxHandle) -> Iterator[requests.Session]:
    yield https_session(store)
    store.faults.clear()


def _orders(store: SandboxHandle, session: requests.Session, **params: object) -> requests.Response:
    return session.get(f"{store.api_root}/orders", params=params, timeout=10)


def test_429_carries_retry_after_for_the_next_requests_only(
    store: SandboxHandle, session: requests.Session
) -> None:
    store.faults.set("429:retry_after=2@next=2")
    first, second, third = (_orders(store, session) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "2"
    assert first.json()["data"]["status"] == 429


@pytest.mark.parametrize(
    ("spec", "status", "content_type"),
    [
        ("500", 500, "application/json"),
        ("502", 502, "text/html"),
        ("503", 503, "application/json"),
        ("504", 504, "text/html"),
        ("html", 200, "text/html"),
        ("html:202", 202, "text/html"),
    ],
)
def test_error_statuses_and_html_pages(
    store: SandboxHandle, session: requests.Session, spec: str, status: int, content_type: str
) -> None:
    store.faults.set(spec)
    answer = _orders(store, session)
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith(content_type)


def test_slow_delays_the_answer(store: SandboxHandle, session: requests.Session) -> None:
    store.faults.set("slow:0.3")
    started = time.perf_counter()
    assert _orders(store, session).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_truncated_disconnected_and_mislabelled_bodies(
    store: SandboxHandle, session: requests.Session
) -> None:
    store.faults.set("truncate@next=1")
    cut = _orders(store, session)
    assert cut.status_code == 200
    with pytest.raises(ValueError):
        cut.json()
    store.faults.set("disconnect@next=1")
    broken = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
    with pytest.raises(broken, match="IncompleteRead"):
        _orders(store, session)
    store.faults.set("wrongtype")
    mislabelled = _orders(store, session)
    assert mislabelled.headers["Content-Type"].startswith("text/plain")
    assert len(mislabelled.json()) == 4


def test_mutate_changes_the_store_between_page_requests() -> None:
    with start_sandbox(orders=store_orders(), tls=True, faults="mutate:2@next=1") as handle:
        session = https_session(handle)
        before = {o["id"]: o["date_modified_gmt"] for o in handle.state.orders()}
        first = session.get(f"{handle.api_root}/orders", params={"per_page": 2})
        second = session.get(f"{handle.api_root}/orders", params={"per_page": 2, "page": 2})
        assert first.headers["X-WP-Total"] == "4"
        assert second.headers["X-WP-Total"] == "6"  # two new orders arrived
        after = {o["id"]: o["date_modified_gmt"] for o in handle.state.orders()}
        assert sum(1 for i in before if after[i] != before[i]) == 2
        third = session.get(f"{handle.api_root}/orders", params={"per_page": 2, "page": 2})
        assert third.headers["X-WP-Total"] == "6"  # next=1: only once


def test_every_and_path_conditions_pick_the_requests(
    store: SandboxHandle, session: requests.Session
) -> None:
    store.faults.set("503@every=3@path=orders")
    statuses = [_orders(store, session).status_code for _ in range(6)]
    assert statuses == [200, 200, 503, 200, 200, 503]
    products = session.get(f"{store.api_root}/products", timeout=10)
    assert products.status_code == 200
    options = requests.options(f"{store.api_root}/orders", verify=store.ca_path)
    assert options.status_code == 200  # never a fault on OPTIONS


def test_ignore_modified_after_behaves_like_an_old_store(
    store: SandboxHandle, session: requests.Session
) -> None:
    store.faults.set("ignore_modified_after")
    answer = _orders(store, session, modified_after="2099-01-01T00:00:00")
    assert answer.headers["X-WP-Total"] == "4"


def test_probability_is_reproducible_from_the_seed() -> None:
    def fired(plan: FaultPlan) -> list[bool]:
        return [bool(plan.decide("/wc/v3/orders")) for _ in range(200)]

    first = fired(FaultPlan.parse("500@p=0.2", seed=7))
    assert first == fired(FaultPlan.parse("500@p=0.2,seed=7"))
    assert 20 < sum(first) < 60
    assert not any(fired(FaultPlan.parse("500@p=0")))


def test_mutate_only_counts_order_list_requests() -> None:
    plan = FaultPlan.parse("mutate@next=1")
    assert plan.decide("/wc/v3/orders/1") == []
    assert [f.arg for f in plan.decide("/wc/v3/orders", order_list=True)] == [3]
    assert plan.decide("/wc/v3/orders", order_list=True) == []


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("418", "'418'"),
        ("429:soon", "'429:soon'"),
        ("503@sometimes", "'503@sometimes'"),
        ("html:500", "'html:500'"),
        ("slow@p=2", "'slow@p=2'"),
        ("500,truncate:3", "'truncate:3'"),
        ("429@method=", "'429@method='"),
    ],
)
def test_a_bad_spec_raises_value_error_naming_the_rule(spec: str, named: str) -> None:
    with pytest.raises(ValueError, match="valid kinds: 429, 500") as caught:
        FaultPlan.parse(spec)
    assert named in str(caught.value)


def test_a_bad_set_leaves_the_plan_as_it_was() -> None:
    plan = FaultPlan.parse("503@next=1")
    with pytest.raises(ValueError):
        plan.set("nonsense")
    assert str(plan) == "503@next=1"


# -- the coupon writes of a gift pack, and a store that is down ----------------------------------


def _batch(store: SandboxHandle, session: requests.Session, code: str) -> requests.Response:
    return session.post(
        f"{store.api_root}/coupons/batch", json={"create": [{"code": code}]}, timeout=10
    )


def test_a_plan_can_fail_only_the_coupon_writes(
    store: SandboxHandle, session: requests.Session
) -> None:
    store.faults.set("429:retry_after=3@next=1@path=coupons@method=POST")
    assert _orders(store, session).status_code == 200
    assert session.get(f"{store.api_root}/coupons", timeout=10).status_code == 200
    limited = _batch(store, session, "FAULT-A")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert store.state.find_coupon("FAULT-A") is None  # refused before the route ran
    assert _batch(store, session, "FAULT-A").status_code == 200


def test_every_other_batch_fails_and_order_notes_fail_on_their_own(
    store: SandboxHandle, session: requests.Session
) -> None:
    store.faults.set("503@every=2@path=coupons/batch,500@path=notes")
    statuses = [_batch(store, session, f"EVERY-{n}").status_code for n in range(4)]
    assert statuses == [200, 503, 200, 503]
    assert session.get(f"{store.api_root}/coupons", timeout=10).status_code == 200
    notes = f"{store.api_root}/orders/1001/notes"
    assert session.post(notes, json={"note": "Hi"}, timeout=10).status_code == 500
    assert session.get(f"{store.api_root}/orders/1001", timeout=10).status_code == 200


def test_hangup_closes_the_connection_before_the_write_happens(
    store: SandboxHandle, session: requests.Session
) -> None:
    store.faults.set("hangup@next=1@path=coupons/batch")
    with pytest.raises(requests.exceptions.ConnectionError):
        _batch(store, session, "HANGUP-1")
    assert store.state.find_coupon("HANGUP-1") is None
    assert ("POST", "/wp-json/wc/v3/coupons/batch", "", 0) in store.state.request_log
    assert _batch(store, session, "HANGUP-1").status_code == 200


def test_a_store_that_is_down_refuses_connections_and_comes_back_on_the_same_address() -> None:
    with start_sandbox(orders=store_orders(), tls=True) as handle:
        session = https_session(handle)
        assert _orders(handle, session).status_code == 200  # a kept-alive connection
        handle.down()
        assert handle.is_down
        for _ in range(2):  # the pooled connection is gone, and a new one is refused
            with pytest.raises(requests.exceptions.ConnectionError, match="refused"):
                _orders(handle, session)
        handle.state.add_order({"id": 1006, "status": "processing"})  # the data stays
        handle.up()
        assert not handle.is_down
        answer = _orders(handle, session, include="1006")
        assert [o["id"] for o in answer.json()] == [1006]
        key = handle.key
        client = woocommerce.API(
            handle.url, key.consumer_key, key.consumer_secret, verify_ssl=handle.ca_path
        )
        assert client.get("orders/1001").status_code == 200
    assert handle.is_down
    with pytest.raises(RuntimeError):
        handle.up()
