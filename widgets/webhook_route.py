"""``POST /webhooks/woocommerce/{member}``: verify a delivery, then sync (or queue) the order.

The body is read raw (the signature covers those exact bytes) and capped at
:data:`MAX_BODY` bytes. When the app is handed a way to queue orders (the composition root does
so with ``ALLIANCE_REDIS_URL`` set), an order delivery is queued for the workers (202); without
one, the order is fetched back from the store and booked inline (200). Either way the
delivery's body is never booked: it only says which order to sync.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from alliance.agreement import Agreement
from alliance.errors import ConfigError, RetriableError
from connector.connect import open_store
from connector.sync import handle_webhook
from connector.woocommerce.webhooks import Ping, SyncOrder, WebhookRejected, read_webhook

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
"""Bytes: WooCommerce order JSON is a few kilobytes; anything near a megabyte is not ours."""


QueueOrder = Callable[[str, int], object]
"""Hands one order to the workers: ``(member, order id)``. The web app imports no worker: the
composition root gives it this when the alliance runs with Redis (``worker.queues``)."""


class _TooLarge(Exception):
    pass


@dataclass
class WebhookReceiver:
    """What the route needs, built once per app."""

    engine: Any
    agreement: Agreement
    secret: bytes  # the alliance secret (customer keys), not a webhook secret
    environ: Mapping[str, str]
    queue_order: QueueOrder | None = None  # None: orders are synced inline

    def webhook_secret(self, member: str) -> str:
        return self.environ.get(self.agreement.members[member].webhook_secret_variable, "")

    def process_inline(self, member: str, event: SyncOrder) -> None:
        store = open_store(self.agreement.members[member], self.environ)
        handle_webhook(self.engine, self.agreement, store, event, secret=self.secret)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def webhook_route(request: Request) -> JSONResponse:
    receiver: WebhookReceiver = request.app.state.webhooks
    member = request.path_params["member"]
    if member not in receiver.agreement.members:
        return _error(404, "no such member")
    try:
        body = await _body(request)
    except _TooLarge:
        return _error(413, f"body larger than {MAX_BODY} bytes")
    try:
        event = read_webhook(member, request.headers, body, receiver.webhook_secret(member))
    except WebhookRejected as exc:
        return _error(exc.status, str(exc))
    if isinstance(event, Ping):
        return JSONResponse({"status": "ok"})
    if not isinstance(event, SyncOrder):
        return JSONResponse({"status": "ignored"})  # products: the next scheduled sync
    if receiver.queue_order is not None:
        await run_in_threadpool(receiver.queue_order, member, event.order_id)
        return JSONResponse({"status": "queued"}, status_code=202)
    try:
        await run_in_threadpool(receiver.process_inline, member, event)
    except ConfigError as exc:
        log.error("webhook for %s: %s", member, exc)
        return _error(500, "the alliance cannot reach this store: see its logs")
    except RetriableError as exc:
        log.warning("webhook for %s: order %d: %s", member, event.order_id, exc)
        return _error(503, "the store could not be read now; the next sync will catch up")
    return JSONResponse({"status": "processed"})


def receiver_from(
    engine: Any,
    agreement: Agreement,
    secret: bytes,
    queue_order: QueueOrder | None = None,
    environ: Mapping[str, str] | None = None,
) -> WebhookReceiver:
    return WebhookReceiver(
        engine, agreement, secret, os.environ if environ is None else environ, queue_order
    )
