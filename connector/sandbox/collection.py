"""An indexed collection of documents: the sandbox's answer to "50,000 orders, paged fast".

Every document is kept with its JSON already serialised (orjson) and in sorted indexes of
``(date, id)`` per date field, so a ``modified_after`` page is a bisect and a join of cached
bytes, not a scan and a re-serialisation. It knows nothing of orders or coupons: the store
puts documents in, and list requests arrive as a validated, hashable :class:`ListQuery`.
Callers hold the store's lock; the collection does no locking of its own.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

INDEXED_FIELDS = ("date_created_gmt", "date_created", "date_modified_gmt", "date_modified", "id")
"""Fields every collection keeps a sorted ``(value, id)`` index of."""

_CACHE_SIZE = 32
_FIELD_POSITION = {name: n for n, name in enumerate(INDEXED_FIELDS)}


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
