"""The sandbox store's data, in memory: every kind of document together in one live store.

:class:`SandboxState` joins the order, coupon and product states (each in its own module, over
the shared clock, ids and lock of ``posts``) and adds what spans kinds: a checkout that prices
an order from products and coupons, and the mutate fault that changes orders as shoppers would.

Coupon usage follows ``wc_update_coupon_usage_counts``: an order's coupons count once
(``usage_count`` + 1, its user id or else its billing email appended to ``used_by``) when the
order is placed, or moves to pending, processing, on-hold or completed; cancelling gives the
uses back. Orders added as they are (seeds, ``add_orders``, the mutate fault) count unless
cancelled or a checkout draft. A code that names no coupon in this store counts nothing, so
seeded orders with other stores' referral codes are fine. ``POST /orders`` and
:meth:`SandboxState.checkout` refuse a coupon the rules of ``redemption`` refuse.
One re-entrant lock guards everything: the server answers on many threads, and tests change
the store while it serves. Documents live in indexed collections (``collection``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from connector.fixtures.orders import woo_date, woo_order
from connector.sandbox import seed
from connector.sandbox.collection import INDEXED_FIELDS, Collection, ListQuery
from connector.sandbox.coupons import COUPON_TYPES, CouponState
from connector.sandbox.errors import RestError, decimal_param, invalid_id
from connector.sandbox.orders import NOTE_AUTHOR, ORDER_STATUSES, OrderState, refunded_total
from connector.sandbox.products import ProductState
from connector.sandbox.redemption import Basket, Line, discount, refusal, used_by_key

COUNTED_STATUSES = frozenset({"pending", "processing", "on-hold", "completed"})
"""Moving an order to one of these counts its coupons as used (if not counted already)."""

__all__ = [  # what ``state`` offered before its parts had modules of their own
    "COUPON_TYPES",
    "INDEXED_FIELDS",
    "NOTE_AUTHOR",
    "ORDER_STATUSES",
    "Collection",
    "ListQuery",
    "RestError",
    "SandboxState",
    "invalid_id",
]


class SandboxState(OrderState, CouponState, ProductState):
    """The live store. Tests change it directly; the server answers from it."""

    def __init__(
        self,
        *,
        site_url: str = "http://127.0.0.1",
        clock: Callable[[], datetime] | None = None,
        utc_offset_hours: int = 8,
    ) -> None:
        super().__init__(site_url=site_url, clock=clock, utc_offset_hours=utc_offset_hours)
        self.request_log: list[tuple[str, str, str, int]] = []
        """``(method, path, query without secrets, status)`` of every request answered."""
        self._usage_counted: set[int] = set()
        """Orders whose coupons count as used (``_recorded_coupon_usage_counts``)."""

    # -- checkout ----------------------------------------------------------------------------

    def create_order(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /orders``: priced from the product list, coupons checked as an order checks them.

        A refused coupon (unknown, used up, expired...: ``woocommerce_rest_invalid_coupon`` with
        WooCommerce's message) fails the request *after* the order was saved as a draft, so a
        ``checkout-draft`` order stays behind, as it does on a real store (reference §9).
        """
        status = str(payload.get("status") or "pending")
        if status not in ORDER_STATUSES:
            self._change_status({}, status)  # raises the enum error
        if payload.get("set_paid"):
            status = "processing"
        return self._place_order(payload, status, "rest-api", None, checkout=False)

    def checkout(
        self,
        payload: Mapping[str, Any],
        *,
        status: str = "processing",
        created_via: str = "checkout",
        attribution: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A shopper's checkout: redeem coupon codes as a customer of this store would.

        ``payload`` is shaped like a ``POST /orders`` body: ``line_items`` (``product_id`` and
        ``quantity``, priced from the store's products), ``coupon_lines`` (``[{"code": ...}]``),
        ``billing`` (its ``email`` is who used the coupon), ``customer_id`` (0 for a guest),
        ``payment_method``. Each code is checked as a checkout checks it, email restrictions
        included; a refused one raises :class:`RestError` 400 ``invalid_coupon`` with the
        shopper's message, and no order is made. Otherwise the order lands in ``status``
        (``date_paid`` set unless cash on delivery), with ``created_via`` and, given
        ``attribution`` (``{"utm_source": ..., "utm_content": ...}``), the attribution meta of
        a shopper checkout; its coupons count as used at once. Returns the order as GET does.
        """
        if status not in ORDER_STATUSES:
            self._change_status({}, status)
        return self._place_order(payload, status, created_via, attribution, checkout=True)

    def _place_order(
        self,
        payload: Mapping[str, Any],
        status: str,
        created_via: str,
        attribution: Mapping[str, str] | None,
        *,
        checkout: bool,
    ) -> dict[str, Any]:
        with self.lock:
            now = self.now()
            lines = [self._order_line(item) for item in payload.get("line_items") or []]
            basket = self._basket(lines, payload)
            order_id = 0 if checkout else self._new_id()  # a refused checkout makes no post
            coupons: list[dict[str, Any]] = []
            for line in payload.get("coupon_lines") or []:
                code = str(line.get("code") or "").strip()
                coupon = self.find_coupon(code) if code else None
                if not code:
                    problem: str | None = "Coupon code is required."
                elif coupon is not None and any(c["id"] == coupon["id"] for c in coupons):
                    problem = "Coupon code already applied!"
                else:
                    problem = refusal(coupon, code, basket, now, checkout=checkout)
                if problem is None:
                    coupons.append(coupon)  # type: ignore[arg-type]
                elif checkout:  # a checkout validates before it makes an order
                    raise RestError(400, "invalid_coupon", problem)
                else:  # the REST API saved the order before it applied the coupons
                    draft = self._build_order(
                        order_id, payload, lines, basket, [], "checkout-draft", now, created_via
                    )
                    self.order_store.put(draft)
                    raise RestError(400, "woocommerce_rest_invalid_coupon", problem)
            order_id = order_id or self._new_id()
            doc = self._build_order(
                order_id, payload, lines, basket, coupons, status, now, created_via, attribution
            )
            if status in ("processing", "completed") and payload.get("payment_method") != "cod":
                self.stamp(doc, "date_paid", now)
            if status == "completed":
                self.stamp(doc, "date_completed", now)
            self.order_store.put(doc)
            self._count_order_usage(doc, counted=status != "cancelled")
            return self.order_store.get(order_id)  # type: ignore[return-value]

    def _basket(
        self, lines: list[tuple[int, str, int, Decimal]], payload: Mapping[str, Any]
    ) -> Basket:
        """The order as the coupon rules see it (products' sale flags included)."""
        items = []
        for product_id, name, quantity, unit in lines:
            product = self.product_store.get(product_id) or {}
            items.append(Line(product_id, quantity, unit, name, bool(product.get("on_sale"))))
        return Basket(
            lines=tuple(items),
            email=str((payload.get("billing") or {}).get("email") or ""),
            customer_id=int(payload.get("customer_id") or 0),
            currency=str(payload.get("currency") or "CNY"),
        )

    # -- coupon usage ------------------------------------------------------------------------

    def _count_order_usage(self, doc: Mapping[str, Any], *, counted: bool) -> None:
        """Make the order's coupons count as used (``counted``) or not, once either way."""
        codes = [str(line.get("code") or "") for line in doc.get("coupon_lines") or []]
        if not codes or (doc["id"] in self._usage_counted) == counted:
            return
        billing = doc.get("billing") or {}
        who = used_by_key(int(doc.get("customer_id") or 0), str(billing.get("email") or ""))
        for code in codes:
            if code.strip():
                self._count_usage(code, who, 1 if counted else -1)
        if counted:
            self._usage_counted.add(doc["id"])
        else:
            self._usage_counted.discard(doc["id"])

    def _status_changed(self, doc: dict[str, Any]) -> None:
        if doc.get("status") == "cancelled":
            self._count_order_usage(doc, counted=False)
        elif doc.get("status") in COUNTED_STATUSES:
            self._count_order_usage(doc, counted=True)

    def _orders_added(self, docs: list[dict[str, Any]]) -> None:
        for doc in docs:
            if doc.get("coupon_lines") and doc.get("status") not in ("cancelled", "checkout-draft"):
                self._count_order_usage(doc, counted=True)

    def _order_line(self, item: Mapping[str, Any]) -> tuple[int, str, int, Decimal]:
        product_id = int(item.get("product_id") or 0)
        quantity = int(item.get("quantity") or 1)
        product = self.product_store.peek(product_id)
        if product is not None:
            return product_id, str(product["name"]), quantity, Decimal(product.get("price") or "0")
        if "price" in item or "total" in item:
            price = item.get("price", Decimal(item.get("total", 0)) / quantity)
            unit = decimal_param(price, "price")
            return product_id, str(item.get("name") or f"Product {product_id}"), quantity, unit
        raise RestError(
            400, "woocommerce_rest_invalid_product_id", "Product ID provided is invalid."
        )

    def _build_order(
        self,
        order_id: int,
        payload: Mapping[str, Any],
        lines: list[tuple[int, str, int, Decimal]],
        basket: Basket,
        coupons: list[Mapping[str, Any]],
        status: str,
        now: datetime,
        created_via: str,
        attribution: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        discounts = [(coupon["code"], discount(coupon, basket)) for coupon in coupons]
        shipping = sum(
            (Decimal(str(s.get("total") or 0)) for s in payload.get("shipping_lines") or []),
            Decimal(0),
        )
        billing = dict(payload.get("billing") or {})
        person = {
            **billing,
            "ip_address": "",
            "user_agent": "",
            "note": payload.get("customer_note", ""),
        }
        person["customer_id"] = int(payload.get("customer_id") or 0)
        doc = woo_order(
            order_id,
            status=status,
            currency=str(payload.get("currency") or "CNY"),
            created=now,
            modified=now,
            paid=None,
            lines=lines,
            coupons=discounts,
            shipping=shipping,
            customer=person,
            cod=payload.get("payment_method") == "cod",
            created_via=created_via,
            attribution=attribution,
            utc_offset=self.utc_offset,
        )
        for coupon_line, coupon in zip(doc["coupon_lines"], coupons, strict=True):
            amount = Decimal(coupon["amount"])
            kind = coupon["discount_type"]
            coupon_line["discount_type"] = kind
            coupon_line["nominal_amount"] = (
                int(amount) if amount == amount.to_integral() else float(amount)
            )
            info = [coupon["id"], coupon["code"], None if kind == "fixed_cart" else kind]
            info_text = orjson.dumps([*info, float(amount)]).decode()  # WC_Coupon::get_short_info
            for meta in coupon_line["meta_data"]:
                if meta["key"] == "coupon_info":
                    meta["value"] = meta["display_value"] = info_text
        for name in ("payment_method", "payment_method_title", "transaction_id"):
            if name in payload:
                doc[name] = payload[name]
        if "shipping" in payload:
            doc["shipping"] = {**doc["shipping"], **payload["shipping"]}
        kept = ("is_vat_exempt", "_wc_order_attribution_") if attribution else ("is_vat_exempt",)
        doc["meta_data"] = [m for m in doc["meta_data"] if m["key"].startswith(kept)]
        self._merge_meta(doc, payload.get("meta_data") or [])
        self._links(doc, "orders")
        return doc

    # -- the mutate fault --------------------------------------------------------------------

    def mutate(self, count: int, rng: random.Random) -> None:
        """Change ``count`` existing orders and add ``count`` new ones, as shoppers would."""
        with self.lock:
            live = [
                i for i in self.order_store.ids() if self.order_store.peek(i)["status"] != "trash"
            ]  # type: ignore[index]
            for order_id in rng.sample(live, min(count, len(live))):
                doc = self._load_order(order_id)
                remainder = Decimal(doc.get("total") or "0") - refunded_total(doc)
                if doc["status"] in ("processing", "on-hold", "pending"):
                    self._change_status(doc, "completed")
                elif remainder >= Decimal("2.00"):
                    self._append_refund(
                        doc,
                        (remainder / 4).quantize(Decimal("0.01")),
                        "Partial refund.",
                        self.now(),
                    )
                self._save_order(doc)
            fresh = seed.generate_orders(
                count,
                seed=rng.randrange(1 << 30),
                start=self._next_id,
                now=self.now(),
                utc_offset=self.utc_offset,
                products=self.products(),
            )
            for doc in fresh:
                doc["date_created"], doc["date_created_gmt"] = (
                    woo_date(self.now(), self.utc_offset),
                    woo_date(self.now()),
                )
                doc["date_modified"], doc["date_modified_gmt"] = (
                    doc["date_created"],
                    doc["date_created_gmt"],
                )
            self.add_orders(fresh)
