"""What the list routes accept: per-kind filters and sort orders, read into a ``ListQuery``.

``GET /orders``, ``/products`` and ``/coupons`` share WordPress's paging, date and include
parameters but differ in statuses and ``orderby`` values; each kind's :class:`Listing` says how.
The same declarations answer ``OPTIONS``, and an old store (before WooCommerce 5.8) is imitated
by hiding the parameters it did not know yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.sandbox.collection import ListQuery
from connector.sandbox.orders import ORDER_STATUSES
from connector.sandbox.params import Params, shape_for

Matches = tuple[tuple[str, frozenset[str]], ...]
"""Extra ``(field, allowed values)`` filters a kind reads from its own parameters."""


@dataclass(frozen=True)
class Listing:
    """One kind's list parameters: statuses, orderby values and what they sort on."""

    statuses: tuple[str, ...]
    orderby: dict[str, str]
    modified_filters: bool = True


ORDER_LISTING = Listing(
    statuses=("any", "trash", *ORDER_STATUSES[:-1]),
    orderby={
        "date": "date_created_gmt", "id": "id", "include": "include", "title": "id",
        "slug": "id", "modified": "date_modified_gmt",
    },
)  # fmt: skip
PRODUCT_LISTING = Listing(
    statuses=("any", "future", "trash", "draft", "pending", "private", "publish"),
    orderby={
        "date": "date_created_gmt", "id": "id", "include": "include", "title": "name",
        "slug": "slug", "price": "price", "popularity": "total_sales", "rating": "id",
        "menu_order": "id", "modified": "date_modified_gmt",
    },
)  # fmt: skip
COUPON_LISTING = Listing(
    statuses=(),
    orderby={
        "date": "date_created_gmt", "id": "id", "include": "include", "title": "code",
        "slug": "code", "modified": "date_modified_gmt",
    },
)  # fmt: skip
NEW_IN_5_8 = ("modified_after", "modified_before", "dates_are_gmt")

ORDER_LIST_ARGS: dict[str, dict[str, Any]] = {
    "context": {"type": "string", "enum": ["view", "edit"], "default": "view"},
    "page": {"type": "integer", "default": 1, "minimum": 1},
    "per_page": {"type": "integer", "default": 10, "minimum": 1, "maximum": 100},
    "search": {"type": "string"},
    "after": {"type": "string", "format": "date-time"},
    "before": {"type": "string", "format": "date-time"},
    "modified_after": {"type": "string", "format": "date-time"},
    "modified_before": {"type": "string", "format": "date-time"},
    "dates_are_gmt": {"type": "boolean", "default": False},
    "exclude": {"type": "array", "items": {"type": "integer"}, "default": []},
    "include": {"type": "array", "items": {"type": "integer"}, "default": []},
    "offset": {"type": "integer"},
    "order": {"type": "string", "enum": ["asc", "desc"], "default": "desc"},
    "orderby": {"type": "string", "enum": list(ORDER_LISTING.orderby), "default": "date"},
    "parent": {"type": "array", "items": {"type": "integer"}, "default": []},
    "parent_exclude": {"type": "array", "items": {"type": "integer"}, "default": []},
    "status": {
        "type": "array",
        "items": {"type": "string", "enum": list(ORDER_LISTING.statuses)},
        "default": "any",
    },
    "customer": {"type": "integer"},
    "product": {"type": "integer"},
    "dp": {"type": "integer", "default": 2},
    "include_meta": {"type": "array", "items": {"type": "string"}, "default": []},
    "exclude_meta": {"type": "array", "items": {"type": "string"}, "default": []},
}
"""The ``GET /orders`` arguments WooCommerce 10 declares (reference §2)."""


def options_document(route: str, legacy: bool) -> dict[str, Any]:
    """``OPTIONS`` on a route: its methods and, for ``/orders``, the list arguments."""
    methods = ["GET", "POST"] if route in ("/wc/v3/orders", "/wc/v3/coupons") else ["GET"]
    args = {
        name: {"required": False, **spec}
        for name, spec in ORDER_LIST_ARGS.items()
        if not (legacy and name in NEW_IN_5_8)
    }
    if legacy:
        args["orderby"] = {
            **args["orderby"],
            "enum": [v for v in args["orderby"]["enum"] if v != "modified"],
        }
    get_args = args if route == "/wc/v3/orders" else {}
    endpoints = [{"methods": ["GET"], "args": get_args}]
    if "POST" in methods:
        endpoints.append({"methods": ["POST"], "args": {}})
    return {"namespace": "wc/v3", "methods": methods, "endpoints": endpoints}


@dataclass(frozen=True)
class ListRequest:
    """A list request's validated parameters: where the page starts, what it holds, its shape."""

    page: int
    per_page: int
    offset: int | None
    query: ListQuery
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None


def read_list_request(
    raw: Mapping[str, Any],
    listing: Listing,
    legacy: bool,
    extra: Callable[[Params], Matches] = lambda p: (),
) -> ListRequest:
    """Validate a list request's parameters; every invalid one is reported in one error."""
    params = Params({k: v for k, v in raw.items() if not (legacy and k in NEW_IN_5_8)})
    page = params.integer("page", 1, low=1) or 1
    per_page = params.integer("per_page", 10, low=1, high=100) or 10
    offset = params.integer("offset", None, low=0)
    gmt = "_gmt" if params.boolean("dates_are_gmt", False) else ""
    bounds: dict[str, list[str | None]] = {}
    for name, (stamp, side) in {
        "after": ("date_created", 0), "before": ("date_created", 1),
        "modified_after": ("date_modified", 0), "modified_before": ("date_modified", 1),
    }.items():  # fmt: skip
        value = params.date(name)
        if value is not None:
            bounds.setdefault(stamp + gmt, [None, None])[side] = value
    orderby_names = tuple(n for n in listing.orderby if not (legacy and n == "modified"))
    if legacy and params.text("orderby") == "modified":
        orderby = listing.orderby["date"]  # an old store does not know it: the default
    else:
        orderby = listing.orderby[params.choice("orderby", orderby_names, "date")]
    descending = params.choice("order", ("asc", "desc"), "desc") == "desc"
    statuses: frozenset[str] | None = None
    if listing.statuses:
        chosen = params.choices("status", listing.statuses)
        if chosen and "any" not in chosen:
            statuses = frozenset(chosen)
    include = tuple(params.ids("include"))
    exclude = frozenset(params.ids("exclude"))
    matches = extra(params)
    shape = shape_for(params)
    params.check()
    list_query = ListQuery(
        bounds=tuple((name, low, high) for name, (low, high) in bounds.items()),
        statuses=statuses,
        orderby=orderby,
        descending=descending,
        include=include,
        exclude=exclude,
        search=params.text("search").strip(),
        matches=matches,
    )
    return ListRequest(page=page, per_page=per_page, offset=offset, query=list_query, shape=shape)
