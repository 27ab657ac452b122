"""The authentication decision behind a real HTTP server, driven by the official client.

A tiny standard-library server turns each real request into an ``AuthRequest`` exactly as the
sandbox store does, so what is proven here is what ``woocommerce.API`` sends over the wire
(plain HTTP, so OAuth 1.0a), not what a test thinks it sends.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from woocommerce import API

from connector.sandbox.auth import (
    ApiKey,
    AuthRequest,
    NonceRegistry,
    anonymous_error,
    authenticate,
    generate_key,
)

READ_WRITE = generate_key()
READ_ONLY = generate_key("read")


class AuthEchoHandler(BaseHTTPRequestHandler):
    """Answers 200 with the key's permissions, or the WooCommerce error the decision gives."""

    server: AuthEchoServer

    def answer(self) -> None:
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = []
        if self.headers.get_content_type() == "application/x-www-form-urlencoded":
            form = parse_qsl(body.decode(), keep_blank_values=True)
        request = AuthRequest(
            method=self.command,
            scheme="http",
            path=parts.path,
            query=parse_qsl(parts.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            form=form,
        )
        outcome = authenticate(
            request, self.server.keys, self.server.home_url, self.server.nonces, time.time()
        )
        error = outcome.error
        if error is None and outcome.key is None:
            error = anonymous_error(self.command, single=False)
        if error is None:
            self.send_json(200, {"ok": True, "key": outcome.key.permissions})
        else:
            self.send_json(error.status, error.body(), error.headers)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def send_json(self, status: int, payload: dict, headers=()) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests assert on responses, not on the access log."""


class AuthEchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, keys: dict[str, ApiKey]) -> None:
        super().__init__(("127.0.0.1", 0), AuthEchoHandler)
        self.keys = keys
        self.nonces = NonceRegistry()
        self.home_url = f"http://127.0.0.1:{self.server_port}"


@dataclass(frozen=True)
class Store:
    home_url: str
    port: int


@pytest.fixture(scope="module")
def store(request: pytest.FixtureRequest) -> Store:
    server = AuthEchoServer({key.consumer_key: key for key in (READ_WRITE, READ_ONLY)})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    request.addfinalizer(stop)
    return Store(server.home_url, server.server_port)


@pytest.fixture(autouse=True)
def no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The official client honours proxy variables; loopback must not go through one."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def client(url: str, key: ApiKey = READ_WRITE) -> API:
    return API(url, key.consumer_key, key.consumer_secret, version="wc/v3", timeout=5)


def test_official_client_get_with_oauth_over_plain_http_is_accepted(store):
    response = client(store.home_url).get("orders", params={"per_page": 5, "status": "any"})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "key": "read_write"}


def test_official_client_post_with_oauth_over_plain_http_is_accepted(store):
    response = client(store.home_url).post("coupons", {"code": "save10", "amount": "10"})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "key": "read_write"}


def test_official_client_on_another_host_than_the_home_url_gets_invalid_signature(store):
    response = client(f"http://localhost:{store.port}").get("orders")
    assert response.status_code == 401
    assert response.json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": "Invalid signature - provided signature does not match.",
        "data": {"status": 401},
    }
    assert "WWW-Authenticate" not in response.headers


def test_a_read_only_key_writing_over_http_is_refused(store):
    response = client(store.home_url, READ_ONLY).put("orders/7", {"status": "completed"})
    assert response.status_code == 401
    assert response.json()["message"] == "The API key provided does not have write permissions."


def test_basic_auth_over_plain_http_is_anonymous(store):
    response = requests.get(
        f"{store.home_url}/wp-json/wc/v3/orders",
        auth=(READ_WRITE.consumer_key, READ_WRITE.consumer_secret),
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["code"] == "woocommerce_rest_cannot_view"
