"""``/wc-auth/v1/authorize`` in the sandbox store: WooCommerce's "an app asks for a key".

What a genuine store does (reference/woocommerce.md section 9b, ``class-wc-auth.php``): the
request names ``app_name``, ``scope`` (read, write or read_write), ``user_id`` (any string:
it comes back untouched), ``return_url`` and ``callback_url``. A ``callback_url`` over plain
HTTP is refused at once (401 page). Otherwise the shop owner signs in and approves; the store
makes a key with the scope's permissions and POSTs it, server to server, as JSON
(``key_id``, ``user_id``, ``consumer_key``, ``consumer_secret``, ``key_permissions``) to
``callback_url``; anything but HTTP 200 there revokes the key and shows an error page. Then
the owner is sent to ``return_url`` with ``success=1&user_id=...`` (``success=0`` when they
deny).

The sandbox has no one to sign in: it approves at once. ``&deny`` in the query refuses
instead, and ``&read_only`` makes a read key whatever the scope (as an owner who edits the
key's permissions afterwards), so both unhappy paths are testable end to end.
"""

from __future__ import annotations

import html
import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from connector.sandbox.auth import ApiKey, Permission, generate_key
from connector.sandbox.response import Response

SCOPES: dict[str, Permission] = {"read": "read", "write": "write", "read_write": "read_write"}
CALLBACK_TIMEOUT = 60.0
"""WooCommerce waits this long for the app's callback."""


@dataclass(frozen=True)
class Grant:
    """A key the store handed to an app (for tests: which, to whom, answered how)."""

    key_id: int
    app_name: str
    key: ApiKey
    callback_status: int  # 0: no answer


@dataclass
class WcAuth:
    """The authorize endpoint over the store's keys (shared with the REST authentication)."""

    keys: dict[str, ApiKey]
    verify: Callable[[], bool | str]
    insecure_callbacks: bool = False
    grants: list[Grant] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def authorize(self, query: Sequence[tuple[str, str]]) -> Response:
        params = dict(query)
        for name in ("app_name", "scope", "user_id", "return_url", "callback_url"):
            if not params.get(name):
                return _page(400, f"Missing parameter {name}")
        scope = SCOPES.get(params["scope"])
        if scope is None:
            return _page(400, "Invalid scope")
        callback, back = params["callback_url"], params["return_url"]
        if not callback.startswith("https://") and not self.insecure_callbacks:
            return _page(401, "The callback_url needs to be over SSL.")
        if "deny" in params:
            return _redirect(back, success=0, user_id=params["user_id"])
        key = generate_key("read" if "read_only" in params else scope)
        key_id = next(self._ids)
        with self._lock:
            self.keys[key.consumer_key] = key
        payload = {
            "key_id": key_id,
            "user_id": params["user_id"],
            "consumer_key": key.consumer_key,
            "consumer_secret": key.consumer_secret,
            "key_permissions": key.permissions,
        }
        try:
            answer = requests.post(
                callback,
                json=payload,
                timeout=CALLBACK_TIMEOUT,
                verify=self.verify(),
                allow_redirects=False,
            )
            status = answer.status_code
        except requests.RequestException:
            status = 0
        self.grants.append(Grant(key_id, params["app_name"], key, status))
        if status != 200:
            with self._lock:
                self.keys.pop(key.consumer_key, None)  # WooCommerce deletes the key it made
            return _page(
                401,
                "An error occurred in the request and at the time were unable to send the "
                "consumer data",
            )
        return _redirect(back, success=1, user_id=params["user_id"])


def _page(status: int, message: str) -> Response:
    body = (
        "<!DOCTYPE html><html><head><title>WooCommerce &rsaquo; Error</title></head><body>"
        f"<p>Error: {html.escape(message)}</p></body></html>"
    )
    return Response(status, body.encode(), content_type="text/html; charset=UTF-8")


def _redirect(url: str, **extra: object) -> Response:
    """``add_query_arg``: the values added to the URL's own query."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    query += [(k, str(v)) for k, v in extra.items()]
    target = urlunsplit(parts._replace(query=urlencode(query)))
    return Response(302, b"", headers=[("Location", target)], content_type=None)
