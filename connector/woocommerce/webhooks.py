"""WooCommerce webhook deliveries: verify them, and say what the caller should do.

WooCommerce POSTs the resource's JSON (built at delivery time; ``{"id": N}`` for deletions)
with ``X-WC-Webhook-Signature: base64(HMAC-SHA256(secret, raw body))``; the creation ping is
an unsigned form body ``webhook_id=N`` (reference/woocommerce.md section 5). Only the body is
signed, not the headers, so an event never carries data to trust: it only says "go and sync
order N", and the caller fetches the order from the store's API. For the same reason only
``id`` is read from the body: nothing personal in an order is parsed, kept or logged.

:func:`read_webhook` is pure. Duplicate and replayed deliveries are harmless because the
caller's "sync this order/product" is idempotent (it re-reads the store and keeps the newest
revision), so the route may answer 200 for every event it returns and need not remember
delivery ids. Answer ``WebhookRejected.status`` when it raises: WooCommerce counts anything
outside 200-302 as a failure and disables the webhook after more than 5 in a row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from alliance.errors import BadInputError
from connector import json_body
from connector.woocommerce.fields import _CONTROL, MAX_ID

SIGNATURE = "x-wc-webhook-signature"
TOPIC = "x-wc-webhook-topic"
RESOURCE = "x-wc-webhook-resource"
EVENT = "x-wc-webhook-event"
DELIVERY_ID = "x-wc-webhook-delivery-id"
CONTENT_TYPE = "content-type"
_READ = (SIGNATURE, TOPIC, RESOURCE, EVENT, DELIVERY_ID, CONTENT_TYPE)
"""The headers we look at, lowercased (HTTP header names are case-insensitive).

``X-WC-Webhook-Source`` and ``-ID`` are not read: headers are not signed, and the member is
known from the URL the delivery came to."""

SYNC_EVENTS = frozenset({"created", "updated", "deleted", "restored"})
"""Events of ``order.*``/``product.*`` that mean "this resource changed: sync it"."""

FORM = "application/x-www-form-urlencoded"
TOPIC_MAX = 100
_PING_RE = re.compile(rb"webhook_id=([1-9][0-9]{0,18})")
_DELIVERY_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class WebhookRejected(BadInputError):
    """A delivery we refuse; ``status`` is the HTTP answer: 401 unsigned/bad, 400 malformed."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Ping:
    """The creation/activation ping: answer exactly 200 or WooCommerce shows an error."""

    webhook_id: int


@dataclass(frozen=True)
class SyncOrder:
    """Order ``order_id`` changed (or was deleted/restored: see ``topic``): sync it."""

    member: str
    order_id: int
    topic: str
    delivery_id: str


@dataclass(frozen=True)
class SyncProduct:
    """Product ``product_id`` changed: sync it. Variations fire ``product.*`` with their own id."""

    member: str
    product_id: int
    topic: str
    delivery_id: str


@dataclass(frozen=True)
class Ignored:
    """A genuine delivery we have no use for (``coupon.*``, ``customer.*``, ``action.*``): 200."""

    topic: str
    reason: str


WebhookEvent = Ping | SyncOrder | SyncProduct | Ignored


def signature(body: bytes, secret: str) -> str:
    """``X-WC-Webhook-Signature`` for ``body``: base64 of HMAC-SHA256 keyed with the secret.

    WooCommerce keys the HMAC with the secret after HTML-entity decoding; secrets without
    ``&`` (plain ASCII letters, digits and most punctuation) are the same either way.
    """
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(body: bytes, given: str | None, secret: str) -> bool:
    """True when ``given`` is the signature of ``body`` (compared in constant time).

    An empty secret verifies nothing: anyone can sign with an empty key.
    """
    if not secret or type(given) is not str:
        return False
    given = given.strip()
    if not given or not given.isascii():
        return False
    return hmac.compare_digest(signature(body, secret).encode("ascii"), given.encode("ascii"))


def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers we read, by lowercase name; two spellings with different values are refused."""
    found: dict[str, str] = {}
    try:
        items = list(headers.items())
    except (AttributeError, TypeError):
        raise WebhookRejected(400, "webhook headers are not a mapping") from None
    for key, value in items:
        if type(key) is not str or type(value) is not str:
            continue
        name = key.strip().lower()
        if name not in _READ:
            continue
        value = value.strip()
        if found.setdefault(name, value) != value:
            raise WebhookRejected(400, f"conflicting {_title(name)} headers")
    return found


def _title(name: str) -> str:
    return "-".join("WC" if part == "wc" else part.capitalize() for part in name.split("-"))


def _ping_id(body: bytes, content_type: str | None) -> int | None:
    """The webhook id of a creation ping body, or None if ``body`` is not exactly a ping."""
    if content_type and content_type.split(";")[0].strip().lower() != FORM:
        return None
    match = _PING_RE.fullmatch(body)
    if match is None:
        return None
    webhook_id = int(match.group(1))
    return webhook_id if webhook_id <= MAX_ID else None


def _shown(text: str) -> str:
    """A header value fit for messages and logs: no control characters, short."""
    return text.translate(_CONTROL)[:TOPIC_MAX]


def _resource_id(body: bytes, topic: str) -> int:
    """``id`` of a signed JSON object body; the rest of the body is never looked at."""
    try:
        document = json_body.loads(body)
    except ValueError:
        raise WebhookRejected(400, f"{topic} delivery: body is not JSON") from None
    if type(document) is not dict:
        raise WebhookRejected(400, f"{topic} delivery: body is not a JSON object")
    resource_id = document.get("id")
    if type(resource_id) is not int or not 0 < resource_id <= MAX_ID:
        raise WebhookRejected(400, f"{topic} delivery: body has no positive whole-number id")
    return resource_id


def read_webhook(member: str, headers: Mapping[str, str], body: bytes, secret: str) -> WebhookEvent:
    """Verify one delivery to ``member``'s webhook URL and say what to do about it.

    ``body`` must be the raw request body, byte for byte (the signature covers exactly those
    bytes); ``secret`` is the member's webhook secret. Raises :class:`WebhookRejected` and
    nothing else, whatever bytes the body and the headers hold. Messages never contain the
    secret, the signature or anything from the body.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"body must be the raw request bytes, not {type(body).__name__}")
    body = bytes(body)
    found = _headers(headers)
    given = found.get(SIGNATURE)
    if not given:
        webhook_id = _ping_id(body, found.get(CONTENT_TYPE))
        if webhook_id is not None:
            return Ping(webhook_id)
        raise WebhookRejected(
            401,
            f"webhook delivery for {member} has no X-WC-Webhook-Signature header; only the "
            f"creation ping may come unsigned. Check {member}'s webhook secret and delivery URL",
        )
    if not secret:
        raise WebhookRejected(
            401, f"no webhook secret is set for {member}: cannot verify its webhook deliveries"
        )
    if not verify_signature(body, given, secret):
        raise WebhookRejected(
            401,
            f"webhook signature does not match for {member}: check that {member}'s webhook "
            "secret here is the secret of the webhook in WooCommerce",
        )

    topic = found.get(TOPIC) or ""
    if not topic and found.get(RESOURCE) and found.get(EVENT):
        topic = f"{found[RESOURCE]}.{found[EVENT]}"
    if not topic:
        webhook_id = _ping_id(body, found.get(CONTENT_TYPE))
        if webhook_id is not None:  # a ping signed by a plugin's filter: still a ping
            return Ping(webhook_id)
        raise WebhookRejected(400, "signed delivery without an X-WC-Webhook-Topic header")
    topic = _shown(topic)
    resource, _, event = topic.partition(".")
    delivery = found.get(DELIVERY_ID, "")
    delivery_id = delivery if _DELIVERY_ID_RE.fullmatch(delivery) else ""
    if resource not in ("order", "product"):
        return Ignored(topic, f"{resource or topic} deliveries are not used by the alliance")
    if event not in SYNC_EVENTS:
        return Ignored(topic, f"unknown {resource} event")
    resource_id = _resource_id(body, topic)
    if resource == "order":
        return SyncOrder(member, resource_id, topic, delivery_id)
    return SyncProduct(member, resource_id, topic, delivery_id)
