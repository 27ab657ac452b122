"""A shopper's checkout at a sandbox store, over HTTP: what ``alliance sandbox order`` does.

A shopper never buys through the REST API: an order made there gets ``created_via: rest-api``,
no order attribution (reference §3), and a refused coupon leaves a draft behind. A real
checkout (the store's pages, or the Store API with a cart session and a nonce) checks each
coupon as a customer's, makes no order when one is refused, and saves the
``_wc_order_attribution_*`` meta that sourcebuster read from the landing URL of the shopper's
session. So the sandbox answers one route no WooCommerce has, ``POST /sandbox/checkout``
(:data:`CHECKOUT_PATH`, outside ``/wp-json``: it works whatever the permalinks), which places
the order as :meth:`SandboxState.checkout` does; like a shopper, it needs no API key.

The shopper's side is :func:`place_order`: it follows a tracked link (``/r/<token>``, served
by ``alliance serve``) as a browser would, so the click is recorded, and checks out at the store
the link led to, with the UTM values of the landing URL as the order's attribution.
"""

from __future__ import annotations

import html
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import requests

from alliance.errors import BadInputError
from connector.fixtures.people import fake_customer
from connector.sandbox.errors import RestError
from connector.sandbox.response import Response, json_response
from connector.sandbox.state import SandboxState

CHECKOUT_PATH = "/sandbox/checkout"
"""The sandbox-only checkout route (no WooCommerce has it)."""

CHECKOUT_STATUSES = ("processing", "completed", "on-hold", "pending")
"""Where a checkout may leave an order: paid online, completed at once, awaiting a bank
transfer, awaiting payment."""

SHOPPER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; alliance sandbox shopper) Gecko/20100101"
"""The user agent a click is followed with: a browser's shape, so the web app counts the click
as a shopper's, not as a bot's (``widgets/visitors.py``)."""

TIMEOUT = 10.0
"""Seconds to wait for the web app or the store."""

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_id", "utm_term")


# -- the store's side ---------------------------------------------------------------------


def checkout_response(state: SandboxState, method: str, body: bytes) -> Response:
    """``POST /sandbox/checkout``: the order a shopper's checkout makes, or the refusal a
    shopper would see (400 with WooCommerce's code and message; no order is made)."""
    if method != "POST":
        error = RestError(405, "sandbox_method_not_allowed", "A checkout is a POST.")
        return json_response(405, error.body(), [("Allow", "POST")])
    try:
        payload = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        return _refused(RestError(400, "rest_invalid_json", "Invalid JSON body passed."))
    if not isinstance(payload, dict):
        return _refused(RestError(400, "rest_invalid_json", "The body must be a JSON object."))
    try:
        order = _checkout(state, payload)
    except RestError as error:
        return _refused(error)
    return json_response(201, order)


def _refused(error: RestError) -> Response:
    return json_response(error.status, error.body(), error.headers)


def _checkout(state: SandboxState, payload: Mapping[str, Any]) -> dict[str, Any]:
    items = payload.get("line_items")
    if not isinstance(items, list) or not items:
        raise RestError(400, "woocommerce_rest_cart_empty", "Cannot create order from empty cart.")
    for item in items:
        item = item if isinstance(item, dict) else {}
        product_id, quantity = item.get("product_id"), item.get("quantity", 1)
        if type(product_id) is not int or product_id <= 0:
            raise RestError(
                400, "woocommerce_rest_invalid_product_id", "Product ID provided is invalid."
            )
        if type(quantity) is not int or quantity < 1:
            raise RestError(400, "woocommerce_rest_invalid_quantity", "Quantity must be 1 or more.")
        product = state.product_store.peek(product_id)
        if product is not None and product.get("stock_status") == "outofstock":
            name = product.get("name")
            raise RestError(
                400,
                "woocommerce_rest_product_out_of_stock",
                f'You cannot add "{name}" to the cart because the product is out of stock.',
            )
    coupons = payload.get("coupons") or []
    if not isinstance(coupons, list) or not all(isinstance(c, str) for c in coupons):
        raise RestError(400, "rest_invalid_param", "coupons must be a list of codes.")
    status = str(payload.get("status") or "processing")
    if status not in CHECKOUT_STATUSES:
        raise RestError(
            400, "rest_invalid_param", f"status is not one of {', '.join(CHECKOUT_STATUSES)}."
        )
    billing = payload.get("billing")
    if not isinstance(billing, dict) or not billing.get("email"):
        billing = {**_made_up_shopper(), **(billing if isinstance(billing, dict) else {})}
    order_payload = {
        "line_items": [
            {"product_id": i["product_id"], "quantity": i.get("quantity", 1)} for i in items
        ],
        "coupon_lines": [{"code": code} for code in coupons],
        "billing": billing,
        "customer_id": 0,
        "payment_method": str(payload.get("payment_method") or "bacs"),
        "currency": str(payload.get("currency") or "CNY"),
    }
    landing = str(payload.get("landing_url") or "")
    return state.checkout(
        order_payload,
        status=status,
        created_via="store-api",
        attribution=attribution_of(landing or state.site_url + "/", billing),
    )


def _made_up_shopper() -> dict[str, Any]:
    """A new, made-up guest (every personal field filled, as a checkout fills them)."""
    person = fake_customer(random.Random())
    return {k: v for k, v in person.items() if k not in ("customer_id", "ip_address", "note")}


def attribution_of(landing_url: str, billing: Mapping[str, Any]) -> dict[str, str]:
    """What WooCommerce's order attribution saves for a session that entered at
    ``landing_url``: its UTM values (``source_type`` ``utm``) or a type-in visit."""
    query = dict(parse_qsl(urlsplit(landing_url).query, keep_blank_values=True))
    values = {name: query.get(name, "") for name in UTM_FIELDS}
    values["source_type"] = "utm" if values["utm_source"] else "typein"
    values["referrer"] = ""
    values["session_entry"] = landing_url
    values["user_agent"] = str(billing.get("user_agent") or SHOPPER_AGENT)
    return values


# -- the shopper's side -------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedOrder:
    """What ``alliance sandbox order`` reports."""

    order: dict[str, Any]
    landing_url: str | None  # where the click led, None without one

    @property
    def attribution(self) -> dict[str, str]:
        prefix = "_wc_order_attribution_"
        return {
            m["key"][len(prefix) :]: str(m["value"])
            for m in self.order.get("meta_data") or []
            if str(m.get("key", "")).startswith(prefix + "utm_") and m.get("value")
        }


def place_order(
    store_url: str,
    product_id: int,
    *,
    quantity: int = 1,
    coupons: Sequence[str] = (),
    click_url: str | None = None,
    email: str | None = None,
    status: str = "processing",
    verify: bool | str = True,
) -> PlacedOrder:
    """Buy ``quantity`` of a product at a sandbox store as a shopper would: first follow the
    tracked link ``click_url`` (so the web app records the click), then check out with the
    landing URL's UTM values. Raises :class:`BadInputError` saying what to do."""
    store = store_url.rstrip("/")
    parts = urlsplit(store)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInputError(
            f"--store {store_url!r} is not a store address like http://127.0.0.1:8080"
        )
    landing = follow_click(click_url, verify=verify) if click_url else None
    if landing is not None and _origin(landing) != _origin(store):
        raise BadInputError(
            f"the click leads to {_origin(landing)}, not to the store {store}: a click counts "
            "only at the store it was sent to; give --store the partner's store the link names"
        )
    body: dict[str, Any] = {
        "line_items": [{"product_id": product_id, "quantity": quantity}],
        "coupons": list(coupons),
        "status": status,
        "landing_url": landing or "",
    }
    if email:
        body["billing"] = {"email": email}
    try:
        answer = requests.post(
            store + CHECKOUT_PATH,
            data=orjson.dumps(body),
            headers={"Content-Type": "application/json", "User-Agent": SHOPPER_AGENT},
            timeout=TIMEOUT,
            verify=verify,
        )
    except requests.RequestException as exc:
        raise BadInputError(
            f"cannot reach the store at {store} ({type(exc).__name__}); is "
            "`alliance sandbox serve` running there?"
        ) from None
    document = _json(answer)
    if answer.status_code == 201 and isinstance(document, dict):
        return PlacedOrder(document, landing)
    if answer.status_code == 404 or not isinstance(document, dict):
        raise BadInputError(
            f"{store} has no sandbox checkout (HTTP {answer.status_code}): `alliance sandbox "
            "order` buys only at a store `alliance sandbox serve` runs"
        )
    message = html.unescape(str(document.get("message") or f"HTTP {answer.status_code}"))
    raise BadInputError(f"the store refused the order: {message}")


def follow_click(click_url: str, *, verify: bool | str = True) -> str:
    """The landing URL a tracked link leads to, requested as a browser would (so the click
    is recorded); a URL that already carries ``utm_source`` is taken as the landing URL."""
    parts = urlsplit(click_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInputError(f"--click {click_url!r} is not a link; `alliance link` prints one")
    if any(k == "utm_source" for k, _v in parse_qsl(parts.query)):
        return click_url
    try:
        answer = requests.get(
            click_url,
            allow_redirects=False,
            headers={"User-Agent": SHOPPER_AGENT, "Accept": "text/html"},
            timeout=TIMEOUT,
            verify=verify,
        )
    except requests.RequestException as exc:
        raise BadInputError(
            f"cannot reach the tracked link's server at {_origin(click_url)} "
            f"({type(exc).__name__}); run `alliance serve` there (the agreement's links_base_url)"
        ) from None
    landing = answer.headers.get("Location", "")
    if answer.status_code not in (301, 302, 303, 307, 308) or not landing:
        raise BadInputError(
            f"the tracked link answered HTTP {answer.status_code}, not a redirect to a product: "
            "use a link `alliance link` printed, after a sync has fetched the partner's products"
        )
    if not any(k == "utm_source" for k, _v in parse_qsl(urlsplit(landing).query)):
        raise BadInputError(f"the tracked link led to {_origin(landing)} without UTM values")
    return landing


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _json(answer: requests.Response) -> Any:
    if "json" not in answer.headers.get("Content-Type", ""):
        return None
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        return None
