"""The sandbox's coupons API as a gift-pack issuer meets it: batches, fields, dates, deletes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import woocommerce

from connector.sandbox.auth import generate_key
from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.connector.sandbox_fixtures import (
    STORE_COUPONS,
    STORE_PRODUCTS,
    FakeClock,
    https_session,
    store_orders,
)

GIFT_FIELDS: dict[str, Any] = {
    "amount": "30",
    "discount_type": "fixed_cart",
    "description": "Gift pack from wang",
    "date_expires": "2026-12-31T23:59:59",
    "usage_limit": 1,
    "usage_limit_per_user": 1,
    "individual_use": True,
    "exclude_sale_items": True,
    "minimum_amount": "100",
    "product_ids": [101],
    "email_restrictions": ["Amy@Example.com"],
    "meta_data": [{"key": "_alliance_pack", "value": "pack-7"}],
}


@pytest.fixture
def store() -> Iterator[SandboxHandle]:
    clock = FakeClock()
    with start_sandbox(
        orders=store_orders(), products=STORE_PRODUCTS, coupons=STORE_COUPONS, clock=clock
    ) as handle:
        yield handle


@pytest.fixture
def client(store: SandboxHandle) -> woocommerce.API:
    key = store.key
    return woocommerce.API(store.url, key.consumer_key, key.consumer_secret, timeout=10)


def _error(code: str, message: str, status: int = 400) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status}}


def _codes(store: SandboxHandle) -> set[str]:
    return {c["code"] for c in store.state.coupons()}


def test_a_batch_of_100_creates_every_coupon_with_the_gift_pack_fields(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    items = [{"code": f"GP-{n:03}", **GIFT_FIELDS} for n in range(100)]
    answer = client.post("coupons/batch", {"create": items})
    assert answer.status_code == 200
    created = answer.json()["create"]
    assert len({c["id"] for c in created}) == 100
    first = created[0]
    assert {k: first[k] for k in GIFT_FIELDS if k != "meta_data"} == {
        "amount": "30.00",
        "discount_type": "fixed_cart",
        "description": "Gift pack from wang",
        "date_expires": "2026-12-31T23:59:59",
        "usage_limit": 1,
        "usage_limit_per_user": 1,
        "individual_use": True,
        "exclude_sale_items": True,
        "minimum_amount": "100.00",
        "product_ids": [101],
        "email_restrictions": ["amy@example.com"],
    }
    assert first["code"] == "gp-000"
    assert first["date_expires_gmt"] == "2026-12-31T15:59:59"  # the store runs at UTC+8
    assert [(m["key"], m["value"]) for m in first["meta_data"]] == [("_alliance_pack", "pack-7")]
    assert (first["usage_count"], first["used_by"], first["status"]) == (0, [], "publish")
    assert client.get(f"coupons/{first['id']}").json() == first


def test_more_than_100_items_in_all_is_a_413_and_writes_nothing(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    before = _codes(store)
    answer = client.post(
        "coupons/batch",
        {"create": [{"code": f"X-{n}"} for n in range(60)], "delete": list(range(1, 42))},
    )
    assert answer.status_code == 413
    assert answer.json() == _error(
        "woocommerce_rest_request_entity_too_large",
        "Unable to accept more than 100 items for this request.",
        413,
    )
    assert _codes(store) == before


def test_failed_items_are_reported_in_their_place_and_the_batch_stays_200(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    answer = client.post(
        "coupons/batch",
        {
            "create": [
                {"code": "OK-1", "amount": "10"},
                {"code": "Save10", "amount": "5"},  # the store has save10
                {"code": "NEG", "amount": "-5"},
                {"code": "BADTYPE", "discount_type": "bogus"},
                {"code": "ok-1"},  # created a moment ago by this very batch
                {"code": ""},
            ]
        },
    )
    assert answer.status_code == 200
    created, *failed = answer.json()["create"]
    assert created["code"] == "ok-1"
    exists = _error("woocommerce_rest_coupon_code_already_exists", "The coupon code already exists")
    assert failed == [
        {"id": 0, "error": exists},
        {"id": 0, "error": _error("coupon_invalid_amount", "Invalid discount amount.")},
        {"id": 0, "error": _error("coupon_invalid_discount_type", "Invalid discount type.")},
        {"id": 0, "error": exists},
        {
            "id": 0,
            "error": _error(
                "woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty."
            ),
        },
    ]
    assert _codes(store) == {"save10", "ok-1"}
    assert client.post("coupons/batch", {}).json() == []  # PHP's empty array: no groups at all
    assert list(client.post("coupons/batch", {"create": [], "delete": [0]}).json()) == []


def test_the_single_routes_check_the_schema_first_and_the_batch_does_not(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    bad = client.post("coupons", {"code": "X", "amount": 10, "discount_type": "bogus"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "rest_invalid_param"
    assert bad.json()["data"]["params"] == {
        "amount": "amount is not of type string.",
        "discount_type": "discount_type is not one of percent, fixed_cart, and fixed_product.",
    }
    missing = client.post("coupons", {"amount": "5"})
    assert missing.json()["code"] == "rest_missing_callback_param"
    single = client.post("coupons", {"code": "STR", "individual_use": "false"})
    assert (single.status_code, single.json()["individual_use"]) == (201, False)
    batch = client.post(
        "coupons/batch", {"create": [{"code": "NUM", "amount": 12, "individual_use": "false"}]}
    )
    created = batch.json()["create"][0]
    assert created["amount"] == "12.00"
    assert created["individual_use"] is True  # the setter casts like PHP: "false" is true
    percent = client.post(
        "coupons/batch", {"create": [{"code": "P", "amount": "150", "discount_type": "percent"}]}
    )
    assert percent.json()["create"][0]["amount"] == "150.00"  # amount is set before the type
    over = client.put(f"coupons/{percent.json()['create'][0]['id']}", {"amount": "120"})
    assert (over.status_code, over.json()["code"]) == (400, "coupon_invalid_amount")


def test_codes_are_stored_lowercased_and_found_in_any_case(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    for asked in ("SAVE10", "sAvE10", " save10 "):
        assert [c["code"] for c in client.get("coupons", params={"code": asked}).json()] == [
            "save10"
        ]
    assert client.get("coupons", params={"code": "NOPE"}).json() == []
    renamed = client.post("coupons", {"code": "SAVE20"}).json()
    clash = client.put(f"coupons/{renamed['id']}", {"code": "Save10"})
    assert clash.json() == _error(
        "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists"
    )


def test_date_expires_is_store_time_unless_it_has_an_offset_and_date_expires_gmt_is_ignored(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    coupon = client.post("coupons", {"code": "D", "date_expires": "2026-12-01T08:00:00"}).json()
    assert (coupon["date_expires"], coupon["date_expires_gmt"]) == (
        "2026-12-01T08:00:00",
        "2026-12-01T00:00:00",
    )

    def put(**fields: Any) -> dict[str, Any]:
        answer = client.put(f"coupons/{coupon['id']}", fields)
        assert answer.status_code == 200, answer.text
        return answer.json()

    utc = put(date_expires="2026-12-02T00:00:00Z")
    assert (utc["date_expires"], utc["date_expires_gmt"]) == (
        "2026-12-02T08:00:00",
        "2026-12-02T00:00:00",
    )
    assert put(date_expires="2026-12-03T00:00:00+02:00")["date_expires_gmt"] == (
        "2026-12-02T22:00:00"
    )
    # WC_Coupon has no setter for the GMT field: WooCommerce drops it without a word
    assert put(date_expires_gmt="2027-01-01T00:00:00")["date_expires_gmt"] == "2026-12-02T22:00:00"
    assert put(date_expires=None)["date_expires_gmt"] == "2026-12-02T22:00:00"  # null: untouched
    cleared = put(date_expires="")
    assert (cleared["date_expires"], cleared["date_expires_gmt"]) == (None, None)
    stamp = client.post(
        "coupons/batch", {"update": [{"id": coupon["id"], "date_expires": 1767225600}]}
    )
    assert stamp.json()["update"][0]["date_expires_gmt"] == "2026-01-01T00:00:00"  # a Unix time


def test_delete_trashes_then_force_deletes_and_the_coupon_is_gone(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    coupon = client.post("coupons", {"code": "GONE"}).json()
    trashed = client.delete(f"coupons/{coupon['id']}")
    assert (trashed.status_code, trashed.json()["status"]) == (200, "trash")
    assert client.get("coupons", params={"code": "GONE"}).json() == []
    again = client.delete(f"coupons/{coupon['id']}")
    assert again.json() == _error(
        "woocommerce_rest_already_trashed", "The shop_coupon has already been deleted.", 410
    )
    assert client.delete(f"coupons/{coupon['id']}", params={"force": "true"}).status_code == 200
    invalid = _error("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 404)
    assert client.get(f"coupons/{coupon['id']}").json() == invalid
    assert client.delete(f"coupons/{coupon['id']}", params={"force": "true"}).json() == invalid
    assert client.put(f"coupons/{coupon['id']}", {"amount": "1"}).json() == {
        **invalid,
        "data": {"status": 400},  # update_item says 400 where get and delete say 404
    }
    batch = client.post("coupons/batch", {"delete": [coupon["id"]]}).json()
    assert batch == {"delete": [{"id": coupon["id"], "error": invalid}]}


def test_a_read_only_key_cannot_write_coupons_but_can_read_them() -> None:
    reader = generate_key("read")
    with start_sandbox(coupons=STORE_COUPONS, tls=True, keys=[generate_key(), reader]) as handle:
        session = https_session(handle)
        session.auth = (reader.consumer_key, reader.consumer_secret)
        root = handle.api_root
        writes = [
            session.post(f"{root}/coupons", json={"code": "NEW"}),
            session.post(f"{root}/coupons/batch", json={"create": [{"code": "NEW"}]}),
            session.put(f"{root}/coupons/1", json={"amount": "1"}),
            session.delete(f"{root}/coupons/1", params={"force": "true"}),
        ]
        for answer in writes:
            assert answer.status_code == 401
            assert answer.json() == _error(
                "woocommerce_rest_authentication_error",
                "The API key provided does not have write permissions.",
                401,
            )
        assert session.get(f"{root}/coupons").status_code == 200
        assert [c["code"] for c in handle.state.coupons()] == ["save10"]
