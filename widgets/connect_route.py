"""``/connect/...``: where a store hands the alliance its key (connect your store).

- ``GET /connect/{member}`` sends the shop owner on to their store's authorize page (the
  plugin's "Connect to the alliance" button links here; ``return_url`` may name a page of
  that same store, the plugin's settings page, to come back to).
- ``POST /connect/callback`` is called by the store itself with the new key
  (:func:`connector.store_connections.complete_connect`). 200 only when the key is taken:
  any other answer makes WooCommerce delete the key it made, which is what a forged, replayed
  or read-only grant deserves. Then the first sync runs: queued for the workers when the
  alliance runs with Redis, else in this process right after the answer.
- ``GET /connect/done`` is where the owner lands afterwards (``success=1`` or ``0``).

The app's own address (for the callback and the webhooks' delivery URL) is
``ALLIANCE_PUBLIC_URL`` when set, else the address the request came to.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from alliance.agreement import Agreement
from alliance.errors import AllianceError, BadInputError, ConfigError
from alliance.settings import Settings
from connector.errors import StoreError
from connector.members import sync_one
from connector.store_connections import complete_connect, start_connect
from connector.woocommerce.authorize import ConnectRefused

log = logging.getLogger("alliance.connect")

MAX_CALLBACK_BODY = 16 * 1024
"""Bytes: the store's JSON is a few hundred."""

QueueSync = Callable[[str], object]
"""Queues a member's sync for the workers; given by the composition root with Redis."""


@dataclass
class Connector:
    engine: Any
    agreement: Agreement
    settings: Settings
    queue_sync: QueueSync | None = None

    def app_url(self, request: Request) -> str:
        return self.settings.public_url or str(request.base_url).rstrip("/")

    def first_sync(self, member: str) -> None:
        """The member's first sync: queued (with Redis) or run here, after the answer."""
        try:
            if self.queue_sync is not None:
                self.queue_sync(member)
                return
            report = sync_one(self.engine, self.agreement, self.settings, member)
            if report.error is not None:
                log.warning("%s: first sync after connecting failed: %s", member, report.error)
        except Exception:
            log.exception("%s: first sync after connecting did not run", member)


def _connector(request: Request) -> Connector:
    return request.app.state.connector


def _page(status: int, title: str, text: str) -> HTMLResponse:
    body = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def start_route(request: Request) -> Response:
    connector = _connector(request)
    member_id = request.path_params["member"]
    member = connector.agreement.members.get(member_id)
    if member is None:
        return _page(404, "Unknown shop", "This shop is not a member of the alliance.")
    back = request.query_params.get("return_url") or None
    if back is not None and _origin(back) != _origin(member.url):
        back = None  # only a page of the member's own store may be returned to
    try:
        url = await run_in_threadpool(
            start_connect,
            connector.engine,
            connector.agreement,
            connector.settings,
            member.id,
            connector.app_url(request),
            return_url=back,
        )
    except AllianceError as exc:
        log.error("connect %s: %s", member.id, exc)
        return _page(503, "Cannot connect now", "The alliance is not set up to keep keys yet; "
                     "its operator has been told why.")  # fmt: skip
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


async def callback_route(request: Request) -> Response:
    connector = _connector(request)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_CALLBACK_BODY:
            return JSONResponse({"error": "body too large"}, status_code=413)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return JSONResponse({"error": "the body is not JSON"}, status_code=400)
    try:
        connected = await run_in_threadpool(
            complete_connect,
            connector.engine,
            connector.agreement,
            connector.settings,
            payload,
            connector.app_url(request),
        )
    except ConnectRefused as exc:
        log.warning("connect callback refused: %s", exc)
        return JSONResponse({"error": str(exc)}, status_code=403)
    except ConfigError as exc:
        log.error("connect callback: %s", exc)
        return JSONResponse({"error": "the alliance cannot keep keys yet"}, status_code=500)
    except StoreError as exc:
        log.warning("connect callback: the store did not answer the check: %s", exc)
        return JSONResponse({"error": "the store could not be checked"}, status_code=502)
    except BadInputError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    task = BackgroundTask(connector.first_sync, connected.member)
    return JSONResponse(
        {"status": "connected", "member": connected.member, "webhooks": connected.webhooks},
        background=task,
    )


async def done_route(request: Request) -> Response:
    if request.query_params.get("success") == "1":
        return _page(200, "Your store is connected", "The alliance now syncs your orders and "
                     "products; you can close this page.")  # fmt: skip
    return _page(
        200,
        "Your store is not connected",
        "The key was not approved, or the "
        "alliance could not use it. Try again from the plugin's settings page.",
    )


def connect_routes() -> list[Route]:
    return [
        Route("/connect/callback", callback_route, methods=["POST"]),
        Route("/connect/done", done_route, methods=["GET"]),
        Route("/connect/{member}", start_route, methods=["GET"]),
    ]
