"""The sandbox's coupons: codes unique and case-insensitive, fields validated as WordPress does.

Coupons are written through the API (single and batch) as well as seeded, and a checkout uses
them, so their rules live in one place: code checks, the writable fields of reference §4,
expiry dates in either clock, trash before delete, usage counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from connector.fixtures.orders import money
from connector.sandbox import seed
from connector.sandbox.collection import Collection
from connector.sandbox.errors import RestError, decimal_param, invalid_id
from connector.sandbox.posts import PostState

COUPON_TYPES = ("percent", "fixed_cart", "fixed_product")


class CouponState(PostState):
    """The store's coupons, kept in their own indexed collection."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.coupon_store = Collection()

    def find_coupon(self, code: str) -> dict[str, Any] | None:
        """The live coupon with this code, matched case-insensitively."""
        with self.lock:
            wanted = code.strip().lower()
            for coupon_id in self.coupon_store.ids():
                doc = self.coupon_store.peek(coupon_id)
                if doc and doc["code"] == wanted and doc.get("status") != "trash":
                    return self.coupon_store.get(coupon_id)
            return None

    def coupon(self, coupon_id: int) -> dict[str, Any] | None:
        with self.lock:
            return self.coupon_store.get(coupon_id)

    def coupons(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.coupon_store.get(i) for i in self.coupon_store.ids()]  # type: ignore[misc]

    def add_coupon(self, coupon: Mapping[str, Any]) -> dict[str, Any]:
        """Store a coupon as given (a seed), without the API's duplicate check."""
        with self.lock:
            coupon_id = coupon.get("id") if isinstance(coupon.get("id"), int) else self._new_id()
            self._claim(coupon_id)  # type: ignore[arg-type]
            doc = self._coupon_doc(coupon_id, coupon)  # type: ignore[arg-type]
            for name in ("date_created", "date_modified", "usage_count", "used_by"):
                if name in coupon:
                    doc[name] = coupon[name]
                    if f"{name}_gmt" in coupon:
                        doc[f"{name}_gmt"] = coupon[f"{name}_gmt"]
            self.coupon_store.put(doc)
            return self.coupon_store.get(coupon_id)  # type: ignore[return-value]

    def create_coupon(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            code = self._checked_code(payload.get("code"), None)
            coupon_id = self._new_id()
            doc = self._coupon_doc(coupon_id, {**payload, "code": code})
            self.coupon_store.put(doc)
            return self.coupon_store.get(coupon_id)  # type: ignore[return-value]

    def update_coupon(self, coupon_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            doc = self.coupon_store.get(coupon_id)
            if doc is None:
                raise invalid_id("shop_coupon")
            if "code" in payload:
                payload = {**payload, "code": self._checked_code(payload["code"], coupon_id)}
            self._apply_coupon_fields(doc, payload)
            self.stamp(doc, "date_modified", self.now())
            self.coupon_store.put(doc)
            return self.coupon_store.get(coupon_id)  # type: ignore[return-value]

    def delete_coupon(self, coupon_id: int, *, force: bool) -> dict[str, Any]:
        """Without ``force`` a coupon goes to the trash, as WordPress posts do."""
        with self.lock:
            doc = self.coupon_store.get(coupon_id)
            if doc is None:
                raise invalid_id("shop_coupon")
            if force:
                self.coupon_store.remove(coupon_id)
                return doc
            if doc.get("status") == "trash":
                raise RestError(
                    410, "woocommerce_rest_already_trashed", "The coupon has already been deleted."
                )
            doc["status"] = "trash"
            self.stamp(doc, "date_modified", self.now())
            self.coupon_store.put(doc)
            return self.coupon_store.get(coupon_id)  # type: ignore[return-value]

    def _use_coupon(self, coupon_id: int, email: str) -> None:
        doc = self.coupon_store.get(coupon_id)
        if doc is not None:
            doc["usage_count"] = int(doc.get("usage_count") or 0) + 1
            doc.setdefault("used_by", []).append(email)
            self.coupon_store.put(doc)

    def _checked_code(self, code: Any, own_id: int | None) -> str:
        text = str(code or "").strip().lower()
        if not text:
            raise RestError(
                400, "woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty."
            )
        existing = self.find_coupon(text)
        if existing is not None and existing["id"] != own_id:
            raise RestError(
                400, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists"
            )
        return text

    def _coupon_doc(self, coupon_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": coupon_id,
            "code": str(payload.get("code") or "").strip().lower(),
            "amount": "0.00",
            "status": "publish",
        }
        now = self.now()
        self.stamp(doc, "date_created", now)
        self.stamp(doc, "date_modified", now)
        doc.update(
            discount_type="fixed_cart",
            description="",
            date_expires=None,
            date_expires_gmt=None,
            usage_count=0,
            individual_use=False,
            product_ids=[],
            excluded_product_ids=[],
            usage_limit=None,
            usage_limit_per_user=None,
            limit_usage_to_x_items=None,
            free_shipping=False,
            product_categories=[],
            excluded_product_categories=[],
            exclude_sale_items=False,
            minimum_amount="0.00",
            maximum_amount="0.00",
            email_restrictions=[],
            used_by=[],
            meta_data=[],
        )
        self._apply_coupon_fields(doc, payload)
        self._links(doc, "coupons")
        return doc

    def _apply_coupon_fields(self, doc: dict[str, Any], payload: Mapping[str, Any]) -> None:
        """The writable coupon fields of reference §4, validated like WordPress validates."""
        if "code" in payload:
            doc["code"] = str(payload["code"]).strip().lower()
        if "discount_type" in payload:
            if payload["discount_type"] not in COUPON_TYPES:
                raise RestError(
                    400,
                    "rest_invalid_param",
                    "Invalid parameter(s): discount_type",
                    {
                        "params": {
                            "discount_type": "discount_type is not one of percent, "
                            "fixed_cart, and fixed_product."
                        }
                    },
                )
            doc["discount_type"] = payload["discount_type"]
        for name in ("amount", "minimum_amount", "maximum_amount"):
            if name in payload and payload[name] not in (None, ""):
                doc[name] = money(decimal_param(payload[name], name))
        for name in ("date_expires", "date_expires_gmt"):
            if name in payload:
                self._set_expiry(doc, payload[name], gmt=name.endswith("_gmt"))
        simple = (
            "description", "individual_use", "product_ids", "excluded_product_ids", "usage_limit",
            "usage_limit_per_user", "limit_usage_to_x_items", "free_shipping", "product_categories",
            "excluded_product_categories", "exclude_sale_items", "status",
        )  # fmt: skip
        for name in simple:
            if name in payload:
                doc[name] = payload[name]
        if "email_restrictions" in payload:
            doc["email_restrictions"] = [
                str(e).lower() for e in payload["email_restrictions"] or []
            ]
        if "meta_data" in payload:
            self._merge_meta(doc, payload["meta_data"] or [])

    def _set_expiry(self, doc: dict[str, Any], value: Any, *, gmt: bool) -> None:
        if value in (None, ""):
            doc["date_expires"] = doc["date_expires_gmt"] = None
            return
        moment = seed.parse_woo_date(str(value))
        if moment is None:
            name = "date_expires_gmt" if gmt else "date_expires"
            raise RestError(
                400,
                "rest_invalid_param",
                f"Invalid parameter(s): {name}",
                {
                    "params": {name: "Invalid date."},
                    "details": {
                        name: {
                            "code": "rest_invalid_date",
                            "message": "Invalid date.",
                            "data": None,
                        }
                    },
                },
            )
        utc = moment if gmt else moment - self.utc_offset
        self.stamp(doc, "date_expires", utc.replace(tzinfo=UTC))
