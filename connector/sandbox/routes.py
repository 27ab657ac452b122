"""The WooCommerce REST v3 routes the sandbox answers, and the handlers behind them.

The server has already decided who is calling and which faults apply; a route handler only
turns validated parameters into a change or a read of the store and an answer with
WooCommerce's status codes, paging headers and ``Link``s. :data:`ROUTES` maps URL patterns to
handlers, as WordPress's route registry does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import orjson

from connector.sandbox.collection import Collection
from connector.sandbox.coupons import check_coupon_args
from connector.sandbox.errors import RestError
from connector.sandbox.listing import (
    COUPON_LISTING,
    ORDER_LISTING,
    PRODUCT_LISTING,
    Listing,
    Matches,
    options_document,
    read_list_request,
)
from connector.sandbox.orders import NOTE_TYPES
from connector.sandbox.params import Params, shape_for, without_secrets
from connector.sandbox.response import Response, json_response
from connector.sandbox.state import SandboxState


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
        listing: Listing,
        raw: Mapping[str, Any],
        route: str,
        query: list[tuple[str, str]],
        extra: Callable[[Params], Matches] = lambda p: (),
    ) -> Response:
        request = read_list_request(raw, listing, self.legacy, extra)
        page, per_page, offset = request.page, request.per_page, request.offset
        with self.state.lock:
            start = offset if offset is not None else (page - 1) * per_page
            total, ids = collection.window(request.query, start, per_page)
            pages = math.ceil(total / per_page)
            if total and page > pages:
                raise RestError(
                    400,
                    "rest_post_invalid_page_number",
                    "The page number requested is larger than the number of pages available.",
                )
            body = collection.page(ids, request.shape)
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
        return self._list(self.state.order_store, ORDER_LISTING, params, route, query)

    def get_order(self, order_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        with self.state.lock:
            blob = self.state.order_store.blob(order_id)
        if blob is None:
            raise RestError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        shape = shape_for(Params(params))
        if shape is None:
            return Response(200, blob)
        return json_response(200, shape(orjson.loads(blob)))

    def create_order(self, *, params: Mapping[str, Any], **_: Any) -> Response:
        doc = self.state.create_order(params)
        return json_response(201, doc, [("Location", f"{self.state.api_root}/orders/{doc['id']}")])

    def update_order(self, order_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        return json_response(200, self.state.update_order(order_id, params))

    def delete_order(self, order_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        force = Params(params).boolean("force", False)
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

    def list_notes(self, order_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        args = Params(params)
        kind = args.choice("type", NOTE_TYPES, "any")
        args.check()
        return json_response(200, self.state.notes(order_id, kind))

    def create_note(self, order_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        text = str(params.get("note") or "")
        if not text:
            raise RestError(
                400,
                "rest_missing_callback_param",
                "Missing parameter(s): note",
                {"params": ["note"]},
            )
        args = Params(params)
        customer = args.boolean("customer_note", False)
        by_user = args.boolean("added_by_user", False)
        args.check()
        note = self.state.add_note(order_id, text, customer_note=customer, added_by_user=by_user)
        return json_response(201, note)

    # -- products --------------------------------------------------------------------------

    def list_products(self, *, params: Mapping[str, Any], route: str, query: list) -> Response:
        def stock(p: Params) -> Matches:
            allowed = ("instock", "outofstock", "onbackorder")
            chosen = p.choice("stock_status", allowed, "")
            return (("stock_status", frozenset({chosen})),) if chosen else ()

        return self._list(self.state.product_store, PRODUCT_LISTING, params, route, query, stock)

    def get_product(self, product_id: int, **_: Any) -> Response:
        blob = self.state.product_store.blob(product_id)
        if blob is None:
            raise RestError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return Response(200, blob)

    # -- coupons ---------------------------------------------------------------------------

    def list_coupons(self, *, params: Mapping[str, Any], route: str, query: list) -> Response:
        def code(p: Params) -> Matches:
            wanted = p.text("code").strip().lower()
            return (("code", frozenset({wanted})),) if wanted else ()

        return self._list(self.state.coupon_store, COUPON_LISTING, params, route, query, code)

    def get_coupon(self, coupon_id: int, **_: Any) -> Response:
        blob = self.state.coupon_store.blob(coupon_id)
        if blob is None:
            raise RestError(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
        return Response(200, blob)

    def create_coupon(self, *, params: Mapping[str, Any], **_: Any) -> Response:
        doc = self.state.create_coupon(check_coupon_args(params, creating=True))
        return json_response(201, doc, [("Location", f"{self.state.api_root}/coupons/{doc['id']}")])

    def update_coupon(self, coupon_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        changes = check_coupon_args(params, creating=False)
        return json_response(200, self.state.update_coupon(coupon_id, changes))

    def delete_coupon(self, coupon_id: int, *, params: Mapping[str, Any], **_: Any) -> Response:
        force = Params(params).boolean("force", False)
        return json_response(200, self.state.delete_coupon(coupon_id, force=force))

    def batch_coupons(self, *, params: Mapping[str, Any], **_: Any) -> Response:
        """``WC_REST_Controller::batch_items``: at most 100 items in create + update + delete
        (else 413 ``woocommerce_rest_request_entity_too_large``); items run one by one without
        the schema check of the single routes, an item's error comes back in its place
        (``{"id": 0, "error": {...}}`` for a create) and the batch stays 200. Empty groups are
        left out of the answer, so an empty batch answers ``[]`` (PHP's empty array).
        Deletes are forced; a delete id of 0 is skipped."""
        actions = {k: params[k] for k in ("create", "update", "delete") if params.get(k)}
        if sum(len(v) for v in actions.values() if isinstance(v, list)) > 100:
            raise RestError(
                413,
                "woocommerce_rest_request_entity_too_large",
                "Unable to accept more than 100 items for this request.",
            )
        result: dict[str, list[Any]] = {}
        for action, items in actions.items():
            if action == "delete":
                items = [i for i in items if _int(i)]
            if items:
                result[action] = [self._batch_item(action, item) for item in items]
        return json_response(200, result or [])

    def _batch_item(self, action: str, item: Any) -> dict[str, Any]:
        if action == "delete":
            item_id: Any = _int(item)
        else:
            item = item if isinstance(item, dict) else {}
            item_id = 0 if action == "create" else item.get("id")
        try:
            if action == "create":
                return self.state.create_coupon(item)
            if action == "update":
                return self.state.update_coupon(_int(item_id), item)
            return self.state.delete_coupon(_int(item_id), force=True)
        except RestError as error:
            return {
                "id": item_id,
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "data": {"status": error.status},
                },
            }


def _int(value: Any) -> int:
    """PHP's ``(int)`` of an id: the leading digits, or 0."""
    found = re.match(r"\s*\d+", str(value))
    return int(found.group()) if found else 0


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


def match_route(
    route: str, method: str
) -> tuple[Callable[..., Response] | None, tuple[int, ...], bool]:
    """The handler for ``route`` and ``method``, the ids in the URL, and whether it names one
    resource (which decides the anonymous error); no handler if the method is not routed."""
    for pattern, methods in ROUTES:
        found = pattern.match(route)
        if found is not None:
            ids = tuple(int(g) for g in found.groups())
            editable = method in ("PUT", "PATCH") and (ids or route.endswith("/batch"))
            handler = methods.get("POST" if editable else method)
            return handler, ids, bool(ids) and not route.endswith(("refunds", "notes"))
    return None, (), False
