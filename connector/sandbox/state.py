"""The sandbox store's data, in memory: every kind of document together in one live store.

:class:`SandboxState` joins the order, coupon and product states (each in its own module, over
the shared clock, ids and lock of ``posts``) and adds what spans kinds: a checkout that prices
an order from products and coupons, and the mutate fault that changes orders as shoppers would.
One re-entrant lock guards everything: the server answers on many threads, and tests change
the store while it serves. Documents live in indexed collections (``collection``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from connector.fixtures.orders import woo_date, woo_order
from connector.sandbox import seed
from connector.sandbox.collection import INDEXED_FIELDS, Collection, ListQuery
from connector.sandbox.coupons import COUPON_TYPES, CouponState
from connector.sandbox.errors import RestError, decimal_param, invalid_id
from connector.sandbox.orders import NOTE_AUTHOR, ORDER_STATUSES, OrderState, refunded_total
from connector.sandbox.products import ProductState

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

    # -- checkout ----------------------------------------------------------------------------

    def create_order(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /orders``: priced from the product list, coupons checked like a checkout.

        An unknown coupon fails the request *after* the order was saved as a draft, so a
        ``checkout-draft`` order stays behind, as it does on a real store (reference §9).
        """
        with self.lock:
            now = self.now()
            lines = [self._order_line(item) for item in payload.get("line_items") or []]
            status = str(payload.get("status") or "pending")
            if status not in ORDER_STATUSES:
                self._change_status({}, status)  # raises the enum error
            if payload.get("set_paid"):
                status = "processing"
            method = str(payload.get("payment_method") or "")
            order_id = self._new_id()
            coupons = []
            for line in payload.get("coupon_lines") or []:
                code = str(line.get("code") or "")
                coupon = self.find_coupon(code)
                if coupon is None:
                    draft = self._build_order(order_id, payload, lines, [], "checkout-draft", now)
                    self.order_store.put(draft)
                    raise RestError(
                        400,
                        "woocommerce_rest_invalid_coupon",
                        f"Coupon &quot;{code}&quot; does not exist!",
                    )
                coupons.append(coupon)
            doc = self._build_order(order_id, payload, lines, coupons, status, now)
            if status in ("processing", "completed") and method != "cod":
                self.stamp(doc, "date_paid", now)
            if status == "completed":
                self.stamp(doc, "date_completed", now)
            self.order_store.put(doc)
            for coupon in coupons:
                self._use_coupon(coupon["id"], doc["billing"].get("email", ""))
            return self.order_store.get(order_id)  # type: ignore[return-value]

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
        coupons: list[Mapping[str, Any]],
        status: str,
        now: datetime,
    ) -> dict[str, Any]:
        subtotal = sum((unit * qty for _, _, qty, unit in lines), Decimal(0))
        quantity = sum(qty for _, _, qty, _ in lines)
        discounts = []
        for coupon in coupons:
            amount = Decimal(coupon["amount"])
            if coupon["discount_type"] == "percent":
                amount = subtotal * amount / 100
            elif coupon["discount_type"] == "fixed_product":
                amount = amount * quantity
            discounts.append((coupon["code"], amount))
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
            created_via="rest-api",
            utc_offset=self.utc_offset,
        )
        for coupon_line, coupon in zip(doc["coupon_lines"], coupons, strict=True):
            amount = Decimal(coupon["amount"])
            coupon_line["discount_type"] = coupon["discount_type"]
            coupon_line["nominal_amount"] = (
                int(amount) if amount == amount.to_integral() else float(amount)
            )
        for name in ("payment_method", "payment_method_title", "transaction_id"):
            if name in payload:
                doc[name] = payload[name]
        if "shipping" in payload:
            doc["shipping"] = {**doc["shipping"], **payload["shipping"]}
        doc["meta_data"] = [m for m in doc["meta_data"] if m["key"] == "is_vat_exempt"]
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
