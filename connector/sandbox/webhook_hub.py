"""Webhooks in the sandbox store: ``/wc/v3/webhooks`` and deliveries from a thread.

As WooCommerce does (reference/woocommerce.md sections 5 and 9b): a webhook is created through
the REST API with a topic, a delivery URL and a secret; creating an active one POSTs the
unsigned form ping ``webhook_id=N`` (its answer is ignored). Changes reach the delivery URL
later, from a thread (WooCommerce queues them in Action Scheduler): the resource's JSON as the
REST API returns it, built at delivery time (``{"id": N}`` for deletions), signed with
``X-WC-Webhook-Signature`` = base64 HMAC-SHA256 of the raw body under the webhook's secret,
with the headers WooCommerce sends. Several changes of one resource between two looks merge
into one delivery. A failed delivery (no answer, or a status outside 200-302) is retried a few
times here (the brief of the sandbox asks for it; WooCommerce itself leaves that to the next
change), counted, and a webhook is disabled once more than 5 deliveries in a row failed.

The hub watches the store's documents instead of being called by every change: it compares
each document's stored JSON with what it saw last, so the state classes need no hooks.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import requests

from connector.sandbox.errors import RestError
from connector.sandbox.response import Response, json_response
from connector.sandbox.state import SandboxState

USER_AGENT = "WooCommerce/10.0.2 Hookshot (WordPress/6.8.3)"
TOPICS = frozenset(
    f"{resource}.{event}"
    for resource in ("order", "product", "coupon", "customer")
    for event in ("created", "updated", "deleted", "restored")
)
FAILURES_BEFORE_DISABLED = 5
"""WooCommerce disables a webhook once its failure count is already above this."""
RETRY_WAITS = (0.1, 0.3)
"""Seconds before each retry of a failed delivery (so three attempts in all)."""
WATCH_SECONDS = 0.05
"""How often the thread looks for changed documents."""
DELIVERY_TIMEOUT = 60.0
"""WooCommerce's delivery timeout."""


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str = field(repr=False)
    status: str = "active"
    failure_count: int = 0
    created: str = ""

    def document(self) -> dict[str, Any]:
        """As ``GET /webhooks/<id>`` shows it (the secret is never shown back)."""
        resource, _, event = self.topic.partition(".")
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "topic": self.topic,
            "resource": resource,
            "event": event,
            "hooks": [f"woocommerce_{event}_{resource}"],
            "delivery_url": self.delivery_url,
            "date_created": self.created,
            "date_created_gmt": self.created,
            "date_modified": self.created,
            "date_modified_gmt": self.created,
        }


@dataclass(frozen=True)
class Delivery:
    """One delivery as the receiver answered it (kept for tests: what was sent, and the answer)."""

    webhook_id: int
    topic: str
    resource_id: int
    status: int  # 0: no answer
    attempts: int


class WebhookHub:
    """The store's webhooks, and the thread that delivers their topics."""

    def __init__(
        self,
        state: SandboxState,
        home_url: str,
        verify: Callable[[], bool | str],
    ) -> None:
        self.state = state
        self.home_url = home_url.rstrip("/") + "/"
        self._verify = verify
        self._lock = threading.Lock()
        self._hooks: dict[int, Webhook] = {}
        self._seen: dict[str, dict[int, bytes]] = {}
        self._ids = itertools.count(1)
        self._delivery_ids = itertools.count(1)
        self.deliveries: list[Delivery] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the REST routes -----------------------------------------------------------------------

    def route(self, method: str, route: str, params: Mapping[str, Any]) -> Response:
        """``/wc/v3/webhooks`` and ``/wc/v3/webhooks/<id>``; the caller authenticated already."""
        tail = route.removeprefix("/wc/v3/webhooks").strip("/")
        if not tail:
            if method == "GET":
                with self._lock:
                    docs = [hook.document() for hook in self._hooks.values()]
                headers = [("X-WP-Total", str(len(docs))), ("X-WP-TotalPages", "1")]
                return json_response(200, docs, headers)
            if method == "POST":
                return self._create(params)
        elif tail.isdigit():
            hook = self._hooks.get(int(tail))
            if hook is None:
                raise RestError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
            if method == "GET":
                return json_response(200, hook.document())
            if method == "DELETE":
                if str(params.get("force", "")).lower() not in ("1", "true", "yes"):
                    raise RestError(
                        501,
                        "woocommerce_rest_trash_not_supported",
                        "Webhooks do not support trashing.",
                    )
                with self._lock:
                    del self._hooks[hook.id]
                return json_response(200, hook.document())
        raise RestError(
            404, "rest_no_route", "No route was found matching the URL and request method."
        )

    def _create(self, params: Mapping[str, Any]) -> Response:
        topic = str(params.get("topic") or "")
        url = str(params.get("delivery_url") or "")
        if topic not in TOPICS:
            raise RestError(
                400,
                "woocommerce_rest_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
            )
        if not url.startswith(("http://", "https://")):
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): delivery_url")
        secret = str(params.get("secret") or "") or secrets.token_urlsafe(37)
        hook = Webhook(
            id=next(self._ids),
            name=str(params.get("name") or f"Webhook created via REST API ({topic})"),
            topic=topic,
            delivery_url=url,
            secret=secret,
            created=self.state.now().strftime("%Y-%m-%dT%H:%M:%S"),
        )
        resource = topic.partition(".")[0]
        with self._lock:
            if resource not in self._seen:  # changes before the first webhook are not news
                self._seen[resource] = self._snapshot(resource)
            self._hooks[hook.id] = hook
        self._ping(hook)
        self.start()
        return json_response(201, hook.document())

    def _ping(self, hook: Webhook) -> None:
        """The unsigned form ping; through the REST API its answer is ignored."""
        with contextlib.suppress(requests.RequestException):
            requests.post(
                hook.delivery_url,
                data={"webhook_id": str(hook.id)},
                headers={"User-Agent": USER_AGENT},
                timeout=DELIVERY_TIMEOUT,
                verify=self._verify(),
                allow_redirects=False,
            )

    def webhooks(self) -> list[Webhook]:
        with self._lock:
            return list(self._hooks.values())

    # -- watching and delivering ---------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, daemon=True, name="sandbox-hooks")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            with contextlib.suppress(Exception):  # a broken look must not end the thread
                self.deliver_changes()

    def _collection(self, resource: str) -> Any:
        return {"order": self.state.order_store, "product": self.state.product_store}.get(resource)

    def _snapshot(self, resource: str) -> dict[int, bytes]:
        collection = self._collection(resource)
        if collection is None:
            return {}
        with self.state.lock:
            return {doc_id: collection.blob(doc_id) or b"" for doc_id in collection.ids()}

    def deliver_changes(self) -> int:
        """Deliver what changed since the last look; returns how many deliveries were made."""
        made = 0
        with self._lock:
            resources = list(self._seen)
        for resource in resources:
            now = self._snapshot(resource)
            before = self._seen.get(resource, {})
            self._seen[resource] = now
            for doc_id, event in _events(before, now):
                made += self._deliver_event(resource, event, doc_id)
        return made

    def _deliver_event(self, resource: str, event: str, doc_id: int) -> int:
        topic = f"{resource}.{event}"
        made = 0
        for hook in self.webhooks():
            if hook.topic != topic or hook.status != "active":
                continue
            blob = self._snapshot(resource).get(doc_id)
            body = orjson.dumps({"id": doc_id}) if event == "deleted" or blob is None else blob
            self._deliver(hook, body, doc_id)
            made += 1
        return made

    def _deliver(self, hook: Webhook, body: bytes, resource_id: int) -> None:
        resource, _, event = hook.topic.partition(".")
        headers = {
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": self.home_url,
            "X-WC-Webhook-Topic": hook.topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature(body, hook.secret),
            "X-WC-Webhook-ID": str(hook.id),
            "X-WC-Webhook-Delivery-ID": str(next(self._delivery_ids)),
        }
        status, attempts = 0, 0
        for wait in (0.0, *RETRY_WAITS):
            if wait:
                time.sleep(wait)
            attempts += 1
            try:
                answer = requests.post(
                    hook.delivery_url,
                    data=body,
                    headers=headers,
                    timeout=DELIVERY_TIMEOUT,
                    verify=self._verify(),
                    allow_redirects=False,
                )
                status = answer.status_code
            except requests.RequestException:
                status = 0
            if 200 <= status <= 302:
                break
        with self._lock:
            if 200 <= status <= 302:
                hook.failure_count = 0
            else:
                hook.failure_count += 1
                if hook.failure_count > FAILURES_BEFORE_DISABLED:
                    hook.status = "disabled"
            self.deliveries.append(Delivery(hook.id, hook.topic, resource_id, status, attempts))


def signature(body: bytes, secret: str) -> str:
    """WooCommerce's ``X-WC-Webhook-Signature``: base64 of HMAC-SHA256(secret, raw body)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _status(blob: bytes) -> str:
    try:
        return str(orjson.loads(blob).get("status", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return ""


def _events(before: dict[int, bytes], now: dict[int, bytes]) -> list[tuple[int, str]]:
    """``(id, event)`` per changed document: created, updated, deleted (trashed or gone) or
    restored (out of the trash)."""
    events: list[tuple[int, str]] = []
    for doc_id, blob in now.items():
        old = before.get(doc_id)
        if old is None:
            events.append((doc_id, "created"))
        elif old != blob:
            was, is_ = _status(old), _status(blob)
            if is_ == "trash" and was != "trash":
                events.append((doc_id, "deleted"))
            elif was == "trash" and is_ != "trash":
                events.append((doc_id, "restored"))
            else:
                events.append((doc_id, "updated"))
    events.extend((doc_id, "deleted") for doc_id in before if doc_id not in now)
    return events
