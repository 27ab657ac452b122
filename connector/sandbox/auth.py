"""Who is calling the sandbox store: WooCommerce's REST API key check, as a pure decision.

A transcription of ``class-wc-rest-authentication.php`` (newest WooCommerce) with its quirks
kept, because the sandbox is only useful if the official client succeeds and fails exactly where
a real store does: Basic or query-string keys over HTTPS, one-legged OAuth 1.0a over plain HTTP
signed against the site's *home URL*, then the key's read/write permission. PHP builds the
request variables the signature covers (``$_GET``, ``$_POST``), so a little of PHP's variable
parsing is reproduced too (``php``). No HTTP framework: the server turns a request into an
:class:`AuthRequest` and the :class:`AuthOutcome` back into a response.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import unquote_plus, unquote_to_bytes, urlsplit

from connector.sandbox import php
from connector.sandbox.php import PhpArray, PhpValue

Permission = Literal["read", "write", "read_write"]

OAUTH_WINDOW_SECONDS = 15 * 60
"""How far an OAuth timestamp may be from now, and how long a nonce stays used (WooCommerce)."""

BASIC_CHALLENGE = (
    'Basic realm="WooCommerce API - Use a consumer key in the username field and a consumer '
    'secret in the password field."'
)
"""``WWW-Authenticate`` value sent with authentication errors over HTTPS."""

OAUTH_PARAMETERS = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
"""The OAuth parameters WooCommerce requires, in the order its error message names them."""

_HASHES = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
_OAUTH_HEADER_PARAM = re.compile(r'(oauth_[a-z_-]*)=(:?"([^"]*)"|([^,]*))')


@dataclass(frozen=True)
class ApiKey:
    """A REST API key as WooCommerce issues it; the secret stays out of ``repr`` and logs."""

    consumer_key: str
    consumer_secret: str = field(repr=False)
    permissions: Permission = "read_write"


def generate_key(permissions: Permission = "read_write") -> ApiKey:
    """ck_ + 40 hex, cs_ + 40 hex, from `secrets`, like WooCommerce's generated keys."""
    return ApiKey(f"ck_{secrets.token_hex(20)}", f"cs_{secrets.token_hex(20)}", permissions)


@dataclass(frozen=True)
class AuthRequest:
    """The parts of an HTTP request WooCommerce's authentication looks at."""

    method: str
    scheme: str
    path: str
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]
    form: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class WooError:
    """A WordPress ``WP_Error`` as the REST API renders it."""

    status: int
    code: str
    message: str
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "data": {"status": self.status}}


@dataclass(frozen=True)
class AuthOutcome:
    """The decision; when ``error`` is set the server answers with it, whatever ``key`` says."""

    key: ApiKey | None
    error: WooError | None


class NonceRegistry:
    """Remembers OAuth nonces per consumer key for 15 minutes (thread-safe: the server is threaded).

    Kept the way WooCommerce keeps them (the key's ``nonces`` column): one nonce per *timestamp*,
    looked up before expired entries are pruned. So its quirks come along: a later request with
    the same timestamp replaces the earlier one's nonce, and a nonce lingers past the window
    until the key's next successful request prunes it.
    """

    def __init__(self, window_seconds: int = OAUTH_WINDOW_SECONDS) -> None:
        self._window = window_seconds
        self._used: dict[str, dict[int, str]] = {}
        self._lock = threading.Lock()

    def use(self, consumer_key: str, timestamp: int, nonce: str, now: float) -> bool:
        """Record the nonce; False if this key used it already."""
        with self._lock:
            used = self._used.setdefault(consumer_key, {})
            if nonce in used.values():
                return False
            used[timestamp] = nonce
            oldest = int(now) - self._window
            for stamp in [stamp for stamp in used if stamp < oldest]:
                del used[stamp]
            return True


def authenticate(
    request: AuthRequest,
    keys: Mapping[str, ApiKey],
    home_url: str,
    nonces: NonceRegistry,
    now: float,
) -> AuthOutcome:
    """Decide who is calling, as WooCommerce does before any route runs.

    ``keys`` maps consumer key to :class:`ApiKey`; ``home_url`` is the site's home URL, which
    OAuth signatures must be made against. ``AuthOutcome(None, None)`` means anonymous: the
    route then answers with :func:`anonymous_error`.
    """
    query_vars = php.request_vars(request.query)
    if not _route_from_request_uri(request.path, query_vars, home_url).startswith(("wc/", "wc-")):
        return AuthOutcome(key=None, error=None)  # WooCommerce keys only open its own namespaces
    headers = {name.lower(): value for name, value in request.headers.items()}
    https = request.scheme.lower() == "https"  # WordPress is_ssl()
    key, error = None, None
    if https:
        key, error = _basic_authentication(query_vars, headers, keys)
    if key is None:  # WooCommerce tries OAuth next, on either scheme; a Basic error stays set
        params = _oauth_params(request, query_vars, headers)
        key, oauth_error = _oauth_authentication(request, params, keys, home_url, nonces, now)
        error = oauth_error or error
    if error is not None:
        challenge = (("WWW-Authenticate", BASIC_CHALLENGE),) if https else ()
        return AuthOutcome(key=None, error=replace(error, headers=challenge))
    if key is None:
        return AuthOutcome(key=None, error=None)
    return AuthOutcome(key=key, error=_permission_error(key, request.method))


def anonymous_error(method: str, single: bool) -> WooError:
    """What WooCommerce answers to an unauthenticated request on an order/coupon/product route.

    WordPress routes POST on a single resource to the update handler, so that is an edit.
    OPTIONS needs no permission in WordPress, hence no error for it.
    """
    method = method.upper()
    if method in ("GET", "HEAD") and single:
        return _cannot("view", "Sorry, you cannot view this resource.")
    if method in ("GET", "HEAD"):
        return _cannot("view", "Sorry, you cannot list resources.")
    if method == "POST" and not single:
        return _cannot("create", "Sorry, you are not allowed to create resources.")
    if method in ("POST", "PUT", "PATCH"):
        return _cannot("edit", "Sorry, you are not allowed to edit this resource.")
    if method == "DELETE":
        return _cannot("delete", "Sorry, you are not allowed to delete this resource.")
    raise ValueError(f"WordPress runs no permission check for {method} requests")


def _cannot(action: str, message: str) -> WooError:
    return WooError(401, f"woocommerce_rest_cannot_{action}", message)


def _auth_error(message: str) -> WooError:
    return WooError(401, "woocommerce_rest_authentication_error", message)


def _basic_authentication(
    query_vars: PhpArray, headers: Mapping[str, str], keys: Mapping[str, ApiKey]
) -> tuple[ApiKey | None, WooError | None]:
    """HTTPS: query-string keys first, else the Basic header; an unknown key is anonymous."""
    consumer_key, consumer_secret = "", ""
    query_key, query_secret = query_vars.get("consumer_key"), query_vars.get("consumer_secret")
    if not php.empty(query_key) and not php.empty(query_secret):
        consumer_key, consumer_secret = php.as_text(query_key), php.as_text(query_secret)
    if php.empty(consumer_key):
        user, password = _basic_header_credentials(headers.get("authorization", ""))
        if not php.empty(user) and not php.empty(password):
            consumer_key, consumer_secret = user, password
    if php.empty(consumer_key) or php.empty(consumer_secret):
        return None, None
    key = keys.get(php.sanitize_text_field(consumer_key))
    if key is None:
        return None, None
    if not hmac.compare_digest(php.as_bytes(key.consumer_secret), php.as_bytes(consumer_secret)):
        return None, _auth_error("Consumer secret is invalid.")
    return key, None


def _basic_header_credentials(authorization: str) -> tuple[str, str]:
    """PHP_AUTH_USER and PHP_AUTH_PW: PHP decodes base64 leniently, skipping stray characters."""
    if authorization[:6].lower() != "basic ":
        return "", ""
    encoded = re.sub(r"[^A-Za-z0-9+/]", "", authorization[6:])
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return "", ""
    user, colon, password = decoded.partition(b":")
    if not colon:
        return "", ""
    return user.decode("utf-8", "replace"), password.decode("utf-8", "replace")


def _oauth_params(
    request: AuthRequest, query_vars: PhpArray, headers: Mapping[str, str]
) -> PhpArray:
    """``array_merge($_GET, $_POST)`` plus the ``Authorization: OAuth`` header's parameters."""
    post_vars = php.request_vars(request.form) if request.method.upper() == "POST" else {}
    params = php.array_merge(query_vars, post_vars)  # PHP fills $_POST for POST only
    header = headers.get("authorization", "").strip(php.TRIM)
    if header.startswith("OAuth "):
        from_header = {
            name: unquote_plus(bare if php.empty(quoted) else quoted)
            for name, _, quoted, bare in _OAUTH_HEADER_PARAM.findall(header)
        }
        params = php.array_merge(params, from_header)
    return params


def _oauth_authentication(
    request: AuthRequest,
    params: PhpArray,
    keys: Mapping[str, ApiKey],
    home_url: str,
    nonces: NonceRegistry,
    now: float,
) -> tuple[ApiKey | None, WooError | None]:
    """One-legged OAuth 1.0a; no OAuth parameters at all is anonymous."""
    missing = [name for name in OAUTH_PARAMETERS if php.empty(params.get(name))]
    if len(missing) == len(OAUTH_PARAMETERS):
        return None, None
    if missing:
        noun = "parameter" if len(missing) == 1 else "parameters"
        message = f"Missing OAuth {noun} {', '.join(missing)}"
        return None, WooError(401, "woocommerce_rest_authentication_missing_parameter", message)
    key = keys.get(php.sanitize_text_field(php.as_text(params["oauth_consumer_key"])))
    if key is None:
        return None, _auth_error("Consumer key is invalid.")
    scheme = "https" if request.scheme.lower() == "https" else "http"
    base_url = _signed_base_url(home_url, scheme, request.path)
    signed = {name: value for name, value in params.items() if name != "oauth_signature"}
    string_to_sign = "&".join(
        (request.method.upper(), php.rawurlencode(base_url), "%26".join(_signed_pairs(signed)))
    )
    algorithm = _HASHES.get(php.as_text(params["oauth_signature_method"]))
    if algorithm is None:
        return None, _auth_error("Invalid signature - signature method is invalid.")
    secret = php.as_bytes(key.consumer_secret + "&")
    expected = base64.b64encode(hmac.new(secret, php.as_bytes(string_to_sign), algorithm).digest())
    given = unquote_to_bytes(php.as_text(params["oauth_signature"]).replace(" ", "+"))
    if not hmac.compare_digest(expected, given):
        return None, _auth_error("Invalid signature - provided signature does not match.")
    error = _check_timestamp_and_nonce(key, params, nonces, now)
    return (key, None) if error is None else (None, error)


def _check_timestamp_and_nonce(
    key: ApiKey, params: PhpArray, nonces: NonceRegistry, now: float
) -> WooError | None:
    """Within 15 minutes of now, nonce unused; a non-numeric timestamp is simply invalid."""
    raw_timestamp = php.as_text(params["oauth_timestamp"])
    current = int(now)  # PHP time()
    if not php.is_numeric(raw_timestamp):
        return _auth_error("Invalid timestamp.")
    timestamp = float(raw_timestamp.strip())
    if not current - OAUTH_WINDOW_SECONDS <= timestamp <= current + OAUTH_WINDOW_SECONDS:
        return _auth_error("Invalid timestamp.")
    if not nonces.use(key.consumer_key, int(timestamp), php.as_text(params["oauth_nonce"]), now):
        return _auth_error("Invalid nonce - nonce has already been used.")
    return None


def _permission_error(key: ApiKey, method: str) -> WooError | None:
    """WooCommerce's check of the key's own read/write permission, after authentication."""
    method = method.upper()
    if method == "OPTIONS":
        return None
    if method in ("GET", "HEAD"):
        if key.permissions in ("read", "read_write"):
            return None
        return _auth_error("The API key provided does not have read permissions.")
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        if key.permissions in ("write", "read_write"):
            return None
        return _auth_error("The API key provided does not have write permissions.")
    return _auth_error("Unknown request method.")


def _signed_base_url(home_url: str, scheme: str, request_path: str) -> str:
    """The URL WooCommerce signs: the request path re-rooted on the home URL, this scheme."""
    wp_base = php.get_home_url(home_url, "/", "relative")
    if request_path.startswith(wp_base):
        request_path = request_path[len(wp_base) :]
    return php.get_home_url(home_url, request_path, scheme)


def _signed_pairs(params: PhpArray) -> list[str]:
    """Keys sorted with strcmp, keys and values rawurlencoded, then each ``k=v`` encoded again.

    Nested (``a[b]``) keys are spliced in unencoded before the second pass, as WooCommerce does.
    """
    pairs: list[str] = []

    def join(name: str, value: PhpValue) -> None:
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                join(f"{name}%5B{sub_key}%5D", sub_value)
        else:
            pairs.append(php.rawurlencode(f"{name}={php.rawurlencode(value)}"))

    for name in sorted(params, key=lambda name: php.as_bytes(str(name))):
        join(php.rawurlencode(str(name)), params[name])
    return pairs


def _route_from_request_uri(path: str, query_vars: PhpArray, home_url: str) -> str:
    """The REST route a request names (``wc/v3/orders``), or "" when it is no REST request."""
    rest_route = query_vars.get("rest_route")
    if isinstance(rest_route, str):  # plain permalinks: ?rest_route=/wc/v3/orders
        return rest_route.strip("/")
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    request_path = path.strip("/")
    home_path = urlsplit(home_url).path.strip("/")
    if home_path and request_path.lower().startswith(home_path.lower()):
        request_path = request_path[len(home_path) :].strip("/")
    request_path = request_path.removeprefix("index.php/")
    if not request_path.startswith("wp-json/"):
        return ""
    return request_path[len("wp-json/") :].strip("/")
