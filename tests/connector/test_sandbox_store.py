"""The sandbox store over real sockets, driven by the official client and plain requests."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
import woocommerce

from connector.sandbox.auth import ApiKey, generate_key
from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.connector.sandbox_fixtures import (
    STORE_COUPONS,
    STORE_PRODUCTS,
    TOTAL_OF_1001,
    FakeClock,
    https_session,
    store_orders,
)


def _start(**options: object) -> SandboxHandle:
    return start_sandbox(
        orders=store_orders(), products=STORE_PRODUCTS, coupons=STORE_COUPONS, **options
    )


@pytest.fixture(scope="module")
def tls_store() -> Iterator[SandboxHandle]:
    """A read-only HTTPS store shared by the tests that only read."""
    read_only = generate_key("read")
    with _start(tls=True, keys=[generate_key(), read_only]) as handle:
        yield handle


@pytest.fixture
def store() -> Iterator[SandboxHandle]:
    """A plain-HTTP store of one's own, with a hand-driven clock, for tests that write."""
    with _start(clock=FakeClock()) as handle:
        yield handle


@pytest.fixture
def client(store: SandboxHandle) -> woocommerce.API:
    return woocommerce.API(
        store.url, store.key.consumer_key, store.key.consumer_secret, version="wc/v3", timeout=10
    )


def _get(handle: SandboxHandle, path: str, **params: object) -> requests.Response:
    return https_session(handle).get(f"{handle.api_root}/{path}", params=params, timeout=10)


# -- clients and authentication ---------------------------------------------------------------


def test_the_official_client_lists_gets_and_writes_over_plain_http_with_oauth(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    listed = client.get("orders", params={"per_page": 2})
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()] == [1005, 1004]  # newest first, ties by id, no trash
    assert listed.headers["X-WP-Total"] == "4"
    assert client.get("orders/1001").json()["total"] == str(TOTAL_OF_1001)

    created = client.post("coupons", {"code": "LI-REF", "amount": "15", "discount_type": "percent"})
    assert created.status_code == 201
    assert created.json()["code"] == "li-ref"
    assert created.headers["Location"].endswith(f"/wp-json/wc/v3/coupons/{created.json()['id']}")

    batch = client.post("coupons/batch", {"create": [{"code": "NEW-1"}, {"code": "save10"}]})
    assert batch.status_code == 200
    first, duplicate = batch.json()["create"]
    assert first["code"] == "new-1"
    assert duplicate == {
        "id": 0,
        "error": {
            "code": "woocommerce_rest_coupon_code_already_exists",
            "message": "The coupon code already exists",
            "data": {"status": 400},
        },
    }
    assert client.post("coupons/batch", {}).json() == []  # PHP's empty array


def test_the_official_client_works_over_https_with_basic_and_query_string_auth(
    tls_store: SandboxHandle,
) -> None:
    key = tls_store.key
    for query_string_auth in (False, True):
        client = woocommerce.API(
            tls_store.url,
            key.consumer_key,
            key.consumer_secret,
            version="wc/v3",
            timeout=10,
            verify_ssl=tls_store.ca_path,
            query_string_auth=query_string_auth,
        )
        answer = client.get("orders/1002")
        assert answer.status_code == 200
        assert answer.json()["status"] == "completed"


def test_a_requests_session_over_https_with_basic_auth_lists_orders(
    tls_store: SandboxHandle,
) -> None:
    answer = _get(tls_store, "orders", per_page=100)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert sorted(o["id"] for o in answer.json()) == [1001, 1002, 1004, 1005]


def test_https_authentication_failures_answer_as_woocommerce(tls_store: SandboxHandle) -> None:
    url = f"{tls_store.api_root}/orders"
    key = tls_store.key
    wrong = requests.get(url, auth=(key.consumer_key, "cs_wrong"), verify=tls_store.ca_path)
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "woocommerce_rest_authentication_error"
    assert wrong.json()["message"] == "Consumer secret is invalid."
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")

    unknown = requests.get(url, auth=("ck_unknown", "cs_unknown"), verify=tls_store.ca_path)
    assert (unknown.status_code, unknown.json()["code"]) == (401, "woocommerce_rest_cannot_view")
    anonymous = requests.get(f"{url}/1001", verify=tls_store.ca_path)
    assert anonymous.json()["message"] == "Sorry, you cannot view this resource."

    reader = tls_store.keys[1]
    denied = requests.post(
        url, json={}, auth=(reader.consumer_key, reader.consumer_secret), verify=tls_store.ca_path
    )
    assert denied.status_code == 401
    assert denied.json()["message"] == "The API key provided does not have write permissions."


def test_basic_auth_over_plain_http_is_anonymous(store: SandboxHandle) -> None:
    answer = requests.get(
        f"{store.api_root}/orders", auth=(store.key.consumer_key, store.key.consumer_secret)
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }


def test_oauth_signed_for_another_host_than_the_home_url_is_rejected() -> None:
    with start_sandbox(orders=store_orders()) as probe:
        port = probe.url.rsplit(":", 1)[1]
    with start_sandbox(orders=store_orders(), home_url=f"http://localhost:{port}") as handle:
        key = handle.key
        client = woocommerce.API(handle.url, key.consumer_key, key.consumer_secret, timeout=10)
        answer = client.get("orders")
        assert answer.status_code == 401
        assert answer.json()["message"] == "Invalid signature - provided signature does not match."


def test_the_request_log_keeps_no_secrets(store: SandboxHandle, client: woocommerce.API) -> None:
    client.get("orders", params={"per_page": 1})
    https_like = requests.get(
        f"{store.api_root}/orders",
        params={"consumer_key": store.key.consumer_key, "consumer_secret": "cs_x"},
    )
    assert https_like.status_code == 401
    logged = repr(store.state.request_log)
    assert store.key.consumer_key not in logged
    assert "cs_x" not in logged and "oauth_signature" not in logged
    assert ("GET", "/wp-json/wc/v3/orders", "per_page=1&per_page=1", 200) in store.state.request_log


# -- listing: paging, filters, ordering --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [("101", "rest_out_of_bounds"), ("0", "rest_out_of_bounds"), ("ten", "rest_invalid_type")],
)
def test_per_page_outside_1_to_100_is_a_400(
    tls_store: SandboxHandle, value: str, code: str
) -> None:
    answer = _get(tls_store, "orders", per_page=value)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == "Invalid parameter(s): per_page"
    assert body["data"]["details"]["per_page"]["code"] == code
    assert "per_page" in body["data"]["params"]


def test_paging_headers_carry_totals_and_only_prev_and_next_links(
    tls_store: SandboxHandle,
) -> None:
    answer = _get(tls_store, "orders", per_page=1, page=2, orderby="id", order="asc")
    assert answer.headers["X-WP-Total"] == "4"
    assert answer.headers["X-WP-TotalPages"] == "4"
    links = answer.headers["Link"]
    assert links.count("rel=") == 2
    assert 'rel="prev"' in links and 'rel="next"' in links
    assert f"<{tls_store.api_root}/orders?per_page=1&orderby=id&order=asc&page=3>" in links
    assert [o["id"] for o in answer.json()] == [1002]
    last = _get(tls_store, "orders", per_page=2, page=2)
    assert 'rel="next"' not in last.headers["Link"]
    past = _get(tls_store, "orders", per_page=2, page=3)
    assert past.status_code == 400
    assert past.json()["code"] == "rest_post_invalid_page_number"
    nothing = _get(tls_store, "orders", modified_after="2099-01-01T00:00:00")
    assert (nothing.json(), nothing.headers["X-WP-Total"]) == ([], "0")


def test_modified_after_is_exclusive_and_gmt_only_when_asked(tls_store: SandboxHandle) -> None:
    def ids(**params: object) -> list[int]:
        return sorted(o["id"] for o in _get(tls_store, "orders", **params).json())

    # 1002 and 1004 were modified at 2026-11-03T00:00:00 UTC, 08:00 site time (UTC+8)
    assert ids(modified_after="2026-11-03T00:00:00", dates_are_gmt="true") == [1005]
    assert ids(modified_after="2026-11-02T23:59:59", dates_are_gmt="true") == [1002, 1004, 1005]
    assert ids(modified_after="2026-11-03T00:00:00") == [1002, 1004, 1005]  # local time
    assert ids(modified_after="2026-11-03T07:59:59Z") == [1002, 1004, 1005]  # offset ignored
    assert ids(modified_before="2026-11-03T00:00:00", dates_are_gmt="1") == [1001]
    assert ids(after="2026-11-01T00:00:00", before="2026-11-05T00:00:00", dates_are_gmt=1) == [
        1002,
        1004,
    ]
    malformed = _get(tls_store, "orders", modified_after="yesterday")
    assert malformed.status_code == 400
    assert malformed.json()["data"]["details"]["modified_after"]["code"] == "rest_invalid_date"


def test_status_filters_hide_trash_unless_asked(tls_store: SandboxHandle) -> None:
    def ids(path: str) -> list[int]:
        return sorted(o["id"] for o in https_session(tls_store).get(path).json())

    root = f"{tls_store.api_root}/orders"
    assert ids(root) == [1001, 1002, 1004, 1005]
    assert ids(f"{root}?status=trash") == [1003]
    assert ids(f"{root}?status=processing,on-hold") == [1001, 1004, 1005]
    assert ids(f"{root}?status[]=completed&status[]=trash") == [1002, 1003]
    bad = _get(tls_store, "orders", status="shipped")
    assert bad.status_code == 400
    assert bad.json()["data"]["details"]["status"]["code"] == "rest_not_in_enum"


def test_ordering_breaks_ties_by_id_in_the_same_direction(tls_store: SandboxHandle) -> None:
    def ids(**params: object) -> list[int]:
        return [o["id"] for o in _get(tls_store, "orders", **params).json()]

    assert ids(orderby="modified", order="asc") == [1001, 1002, 1004, 1005]
    assert ids(orderby="modified", order="desc") == [1005, 1004, 1002, 1001]
    assert ids(orderby="date") == [1005, 1004, 1002, 1001]
    assert ids(orderby="id", order="asc", offset=1, per_page=2) == [1002, 1004]
    assert ids(include="1004,1001", orderby="include") == [1004, 1001]
    assert ids(exclude="1005", search="100", orderby="id") == [1004, 1002, 1001]
    assert _get(tls_store, "orders", orderby="total").status_code == 400


def test_fields_and_meta_filters_trim_the_answer(tls_store: SandboxHandle) -> None:
    answer = _get(
        tls_store,
        "orders",
        include="1005",
        _fields="id,meta_data",
        include_meta="_wc_order_attribution_utm_source",
    )
    assert answer.json() == [
        {
            "id": 1005,
            "meta_data": [
                {"id": 1005010 + 3, "key": "_wc_order_attribution_utm_source", "value": "alliance"}
            ],
        }
    ]


def test_products_list_with_woocommerce_shape_and_filters(tls_store: SandboxHandle) -> None:
    listed = _get(tls_store, "products", orderby="id", order="asc")
    assert listed.headers["X-WP-Total"] == "2"
    first = listed.json()[0]
    assert first["price"] == "59.00" and first["type"] == "simple"
    assert first["permalink"].startswith(tls_store.url)
    assert {"categories", "images", "stock_status", "date_modified_gmt"} <= set(first)
    out = _get(tls_store, "products", stock_status="outofstock").json()
    assert [p["id"] for p in out] == [205]
    assert _get(tls_store, "products/205").json()["name"] == "Bamboo muslin swaddle"
    assert _get(tls_store, "products/999").status_code == 404


def test_unknown_routes_and_ids_answer_404(tls_store: SandboxHandle) -> None:
    no_route = _get(tls_store, "customers")
    assert no_route.status_code == 404
    assert no_route.json()["code"] == "rest_no_route"
    missing = _get(tls_store, "orders/424242")
    assert missing.json()["code"] == "woocommerce_rest_shop_order_invalid_id"


def test_rest_route_urls_work_and_plain_permalink_sites_404_on_wp_json() -> None:
    with _start(tls=True, rest_route_only=True) as handle:
        session = https_session(handle)
        answer = session.get(f"{handle.url}/?rest_route=/wc/v3/orders&per_page=1&orderby=id")
        assert answer.status_code == 200
        assert answer.json()[0]["id"] == 1005
        assert f"<{handle.url}/?rest_route=%2Fwc%2Fv3%2Forders&per_page=1" in answer.headers["Link"]
        pretty = session.get(f"{handle.api_root}/orders")
        assert pretty.status_code == 404
        assert pretty.headers["Content-Type"].startswith("text/html")


def test_options_lists_the_arguments_without_auth_and_legacy_stores_ignore_them() -> None:
    with _start(legacy_ignores_modified_after=True) as old, _start() as new:
        for handle, has_modified in ((new, True), (old, False)):
            answer = requests.options(f"{handle.api_root}/orders")
            assert answer.status_code == 200
            document = answer.json()
            assert document["namespace"] == "wc/v3"
            args = document["endpoints"][0]["args"]
            assert ("modified_after" in args) is has_modified
            assert args["per_page"]["required"] is False
        key = old.key
        client = woocommerce.API(old.url, key.consumer_key, key.consumer_secret, timeout=10)
        ignored = client.get("orders", params={"modified_after": "2099-01-01T00:00:00"})
        assert ignored.headers["X-WP-Total"] == "4"
        by_date = client.get("orders", params={"orderby": "modified", "order": "asc"})
        assert [o["id"] for o in by_date.json()] == [1001, 1002, 1004, 1005]


# -- writing ------------------------------------------------------------------------------------


def test_a_new_order_uses_product_prices_and_the_lowercased_coupon(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    payload = {
        "line_items": [{"product_id": 101, "quantity": 2}],
        "coupon_lines": [{"code": "SAVE10"}],
    }
    answer = client.post("orders", payload)
    assert answer.status_code == 201
    order = answer.json()
    assert (order["status"], order["created_via"], order["total"]) == (
        "pending",
        "rest-api",
        "108.00",
    )
    line = order["coupon_lines"][0]
    assert (line["code"], line["discount"], line["nominal_amount"]) == ("save10", "10", 10)
    assert not any(m["key"].startswith("_wc_order_attribution") for m in order["meta_data"])
    assert store.state.coupons()[0]["usage_count"] == 1


def test_an_unknown_coupon_fails_but_leaves_a_checkout_draft_behind(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    payload = {
        "line_items": [{"product_id": 101, "quantity": 1}],
        "coupon_lines": [{"code": "NOPE"}],
    }
    answer = client.post("orders", payload)
    assert answer.status_code == 400
    assert answer.json()["code"] == "woocommerce_rest_invalid_coupon"
    assert answer.json()["message"] == "Coupon &quot;NOPE&quot; does not exist!"
    listed = client.get("orders")
    assert listed.headers["X-WP-Total"] == "5"
    assert listed.json()[0]["status"] == "checkout-draft"


def test_put_refunded_refunds_the_remainder_and_bumps_date_modified(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    partial = client.post("orders/1001/refunds", {"amount": "17.90", "reason": "Late"})
    assert partial.status_code == 201
    clock = store.state._clock
    assert isinstance(clock, FakeClock)
    moment = clock.advance(61)
    answer = client.put("orders/1001", {"status": "refunded"})
    assert answer.status_code == 200
    order = answer.json()
    assert order["refunds"][0]["total"] == "-200.00"
    assert order["refunds"][0]["reason"] == "Order fully refunded."
    assert order["refunds"][1] == {"id": partial.json()["id"], "reason": "Late", "total": "-17.90"}
    assert order["date_modified_gmt"] == moment.strftime("%Y-%m-%dT%H:%M:%S")
    assert order["date_modified"] == "2026-11-20T20:01:01"  # site time, UTC+8
    too_much = client.post("orders/1001/refunds", {"amount": "0.01"})
    assert too_much.status_code == 400
    assert too_much.json()["code"] == "woocommerce_rest_cannot_create_order_refund"


def test_status_changes_set_the_paid_date_except_for_cash_on_delivery(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    assert store.state.order(1004)["date_paid"] is None
    paid = client.put("orders/1004", {"status": "processing"}).json()
    assert paid["date_paid_gmt"] == "2026-11-20T12:00:00"
    store.state.modify_order(1004, status="on-hold", payment_method="cod", date_paid=None)
    store.state.set_status(1004, "processing")
    assert store.state.order(1004)["date_paid"] is None


def test_notes_are_listed_newest_first_with_the_customer_flag(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    client.post("orders/1002/notes", {"note": "Packed."})
    added = client.post("orders/1002/notes", {"note": "Shipped!", "customer_note": True})
    assert added.status_code == 201
    assert added.json()["author"] == "WooCommerce"  # the key's user only with added_by_user
    notes = client.get("orders/1002/notes").json()
    assert [(n["note"], n["customer_note"]) for n in notes] == [
        ("Shipped!", True),
        ("Packed.", False),
    ]


def test_coupons_find_by_code_update_and_delete(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    found = client.get("coupons", params={"code": "Save10"}).json()
    assert [c["code"] for c in found] == ["save10"]
    coupon_id = found[0]["id"]
    updated = client.put(
        f"coupons/{coupon_id}", {"amount": "12.5", "date_expires": "2026-12-31T23:59:59"}
    )
    assert updated.json()["amount"] == "12.50"
    assert updated.json()["date_expires_gmt"] == "2026-12-31T15:59:59"
    empty = client.post("coupons", {"code": "  "})
    assert empty.json()["code"] == "woocommerce_rest_empty_coupon_code"
    too_many = client.post("coupons/batch", {"delete": list(range(101))})
    assert too_many.status_code == 413
    assert client.delete(f"coupons/{coupon_id}", params={"force": "true"}).status_code == 200
    assert client.get(f"coupons/{coupon_id}").status_code == 404


def test_state_changes_made_by_tests_bump_the_modified_date(store: SandboxHandle) -> None:
    clock = store.state._clock
    assert isinstance(clock, FakeClock)
    clock.advance(3600)
    store.state.refund(1002, Decimal("5"))
    order = store.state.order(1002)
    assert order["date_modified_gmt"] == "2026-11-20T13:00:00"
    assert order["refunds"][0]["total"] == "-5.00"
    assert store.state.notes(1002) == []
    with pytest.raises(Exception, match="Invalid refund amount"):
        store.state.refund(1002, "10000")


def test_keys_can_be_given(tls_store: SandboxHandle) -> None:
    key = ApiKey("ck_" + "1" * 40, "cs_" + "2" * 40)
    with start_sandbox(keys=[key]) as handle:
        assert handle.key == key
        assert handle.keys == [key]
