"""Coupons in use: a shopper redeems a gift code once, orders count it, the store refuses more."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import woocommerce

from connector.fixtures.orders import woo_order
from connector.sandbox.errors import RestError
from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.connector.sandbox_fixtures import STORE_COUPONS, STORE_PRODUCTS, FakeClock

AMY = {"email": "Amy@Example.com", "first_name": "Amy"}
GIFT = {
    "code": "GIFT-AMY",
    "amount": "30",
    "usage_limit": 1,
    "usage_limit_per_user": 1,
    "email_restrictions": ["amy@example.com"],
    "minimum_amount": "100",
    "date_expires": "2026-12-31T23:59:59",
}


@pytest.fixture
def store() -> Iterator[SandboxHandle]:
    with start_sandbox(products=STORE_PRODUCTS, coupons=STORE_COUPONS, clock=FakeClock()) as h:
        yield h


@pytest.fixture
def client(store: SandboxHandle) -> woocommerce.API:
    key = store.key
    return woocommerce.API(store.url, key.consumer_key, key.consumer_secret, timeout=10)


@pytest.fixture
def gift(client: woocommerce.API) -> dict[str, Any]:
    """A single-use gift coupon for Amy, made as the alliance makes them: a batch."""
    return client.post("coupons/batch", {"create": [GIFT]}).json()["create"][0]


def _cart(code: str = "GIFT-AMY", billing: dict[str, Any] = AMY, quantity: int = 2) -> dict:
    return {
        "line_items": [{"product_id": 101, "quantity": quantity}],
        "coupon_lines": [{"code": code}],
        "billing": billing,
    }


def test_a_shopper_redeems_a_gift_code_once_and_the_partner_store_shows_it(
    store: SandboxHandle, client: woocommerce.API, gift: dict[str, Any]
) -> None:
    order = store.state.checkout(_cart(), attribution={"utm_source": "alliance"})
    assert (order["status"], order["created_via"]) == ("processing", "checkout")
    assert order["date_paid_gmt"] == "2026-11-20T12:00:00"
    assert order["total"] == "88.00"  # 2 x 59.00 - 30.00
    line = order["coupon_lines"][0]
    assert (line["code"], line["discount"], line["discount_type"]) == (
        "gift-amy",
        "30",
        "fixed_cart",
    )
    meta = {m["key"]: m["value"] for m in order["meta_data"]}
    assert meta["_wc_order_attribution_utm_source"] == "alliance"
    coupon = client.get(f"coupons/{gift['id']}").json()
    assert (coupon["usage_count"], coupon["used_by"]) == (1, ["amy@example.com"])
    seen = client.get("orders", params={"orderby": "id"}).json()
    assert [o["coupon_lines"][0]["code"] for o in seen] == ["gift-amy"]

    with pytest.raises(RestError) as again:
        store.state.checkout(_cart())
    assert (again.value.code, again.value.message) == (
        "invalid_coupon",
        "Usage limit for coupon &quot;gift-amy&quot; has been reached.",
    )
    assert len(store.state.orders()) == 1  # a refused checkout makes no order


@pytest.mark.parametrize(
    ("cart", "message"),
    [
        (
            _cart(billing={"email": "bo@example.com"}),
            "Please enter a valid email to use coupon code &quot;gift-amy&quot;.",
        ),
        (
            _cart(quantity=1),
            'The minimum spend for this coupon is <span class="woocommerce-Price-amount amount">'
            '<bdi><span class="woocommerce-Price-currencySymbol">&yen;</span>100.00</bdi></span>.',
        ),
        (_cart(code="NOPE"), "Coupon &quot;NOPE&quot; does not exist!"),
    ],
)
def test_a_checkout_refuses_another_email_a_small_cart_and_an_unknown_code(
    store: SandboxHandle, gift: dict[str, Any], cart: dict[str, Any], message: str
) -> None:
    with pytest.raises(RestError) as refused:
        store.state.checkout(cart)
    assert refused.value.message == message
    assert store.state.coupon(gift["id"])["usage_count"] == 0


def test_expiring_a_code_now_refuses_it_from_the_next_second(
    store: SandboxHandle, client: woocommerce.API, gift: dict[str, Any]
) -> None:
    clock = store.state._clock
    assert isinstance(clock, FakeClock)
    now = clock.now.strftime("%Y-%m-%dT%H:%M:%S")
    expired = client.put(f"coupons/{gift['id']}", {"date_expires": f"{now}Z"}).json()
    assert expired["date_expires_gmt"] == now
    clock.advance(1)  # WooCommerce refuses when time() > expiry: the expiry second still counts
    with pytest.raises(RestError, match=r"^This coupon has expired\.$"):
        store.state.checkout(_cart())
    answer = client.post("orders", _cart())
    assert answer.status_code == 400
    assert answer.json()["message"] == "This coupon has expired."


def test_an_api_order_over_the_usage_limit_is_refused_and_leaves_a_draft(
    store: SandboxHandle, client: woocommerce.API, gift: dict[str, Any]
) -> None:
    other = {"email": "bo@example.com"}  # POST /orders does not check email restrictions
    first = client.post("orders", _cart(billing=other))
    assert first.status_code == 201
    second = client.post("orders", _cart(billing=other))
    assert second.status_code == 400
    assert second.json() == {
        "code": "woocommerce_rest_invalid_coupon",
        "message": "Usage limit for coupon &quot;gift-amy&quot; has been reached.",
        "data": {"status": 400},
    }
    assert [o["status"] for o in client.get("orders").json()] == ["checkout-draft", "pending"]
    coupon = client.get(f"coupons/{gift['id']}").json()
    assert (coupon["usage_count"], coupon["used_by"]) == (1, ["bo@example.com"])
    twice = client.post(
        "orders", {**_cart(code="save10"), "coupon_lines": [{"code": "SAVE10"}] * 2}
    )
    assert twice.json()["message"] == "Coupon code already applied!"


def test_orders_added_as_they_are_count_coupons_the_store_has_and_ignore_other_codes() -> None:
    def order(order_id: int, code: str, **options: Any) -> dict[str, Any]:
        return woo_order(order_id, coupons=[(code, Decimal("10"))], **options)

    guest = {"email": "Cy@Example.com", "customer_id": 0}
    seeded = [
        order(2001, "SAVE10", customer=guest),
        order(2002, "save10", customer={"email": "dee@example.com", "customer_id": 42}),
        order(2003, "save10", status="cancelled"),
        order(2004, "li-friends"),  # a referral code of another member's store
    ]
    with start_sandbox(coupons=STORE_COUPONS, orders=seeded) as handle:
        coupon = handle.state.find_coupon("SAVE10")
        assert coupon is not None
        assert (coupon["usage_count"], coupon["used_by"]) == (2, ["cy@example.com", "42"])
        handle.state.add_orders([order(2005, "Save10", customer=guest)])
        assert handle.state.find_coupon("save10")["usage_count"] == 3  # type: ignore[index]
        assert handle.state.find_coupon("li-friends") is None


def test_cancelling_an_order_gives_its_use_back_and_processing_it_again_takes_it(
    store: SandboxHandle, client: woocommerce.API, gift: dict[str, Any]
) -> None:
    order = store.state.checkout(_cart())

    def usage() -> tuple[int, list[str]]:
        coupon = client.get(f"coupons/{gift['id']}").json()
        return coupon["usage_count"], coupon["used_by"]

    assert client.put(f"orders/{order['id']}", {"status": "cancelled"}).status_code == 200
    assert usage() == (0, [])
    store.state.set_status(order["id"], "processing")
    assert usage() == (1, ["amy@example.com"])
    client.put(f"orders/{order['id']}", {"status": "completed"})
    assert usage() == (1, ["amy@example.com"])  # counted once, whatever follows
