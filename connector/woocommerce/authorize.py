"""WooCommerce's app authorization (``/wc-auth/v1/authorize``): the URL and what comes back.

The alliance sends the shop owner to their own store's authorize page with ``user_id`` set to
a **signed state**: the member and a single-use nonce, signed (itsdangerous, HMAC-SHA256 under
a key derived from ``ALLIANCE_SECRET``) and dated. The store POSTs the new key to the
``callback_url`` with that state untouched, so the callback knows which member it is for and
that the alliance itself started this attempt; the nonce (kept in the database) makes a state
good for one key only, and the date for an hour. Nothing here touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from alliance.errors import BadInputError

APP_NAME = "Shop Alliance"
"""Shown to the shop owner on the store's approval page."""

SCOPE = "read_write"
"""Orders and products are read; coupons, order notes and webhooks are written."""

STATE_MAX_AGE_SECONDS = 3600
"""How long a shop owner has between starting to connect and approving in the store."""

CALLBACK_PATH = "/connect/callback"
RETURN_PATH = "/connect/done"

_SALT = "alliance wc-auth state v1"


class ConnectRefused(BadInputError):
    """A callback the alliance will not take: forged, expired, replayed, or for no member."""


@dataclass(frozen=True)
class ConnectState:
    member: str
    nonce: str


@dataclass(frozen=True)
class GrantedKey:
    """What the store POSTed to the callback; the secret stays out of ``repr``."""

    key_id: int
    state: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    key_permissions: str = ""


def _signer(secret: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def sign_state(secret: bytes, state: ConnectState) -> str:
    return _signer(secret).dumps([state.member, state.nonce])


def read_state(secret: bytes, signed: str, *, max_age: int = STATE_MAX_AGE_SECONDS) -> ConnectState:
    """The state the alliance signed, or :class:`ConnectRefused` saying why not."""
    try:
        member, nonce = _signer(secret).loads(signed, max_age=max_age)
    except SignatureExpired:
        raise ConnectRefused(
            "this connect link has expired (it is good for an hour); start connecting again"
        ) from None
    except (BadSignature, ValueError, TypeError):
        raise ConnectRefused("the connect state is not one the alliance signed") from None
    if not isinstance(member, str) or not isinstance(nonce, str):
        raise ConnectRefused("the connect state is not one the alliance signed")
    return ConnectState(member, nonce)


def authorize_url(
    store_url: str,
    app_url: str,
    signed_state: str,
    *,
    return_url: str | None = None,
    rest_route: bool = False,
) -> str:
    """The store's own authorize page, asking for a read/write key for the alliance app."""
    app = app_url.rstrip("/")
    params = {
        "app_name": APP_NAME,
        "scope": SCOPE,
        "user_id": signed_state,
        "return_url": return_url or f"{app}{RETURN_PATH}",
        "callback_url": f"{app}{CALLBACK_PATH}",
    }
    base = store_url.rstrip("/")
    if rest_route:  # plain permalinks: WordPress routes wc-auth through the query too
        return f"{base}/?wc-auth-version=1&wc-auth-route=authorize&{urlencode(params)}"
    return f"{base}/wc-auth/v1/authorize?{urlencode(params)}"


def read_granted_key(payload: Any) -> GrantedKey:
    """The JSON body WooCommerce POSTs to the callback, checked field by field."""
    if not isinstance(payload, dict):
        raise ConnectRefused("the callback body is not a JSON object")
    key_id = payload.get("key_id")
    texts = {
        name: payload.get(name)
        for name in ("user_id", "consumer_key", "consumer_secret", "key_permissions")
    }
    if type(key_id) is str and key_id.isdigit():  # PHP may send it either way
        key_id = int(key_id)
    if type(key_id) is not int or key_id <= 0:
        raise ConnectRefused("the callback body has no key_id")
    for name, value in texts.items():
        if not isinstance(value, str) or not value or len(value) > 2000:
            raise ConnectRefused(f"the callback body has no {name}")
    if not texts["consumer_key"].startswith("ck_") or not texts["consumer_secret"].startswith(
        "cs_"
    ):
        raise ConnectRefused("the callback body holds no WooCommerce key")
    return GrantedKey(
        key_id=key_id,
        state=texts["user_id"],
        consumer_key=texts["consumer_key"],
        consumer_secret=texts["consumer_secret"],
        key_permissions=texts["key_permissions"],
    )
