"""The sandbox's coupons: codes unique and case-insensitive, fields set as WooCommerce sets them.

Coupons are written through the API (single and batch) as well as seeded, and orders use them,
so their rules live in one place: code checks, the writable fields of reference §4, trash
before delete, usage counts. What WooCommerce 10 does, and so the sandbox:

- Codes are stored lowercased and unique among *published* coupons, in any case.
- ``POST /coupons`` and ``PUT /coupons/<id>`` first check the arguments against the schema
  (:func:`check_coupon_args`: ``rest_invalid_param``, e.g. ``amount`` sent as a JSON number or
  a ``discount_type`` not in the enum). ``POST /coupons/batch`` skips that: its items go
  straight to the setters, which refuse a negative amount (``coupon_invalid_amount``, also a
  percent above 100 when the coupon is already a percent one) or an unknown type
  (``coupon_invalid_discount_type``), and cast booleans as PHP does (``"false"`` is true).
- A field sent as ``null`` is left as it is; ``usage_limit`` 0 reads back as ``null``.
- ``date_expires`` is read in the store's timezone, unless the text carries ``Z`` or an offset
  (``2026-12-01T00:00:00Z``); a number is a Unix time. **``date_expires_gmt`` is read-only in
  effect**: ``WC_Coupon`` has no setter for it, so the coupons controller silently drops it
  (the docs list it as writable). Expire a coupon with ``date_expires`` in UTC with a ``Z``.
- ``usage_count`` and ``used_by`` change only when orders use the coupon (``state``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.fixtures.orders import money
from connector.sandbox import seed
from connector.sandbox.collection import Collection
from connector.sandbox.errors import RestError, invalid_id
from connector.sandbox.params import Params
from connector.sandbox.posts import PostState

COUPON_TYPES = ("percent", "fixed_cart", "fixed_product")

COUPON_SCHEMA: dict[str, str] = {
    "code": "string", "amount": "string", "status": "string", "discount_type": "enum",
    "description": "string", "date_expires": "date", "date_expires_gmt": "date",
    "individual_use": "boolean", "product_ids": "integers", "excluded_product_ids": "integers",
    "usage_limit": "integer", "usage_limit_per_user": "integer",
    "limit_usage_to_x_items": "integer", "free_shipping": "boolean",
    "product_categories": "integers", "excluded_product_categories": "integers",
    "exclude_sale_items": "boolean", "minimum_amount": "string", "maximum_amount": "string",
    "email_restrictions": "strings", "meta_data": "array",
}  # fmt: skip
"""The writable coupon fields and their schema types, in the schema's order: the order in which
WooCommerce calls the setters, so the first refused value decides the error."""

_ISO_WITH_OFFSET = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|([-+])(\d{2}):(\d{2}))$"
)
_SECOND = timedelta(seconds=1)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_coupon_args(payload: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """What WordPress does with the coupon schema before the single routes run.

    ``code`` is required on create; a present argument must be of its type (``date_expires``
    may be null, ``discount_type`` one of :data:`COUPON_TYPES`); booleans, integers and id lists
    come back sanitised. All bad arguments are reported in one ``rest_invalid_param``.
    """
    if creating and "code" not in payload:
        raise RestError(
            400, "rest_missing_callback_param", "Missing parameter(s): code", {"params": ["code"]}
        )
    params = Params(payload)
    clean = dict(payload)
    for name, kind in COUPON_SCHEMA.items():
        if name not in payload:
            continue
        if kind in ("string", "enum", "date"):
            params.string(name, nullable=kind == "date")
            if kind == "enum" and isinstance(payload[name], str):
                params.choice(name, COUPON_TYPES, "")
        elif kind == "boolean":
            clean[name] = params.boolean(name, False)
        elif kind == "integer":
            clean[name] = params.integer(name, None)
        elif kind == "integers":
            clean[name] = params.ids(name)
        elif kind == "strings":
            clean[name] = params.strings(name)
    params.check()
    return clean


def _php_bool(value: Any) -> bool:
    """PHP's ``(bool)`` cast: ``""`` and ``"0"`` are false, ``"false"`` is true."""
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)


def _absint(value: Any) -> int:
    """PHP's ``absint``: the leading integer of the text, made positive; 0 if there is none."""
    found = re.match(r"\s*[+-]?\d+", str(value))
    return abs(int(found.group())) if found and not isinstance(value, bool) else int(value is True)


def _id_list(value: Any) -> list[int]:
    """``wp_parse_id_list`` then ``array_filter``: positive, unique, in order."""
    items = value if isinstance(value, list) else re.split(r"[,\s]+", str(value))
    return list(dict.fromkeys(n for n in (_absint(i) for i in items if str(i).strip()) if n))


def _decimal(value: Any) -> Decimal:
    """``wc_format_decimal``: a number, or 0 for anything that is not one."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return amount if amount.is_finite() and not isinstance(value, bool) else Decimal(0)


def _invalid_date(name: str) -> RestError:
    return RestError(
        400,
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        {
            "params": {name: "Invalid date."},
            "details": {
                name: {"code": "rest_invalid_date", "message": "Invalid date.", "data": None}
            },
        },
    )


class CouponState(PostState):
    """The store's coupons, kept in their own indexed collection."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.coupon_store = Collection()

    def find_coupon(self, code: str) -> dict[str, Any] | None:
        """The published coupon with this code, matched case-insensitively
        (``wc_get_coupon_id_by_code``: drafts and trashed coupons are not found)."""
        with self.lock:
            wanted = code.strip().lower()
            for coupon_id in self.coupon_store.ids():
                doc = self.coupon_store.peek(coupon_id)
                if doc and doc["code"] == wanted and doc.get("status", "publish") == "publish":
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
            gmt = coupon.get("date_expires_gmt")  # a seed reads like GET: the GMT field counts
            if isinstance(gmt, str) and (moment := seed.parse_woo_date(gmt)) is not None:
                self.stamp(doc, "date_expires", moment.replace(tzinfo=UTC))
            self.coupon_store.put(doc)
            return self.coupon_store.get(coupon_id)  # type: ignore[return-value]

    def create_coupon(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``create_item``: an ``id`` in the payload is refused, then the setters run."""
        with self.lock:
            if payload.get("id"):
                raise RestError(
                    400,
                    "woocommerce_rest_shop_coupon_exists",
                    "Cannot create existing shop_coupon.",
                )
            code = self._checked_code(payload.get("code"), None)
            coupon_id = self._new_id()
            doc = self._coupon_doc(coupon_id, {**payload, "code": code})
            self.coupon_store.put(doc)
            return self.coupon_store.get(coupon_id)  # type: ignore[return-value]

    def update_coupon(self, coupon_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``update_item``: an unknown id is 400 here (404 for GET and DELETE), as WooCommerce."""
        with self.lock:
            doc = self.coupon_store.get(coupon_id)
            if doc is None:
                error = invalid_id("shop_coupon")
                raise RestError(400, error.code, error.message)
            if payload.get("code") is not None:
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
                    410,
                    "woocommerce_rest_already_trashed",
                    "The shop_coupon has already been deleted.",
                )
            doc["status"] = "trash"
            self.stamp(doc, "date_modified", self.now())
            self.coupon_store.put(doc)
            return self.coupon_store.get(coupon_id)  # type: ignore[return-value]

    def _count_usage(self, code: str, used_by: str, step: int) -> None:
        """``increase_usage_count`` (+1) / ``decrease_usage_count`` (-1) of the published coupon
        with this code: the count, and one ``used_by`` entry added or removed. No coupon, no-op
        (orders may name codes the store does not have)."""
        doc = self.find_coupon(code)
        if doc is None:
            return
        used = doc.setdefault("used_by", [])
        if step > 0:
            doc["usage_count"] = int(doc.get("usage_count") or 0) + 1
            used.append(used_by)
        elif int(doc.get("usage_count") or 0) > 0:
            doc["usage_count"] = int(doc["usage_count"]) - 1
            if used_by in used:
                used.remove(used_by)
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
        """The setters WooCommerce calls for each writable field, in :data:`COUPON_SCHEMA`'s
        order: a field sent as null is skipped, and the first setter that refuses its value
        refuses the whole item (nothing is saved)."""
        for name, kind in COUPON_SCHEMA.items():
            value = payload.get(name)
            if value is None:
                continue
            if name == "code":
                doc["code"] = str(value).strip().lower()
            elif name == "amount":
                doc["amount"] = money(self._checked_amount(value, doc["discount_type"]))
            elif name == "discount_type":
                value = "percent" if value == "percent_product" else value
                if value not in COUPON_TYPES:
                    raise RestError(400, "coupon_invalid_discount_type", "Invalid discount type.")
                doc["discount_type"] = value
            elif name == "date_expires":
                self._set_expiry(doc, value)
            elif name == "date_expires_gmt":
                continue  # WC_Coupon has no set_date_expires_gmt: the controller drops it
            elif kind == "boolean":
                doc[name] = _php_bool(value)
            elif kind == "integer":
                doc[name] = _absint(value) or None  # 0 means "no limit" and reads back as null
            elif kind == "integers":
                doc[name] = _id_list(value)
            elif name in ("minimum_amount", "maximum_amount"):
                doc[name] = money(_decimal(value))
            elif name == "email_restrictions":
                emails = value if isinstance(value, list) else [value]
                doc[name] = [e for e in (str(v).strip().lower() for v in emails) if _EMAIL.match(e)]
            elif name == "meta_data":
                self._merge_meta(doc, value if isinstance(value, list) else [])
            else:
                doc[name] = str(value)

    @staticmethod
    def _checked_amount(value: Any, discount_type: str) -> Decimal:
        """``WC_Coupon::set_amount``: not a number is 0; negative, or a percent over 100 (the
        type the coupon has *before* this payload's ``discount_type``), is refused."""
        amount = _decimal(value)
        if amount < 0 or (discount_type == "percent" and amount > 100):
            raise RestError(400, "coupon_invalid_amount", "Invalid discount amount.")
        return amount

    def _set_expiry(self, doc: dict[str, Any], value: Any) -> None:
        """``WC_Data::set_date_prop``: empty clears it; a number is a Unix time; ISO 8601 with
        ``Z`` or an offset is taken at that offset; any other date is in the store's timezone."""
        if value in ("", 0, "0", "0000-00-00 00:00:00", "0000-00-00"):
            doc["date_expires"] = doc["date_expires_gmt"] = None
            return
        text = str(value).strip()
        if isinstance(value, (int, float)) or re.fullmatch(r"\d+(\.\d+)?", text):
            self.stamp(doc, "date_expires", datetime.fromtimestamp(int(float(text)), UTC))
            return
        found = _ISO_WITH_OFFSET.match(text)
        if found is not None:
            moment = datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)
            if found[7] != "Z":
                sign = -1 if found[8] == "-" else 1
                moment -= sign * (int(found[9]) * 3600 + int(found[10]) * 60) * _SECOND
            self.stamp(doc, "date_expires", moment)
            return
        local = seed.parse_woo_date(text)
        if local is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            local = seed.parse_woo_date(f"{text}T00:00:00")
        if local is None:
            raise _invalid_date("date_expires")  # WooCommerce would store a nonsense date
        self.stamp(doc, "date_expires", (local - self.utc_offset).replace(tzinfo=UTC))
