"""The sandbox store's HTTP server: WooCommerce REST v3 routes over real sockets.

``start_sandbox`` binds a ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive, so pooled clients
reuse connections), optionally behind TLS, and answers ``/wp-json/wc/v3/...`` and
``/?rest_route=/wc/v3/...`` the way WooCommerce 10 does (reference §9): WordPress's
validation errors, paging headers, authentication through ``connector.sandbox.auth``, and
the faults of the plan in effect. Secrets never reach the request log.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
import re
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
from connector.sandbox.faults import ERROR_STATUSES, Fault, FaultKind, FaultPlan, fault_answer
from connector.sandbox.seed import parse_woo_date
from connector.sandbox.state import ORDER_STATUSES, Collection, ListQuery, RestError, SandboxState
from connector.sandbox.tls import SandboxTls, make_tls

_SECRET_PARAMS = re.compile(r"^(consumer_key|consumer_secret|oauth_.*)$")
_HTML_404 = (
    b"<!DOCTYPE html><html><head><title>Page not found</title></head><body>"
    b"<h1>Oops! That page can&rsquo;t be found.</h1></body></html>"
)
_HOME_PAGE = b"<!DOCTYPE html><html><head><title>Sandbox store</title></head><body></body></html>"


def without_secrets(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Query pairs minus keys, secrets and OAuth signatures: safe to log or echo in links."""
    return [(k, v) for k, v in pairs if not _SECRET_PARAMS.match(k)]


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
        if path.startswith("/wp-json"):
            if site.rest_route_only:
                return Response(404, _HTML_404, content_type="text/html; charset=UTF-8")
            route = path[len("/wp-json") :]
        elif path in ("/", "/index.php") and rest_route:
            route = rest_route[-1]
        elif path == "/":
            return Response(200, _HOME_PAGE, content_type="text/html; charset=UTF-8")
        else:
            return Response(404, _HTML_404, content_type="text/html; charset=UTF-8")
        route = "/" + route.strip("/")
        method = self.command
        if not (route == "/wc/v3" or route.startswith("/wc/v3/")):
            return json_response(*_no_route())
        if method == "OPTIONS":
            return json_response(200, options_document(route, site.legacy))
        order_list = method == "GET" and route == "/wc/v3/orders"
        faults = site.faults.decide(route, order_list=order_list)
        for fault in faults:
            if fault.kind is FaultKind.SLOW:
                time.sleep(fault.arg)
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
        handler, ids, single = _match(route, method)
        if handler is None:
            return json_response(*_no_route())
        if outcome.key is None:
            error = auth.anonymous_error(method, single)
            return json_response(error.status, error.body(), error.headers)
        params = _params([(k, v) for k, v in query if k != "rest_route"])
        params.update(self._body_params(body, form))
        response = handler(api, *ids, params=params, route=route, query=query)
        return _with_late_faults(response, faults, site, order_list)

    def _form(self, body: bytes) -> list[tuple[str, str]]:
        kind = (self.headers.get("Content-Type") or "").lower()
        if body and kind.startswith("application/x-www-form-urlencoded"):
            return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return []

    def _body_params(self, body: bytes, form: list[tuple[str, str]]) -> dict[str, Any]:
        if form:
            return _params(form)
        if not body.strip():
            return {}
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RestError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
        return data if isinstance(data, dict) else {}

    def _send(self, response: Response) -> None:
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


def _no_route() -> tuple[int, dict[str, Any]]:
    error = RestError(
        404, "rest_no_route", "No route was found matching the URL and request method."
    )
    return 404, error.body()


def _match(route: str, method: str) -> tuple[Callable[..., Response] | None, tuple[int, ...], bool]:
    for pattern, methods in ROUTES:
        found = pattern.match(route)
        if found is not None:
            ids = tuple(int(g) for g in found.groups())
            editable = method in ("PUT", "PATCH") and (ids or route.endswith("/batch"))
            handler = methods.get("POST" if editable else method)
            return handler, ids, bool(ids) and not route.endswith(("refunds", "notes"))
    return None, (), False


def _params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style query parameters: ``a[]=1&a[]=2`` and ``a[0]=1`` become lists."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        base, bracket, _ = key.partition("[")
        if bracket:
            current = result.get(base)
            result[base] = [*current, value] if isinstance(current, list) else [value]
        else:
            result[key] = value
    return result


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

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._server.tls is not None:
            self._server.tls.remove()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(
    *,
    orders: Iterable[Mapping[str, Any]] = (),
    products: Iterable[Mapping[str, Any]] = (),
    coupons: Iterable[Mapping[str, Any]] = (),
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = False,
    keys: list[ApiKey] | None = None,
    faults: str | FaultPlan | None = None,
    home_url: str | None = None,
    rest_route_only: bool = False,
    legacy_ignores_modified_after: bool = False,
    utc_offset_hours: int = 8,
    clock: Callable[[], datetime] | None = None,
    verbose: bool = False,
) -> SandboxHandle:
    """Start a sandbox store on a real socket (``port=0``: any free port) and return its handle."""
    plan = faults if isinstance(faults, FaultPlan) else FaultPlan.parse(faults)
    api_keys = list(keys) if keys else [auth.generate_key()]
    server = _SandboxServer((host, port), make_tls() if tls else None)
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
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="sandbox"
    )
    thread.start()
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


# -- answers --------------------------------------------------------------------------------

JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class Response:
    """One answer; ``cut`` and ``after`` carry the faults that act on a real answer."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = JSON_TYPE
    cut: str | None = None
    after: Callable[[], None] | None = None


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, orjson.dumps(payload), list(headers))


# -- WordPress parameter validation ---------------------------------------------------------


def _series(values: Iterable[str]) -> str:
    """WordPress's ``%l``: ``a, b, and c``."""
    items = list(values)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + ", and " + items[-1]


class _Params:
    """Reads request parameters and collects every invalid one, as WordPress reports them."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.problems: dict[str, tuple[str, str]] = {}

    def _fail(self, name: str, code: str, message: str) -> None:
        self.problems.setdefault(name, (code, message))

    def check(self) -> None:
        if self.problems:
            names = ", ".join(self.problems)
            raise RestError(
                400,
                "rest_invalid_param",
                f"Invalid parameter(s): {names}",
                {
                    "params": {n: m for n, (_, m) in self.problems.items()},
                    "details": {
                        n: {"code": c, "message": m, "data": None}
                        for n, (c, m) in self.problems.items()
                    },
                },
            )

    def text(self, name: str, default: str = "") -> str:
        value = self.values.get(name, default)
        return value[-1] if isinstance(value, list) and value else str(value)

    def integer(
        self, name: str, default: int | None, low: int | None = None, high: int | None = None
    ) -> int | None:
        if name not in self.values:
            return default
        raw = self.text(name).strip()
        if not re.fullmatch(r"[+-]?\d+", raw):
            self._fail(name, "rest_invalid_type", f"{name} is not of type integer.")
            return default
        value = int(raw)
        if low is not None and high is not None and not low <= value <= high:
            message = f"{name} must be between {low} (inclusive) and {high} (inclusive)"
            self._fail(name, "rest_out_of_bounds", message)
        elif low is not None and value < low:
            self._fail(name, "rest_out_of_bounds", f"{name} must be greater than or equal to {low}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        if name not in self.values:
            return default
        value = self.values[name]
        if isinstance(value, bool):
            return value
        raw = self.text(name).strip().lower()
        if raw in ("true", "1"):
            return True
        if raw in ("false", "0", ""):
            return False
        self._fail(name, "rest_invalid_type", f"{name} is not of type boolean.")
        return default

    def items(self, name: str) -> list[str]:
        """An array parameter: ``a[]=x&a[]=y`` or ``a=x,y``."""
        value = self.values.get(name)
        if value is None:
            return []
        raw = value if isinstance(value, list) else re.split(r"[,\s]+", str(value))
        return [str(v).strip() for v in raw if str(v).strip()]

    def ids(self, name: str) -> list[int]:
        result = []
        for n, item in enumerate(self.items(name)):
            if re.fullmatch(r"\d+", item):
                result.append(int(item))
            else:
                self._fail(name, "rest_invalid_type", f"{name}[{n}] is not of type integer.")
        return result

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        if name not in self.values:
            return default
        value = self.text(name)
        if value not in allowed:
            self._fail(name, "rest_not_in_enum", f"{name} is not one of {_series(allowed)}.")
            return default
        return value

    def choices(self, name: str, allowed: tuple[str, ...]) -> list[str]:
        chosen = self.items(name)
        for n, item in enumerate(chosen):
            if item not in allowed:
                message = f"{name}[{n}] is not one of {_series(allowed)}."
                self._fail(name, "rest_not_in_enum", message)
        return chosen

    def date(self, name: str) -> str | None:
        if name not in self.values:
            return None
        moment = parse_woo_date(self.text(name))
        if moment is None:
            self._fail(name, "rest_invalid_date", "Invalid date.")
            return None
        return moment.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class _Listing:
    """One kind's list parameters: statuses, orderby values and what they sort on."""

    statuses: tuple[str, ...]
    orderby: dict[str, str]
    modified_filters: bool = True


_ORDER_LISTING = _Listing(
    statuses=("any", "trash", *ORDER_STATUSES[:-1]),
    orderby={
        "date": "date_created_gmt", "id": "id", "include": "include", "title": "id",
        "slug": "id", "modified": "date_modified_gmt",
    },
)  # fmt: skip
_PRODUCT_LISTING = _Listing(
    statuses=("any", "future", "trash", "draft", "pending", "private", "publish"),
    orderby={
        "date": "date_created_gmt", "id": "id", "include": "include", "title": "name",
        "slug": "slug", "price": "price", "popularity": "total_sales", "rating": "id",
        "menu_order": "id", "modified": "date_modified_gmt",
    },
)  # fmt: skip
_COUPON_LISTING = _Listing(
    statuses=(),
    orderby={
        "date": "date_created_gmt", "id": "id", "include": "include", "title": "code",
        "slug": "code", "modified": "date_modified_gmt",
    },
)  # fmt: skip
_NEW_IN_5_8 = ("modified_after", "modified_before", "dates_are_gmt")

ORDER_LIST_ARGS: dict[str, dict[str, Any]] = {
    "context": {"type": "string", "enum": ["view", "edit"], "default": "view"},
    "page": {"type": "integer", "default": 1, "minimum": 1},
    "per_page": {"type": "integer", "default": 10, "minimum": 1, "maximum": 100},
    "search": {"type": "string"},
    "after": {"type": "string", "format": "date-time"},
    "before": {"type": "string", "format": "date-time"},
    "modified_after": {"type": "string", "format": "date-time"},
    "modified_before": {"type": "string", "format": "date-time"},
    "dates_are_gmt": {"type": "boolean", "default": False},
    "exclude": {"type": "array", "items": {"type": "integer"}, "default": []},
    "include": {"type": "array", "items": {"type": "integer"}, "default": []},
    "offset": {"type": "integer"},
    "order": {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
    "orderby": {"type": "string", "enum": list(_ORDER_LISTING.orderby), "default": "date"},
    "parent": {"type": "array", "items": {"type": "integer"}, "default": []},
    "parent_exclude": {"type": "array", "items": {"type": "integer"}, "default": []},
    "status": {
        "type": "array",
        "items": {"type": "string", "enum": list(_ORDER_LISTING.statuses)},
        "default": "any",
    },
    "customer": {"type": "integer"},
    "product": {"type": "integer"},
    "dp": {"type": "integer", "default": 2},
    "include_meta": {"type": "array", "items": {"type": "string"}, "default": []},
    "exclude_meta": {"type": "array", "items": {"type": "string"}, "default": []},
}
"""The ``GET /orders`` arguments WooCommerce 10 declares (reference §2)."""


def options_document(route: str, legacy: bool) -> dict[str, Any]:
    """``OPTIONS`` on a route: its methods and, for ``/orders``, the list arguments."""
    methods = ["GET", "POST"] if route in ("/wc/v3/orders", "/wc/v3/coupons") else ["GET"]
    args = {
        name: {"required": False, **spec}
        for name, spec in ORDER_LIST_ARGS.items()
        if not (legacy and name in _NEW_IN_5_8)
    }
    if legacy:
        args["orderby"] = {
            **args["orderby"],
            "enum": [v for v in args["orderby"]["enum"] if v != "modified"],
        }
    get_args = args if route == "/wc/v3/orders" else {}
    endpoints = [{"methods": ["GET"], "args": get_args}]
    if "POST" in methods:
        endpoints.append({"methods": ["POST"], "args": {}})
    return {"namespace": "wc/v3", "methods": methods, "endpoints": endpoints}


def _shape(params: _Params) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """``_fields`` and ``include_meta``/``exclude_meta`` trimming, only when asked for."""
    fields = params.items("_fields")
    include_meta = set(params.items("include_meta"))
    exclude_meta = set(params.items("exclude_meta"))
    if not (fields or include_meta or exclude_meta):
        return None
    top = [f.split(".")[0] for f in fields]

    def shape(doc: dict[str, Any]) -> dict[str, Any]:
        result = {k: v for k, v in doc.items() if k in top} if top else dict(doc)
        if "meta_data" in result and (include_meta or exclude_meta):
            result["meta_data"] = [
                m
                for m in result["meta_data"]
                if (not include_meta or m.get("key") in include_meta)
                and m.get("key") not in exclude_meta
            ]
        return result

    return shape


class Api:
    """The route handlers; one instance per request, over the shared state."""

    def __init__(
        self, state: SandboxState, home_url: str, rest_route_only: bool, legacy: bool
    ) -> None:
        self.state = state
        self.home_url = home_url
        self.rest_route_only = rest_route_only
        self.legacy = legacy

    # -- listing ---------------------------------------------------------------------------

    def _list(
        self,
        collection: Collection,
        listing: _Listing,
        raw: Mapping[str, Any],
        route: str,
        query: list[tuple[str, str]],
        extra: Callable[[_Params], tuple[tuple[str, frozenset[str]], ...]] = lambda p: (),
    ) -> Response:
        params = _Params({k: v for k, v in raw.items() if not (self.legacy and k in _NEW_IN_5_8)})
        page = params.integer("page", 1, low=1) or 1
        per_page = params.integer("per_page", 10, low=1, high=100) or 10
        offset = params.integer("offset", None, low=0)
        gmt = "_gmt" if params.boolean("dates_are_gmt", False) else ""
        bounds: dict[str, list[str | None]] = {}
        for name, (stamp, side) in {
            "after": ("date_created", 0), "before": ("date_created", 1),
            "modified_after": ("date_modified", 0), "modified_before": ("date_modified", 1),
        }.items():  # fmt: skip
            value = params.date(name)
            if value is not None:
                bounds.setdefault(stamp + gmt, [None, None])[side] = value
        orderby_names = tuple(n for n in listing.orderby if not (self.legacy and n == "modified"))
        if self.legacy and params.text("orderby") == "modified":
            orderby = listing.orderby["date"]  # an old store does not know it: the default
        else:
            orderby = listing.orderby[params.choice("orderby", orderby_names, "date")]
        descending = params.choice("order", ("asc", "desc"), "desc") == "desc"
        statuses: frozenset[str] | None = None
        if listing.statuses:
            chosen = params.choices("status", listing.statuses)
            if chosen and "any" not in chosen:
                statuses = frozenset(chosen)
        include = tuple(params.ids("include"))
        exclude = frozenset(params.ids("exclude"))
        matches = extra(params)
        shape = _shape(params)
        params.check()
        list_query = ListQuery(
            bounds=tuple((name, low, high) for name, (low, high) in bounds.items()),
            statuses=statuses,
            orderby=orderby,
            descending=descending,
            include=include,
            exclude=exclude,
            search=params.text("search").strip(),
            matches=matches,
        )
        with self.state.lock:
            start = offset if offset is not None else (page - 1) * per_page
            total, ids = collection.window(list_query, start, per_page)
            pages = math.ceil(total / per_page)
            if total and page > pages:
                raise RestError(
                    400,
                    "rest_post_invalid_page_number",
                    "The page number requested is larger than the number of pages available.",
                )
            body = collection.page(ids, shape)
        headers = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
        links = self._links(route, query, page, pages)
        if links:
            headers.append(("Link", links))
        return Response(200, body, headers)

    def _links(self, route: str, query: list[tuple[str, str]], page: int, pages: int) -> str:
        """``rel="prev"``/``rel="next"`` only, absolute, keeping the query (no secrets)."""
        kept = [(k, v) for k, v in without_secrets(query) if k not in ("page", "rest_route")]
        if self.rest_route_only:
            base = f"{self.home_url}/?" + urlencode([("rest_route", route), *kept])
        else:
            base = f"{self.home_url}/wp-json{route}" + (f"?{urlencode(kept)}" if kept else "")
        joiner = "&" if "?" in base else "?"
        links = []
        if page > 1:
            links.append(f'<{base}{joiner}page={min(page - 1, pages) or 1}>; rel="prev"')
        if pages > page:
            links.append(f'<{base}{joiner}page={page + 1}>; rel="next"')
        return ", ".join(links)

    def index(self) -> dict[str, Any]:
        routes = {
            "/wc/v3": {"namespace": "wc/v3", "methods": ["GET"]},
            **{
                f"/wc/v3/{name}": options_document(f"/wc/v3/{name}", self.legacy)
                for name in ("orders", "products", "coupons")
            },
        }
        for name in (
            "orders/(?P<id>[\\d]+)", "orders/(?P<order_id>[\\d]+)/refunds",
            "orders/(?P<order_id>[\\d]+)/notes", "products/(?P<id>[\\d]+)",
            "coupons/(?P<id>[\\d]+)", "coupons/batch",
        ):  # fmt: skip
            routes[f"/wc/v3/{name}"] = {"namespace": "wc/v3", "methods": ["GET", "POST"]}
        return {"namespace": "wc/v3", "routes": routes}

    # -- orders ----------------------------------------------------------------------------

    def list_orders(self, *, params: Mapping[str, Any], route: str, query: list) -> Response:
        return self._list(self.state.order_store, _ORDER_LISTING, params, route, query)

    def get_order(self, order_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        with self.state.lock:
            blob = self.state.order_store.blob(order_id)
        if blob is None:
            raise RestError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        shape = _shape(_Params(params))
        if shape is None:
            return Response(200, blob)
        return json_response(200, shape(orjson.loads(blob)))

    def create_order(self, *, params: Mapping[str, Any], **_: Any) -> Response:
        doc = self.state.create_order(params)
        return json_response(201, doc, [("Location", f"{self.state.api_root}/orders/{doc['id']}")])

    def update_order(self, order_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        return json_response(200, self.state.update_order(order_id, params))

    def delete_order(self, order_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        force = _Params(params).boolean("force", False)
        return json_response(200, self.state.delete_order(order_id, force=force))

    def list_refunds(self, order_id: int, **_: Any) -> Response:
        refunds = self.state.refunds(order_id)
        headers = [("X-WP-Total", str(len(refunds))), ("X-WP-TotalPages", "1")]
        return json_response(200, refunds, headers)

    def create_refund(self, order_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        refund = self.state.refund(
            order_id, params.get("amount", ""), str(params.get("reason") or "")
        )
        return json_response(201, refund)

    def list_notes(self, order_id: int, **_: Any) -> Response:
        return json_response(200, self.state.notes(order_id))

    def create_note(self, order_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        text = str(params.get("note") or "")
        if not text:
            raise RestError(
                400,
                "rest_missing_callback_param",
                "Missing parameter(s): note",
                {"params": ["note"]},
            )
        customer = _Params(params).boolean("customer_note", False)
        return json_response(201, self.state.add_note(order_id, text, customer_note=customer))

    # -- products --------------------------------------------------------------------------

    def list_products(self, *, params: Mapping[str, Any], route: str, query: list) -> Response:
        def stock(p: _Params) -> tuple[tuple[str, frozenset[str]], ...]:
            allowed = ("instock", "outofstock", "onbackorder")
            chosen = p.choice("stock_status", allowed, "")
            return (("stock_status", frozenset({chosen})),) if chosen else ()

        return self._list(self.state.product_store, _PRODUCT_LISTING, params, route, query, stock)

    def get_product(self, product_id: int, **_: Any) -> Response:
        blob = self.state.product_store.blob(product_id)
        if blob is None:
            raise RestError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return Response(200, blob)

    # -- coupons ---------------------------------------------------------------------------

    def list_coupons(self, *, params: Mapping[str, Any], route: str, query: list) -> Response:
        def code(p: _Params) -> tuple[tuple[str, frozenset[str]], ...]:
            wanted = p.text("code").strip().lower()
            return (("code", frozenset({wanted})),) if wanted else ()

        return self._list(self.state.coupon_store, _COUPON_LISTING, params, route, query, code)

    def get_coupon(self, coupon_id: int, **_: Any) -> Response:
        blob = self.state.coupon_store.blob(coupon_id)
        if blob is None:
            raise RestError(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
        return Response(200, blob)

    def create_coupon(self, *, params: Mapping[str, Any], **_: Any) -> Response:
        doc = self.state.create_coupon(params)
        return json_response(201, doc, [("Location", f"{self.state.api_root}/coupons/{doc['id']}")])

    def update_coupon(self, coupon_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        return json_response(200, self.state.update_coupon(coupon_id, params))

    def delete_coupon(self, coupon_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        force = _Params(params).boolean("force", False)
        return json_response(200, self.state.delete_coupon(coupon_id, force=force))

    def batch_coupons(self, *, params: Mapping[str, Any], **_: Any) -> Response:
        """Up to 100 items in all; an item's error is reported inline, the batch stays 200."""
        actions = {k: params[k] for k in ("create", "update", "delete") if k in params}
        if sum(len(v) for v in actions.values() if isinstance(v, list)) > 100:
            raise RestError(
                413,
                "woocommerce_rest_request_entity_too_large",
                "Unable to accept more than 100 items for this request.",
            )
        result: dict[str, list[Any]] = {}
        for action, items in actions.items():
            result[action] = [self._batch_item(action, item) for item in items or []]
        return json_response(200, result)

    def _batch_item(self, action: str, item: Any) -> dict[str, Any]:
        item_id = (
            item if action == "delete" else (item.get("id", 0) if isinstance(item, dict) else 0)
        )
        try:
            if action == "create":
                return self.state.create_coupon(item)
            if action == "update":
                return self.state.update_coupon(int(item_id), item)
            return self.state.delete_coupon(int(item_id), force=True)
        except RestError as error:
            return {
                "id": int(item_id or 0),
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "data": {"status": error.status},
                },
            }


ROUTES: list[tuple[re.Pattern[str], dict[str, Callable[..., Response]]]] = [
    (re.compile(r"^/wc/v3/orders$"), {"GET": Api.list_orders, "POST": Api.create_order}),
    (
        re.compile(r"^/wc/v3/orders/(\d+)$"),
        {"GET": Api.get_order, "POST": Api.update_order, "DELETE": Api.delete_order},
    ),
    (
        re.compile(r"^/wc/v3/orders/(\d+)/refunds$"),
        {"GET": Api.list_refunds, "POST": Api.create_refund},
    ),
    (re.compile(r"^/wc/v3/orders/(\d+)/notes$"), {"GET": Api.list_notes, "POST": Api.create_note}),
    (re.compile(r"^/wc/v3/products$"), {"GET": Api.list_products}),
    (re.compile(r"^/wc/v3/products/(\d+)$"), {"GET": Api.get_product}),
    (re.compile(r"^/wc/v3/coupons$"), {"GET": Api.list_coupons, "POST": Api.create_coupon}),
    (re.compile(r"^/wc/v3/coupons/batch$"), {"POST": Api.batch_coupons}),
    (
        re.compile(r"^/wc/v3/coupons/(\d+)$"),
        {"GET": Api.get_coupon, "POST": Api.update_coupon, "DELETE": Api.delete_coupon},
    ),
]
"""Route patterns and their handlers; PUT and PATCH go where POST goes (WordPress EDITABLE)."""
