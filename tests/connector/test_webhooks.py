"""WooCommerce webhook deliveries: signed ones become sync events, everything else is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance.errors import BadInputError
from connector.fixtures.orders import PERSONAL_STRINGS, distinctive_customer, woo_order
from connector.fixtures.products import woo_product
from connector.woocommerce.webhooks import (
    Ignored,
    Ping,
    SyncOrder,
    SyncProduct,
    WebhookEvent,
    WebhookRejected,
    read_webhook,
    signature,
    verify_signature,
)

SECRET = "wc_whsec_Rq8!pZ2#kV5*mN7(tY4)"
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150)
DELIVERY = "3b1c5a7f0e2d4b6a8c9e1f3a5b7d9c0e"


def wc_signature(body: bytes, secret: str) -> str:
    """What WooCommerce sends: base64_encode(hash_hmac('sha256', $body, $secret, true))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def wc_headers(body: bytes, topic: str, secret: str = SECRET, **extra: str) -> dict[str, str]:
    """The headers of a delivery, spelled as WooCommerce spells them."""
    resource, _, event = topic.partition(".")
    return {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/10.0.2 Hookshot (WordPress/6.8.3)",
        "X-WC-Webhook-Source": "https://shop.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": wc_signature(body, secret),
        "X-WC-Webhook-ID": "17",
        "X-WC-Webhook-Delivery-ID": DELIVERY,
        **extra,
    }


def order_body(order_id: int = 1234, **kwargs: Any) -> bytes:
    """A real order as WooCommerce delivers it, customer and all."""
    kwargs.setdefault("customer", distinctive_customer("leak"))
    return json.dumps(woo_order(order_id, **kwargs)).encode()


def rejected(headers: Any, body: bytes, secret: str = SECRET) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        read_webhook("wang", headers, body, secret)
    return caught.value


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    # Known answer from `printf hello | openssl dgst -sha256 -hmac wc_secret_abc -binary | base64`
    assert signature(b"hello", "wc_secret_abc") == "y766P7PyrQ6WhC4u1k2/U/g286dHoogzgB0iJ1LtLm0="
    body = order_body()
    assert signature(body, SECRET) == wc_signature(body, SECRET)
    assert verify_signature(body, wc_signature(body, SECRET), SECRET)


@pytest.mark.parametrize("event", ["created", "updated", "restored"])
def test_a_signed_order_delivery_asks_to_sync_that_order(event: str) -> None:
    body = order_body(1234, status="processing", coupons=[("SAVE10", Decimal(10))])
    result = read_webhook("wang", wc_headers(body, f"order.{event}"), body, SECRET)
    assert result == SyncOrder("wang", 1234, f"order.{event}", DELIVERY)


def test_a_deleted_order_sends_only_its_id_and_still_asks_to_sync() -> None:
    body = b'{"id":1234}'
    result = read_webhook("wang", wc_headers(body, "order.deleted"), body, SECRET)
    assert result == SyncOrder("wang", 1234, "order.deleted", DELIVERY)


def test_nothing_personal_from_the_order_body_is_kept() -> None:
    body = order_body()
    result = read_webhook("wang", wc_headers(body, "order.updated"), body, SECRET)
    kept = repr(result)
    assert all(value not in kept for value in ("leak", "example.com", "203.0.113"))
    assert set(PERSONAL_STRINGS) <= set(distinctive_customer("x"))  # the fixture covers them all


@pytest.mark.parametrize("event", ["created", "updated", "deleted", "restored"])
def test_a_signed_product_delivery_asks_to_sync_that_product(event: str) -> None:
    body = json.dumps(woo_product(205)).encode() if event != "deleted" else b'{"id":205}'
    result = read_webhook("li", wc_headers(body, f"product.{event}"), body, SECRET)
    assert result == SyncProduct("li", 205, f"product.{event}", DELIVERY)


@pytest.mark.parametrize(
    ("topic", "body", "reason"),
    [
        ("coupon.created", b'{"id":9,"code":"save10"}', "coupon deliveries are not used"),
        ("customer.updated", b'{"id":3,"email":"x@example.com"}', "customer deliveries"),
        ("action.woocommerce_add_to_cart", b'{"action":"woocommerce_add_to_cart","arg":"ab"}', ""),
        ("order.paid", b'{"id":1234}', "unknown order event"),
    ],
)
def test_other_genuine_topics_are_ignored(topic: str, body: bytes, reason: str) -> None:
    result = read_webhook("wang", wc_headers(body, topic), body, SECRET)
    assert isinstance(result, Ignored) and result.topic == topic
    assert reason in result.reason
    assert "example.com" not in repr(result)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
        None,
    ],
)
def test_the_unsigned_creation_ping_is_answered(content_type: str | None) -> None:
    headers = {"User-Agent": "WooCommerce/10.0.2 Hookshot (WordPress/6.8.3)"}
    if content_type:
        headers["Content-Type"] = content_type
    assert read_webhook("wang", headers, b"webhook_id=17", SECRET) == Ping(17)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"webhook_id=17&topic=order.updated", "application/x-www-form-urlencoded"),
        (b"webhook_id=017", "application/x-www-form-urlencoded"),
        (b"webhook_id=0", "application/x-www-form-urlencoded"),
        (b"webhook_id=-1", "application/x-www-form-urlencoded"),
        (b"webhook_id=17\n", "application/x-www-form-urlencoded"),
        (b"webhook_id=99999999999999999999", "application/x-www-form-urlencoded"),
        (b'{"webhook_id":17}', "application/json"),
        (b"webhook_id=17", "application/json"),
        (b"", None),
    ],
)
def test_nothing_but_the_exact_ping_may_come_unsigned(
    body: bytes, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert rejected(headers, body).status == 401


def test_an_unsigned_order_is_refused_naming_the_member_whose_secret_to_check() -> None:
    body = order_body()
    headers = wc_headers(body, "order.updated")
    del headers["X-WC-Webhook-Signature"]
    error = rejected(headers, body)
    assert error.status == 401
    assert "wang" in str(error) and "webhook secret" in str(error)
    assert "leak" not in str(error)


def test_a_blank_signature_counts_as_missing() -> None:
    body = order_body()
    headers = wc_headers(body, "order.updated") | {"X-WC-Webhook-Signature": " "}
    assert rejected(headers, body).status == 401


def test_a_wrong_secret_is_refused_without_revealing_either_secret_or_signature() -> None:
    body = order_body()
    headers = wc_headers(body, "order.updated", secret="someone-elses-secret")
    error = rejected(headers, body)
    assert error.status == 401
    assert "wang" in str(error) and "webhook secret" in str(error)
    for secret in (SECRET, "someone-elses-secret", headers["X-WC-Webhook-Signature"]):
        assert secret not in str(error)
    assert wc_signature(body, SECRET) not in str(error)


def test_an_empty_secret_verifies_nothing() -> None:
    body = order_body()
    assert not verify_signature(body, wc_signature(body, ""), "")
    error = rejected(wc_headers(body, "order.updated", secret=""), body, secret="")
    assert error.status == 401 and "no webhook secret" in str(error)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b.replace(b'"id": 1234', b'"id": 1235', 1),
        lambda b: b.replace(b'"processing"', b'"completed"'),
        lambda b: b + b" ",
        lambda b: b"\n" + b,
        lambda b: b[:-1],
        lambda b: json.dumps(json.loads(b), separators=(",", ":")).encode(),  # same JSON, new bytes
    ],
)
def test_a_tampered_body_fails_verification(tamper: Any) -> None:
    body = order_body(1234, status="processing")
    headers = wc_headers(body, "order.updated")
    changed = tamper(body)
    assert changed != body
    assert rejected(headers, changed).status == 401


@pytest.mark.parametrize(
    "spell",
    [str.lower, str.upper, lambda name: name.swapcase(), lambda name: f" {name.title()} "],
)
def test_header_names_are_matched_whatever_their_case(spell: Any) -> None:
    body = order_body()
    headers = {spell(name): value for name, value in wc_headers(body, "order.updated").items()}
    assert read_webhook("wang", headers, body, SECRET) == SyncOrder(
        "wang", 1234, "order.updated", DELIVERY
    )


def test_the_same_header_spelt_twice_must_agree() -> None:
    body = order_body()
    headers = wc_headers(body, "order.updated")
    agreeing = headers | {"x-wc-webhook-topic": "order.updated"}
    assert isinstance(read_webhook("wang", agreeing, body, SECRET), SyncOrder)
    conflicting = headers | {"x-wc-webhook-topic": "coupon.updated"}
    error = rejected(conflicting, body)
    assert (error.status, str(error)) == (400, "conflicting X-WC-Webhook-Topic headers")


def test_surrounding_whitespace_in_the_signature_is_tolerated() -> None:
    body = order_body()
    headers = wc_headers(body, "order.updated")
    headers["X-WC-Webhook-Signature"] = f"  {headers['X-WC-Webhook-Signature']}\t"
    assert isinstance(read_webhook("wang", headers, body, SECRET), SyncOrder)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>captcha</html>", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b"", "not JSON"),
        (b"[" * 5000 + b"]" * 5000, "not JSON"),
        (b"[1234]", "not a JSON object"),
        (b'"1234"', "not a JSON object"),
        (b"{}", "no positive whole-number id"),
        (b'{"id":"1234"}', "no positive whole-number id"),
        (b'{"id":-5}', "no positive whole-number id"),
        (b'{"id":0}', "no positive whole-number id"),
        (b'{"id":true}', "no positive whole-number id"),
        (b'{"id":1234.0}', "no positive whole-number id"),
        (b'{"id":null}', "no positive whole-number id"),
        (b'{"id":99999999999999999999}', "no positive whole-number id"),
        (b'{"id":NaN}', "not JSON"),
    ],
)
def test_a_signed_body_without_a_positive_integer_id_is_malformed(
    body: bytes, message: str
) -> None:
    error = rejected(wc_headers(body, "order.updated"), body)
    assert error.status == 400
    verb = "is" if message.startswith("not") else "has"
    assert str(error) == f"order.updated delivery: body {verb} {message}"


def test_a_signed_delivery_without_any_topic_is_malformed() -> None:
    body = order_body()
    headers = wc_headers(body, "order.updated")
    for name in ("X-WC-Webhook-Topic", "X-WC-Webhook-Resource", "X-WC-Webhook-Event"):
        del headers[name]
    error = rejected(headers, body)
    assert error.status == 400
    assert str(error) == "signed delivery without an X-WC-Webhook-Topic header"


def test_resource_and_event_headers_stand_in_for_a_missing_topic() -> None:
    body = order_body()
    headers = wc_headers(body, "order.updated")
    del headers["X-WC-Webhook-Topic"]
    assert read_webhook("wang", headers, body, SECRET) == SyncOrder(
        "wang", 1234, "order.updated", DELIVERY
    )


@pytest.mark.parametrize(
    ("given", "kept"),
    [(DELIVERY, DELIVERY), ("", ""), ("x" * 500, ""), ("id\x1b[2J", ""), ("a b", "")],
)
def test_only_a_sane_delivery_id_is_passed_on(given: str, kept: str) -> None:
    body = b'{"id":7}'
    headers = wc_headers(body, "order.updated", **{"X-WC-Webhook-Delivery-ID": given})
    event = read_webhook("wang", headers, body, SECRET)
    assert isinstance(event, SyncOrder) and event.delivery_id == kept


def test_a_topic_with_control_characters_is_cleaned_before_it_is_reported() -> None:
    body = b'{"id":7}'
    event = read_webhook("wang", wc_headers(body, "coupon.\x1b[2Jupdated\r\n"), body, SECRET)
    assert event == Ignored("coupon.[2Jupdated", "coupon deliveries are not used by the alliance")


def test_duplicate_deliveries_read_the_same_so_syncing_twice_is_harmless() -> None:
    body = order_body()
    headers = wc_headers(body, "order.updated")
    first, again = (read_webhook("wang", headers, body, SECRET) for _ in range(2))
    assert first == again


def test_rejections_are_bad_input() -> None:
    error = rejected({}, b"")
    assert isinstance(error, BadInputError) and isinstance(error, ValueError)


def test_headers_that_are_not_a_mapping_are_malformed() -> None:
    assert rejected(None, b"webhook_id=1").status == 400


# --- over a real socket ---------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    """The smallest route: raw body and real headers in, read_webhook's answer out."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            event: WebhookEvent = read_webhook("wang", self.headers, body, SECRET)  # type: ignore[arg-type]
            status, answer = 200, type(event).__name__
        except WebhookRejected as error:
            status, answer = error.status, str(error)
        payload = answer.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/wang"
    server.shutdown()
    server.server_close()


def test_deliveries_over_http_get_the_answers_woocommerce_expects(receiver: str) -> None:
    body = order_body()
    with requests.Session() as http:
        ok = http.post(receiver, data=body, headers=wc_headers(body, "order.updated"), timeout=5)
        assert (ok.status_code, ok.text) == (200, "SyncOrder")
        ping = http.post(
            receiver,
            data=b"webhook_id=17",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=5,
        )
        assert (ping.status_code, ping.text) == (200, "Ping")
        forged = http.post(
            receiver, data=body, headers=wc_headers(body, "order.updated", "guess"), timeout=5
        )
        assert forged.status_code == 401 and "wang" in forged.text
        broken = b"[1234]"
        headers = wc_headers(broken, "order.updated")
        bad = http.post(receiver, data=broken, headers=headers, timeout=5)
        assert bad.status_code == 400


# --- properties -----------------------------------------------------------------------------

HEADER_NAMES = [
    "X-WC-Webhook-Signature",
    "X-WC-Webhook-Topic",
    "X-WC-Webhook-Resource",
    "X-WC-Webhook-Event",
    "X-WC-Webhook-Delivery-ID",
    "Content-Type",
]
header_names = st.one_of(
    st.sampled_from(HEADER_NAMES).flatmap(
        lambda name: st.sampled_from([name, name.lower(), name.upper(), name.swapcase()])
    ),
    st.text(max_size=12),
)
header_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["order.updated", "product.created", "coupon.deleted", "order.", ".updated", "order.x.y",
         "application/x-www-form-urlencoded", "application/json", "", " "]
    ),
)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"webhook_id=1", b'{"id":1}', b'{"id":"1"}', b"[]", b"{}", b'{"id":1e3}']),
    st.builds(lambda n: json.dumps({"id": n}).encode(), st.integers(-(2**70), 2**70)),
)


@PROPERTY
@given(
    st.dictionaries(header_names, header_values, max_size=8),
    bodies,
    st.booleans(),
    st.just("") | st.builds("zq{}qz".format, st.text(max_size=20)),  # findable in a message
)
def test_any_headers_and_body_give_an_event_or_a_rejection(
    headers: dict[str, str], body: bytes, sign: bool, secret: str
) -> None:
    if sign:
        headers["x-wc-webhook-signature"] = wc_signature(body, secret)
        headers.pop("X-WC-Webhook-Signature", None)
    try:
        event = read_webhook("wang", headers, body, secret)
    except WebhookRejected as error:
        assert error.status in (400, 401)
        assert not secret or secret not in str(error)
        return
    assert isinstance(event, Ping | SyncOrder | SyncProduct | Ignored)
    if isinstance(event, SyncOrder | SyncProduct):
        assert sign and secret and json.loads(body)["id"] > 0


@PROPERTY
@given(st.binary(min_size=1, max_size=300), st.data())
def test_any_one_byte_change_to_a_signed_body_fails_verification(
    body: bytes, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(body) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda byte: byte != body[index]))
    changed = body[:index] + bytes([new]) + body[index + 1 :]
    given_signature = wc_signature(body, SECRET)
    assert verify_signature(body, given_signature, SECRET)
    assert not verify_signature(changed, given_signature, SECRET)
    headers = {"X-WC-Webhook-Signature": given_signature, "X-WC-Webhook-Topic": "order.updated"}
    with pytest.raises(WebhookRejected) as caught:
        read_webhook("wang", headers, changed, SECRET)
    assert caught.value.status == 401


@PROPERTY
@given(st.integers(1, 2**63 - 1))
def test_every_ping_id_woocommerce_can_send_is_answered(webhook_id: int) -> None:
    body = f"webhook_id={webhook_id}".encode()
    assert read_webhook("wang", {}, body, SECRET) == Ping(webhook_id)
