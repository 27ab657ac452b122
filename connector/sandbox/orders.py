"""The sandbox's orders and what hangs off them: status transitions, refunds and notes.

Every change stamps ``date_modified``/``date_modified_gmt`` from the store's clock, as
WooCommerce does, so an incremental sync sees it. Creating an order from a checkout payload
spans products and coupons too, so that lives with the whole store in ``state``, as does what
a status transition does to coupon usage (the ``_status_changed`` hook).

Notes are WooCommerce's: newest first; added through the API their author is "WooCommerce"
(the key's user only with ``added_by_user: true``); a customer note is also emailed to the
billing address, which the sandbox records in its outbox (``sent_emails()``, see ``mail``);
a note on an order that does not exist is 404 ``woocommerce_rest_order_invalid_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from connector.fixtures.orders import money, woo_date
from connector.sandbox.collection import Collection
from connector.sandbox.errors import RestError, decimal_param, invalid_id
from connector.sandbox.mail import SentEmail, customer_note_email
from connector.sandbox.posts import PostState

ORDER_STATUSES = (
    "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
    "checkout-draft", "trash",
)  # fmt: skip
NOTE_AUTHOR = "Sandbox Admin"
"""Display name of the user who owns the sandbox's API keys: notes added with
``added_by_user: true`` carry it."""
SYSTEM_NOTE_AUTHOR = "WooCommerce"
"""The author of every other note, API-added ones included (``WC_Order::add_order_note``)."""
NOTE_TYPES = ("any", "customer", "internal")
"""``GET /orders/<id>/notes?type=``."""


def refunded_total(doc: Mapping[str, Any]) -> Decimal:
    """How much of an order its ``refunds`` lines have given back, as a positive amount."""
    return sum((-Decimal(r["total"]) for r in doc.get("refunds") or ()), Decimal(0))


class OrderState(PostState):
    """Orders with their refunds and notes; tests change them directly, the API through routes."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.order_store = Collection()
        self._notes: dict[int, list[dict[str, Any]]] = {}
        self._refunds: dict[int, list[dict[str, Any]]] = {}
        self._next_note_id = 1
        self._outbox: list[SentEmail] = []

    def add_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """Store an order as ``GET /orders`` returns it (an id is given if it has none)."""
        with self.lock:
            order_id = self.add_orders([order])[0]
            return self.order_store.get(order_id)  # type: ignore[return-value]

    def add_orders(self, orders: Iterable[Mapping[str, Any]]) -> list[int]:
        """Store many orders at once (one index sort); their ids, in order."""
        with self.lock:
            docs = []
            for order in orders:
                doc = dict(order)  # serialised at once: the caller's dict is never kept
                if not isinstance(doc.get("id"), int):
                    doc["id"] = self._new_id()
                self._claim(doc["id"])
                doc.setdefault("refunds", [])
                doc.setdefault("status", "pending")
                self._links(doc, "orders")
                docs.append(doc)
            self.order_store.put_many(docs)
            self._orders_added(docs)
            return [doc["id"] for doc in docs]

    def _orders_added(self, docs: list[dict[str, Any]]) -> None:
        """What other kinds of document do when orders arrive as given (coupon usage: ``state``)."""

    def order(self, order_id: int) -> dict[str, Any] | None:
        with self.lock:
            return self.order_store.get(order_id)

    def orders(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.order_store.get(i) for i in self.order_store.ids()]  # type: ignore[misc]

    def _load_order(self, order_id: int) -> dict[str, Any]:
        doc = self.order_store.get(order_id)
        if doc is None:
            raise invalid_id("shop_order")
        return doc

    def _save_order(self, doc: dict[str, Any]) -> dict[str, Any]:
        self.stamp(doc, "date_modified", self.now())
        self.order_store.put(doc)
        return orjson.loads(self.order_store.blob(doc["id"]))  # type: ignore[arg-type]

    def modify_order(self, order_id: int, **changes: Any) -> dict[str, Any]:
        """Overwrite top-level fields (a ``status`` goes through ``set_status``'s rules)."""
        with self.lock:
            doc = self._load_order(order_id)
            status = changes.pop("status", None)
            doc.update(changes)
            if status is not None and status != doc.get("status"):
                self._change_status(doc, status)
            return self._save_order(doc)

    def set_status(self, order_id: int, status: str) -> dict[str, Any]:
        return self.modify_order(order_id, status=status)

    def _status_changed(self, doc: dict[str, Any]) -> None:
        """What other kinds of document do on a transition (coupon usage: ``state``)."""

    def _change_status(self, doc: dict[str, Any], status: str) -> None:
        """WooCommerce's side effects of a status transition."""
        if status not in ORDER_STATUSES:
            raise RestError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): status",
                {"params": {"status": f"status is not one of {', '.join(ORDER_STATUSES[:-1])}."}},
            )
        now = self.now()
        doc["status"] = status
        self._status_changed(doc)
        paid_status = status in ("processing", "completed")
        if paid_status and not doc.get("date_paid") and doc.get("payment_method") != "cod":
            self.stamp(doc, "date_paid", now)
        if status == "completed" and not doc.get("date_completed"):
            self.stamp(doc, "date_completed", now)
        if status == "refunded":
            remainder = Decimal(doc.get("total") or "0") - refunded_total(doc)
            if remainder > 0:
                self._append_refund(doc, remainder, "Order fully refunded.", now)
        doc["is_editable"] = status in ("pending", "on-hold", "auto-draft", "checkout-draft")
        doc["needs_payment"] = (
            status in ("pending", "failed") and Decimal(doc.get("total") or 0) > 0
        )

    def _append_refund(
        self, doc: dict[str, Any], amount: Decimal, reason: str, now: datetime
    ) -> dict[str, Any]:
        refund_id = self._new_id()
        refund = {
            "id": refund_id,
            "date_created": woo_date(now, self.utc_offset),
            "date_created_gmt": woo_date(now),
            "amount": money(amount),
            "reason": reason,
            "refunded_by": 1,
            "refunded_payment": False,
            "meta_data": [],
            "line_items": [],
            "shipping_lines": [],
            "tax_lines": [],
            "fee_lines": [],
            "_links": {
                "self": [{"href": f"{self.api_root}/orders/{doc['id']}/refunds/{refund_id}"}],
                "collection": [{"href": f"{self.api_root}/orders/{doc['id']}/refunds"}],
                "up": [{"href": f"{self.api_root}/orders/{doc['id']}"}],
            },
        }
        doc.setdefault("refunds", []).insert(
            0, {"id": refund_id, "reason": reason, "total": money(-amount)}
        )
        self._refunds.setdefault(doc["id"], []).insert(0, refund)
        return refund

    def refund(self, order_id: int, amount: Decimal | str, reason: str = "") -> dict[str, Any]:
        """Refund part of an order; refunding the rest makes it ``refunded``, as WooCommerce."""
        with self.lock:
            doc = self._load_order(order_id)
            value = decimal_param(amount, "amount")
            if value <= 0:
                raise RestError(
                    400,
                    "woocommerce_rest_invalid_order_refund",
                    "Refund amount must be greater than zero.",
                )
            remainder = Decimal(doc.get("total") or "0") - refunded_total(doc)
            if value > remainder:
                raise RestError(
                    400, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount."
                )
            refund = self._append_refund(doc, value, reason, self.now())
            if value == remainder and doc.get("status") != "refunded":
                self._change_status(doc, "refunded")
            self._save_order(doc)
            return dict(refund)

    def refunds(self, order_id: int) -> list[dict[str, Any]]:
        """Full refund objects, newest first (synthesised for orders loaded with ``refunds[]``)."""
        with self.lock:
            doc = self._load_order(order_id)
            stored = {r["id"]: r for r in self._refunds.get(order_id, [])}
            result = []
            for line in doc.get("refunds") or []:
                refund = stored.get(line["id"]) or {
                    "id": line["id"],
                    "date_created": doc.get("date_modified"),
                    "date_created_gmt": doc.get("date_modified_gmt"),
                    "amount": money(-Decimal(line["total"])),
                    "reason": line.get("reason", ""),
                    "refunded_by": 1,
                    "refunded_payment": False,
                    "meta_data": [],
                    "line_items": [],
                }
                result.append(dict(refund))
            return result

    def _noted_order(self, order_id: int) -> dict[str, Any]:
        doc = self.order_store.get(order_id)
        if doc is None:
            raise RestError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
        return doc

    def add_note(
        self,
        order_id: int,
        note: str,
        *,
        customer_note: bool = False,
        added_by_user: bool = False,
        author: str | None = None,
    ) -> dict[str, Any]:
        """Add a note; a customer note is also emailed to the billing address (the outbox)."""
        with self.lock:
            doc = self._noted_order(order_id)
            now = self.now()
            entry = {
                "id": self._next_note_id,
                "author": author or (NOTE_AUTHOR if added_by_user else SYSTEM_NOTE_AUTHOR),
                "date_created": woo_date(now, self.utc_offset),
                "date_created_gmt": woo_date(now),
                "note": note,
                "customer_note": bool(customer_note),
            }
            self._next_note_id += 1
            # a note is a comment on the order, not a save of it: WooCommerce leaves the
            # order's date_modified alone (as it does for changes to its items)
            self._notes.setdefault(order_id, []).insert(0, entry)
            email = (
                customer_note_email(doc, note, entry["date_created_gmt"]) if customer_note else None
            )
            if email is not None:
                self._outbox.append(email)
            return dict(entry)

    def notes(self, order_id: int, kind: str = "any") -> list[dict[str, Any]]:
        """An order's notes, newest first; ``kind`` ``customer`` or ``internal`` filters them."""
        with self.lock:
            self._noted_order(order_id)
            return [
                dict(n)
                for n in self._notes.get(order_id, [])
                if kind == "any" or n["customer_note"] == (kind == "customer")
            ]

    def sent_emails(self, to: str | None = None) -> list[SentEmail]:
        """The emails the store sent (customer notes), oldest first; ``to`` picks one address."""
        with self.lock:
            return [e for e in self._outbox if to is None or e.to.lower() == to.lower()]

    def update_order(self, order_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /orders/<id>``: top-level fields, addresses, meta and the status transition."""
        with self.lock:
            doc = self._load_order(order_id)
            for name in (
                "customer_note",
                "payment_method",
                "payment_method_title",
                "transaction_id",
                "currency",
                "customer_id",
            ):
                if name in payload:
                    doc[name] = payload[name]
            for name in ("billing", "shipping"):
                if isinstance(payload.get(name), Mapping):
                    doc[name] = {**doc.get(name, {}), **payload[name]}
            self._merge_meta(doc, payload.get("meta_data") or [])
            status = payload.get("status")
            if payload.get("set_paid"):
                status = "processing" if status in (None, "pending", "on-hold") else status
            if status is not None and status != doc.get("status"):
                self._change_status(doc, str(status))
            return self._save_order(doc)

    def delete_order(self, order_id: int, *, force: bool) -> dict[str, Any]:
        with self.lock:
            doc = self._load_order(order_id)
            if force:
                self.order_store.remove(order_id)
                return doc
            if doc.get("status") == "trash":
                raise RestError(
                    410, "woocommerce_rest_already_trashed", "The order has already been deleted."
                )
            doc["status"] = "trash"
            return self._save_order(doc)
