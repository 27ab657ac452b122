"""The sandbox store's HTTP server: WooCommerce REST v3 routes over real sockets.

``start_sandbox`` binds a ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive, so pooled clients
reuse connections), optionally behind TLS, and answers ``/wp-json/wc/v3/...`` and
``/?rest_route=/wc/v3/...`` the way WooCommerce 10 does (reference §9): WordPress's
validation errors, paging headers, authentication through ``connector.sandbox.auth``, and
the faults of the plan in effect. Secrets never reach the request log.

This module is the transport: sockets, TLS, the request log, dispatch to ``routes`` (and to
the products' images, ``images``), and the faults that act before or after a route runs.
Parameters are read in ``params``/``listing``.

A store can also be taken off the network and brought back: ``handle.down()`` closes the
listening socket and drops kept-alive connections, so clients get "connection refused" as from
a host that is down; ``handle.up()`` listens again on the same address, certificate, keys and
data. The ``hangup`` fault closes a connection without an answer (logged with status 0).
"""

from __future__ import annotations

import contextlib
import functools
import random
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson
from requests.structures import CaseInsensitiveDict

from connector.sandbox import auth
from connector.sandbox.auth import ApiKey
from connector.sandbox.checkout import CHECKOUT_PATH, checkout_response
from connector.sandbox.errors import RestError
from connector.sandbox.faults import ERROR_STATUSES, Fault, FaultKind, FaultPlan, fault_answer
from connector.sandbox.images import image_response
from connector.sandbox.latency import LatencyModel
from connector.sandbox.listing import ORDER_LIST_ARGS, options_document
from connector.sandbox.params import params_from_pairs, without_secrets
from connector.sandbox.response import JSON_TYPE, Response, json_response
from connector.sandbox.routes import ROUTES, Api, match_route
from connector.sandbox.state import SandboxState
from connector.sandbox.tls import SandboxTls, make_tls
from connector.sandbox.wc_auth import WcAuth
from connector.sandbox.webhook_hub import WebhookHub

__all__ = [  # the server's public names before routes, params and answers had modules of their own
    "JSON_TYPE",
    "ORDER_LIST_ARGS",
    "ROUTES",
    "Api",
    "Response",
    "SandboxHandle",
    "json_response",
    "options_document",
    "start_sandbox",
    "without_secrets",
]

_HTML_404 = (
    b"<!DOCTYPE html><html><head><title>Page not found</title></head><body>"
    b"<h1>Oops! That page can&rsquo;t be found.</h1></body></html>"
)
_HOME_PAGE = b"<!DOCTYPE html><html><head><title>Sandbox store</title></head><body></body></html>"


@dataclass
class _Site:
    """What every request needs, shared by the handler threads."""

    state: SandboxState
    keys: dict[str, ApiKey]
    home_url: str
    faults: FaultPlan
    scheme: str
    rest_route_only: bool
    legacy: bool
    verbose: bool
    nonces: auth.NonceRegistry = field(default_factory=auth.NonceRegistry)
    mutation_rng: random.Random = field(default_factory=lambda: random.Random(0))
    callback_verify: bool | str = True  # the CAs the store trusts when it calls an app
    hub: WebhookHub | None = None  # /wc/v3/webhooks and deliveries (webhook_hub)
    wc_auth: WcAuth | None = None  # /wc-auth/v1/authorize (wc_auth)
    latency: LatencyModel | None = None  # a page of orders takes as long as on a real store


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    timeout = 120
    server: _SandboxServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)
        if self.server.tls is not None:
            self.connection.do_handshake()  # here, not in accept(): a bad client blocks no one

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """The stdlib access log would print secrets from the query; ours strips them."""

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        site = self.server.site
        parts = urlsplit(self.path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        try:
            body = self._read_body()
            response = self._respond(site, parts.path, query, body)
        except RestError as error:
            response = json_response(error.status, error.body(), error.headers)
        except Exception:
            if site.verbose:
                traceback.print_exc()
            error = RestError(500, "internal_server_error", "Internal error in the sandbox store.")
            response = json_response(500, error.body())
        safe_query = urlencode(without_secrets(query))
        # logged before answering, so a client that got its answer finds it in the log
        site.state.request_log.append((self.command, parts.path, safe_query, response.status))
        self._send(response)
        if site.verbose:
            shown = parts.path + (f"?{safe_query}" if safe_query else "")
            print(f"{self.command} {shown} {response.status}", file=sys.stderr, flush=True)
        if response.after is not None:
            response.after()

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _respond(
        self, site: _Site, path: str, query: list[tuple[str, str]], body: bytes
    ) -> Response:
        rest_route = [v for k, v in query if k == "rest_route"]
        if path.rstrip("/") == "/wc-auth/v1/authorize" and site.wc_auth is not None:
            return site.wc_auth.authorize(query)
        if path.rstrip("/") == CHECKOUT_PATH:  # a shopper's checkout (sandbox only)
            return checkout_response(site.state, self.command, body)
        if path.startswith("/wp-json"):
            if site.rest_route_only:
                return Response(404, _HTML_404, content_type="text/html; charset=UTF-8")
            route = path[len("/wp-json") :]
        elif path in ("/", "/index.php") and rest_route:
            route = rest_route[-1]
        elif path == "/":
            return Response(200, _HOME_PAGE, content_type="text/html; charset=UTF-8")
        elif self.command == "GET" and (image := site.state.image_at(path)) is not None:
            return image_response(*image, self.headers.get("If-None-Match"))
        else:
            return Response(404, _HTML_404, content_type="text/html; charset=UTF-8")
        route = "/" + route.strip("/")
        method = self.command
        if not (route == "/wc/v3" or route.startswith("/wc/v3/")):
            return json_response(*_no_route())
        if method == "OPTIONS":
            return json_response(200, options_document(route, site.legacy))
        order_list = method == "GET" and route == "/wc/v3/orders"
        faults = site.faults.decide(route, order_list=order_list, method=method)
        for fault in faults:
            if fault.kind is FaultKind.SLOW:
                time.sleep(fault.arg)
        if any(fault.kind is FaultKind.HANGUP for fault in faults):
            return Response(0, b"", content_type=None, cut="hangup")
        for fault in faults:
            if fault.kind.value in ERROR_STATUSES or fault.kind is FaultKind.HTML:
                status, headers, page = fault_answer(fault)
                return Response(status, page, headers=headers, content_type=None)
        legacy = site.legacy or any(f.kind is FaultKind.IGNORE_MODIFIED_AFTER for f in faults)
        api = Api(site.state, site.home_url, site.rest_route_only, legacy)
        if route == "/wc/v3":
            return json_response(200, api.index())
        form = self._form(body)
        outcome = auth.authenticate(
            auth.AuthRequest(
                method=method,
                scheme=site.scheme,
                path=path,
                query=query,
                headers=CaseInsensitiveDict(self.headers.items()),
                form=form,
            ),
            site.keys,
            site.home_url,
            site.nonces,
            time.time(),
        )
        if outcome.error is not None:
            return json_response(outcome.error.status, outcome.error.body(), outcome.error.headers)
        if site.hub is not None and route.split("/")[:4] == ["", "wc", "v3", "webhooks"]:
            if outcome.key is None:
                error = auth.anonymous_error(method, route != "/wc/v3/webhooks")
                return json_response(error.status, error.body(), error.headers)
            params = params_from_pairs([(k, v) for k, v in query if k != "rest_route"])
            params.update(self._body_params(body, form))
            return site.hub.route(method, route, params)
        handler, ids, single = match_route(route, method)
        if handler is None:
            return json_response(*_no_route())
        if outcome.key is None:
            error = auth.anonymous_error(method, single)
            return json_response(error.status, error.body(), error.headers)
        params = params_from_pairs([(k, v) for k, v in query if k != "rest_route"])
        params.update(self._body_params(body, form))
        if order_list and site.latency is not None:
            site.latency.serve(_per_page(params))
        response = handler(api, *ids, params=params, route=route, query=query)
        return _with_late_faults(response, faults, site, order_list)

    def _form(self, body: bytes) -> list[tuple[str, str]]:
        kind = (self.headers.get("Content-Type") or "").lower()
        if body and kind.startswith("application/x-www-form-urlencoded"):
            return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return []

    def _body_params(self, body: bytes, form: list[tuple[str, str]]) -> dict[str, Any]:
        if form:
            return params_from_pairs(form)
        if not body.strip():
            return {}
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RestError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
        return data if isinstance(data, dict) else {}

    def _send(self, response: Response) -> None:
        if response.cut == "hangup":  # no answer at all: the connection just closes
            self.close_connection = True
            return
        body = response.body
        headers = list(response.headers)
        if response.content_type:
            headers.insert(0, ("Content-Type", response.content_type))
        length = len(body)
        if response.cut == "truncate":
            body = body[: len(body) // 2]
            length = len(body)
        elif response.cut == "disconnect":
            body = body[: len(body) // 2]
        reason = self.responses.get(response.status, ("",))[0]
        head = [f"HTTP/1.1 {response.status} {reason}", "Server: nginx"]
        head += [f"{name}: {value}" for name, value in headers]
        head.append(f"Content-Length: {length}")
        if response.cut == "disconnect":
            head.append("Connection: keep-alive")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        try:
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return
        if response.cut == "disconnect":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)


def _per_page(params: Mapping[str, Any]) -> int:
    """The page size a list request asks for (WordPress's default 10 when it is unreadable)."""
    try:
        return int(params.get("per_page", 10))
    except (TypeError, ValueError):
        return 10


def _no_route() -> tuple[int, dict[str, Any]]:
    error = RestError(
        404, "rest_no_route", "No route was found matching the URL and request method."
    )
    return 404, error.body()


def _with_late_faults(
    response: Response, faults: list[Fault], site: _Site, order_list: bool
) -> Response:
    """Faults that act on a real answer: cut it, mislabel it, or change the store after it."""
    for fault in faults:
        if fault.kind is FaultKind.TRUNCATE:
            response.cut = "truncate"
        elif fault.kind is FaultKind.DISCONNECT:
            response.cut = "disconnect"
        elif fault.kind is FaultKind.WRONG_TYPE:
            response.content_type = "text/plain; charset=UTF-8"
        elif fault.kind is FaultKind.SURROGATE and order_list and response.status == 200:
            # valid JSON (an escaped lone surrogate) that orjson refuses to read
            response.body = response.body.replace(b'"name":"', b'"name":"\\ud83d', 1)
        elif fault.kind is FaultKind.MUTATE and order_list and response.status == 200:
            count = int(fault.arg)
            response.after = functools.partial(site.state.mutate, count, site.mutation_rng)
    return response


class _SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], tls: SandboxTls | None) -> None:
        self.tls = tls
        self.site: _Site
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)
        if tls is not None:
            self.socket = tls.context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def server_bind(self) -> None:
        TCPServer.server_bind(self)  # skip HTTPServer's getfqdn(): a DNS lookup on every start
        self.server_name, self.server_port = self.server_address[:2]

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Drop kept-alive connections, so a stopped sandbox really stops answering."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hang up and fail TLS checks on purpose in tests: not worth a traceback."""
        if self.site.verbose:
            traceback.print_exc()


@dataclass
class SandboxHandle:
    """A running sandbox store; a context manager that stops it on exit."""

    url: str
    api_root: str
    key: ApiKey
    keys: list[ApiKey]
    ca_path: str | None
    state: SandboxState
    faults: FaultPlan
    _server: _SandboxServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def webhooks(self) -> WebhookHub:
        """The store's webhooks and the deliveries made (``webhook_hub``)."""
        hub = self._server.site.hub
        assert hub is not None
        return hub

    @property
    def latency(self) -> LatencyModel | None:
        """The serving time of order pages (``connector.sandbox.latency``); None: at once."""
        return self._server.site.latency

    @latency.setter
    def latency(self, model: LatencyModel | None) -> None:
        self._server.site.latency = model

    @property
    def wc_auth(self) -> WcAuth:
        """``/wc-auth/v1/authorize`` and the keys it granted (``wc_auth``)."""
        granter = self._server.site.wc_auth
        assert granter is not None
        return granter

    def trust_callbacks(self, verify: bool | str) -> None:
        """The CA file (or True: the public CAs) the store checks apps' certificates with, when
        it POSTs a key to a ``callback_url`` or delivers a webhook."""
        self._server.site.callback_verify = verify

    def stop(self) -> None:
        if self._server.site.hub is not None:
            self._server.site.hub.stop()
        self._halt()
        if not self._stopped and self._server.tls is not None:
            self._server.tls.remove()
        self._stopped = True

    def down(self) -> None:
        """Take the store off the network, as a host that is down: nothing listens on its
        address any more (new connections are refused) and kept-alive ones are dropped. Its
        data, keys and fault plan stay; :meth:`up` brings it back."""
        self._halt()

    def up(self) -> None:
        """Listen again on the same address (and certificate) after :meth:`down`."""
        if self._stopped:
            raise RuntimeError("the sandbox store was stopped; start a new one")
        if self._thread.is_alive():
            return
        server = _SandboxServer(self._server.server_address[:2], self._server.tls)
        server.site = self._server.site
        self._server, self._thread = server, _serve_in_thread(server)

    @property
    def is_down(self) -> bool:
        return not self._thread.is_alive()

    def _halt(self) -> None:
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve_in_thread(server: _SandboxServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="sandbox"
    )
    thread.start()
    return thread


def start_sandbox(
    *,
    orders: Iterable[Mapping[str, Any]] = (),
    products: Iterable[Mapping[str, Any]] = (),
    coupons: Iterable[Mapping[str, Any]] = (),
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool | SandboxTls = False,
    keys: list[ApiKey] | None = None,
    faults: str | FaultPlan | None = None,
    home_url: str | None = None,
    rest_route_only: bool = False,
    legacy_ignores_modified_after: bool = False,
    utc_offset_hours: int = 8,
    clock: Callable[[], datetime] | None = None,
    verbose: bool = False,
    insecure_callbacks: bool = False,
    latency: LatencyModel | None = None,
) -> SandboxHandle:
    """Start a sandbox store on a real socket (``port=0``: any free port) and return its handle.

    ``tls=True`` serves HTTPS with a fresh certificate for 127.0.0.1 and localhost; a
    :class:`SandboxTls` of one's own serves that one instead (another host, an expired one).
    ``insecure_callbacks`` lets ``/wc-auth/v1/authorize`` call back over plain HTTP, which a
    genuine store refuses (for the demo only).
    """
    plan = faults if isinstance(faults, FaultPlan) else FaultPlan.parse(faults)
    api_keys = list(keys) if keys else [auth.generate_key()]
    server = _SandboxServer((host, port), make_tls() if tls is True else tls or None)
    shown_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    url = f"{'https' if tls else 'http'}://{shown_host}:{server.server_address[1]}"
    home = (home_url or url).rstrip("/")
    state = SandboxState(site_url=home, clock=clock, utc_offset_hours=utc_offset_hours)
    state.add_products(products)
    for coupon in coupons:
        state.add_coupon(coupon)
    state.add_orders(orders)
    server.site = _Site(
        state=state,
        keys={k.consumer_key: k for k in api_keys},
        home_url=home,
        faults=plan,
        scheme="https" if tls else "http",
        rest_route_only=rest_route_only,
        legacy=legacy_ignores_modified_after,
        verbose=verbose,
    )
    site = server.site
    site.hub = WebhookHub(state, home, lambda: site.callback_verify)
    site.wc_auth = WcAuth(site.keys, lambda: site.callback_verify, insecure_callbacks)
    site.latency = latency
    thread = _serve_in_thread(server)
    return SandboxHandle(
        url=url,
        api_root=f"{url}/wp-json/wc/v3",
        key=api_keys[0],
        keys=api_keys,
        ca_path=server.tls.ca_path if server.tls else None,
        state=state,
        faults=plan,
        _server=server,
        _thread=thread,
    )
