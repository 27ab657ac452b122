"""``POST /webhooks/woocommerce/{member}``: verify a delivery, then sync (or queue) the order.

The body is read raw (the signature covers those exact bytes) and capped at
:data:`MAX_BODY` bytes. When the app is handed a way to queue orders (the composition root does
so with ``ALLIANCE_REDIS_URL`` set), an order delivery is queued for the workers (202); without
one, the order is fetched back from the store and booked inline (200). Either way the
delivery's body is never booked: it only says which order to sync.

WooCommerce counts any answer outside 2xx as a failure and disables the webhook after a few in
a row, so a genuine delivery is refused only when a later delivery could succeed (503: a store,
the queue or the database unreachable for now). A wrong signature is 401 and an unknown member
404; a signed delivery the alliance cannot act on (no order id, keys missing or refused, an
order the store no longer has) is logged with the reason and answered 200.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from alliance.agreement import Agreement
from alliance.errors import AllianceError, RetriableError
from alliance.services.booking import BookingResult
from alliance.settings import Settings
from connector.connect import open_store
from connector.store_connections import connected_environ, webhook_secret_for
from connector.sync import handle_webhook
from connector.woocommerce.webhooks import (
    SIGNATURE,
    Ping,
    SyncOrder,
    WebhookRejected,
    read_webhook,
    verify_signature,
)

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
"""Bytes: WooCommerce order JSON is a few kilobytes; anything near a megabyte is not ours."""


QueueOrder = Callable[[SyncOrder], object]
"""Hands one order delivery to the workers. The web app imports no worker: the composition
root gives it this when the alliance runs with Redis (``worker.queues``). It raises a
:class:`~alliance.errors.RetriableError` when the queue cannot be reached (answered 503)."""

NOT_PROCESSED = (
    "the alliance could not act on this delivery (the reason is in its logs); the next "
    "scheduled sync catches up once that is fixed"
)
"""Said to WooCommerce with a 200 when retrying the delivery cannot help (keys, settings)."""


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
    settings: Settings | None = None  # with it, connected stores' keys and webhook secrets

    def webhook_secret(self, member: str, webhook_id: str | None = None) -> str:
        """The secret of the webhook the delivery names when the alliance registered it
        (connect your store), else the member's ``<CREDENTIALS_ENV>_WEBHOOK_SECRET``."""
        if webhook_id and self.settings is not None:
            stored = webhook_secret_for(self.engine, self.settings, member, webhook_id)
            if stored:
                return stored
        return self.environ.get(self.agreement.members[member].webhook_secret_variable, "")

    def credentials(self) -> Mapping[str, str]:
        if self.settings is None:
            return self.environ
        return connected_environ(self.engine, self.agreement, self.settings, self.environ)

    def process_inline(self, member: str, event: SyncOrder) -> BookingResult | None:
        store = open_store(self.agreement.members[member], self.credentials())
        try:
            return handle_webhook(self.engine, self.agreement, store, event, secret=self.secret)
        finally:
            store.close()


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
    secret = await run_in_threadpool(
        receiver.webhook_secret, member, request.headers.get("x-wc-webhook-id")
    )
    try:
        event = read_webhook(member, request.headers, body, secret)
    except WebhookRejected as exc:
        if exc.status == 400 and verify_signature(body, request.headers.get(SIGNATURE), secret):
            log.warning("webhook for %s: a signed delivery names nothing to sync: %s", member, exc)
            return JSONResponse({"status": "ignored", "reason": str(exc)})
        return _error(exc.status, str(exc))
    if isinstance(event, Ping):
        return JSONResponse({"status": "ok"})
    if not isinstance(event, SyncOrder):
        return JSONResponse({"status": "ignored"})  # products: the next scheduled sync
    return await _act(receiver, member, event)


async def _act(receiver: WebhookReceiver, member: str, event: SyncOrder) -> JSONResponse:
    """Queue or book the order. WooCommerce disables a webhook after repeated failures (any
    answer outside 2xx), so only what a later delivery can fix is a failure (503): a store
    or a queue or a database unreachable for now. Anything else is logged and answered 200."""
    queue_order = receiver.queue_order
    try:
        if queue_order is not None:
            await run_in_threadpool(queue_order, event)
            return JSONResponse({"status": "queued"}, status_code=202)
        booked = await run_in_threadpool(receiver.process_inline, member, event)
    except RetriableError as exc:
        log.warning("webhook for %s: order %d: %s", member, event.order_id, exc)
        where = "the store" if queue_order is None else "the alliance's job queue"
        return _error(503, f"{where} cannot be reached now; deliver it again later")
    except OperationalError as exc:
        log.warning("webhook for %s: order %d: database: %s", member, event.order_id, exc.orig)
        return _error(503, "the alliance's database cannot be reached now; deliver it again later")
    except AllianceError as exc:
        log.error("webhook for %s: order %d not processed: %s", member, event.order_id, exc)
        return JSONResponse({"status": "not processed", "reason": NOT_PROCESSED})
    except Exception:
        log.exception("webhook for %s: order %d not processed", member, event.order_id)
        return JSONResponse({"status": "not processed", "reason": NOT_PROCESSED})
    return JSONResponse({"status": "processed" if booked is not None else "nothing to book"})


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
