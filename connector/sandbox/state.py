"""The sandbox store's data: orders, products, coupons, refunds and notes, in memory.

Every document is kept with its JSON already serialised (orjson) and in sorted indexes of
``(date, id)`` per date field, so a ``modified_after`` page over 50,000 orders is a bisect
and a join of cached bytes, not a scan and a re-serialisation. One re-entrant lock guards
everything: the server answers on many threads, and tests change the store while it serves.
Every change stamps ``date_modified``/``date_modified_gmt`` from the injectable clock with
whole seconds, as WooCommerce stores them.
"""

from __future__ import annotations

import random
import threading
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from connector.sandbox import seed
from connector.woocommerce.fixtures import money, woo_date, woo_order

INDEXED_FIELDS = ("date_created_gmt", "date_created", "date_modified_gmt", "date_modified", "id")
"""Fields every collection keeps a sorted ``(value, id)`` index of."""

ORDER_STATUSES = (
    "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
    "checkout-draft", "trash",
)  # fmt: skip
COUPON_TYPES = ("percent", "fixed_cart", "fixed_product")
NOTE_AUTHOR = "Sandbox Admin"
"""Display name of the user who owns the sandbox's API keys: API-added notes carry it."""

_CACHE_SIZE = 32
_FIELD_POSITION = {name: n for n, name in enumerate(INDEXED_FIELDS)}


class RestError(Exception):
    """An answer WooCommerce gives as ``{"code", "message", "data": {"status", ...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        data: Mapping[str, Any] | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.data = dict(data or {})
        self.headers = tuple(headers)

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "data": {"status": self.status, **self.data},
        }


def invalid_id(kind: str) -> RestError:
    return RestError(404, f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.")


@dataclass(frozen=True)
class ListQuery:
    """What a list request asks for, already validated; hashable so results can be cached.

    ``bounds`` are ``(field, after, before)`` with exclusive bounds on an indexed date field;
    ``statuses`` None means every status except ``trash``; ``orderby`` is an indexed field,
    ``include`` (the include list's order), or a document field such as ``name``.
    """

    bounds: tuple[tuple[str, str | None, str | None], ...] = ()
    statuses: frozenset[str] | None = None
    orderby: str = "date_created_gmt"
    descending: bool = True
    include: tuple[int, ...] = ()
    exclude: frozenset[int] = frozenset()
    search: str = ""
    matches: tuple[tuple[str, frozenset[str]], ...] = ()


def _keys_of(doc: Mapping[str, Any]) -> tuple[Any, ...]:
    return (*(str(doc.get(name) or "") for name in INDEXED_FIELDS[:-1]), doc["id"])


_SUMMARY_FIELDS = (
    "id", "status", "number", "name", "code", "sku", "slug", "stock_status", "price",
    "total_sales", "payment_method", "total",
)  # fmt: skip


def _summary(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The few fields filters and sorting read, so the store needs no deep copy of a document."""
    summary = {name: doc[name] for name in _SUMMARY_FIELDS if name in doc}
    billing = doc.get("billing")
    if isinstance(billing, Mapping):
        summary["billing"] = {k: billing.get(k) for k in ("email", "first_name", "last_name")}
    return summary


def _search_text(doc: Mapping[str, Any]) -> str:
    billing = doc.get("billing") or {}
    parts = [doc.get(k) for k in ("id", "number", "name", "code", "sku", "slug")]
    parts += [billing.get(k) for k in ("email", "first_name", "last_name")]
    return " ".join(str(p) for p in parts if p).lower()


class Collection:
    """Documents of one kind, their cached JSON and their sorted date indexes."""

    def __init__(self) -> None:
        self._docs: dict[int, dict[str, Any]] = {}
        self._blobs: dict[int, bytes] = {}
        self._keys: dict[int, tuple[Any, ...]] = {}
        self._index: dict[str, list[tuple[Any, int]]] = {name: [] for name in INDEXED_FIELDS}
        self._statuses: Counter[str] = Counter()
        self._cache: dict[ListQuery, list[int]] = {}

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    def get(self, doc_id: int) -> dict[str, Any] | None:
        """A private copy: callers may change it and ``put`` it back."""
        blob = self._blobs.get(doc_id)
        return None if blob is None else orjson.loads(blob)

    def peek(self, doc_id: int) -> Mapping[str, Any] | None:
        """The fields filters read (``_SUMMARY_FIELDS``), without copying the document."""
        return self._docs.get(doc_id)

    def blob(self, doc_id: int) -> bytes | None:
        return self._blobs.get(doc_id)

    def ids(self) -> list[int]:
        return [doc_id for _, doc_id in self._index["id"]]

    def put(self, doc: dict[str, Any]) -> None:
        doc_id = doc["id"]
        self._unindex(doc_id)
        keys = _keys_of(doc)
        for n, name in enumerate(INDEXED_FIELDS):
            insort(self._index[name], (keys[n], doc_id))
        self._store(doc, keys)

    def put_many(self, docs: Iterable[dict[str, Any]]) -> None:
        """Bulk load: one sort per index instead of an insertion per document."""
        for doc in docs:
            self._unindex(doc["id"])
            self._store(doc, _keys_of(doc))
        for n, name in enumerate(INDEXED_FIELDS):
            self._index[name] = sorted((keys[n], doc_id) for doc_id, keys in self._keys.items())

    def remove(self, doc_id: int) -> None:
        self._unindex(doc_id)
        self._docs.pop(doc_id, None)
        self._blobs.pop(doc_id, None)
        self._cache.clear()

    def _store(self, doc: dict[str, Any], keys: tuple[Any, ...]) -> None:
        doc_id = doc["id"]
        self._docs[doc_id] = _summary(doc)
        self._blobs[doc_id] = orjson.dumps(doc)
        self._keys[doc_id] = keys
        self._statuses[str(doc.get("status", ""))] += 1
        self._cache.clear()

    def _unindex(self, doc_id: int) -> None:
        keys = self._keys.pop(doc_id, None)
        if keys is None:
            return
        for n, name in enumerate(INDEXED_FIELDS):
            index = self._index[name]
            at = bisect_left(index, (keys[n], doc_id))
            if at < len(index) and index[at] == (keys[n], doc_id):
                del index[at]
        self._statuses[str(self._docs[doc_id].get("status", ""))] -= 1

    def window(self, query: ListQuery, start: int, count: int) -> tuple[int, list[int]]:
        """``(total, ids[start:start + count])`` of ``select``; when the query is a plain range
        of one index (the incremental sync's ``modified_after`` + ``orderby=modified``), the
        page is cut from the index directly, without listing every match."""
        field = query.bounds[0][0] if query.bounds else query.orderby
        plain = (
            len(query.bounds) <= 1
            and field == query.orderby
            and field in self._index
            and not (query.include or query.exclude or query.search or query.matches)
            and not self._needs_status_filter(query)
        )
        if not plain:
            ids = self.select(query)
            return len(ids), ids[start : start + count]
        index = self._index[field]
        lo, hi = 0, len(index)
        if query.bounds:
            _, after, before = query.bounds[0]
            lo = bisect_right(index, (after, float("inf"))) if after is not None else 0
            hi = max(lo, bisect_left(index, (before, -1)) if before is not None else hi)
        total = hi - lo
        if query.descending:
            first, last = max(hi - start - count, lo), max(hi - start, lo)
            return total, [doc_id for _, doc_id in reversed(index[first:last])]
        first, last = min(lo + start, hi), min(lo + start + count, hi)
        return total, [doc_id for _, doc_id in index[first:last]]

    def _needs_status_filter(self, query: ListQuery) -> bool:
        present = {status for status, count in self._statuses.items() if count > 0}
        if query.statuses is None:
            return "trash" in present
        return not present <= query.statuses

    def select(self, query: ListQuery) -> list[int]:
        """Ids matching ``query`` in answer order; cached until the collection changes."""
        cached = self._cache.get(query)
        if cached is not None:
            return cached
        narrowest: tuple[str, int, int] | None = None
        for name, after, before in query.bounds:
            index = self._index[name]
            lo = bisect_right(index, (after, float("inf"))) if after is not None else 0
            hi = bisect_left(index, (before, -1)) if before is not None else len(index)
            if narrowest is None or hi - lo < narrowest[2] - narrowest[1]:
                narrowest = (name, lo, max(lo, hi))
        if narrowest is None:
            ordered_by = query.orderby if query.orderby in self._index else "id"
            ids = [doc_id for _, doc_id in self._index[ordered_by]]
        else:
            ordered_by, lo, hi = narrowest
            ids = [doc_id for _, doc_id in self._index[ordered_by][lo:hi]]
        ids = self._filter(ids, query, skip_bound=ordered_by if narrowest else None)
        ids = self._order(ids, query, ordered_by)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[query] = ids
        return ids

    def _filter(self, ids: list[int], query: ListQuery, skip_bound: str | None) -> list[int]:
        keys, docs = self._keys, self._docs
        for name, after, before in query.bounds:
            if name == skip_bound:
                continue
            n = _FIELD_POSITION[name]
            ids = [
                i
                for i in ids
                if (after is None or keys[i][n] > after) and (before is None or keys[i][n] < before)
            ]
        if self._needs_status_filter(query):
            if query.statuses is None:
                ids = [i for i in ids if docs[i].get("status") != "trash"]
            else:
                ids = [i for i in ids if docs[i].get("status") in query.statuses]
        if query.include:
            wanted = set(query.include)
            ids = [i for i in ids if i in wanted]
        if query.exclude:
            ids = [i for i in ids if i not in query.exclude]
        for name, allowed in query.matches:
            ids = [i for i in ids if str(docs[i].get(name, "")).lower() in allowed]
        if query.search:
            needle = query.search.lower()
            ids = [i for i in ids if needle in _search_text(docs[i])]
        return ids

    def _order(self, ids: list[int], query: ListQuery, ordered_by: str) -> list[int]:
        if query.orderby == "include" and query.include:
            position = {doc_id: n for n, doc_id in enumerate(query.include)}
            return sorted(ids, key=position.__getitem__)  # WordPress ignores `order` here
        if query.orderby != ordered_by:
            if query.orderby in _FIELD_POSITION:
                n = _FIELD_POSITION[query.orderby]
                ids = sorted(ids, key=lambda i: (self._keys[i][n], i))
            else:
                name = query.orderby
                ids = sorted(ids, key=lambda i: (str(self._docs[i].get(name, "")).lower(), i))
        if query.descending:
            ids = ids[::-1]
        return ids

    def page(self, ids: list[int], shape: Callable[[dict], dict] | None = None) -> bytes:
        """A JSON array of these documents, from cached bytes unless ``shape`` trims them."""
        if shape is None:
            return b"[" + b",".join(self._blobs[i] for i in ids) + b"]"
        return orjson.dumps([shape(orjson.loads(self._blobs[i])) for i in ids])


def _decimal(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise RestError(
            400,
            "rest_invalid_param",
            f"Invalid parameter(s): {field}",
            {"params": {field: f"{field} is not a number."}},
        ) from None


def _refunded(doc: Mapping[str, Any]) -> Decimal:
    return sum((-Decimal(r["total"]) for r in doc.get("refunds") or ()), Decimal(0))


class SandboxState:
    """The live store. Tests change it directly; the server answers from it."""

    def __init__(
        self,
        *,
        site_url: str = "http://127.0.0.1",
        clock: Callable[[], datetime] | None = None,
        utc_offset_hours: int = 8,
    ) -> None:
        self.lock = threading.RLock()
        self.site_url = site_url.rstrip("/")
        self.api_root = self.site_url + "/wp-json/wc/v3"
        self.utc_offset = timedelta(hours=utc_offset_hours)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.order_store = Collection()
        self.product_store = Collection()
        self.coupon_store = Collection()
        self._notes: dict[int, list[dict[str, Any]]] = {}
        self._refunds: dict[int, list[dict[str, Any]]] = {}
        self._next_id = 1
        self._next_note_id = 1
        self.request_log: list[tuple[str, str, str, int]] = []
        """``(method, path, query without secrets, status)`` of every request answered."""

    # -- time and ids ------------------------------------------------------------------------

    def now(self) -> datetime:
        """The clock, in UTC, to the second (WooCommerce keeps whole seconds)."""
        moment = self._clock()
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        return moment.replace(microsecond=0)

    def stamp(self, doc: dict[str, Any], name: str, moment: datetime | None) -> None:
        """Set ``name`` (site-local) and ``name_gmt`` (UTC) from one moment."""
        doc[name] = woo_date(moment, self.utc_offset)
        doc[f"{name}_gmt"] = woo_date(moment)

    def _new_id(self) -> int:
        """Orders, refunds, products and coupons are all posts: one id sequence, as WordPress."""
        with self.lock:
            self._next_id += 1
            return self._next_id - 1

    def _claim(self, doc_id: int) -> None:
        self._next_id = max(self._next_id, doc_id + 1)

    def _links(self, doc: dict[str, Any], collection: str) -> None:
        doc["_links"] = {
            "self": [{"href": f"{self.api_root}/{collection}/{doc['id']}"}],
            "collection": [{"href": f"{self.api_root}/{collection}"}],
        }

    # -- orders --------------------------------------------------------------------------------

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
            return [doc["id"] for doc in docs]

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
        paid_status = status in ("processing", "completed")
        if paid_status and not doc.get("date_paid") and doc.get("payment_method") != "cod":
            self.stamp(doc, "date_paid", now)
        if status == "completed" and not doc.get("date_completed"):
            self.stamp(doc, "date_completed", now)
        if status == "refunded":
            remainder = Decimal(doc.get("total") or "0") - _refunded(doc)
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
            value = _decimal(amount, "amount")
            if value <= 0:
                raise RestError(
                    400,
                    "woocommerce_rest_invalid_order_refund",
                    "Refund amount must be greater than zero.",
                )
            remainder = Decimal(doc.get("total") or "0") - _refunded(doc)
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

    def add_note(
        self, order_id: int, note: str, *, customer_note: bool = False, author: str = NOTE_AUTHOR
    ) -> dict[str, Any]:
        with self.lock:
            doc = self._load_order(order_id)
            now = self.now()
            entry = {
                "id": self._next_note_id,
                "author": author,
                "date_created": woo_date(now, self.utc_offset),
                "date_created_gmt": woo_date(now),
                "note": note,
                "customer_note": bool(customer_note),
            }
            self._next_note_id += 1
            self._notes.setdefault(order_id, []).insert(0, entry)
            self._save_order(doc)
            return dict(entry)

    def notes(self, order_id: int) -> list[dict[str, Any]]:
        """An order's notes, newest first."""
        with self.lock:
            self._load_order(order_id)
            return [dict(n) for n in self._notes.get(order_id, [])]

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
            unit = _decimal(item.get("price", Decimal(item.get("total", 0)) / quantity), "price")
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

    def _merge_meta(self, doc: dict[str, Any], changes: Iterable[Mapping[str, Any]]) -> None:
        """``meta_data`` writes: by id if given, else replacing the value of the same key."""
        meta = doc.setdefault("meta_data", [])
        for change in changes:
            target = next(
                (
                    m
                    for m in meta
                    if ("id" in change and m.get("id") == change["id"])
                    or m["key"] == change.get("key")
                ),
                None,
            )
            if target is None:
                meta.append(
                    {
                        "id": doc["id"] * 1000 + 100 + len(meta),
                        "key": change.get("key"),
                        "value": change.get("value"),
                    }
                )
            else:
                target["value"] = change.get("value")

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

    # -- products ------------------------------------------------------------------------------

    def add_product(self, product: Mapping[str, Any]) -> dict[str, Any]:
        return self.add_products([product])[0]

    def add_products(self, products: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        with self.lock:
            docs = []
            for product in products:
                product_id = product.get("id")
                if not isinstance(product_id, int):
                    product_id = self._new_id()
                self._claim(product_id)
                doc = seed.complete_product(
                    {**product, "id": product_id}, self.site_url, self.utc_offset, self.now()
                )
                self._links(doc, "products")
                docs.append(doc)
            self.product_store.put_many(docs)
            return docs

    def product(self, product_id: int) -> dict[str, Any] | None:
        with self.lock:
            return self.product_store.get(product_id)

    def products(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.product_store.get(i) for i in self.product_store.ids()]  # type: ignore[misc]

    # -- coupons -------------------------------------------------------------------------------

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
                doc[name] = money(_decimal(payload[name], name))
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

    # -- the mutate fault --------------------------------------------------------------------

    def mutate(self, count: int, rng: random.Random) -> None:
        """Change ``count`` existing orders and add ``count`` new ones, as shoppers would."""
        with self.lock:
            live = [
                i for i in self.order_store.ids() if self.order_store.peek(i)["status"] != "trash"
            ]  # type: ignore[index]
            for order_id in rng.sample(live, min(count, len(live))):
                doc = self._load_order(order_id)
                remainder = Decimal(doc.get("total") or "0") - _refunded(doc)
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
