"""A member's WooCommerce store over REST API v3, on the official ``woocommerce`` package.

The package decides the URL and the authentication, and we keep its rules: Basic auth over
HTTPS (or keys in the query string with ``query_string_auth``), OAuth 1.0a signed by its own
:class:`woocommerce.oauth.OAuth` over plain HTTP. Its ``API`` class is not used to *send*: it
has no ``Session`` (a new connection and TLS handshake per call), no retries, and with
``query_string_auth`` it writes the secret into the caller's ``params`` dict. Requests go
through :class:`connector.http.StoreClient` instead, which pools, retries and types errors.

Two fixes to the package, both about what a real store accepts:

- its OAuth normalisation keeps ``/`` unencoded where PHP's ``rawurlencode`` encodes it, so any
  query value with a slash (``rest_route=/wc/v3/orders``) fails the store's signature check;
  :class:`_StoreOAuth` encodes as PHP does;
- its nonce has only 10^8 values (an HMAC of 8 random digits); a store refuses a nonce seen in
  the last 15 minutes, so we draw 128 random bits instead.

Plain-permalink sites (no ``/wp-json/``) are reached with ``/?rest_route=/wc/v3/...``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlencode

import orjson
import requests
from requests.auth import HTTPBasicAuth
from woocommerce.oauth import OAuth

from connector.errors import AuthFailed, NotFound, StoreError, TlsFailed
from connector.http import CaTrust, HttpPolicy, Reply, StoreClient
from connector.storefront import Access, CouponOutcome, NewCoupon, Page
from connector.woocommerce.webhooks import WebhookEvent, read_webhook

log = logging.getLogger("alliance.connector")

API_VERSION = "wc/v3"
PER_PAGE_MAX = 100
"""WooCommerce refuses ``per_page`` above 100 with 400 ``rest_invalid_param``."""

BATCH_MAX = 100
"""``/coupons/batch`` takes at most 100 items in create + update + delete together."""

_ORDER_LIST_ARGS = {"orderby": "modified", "order": "asc", "dates_are_gmt": "true"}


def woo_date(moment: datetime) -> str:
    """A UTC moment as WooCommerce's filters want it with ``dates_are_gmt=true``: no offset."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def expiry_date(moment: datetime) -> str:
    """A coupon's expiry as WooCommerce can be told it: ``date_expires`` in UTC with a ``Z``.

    ``date_expires_gmt`` is listed as writable but ``WC_Coupon`` has no setter for it, so the
    store silently drops it; ``date_expires`` without an offset is read in the store's own
    timezone, which the alliance does not know. With ``Z`` it is exact.
    """
    return f"{woo_date(moment)}Z"


class _StoreOAuth(OAuth):
    """The official signer, encoding parameters exactly as the store's PHP does."""

    @staticmethod
    def normalize_parameters(params: Mapping[str, Any]) -> OrderedDict[str, str]:
        normalized: OrderedDict[str, str] = OrderedDict()
        for key, value in params.items():
            normalized[_php_encode(str(key))] = _php_encode(str(value))
        return normalized

    @staticmethod
    def generate_nonce() -> str:
        return secrets.token_hex(16)


def _php_encode(text: str) -> str:
    """``str_replace('%', '%25', rawurlencode(rawurldecode($text)))``."""
    return quote(unquote(text), safe="-_.~").replace("%", "%25")


class WooCommerceStore:
    """One member's WooCommerce store: the :class:`~connector.storefront.Storefront` for Woo."""

    def __init__(
        self,
        member: str,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        rest_route: bool = False,
        query_string_auth: bool = False,
        verify: bool | str | CaTrust = True,
        policy: HttpPolicy | None = None,
        client: StoreClient | None = None,
        webhook_secret: str = "",
    ) -> None:
        self.member = member
        self.url = url.rstrip("/")
        self.is_ssl = self.url.startswith("https")  # the official client's own test
        self.rest_route = rest_route
        self.query_string_auth = query_string_auth
        self._key = consumer_key
        self._secret = consumer_secret
        self._webhook_secret = webhook_secret
        self.client = client or StoreClient(
            member, policy=policy, verify=verify, sleep=self._wait_to_retry
        )
        self.backoff_listener: Callable[[], None] | None = None
        """Told, before the client waits to retry (429, 5xx, timeout), so a backfill that has
        several pages in flight can slow down at once (:mod:`connector.backfill`)."""

    def spec(self) -> dict[str, Any]:
        """What it takes to open the same store in another process (keys included: never log)."""
        return {
            "member": self.member,
            "url": self.url,
            "consumer_key": self._key,
            "consumer_secret": self._secret,
            "rest_route": self.rest_route,
            "query_string_auth": self.query_string_auth,
            "verify": self.client.trust,  # with its names, for the fetch process's messages
            "policy": self.client.policy,
        }

    def __repr__(self) -> str:  # never the keys
        return f"WooCommerceStore({self.member!r}, {self.url!r})"

    def close(self) -> None:
        self.client.close()

    @property
    def requests_sent(self) -> int:
        return self.client.requests_sent

    def _wait_to_retry(self, seconds: float) -> None:
        listener = self.backoff_listener
        if listener is not None:
            listener()
        time.sleep(seconds)

    # -- requests -----------------------------------------------------------------------------

    def _request(
        self, method: str, endpoint: str, params: Mapping[str, Any] | None = None, data: Any = None
    ) -> Reply:
        name = f"{method} {_endpoint_name(endpoint)}"
        return self.client.call(name, lambda: self._build(method, endpoint, params or {}, data))

    def _build(
        self, method: str, endpoint: str, params: Mapping[str, Any], data: Any
    ) -> requests.Request:
        """A fresh request (fresh OAuth nonce and timestamp) for one attempt."""
        query: list[tuple[str, str]] = []
        if self.rest_route:
            # WordPress signs the home URL itself here: the request path "/" minus the home
            # path "/" leaves "", and get_home_url(null, "") has no trailing slash.
            url = self.url
            query.append(("rest_route", f"/{API_VERSION}/{endpoint}"))
        else:
            url = f"{self.url}/wp-json/{API_VERSION}/{endpoint}"
        query.extend((key, _param(value)) for key, value in params.items())
        auth = None
        if self.is_ssl and not self.query_string_auth:
            auth = HTTPBasicAuth(self._key, self._secret)
        elif self.is_ssl:
            query += [("consumer_key", self._key), ("consumer_secret", self._secret)]
        if self.is_ssl:
            url = f"{url}?{urlencode(query)}" if query else url
        else:
            signer = _StoreOAuth(
                url=f"{url}?{urlencode(query)}" if query else url,
                consumer_key=self._key,
                consumer_secret=self._secret,
                version=API_VERSION,
                method=method,
            )
            url = signer.get_oauth_url()
        headers = {}
        body = None
        if data is not None:
            body = orjson.dumps(data)
            headers["Content-Type"] = "application/json; charset=utf-8"
        return requests.Request(method, url, headers=headers, data=body, auth=auth)

    # -- orders -------------------------------------------------------------------------------

    def list_orders(
        self,
        *,
        modified_after: datetime | None,
        page: int = 1,
        per_page: int = PER_PAGE_MAX,
        status: str | None = None,
        modified_before: datetime | None = None,
    ) -> Page:
        params: dict[str, Any] = {**_ORDER_LIST_ARGS, "per_page": per_page, "page": page}
        if modified_after is not None:
            params["modified_after"] = woo_date(modified_after)
        if modified_before is not None:
            params["modified_before"] = woo_date(modified_before)
        if status:
            params["status"] = status
        return self._page("orders", params, page)

    def list_orders_from(
        self,
        offset: int,
        *,
        modified_after: datetime | None,
        per_page: int = PER_PAGE_MAX,
        status: str | None = None,
    ) -> Page:
        """The orders at ``offset`` of the same listing as :meth:`list_orders` (WordPress's
        ``offset`` replaces ``page``): a backfill asks for several of these at once."""
        params: dict[str, Any] = {**_ORDER_LIST_ARGS, "per_page": per_page, "offset": offset}
        if modified_after is not None:
            params["modified_after"] = woo_date(modified_after)
        if status:
            params["status"] = status
        return self._page("orders", params, 1 + offset // max(1, per_page))

    def get_order(self, order_id: int) -> Any:
        return self._request("GET", f"orders/{int(order_id)}").data

    def add_order_note(self, order_id: int, note: str, *, customer_note: bool = True) -> int:
        reply = self._request(
            "POST",
            f"orders/{int(order_id)}/notes",
            data={"note": note, "customer_note": customer_note},
        )
        return int(reply.data["id"])

    def list_order_notes(self, order_id: int) -> list[Any]:
        """Every note of the order, newest first (WooCommerce answers them in one list)."""
        reply = self._request("GET", f"orders/{int(order_id)}/notes", {"type": "any"})
        if not isinstance(reply.data, list):
            raise StoreError(
                self.member, "GET orders/<id>/notes", "expected a JSON list", status=reply.status
            )
        return reply.data

    # -- products -----------------------------------------------------------------------------

    def list_products(
        self, *, modified_after: datetime | None, page: int = 1, per_page: int = PER_PAGE_MAX
    ) -> Page:
        params: dict[str, Any] = {**_ORDER_LIST_ARGS, "per_page": per_page, "page": page}
        if modified_after is not None:
            params["modified_after"] = woo_date(modified_after)
        return self._page("products", params, page)

    def _page(self, endpoint: str, params: Mapping[str, Any], page: int) -> Page:
        reply = self._request("GET", endpoint, params)
        if not isinstance(reply.data, list):
            raise StoreError(
                self.member, f"GET {endpoint}", "expected a JSON list", status=reply.status
            )
        return Page(
            documents=reply.data,
            number=page,
            total=reply.header_int("X-WP-Total"),
            total_pages=reply.header_int("X-WP-TotalPages"),
            size=reply.size,
            raw=reply.raw,
        )

    # -- coupons ------------------------------------------------------------------------------

    def create_coupons(self, coupons: Sequence[NewCoupon]) -> list[CouponOutcome]:
        """Create coupons 100 at a time; an existing code counts as already there, not a failure."""
        outcomes: list[CouponOutcome] = []
        for start in range(0, len(coupons), BATCH_MAX):
            chunk = coupons[start : start + BATCH_MAX]
            reply = self._request(
                "POST", "coupons/batch", data={"create": [_coupon_json(c) for c in chunk]}
            )
            created = reply.data.get("create", []) if isinstance(reply.data, dict) else []
            for coupon, item in zip(chunk, created, strict=False):
                outcomes.append(_coupon_outcome(coupon, item))
            outcomes.extend(
                CouponOutcome(c.code, error="the store did not answer for this coupon")
                for c in chunk[len(created) :]
            )
        return outcomes

    def find_coupon(self, code: str) -> Any | None:
        """``GET coupons?code=``: the store matches the code exactly, whatever its case."""
        reply = self._request("GET", "coupons", {"code": code, "per_page": 1})
        if not isinstance(reply.data, list):
            raise StoreError(
                self.member, "GET coupons", "expected a JSON list", status=reply.status
            )
        wanted = code.strip().lower()
        for coupon in reply.data:
            if isinstance(coupon, dict) and str(coupon.get("code", "")).lower() == wanted:
                return coupon
        return None

    def get_coupon(self, coupon_id: int) -> Any:
        return self._request("GET", f"coupons/{int(coupon_id)}").data

    def expire_coupon(self, coupon_id: int, at: datetime) -> None:
        self._request("PUT", f"coupons/{int(coupon_id)}", data={"date_expires": expiry_date(at)})

    # -- webhooks -----------------------------------------------------------------------------

    def read_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify a delivery with this member's webhook secret (raises ``WebhookRejected``)."""
        return read_webhook(self.member, headers, body, self._webhook_secret)

    # -- capabilities -------------------------------------------------------------------------

    def supports_modified_after(self) -> bool | None:
        """Ask the route's schema (``OPTIONS /orders``) whether ``modified_after`` is known.

        WordPress silently drops parameters it does not know, so a store older than
        WooCommerce 5.8 would answer ``modified_after`` with every order.
        """
        try:
            reply = self._request("OPTIONS", "orders")
        except StoreError:
            return None
        endpoints = reply.data.get("endpoints") if isinstance(reply.data, dict) else None
        if not isinstance(endpoints, list):
            return None
        for endpoint in endpoints:
            if isinstance(endpoint, dict) and "GET" in (endpoint.get("methods") or []):
                args = endpoint.get("args")
                if isinstance(args, dict):
                    return "modified_after" in args and "dates_are_gmt" in args
        return None

    def check_access(self) -> Access:
        """Reachable? Key valid for reading? For writing (an empty coupon batch writes nothing)?

        A refused certificate is raised (:class:`TlsFailed`): nothing about the key is known,
        and the caller reports the certificate instead.
        """
        try:
            page = self.list_orders(modified_after=None, per_page=1)
        except TlsFailed:
            raise
        except AuthFailed as exc:
            return Access(reachable=True, can_read=False, can_write=False, problem=str(exc))
        except StoreError as exc:
            reachable = exc.status is not None and not isinstance(exc, NotFound)
            return Access(reachable=reachable, can_read=False, can_write=False, problem=str(exc))
        problem = None
        try:
            self._request("POST", "coupons/batch", data={})
            can_write = True
        except StoreError as exc:
            can_write = False
            problem = str(exc)
        return Access(
            reachable=True,
            can_read=True,
            can_write=can_write,
            orders_total=page.total,
            supports_modified_after=self.supports_modified_after(),
            problem=problem,
        )


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _endpoint_name(endpoint: str) -> str:
    """``orders/123/notes`` -> ``orders/<id>/notes``: stable names for logs and errors."""
    return "/".join("<id>" if part.isdigit() else part for part in endpoint.split("/"))


def _coupon_json(coupon: NewCoupon) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": coupon.code,
        "amount": format(coupon.amount, "f"),
        "discount_type": coupon.discount_type,
        "individual_use": coupon.individual_use,
        "description": coupon.description,
    }
    if coupon.expires_at is not None:
        body["date_expires"] = expiry_date(coupon.expires_at)
    if coupon.usage_limit is not None:
        body["usage_limit"] = coupon.usage_limit
    if coupon.usage_limit_per_user is not None:
        body["usage_limit_per_user"] = coupon.usage_limit_per_user
    if coupon.minimum_amount is not None:
        body["minimum_amount"] = format(coupon.minimum_amount, "f")
    if coupon.exclude_sale_items:
        body["exclude_sale_items"] = True
    if coupon.product_ids:
        body["product_ids"] = list(coupon.product_ids)
    if coupon.meta:
        body["meta_data"] = [{"key": k, "value": v} for k, v in coupon.meta.items()]
    return body


def _coupon_outcome(coupon: NewCoupon, item: Any) -> CouponOutcome:
    if not isinstance(item, dict):
        return CouponOutcome(coupon.code, error="the store's answer for this coupon is not JSON")
    error = item.get("error")
    if isinstance(error, dict):
        if error.get("code") == "woocommerce_rest_coupon_code_already_exists":
            return CouponOutcome(coupon.code, already_exists=True)
        code = str(error.get("code") or "refused")[:100]
        return CouponOutcome(
            coupon.code, error=str(error.get("message", "refused"))[:200], error_code=code
        )
    coupon_id = item.get("id")
    return CouponOutcome(coupon.code, coupon_id=coupon_id if isinstance(coupon_id, int) else None)
