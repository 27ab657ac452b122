"""Group-profile facts beside each order, and the reads profiles and overlap are made of.

Written from the booking path, in the same transaction as the order snapshot, so a profile row
always describes the stored revision. Reads return opaque customer ids for counting inside the
process; nothing here formats or logs them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, case, func, literal_column, select

from alliance.agreement import Agreement
from alliance.orders import SALE_STATUSES, Order
from alliance.profiles import basket_categories, categories_text, value_band
from alliance.storage import bulk
from alliance.storage.schema import order_profiles, orders, products

IN_CHUNK = 500
_PROFILE_UPSERT = 10_001  # bulk's compile-cache key for this statement
PROFILE_COLUMNS = tuple(c.name for c in order_profiles.c)
SALE_VALUES = tuple(sorted(status.value for status in SALE_STATUSES))


def _insert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(order_profiles)


def catalog_categories(
    conn: Connection, wanted: Collection[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """``(member, product_id) -> category slugs`` for the products the catalog holds."""
    by_member: dict[str, list[str]] = defaultdict(list)
    for member, product_id in wanted:
        by_member[member].append(product_id)
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for member, ids in by_member.items():
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ids[start : start + IN_CHUNK]
            query = select(products.c.product_id, products.c.categories).where(
                products.c.member == member, products.c.product_id.in_(chunk)
            )
            for product_id, categories in conn.execute(query):
                found[member, product_id] = tuple(orjson.loads(categories))
    return found


def record_profiles(conn: Connection, agreement: Agreement, booked: Sequence[Order]) -> None:
    """Store (or refresh) the profile facts of orders whose newest revision was just stored."""
    if not booked:
        return
    wanted = {(o.member, line.product_id) for o in booked for line in o.lines}
    catalog = catalog_categories(conn, wanted) if wanted else {}
    by_member: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for (member, product_id), slugs in catalog.items():
        by_member[member][product_id] = slugs
    rows = []
    for order in booked:
        member = agreement.members.get(order.member)
        declared = member.categories if member is not None else ()
        categories = basket_categories(order, by_member.get(order.member, {}), declared)
        rows.append(
            (order.member, order.external_id, categories_text(categories), value_band(order.total))
        )
    stmt = _insert(conn)
    stmt = stmt.on_conflict_do_update(
        index_elements=["member", "external_id"],
        set_={"categories": stmt.excluded.categories, "value_band": stmt.excluded.value_band},
    )
    bulk.execute_many(conn, _PROFILE_UPSERT, stmt, PROFILE_COLUMNS, rows)


def _sales(start: datetime, end: datetime) -> Any:
    o = orders.c
    return and_(
        o.status.in_(SALE_VALUES), o.customer_key != "", o.sale_at >= start, o.sale_at < end
    )


def member_sales(
    conn: Connection, member: str, start: datetime, end: datetime
) -> Iterator[tuple[str, datetime, str, str, str, str]]:
    """``(customer, sale_at, country, state, categories, value_band)`` of a member's sales."""
    o, p = orders.c, order_profiles.c
    query = (
        select(o.customer_key, o.sale_at, o.country, o.state, p.categories, p.value_band)
        .select_from(
            orders.outerjoin(
                order_profiles, and_(p.member == o.member, p.external_id == o.external_id)
            )
        )
        .where(o.member == member, _sales(start, end))
    )
    for key, sale_at, country, state, categories, band in conn.execute(query):
        yield key, sale_at, country, state, categories or "", band or ""


def first_sales(conn: Connection, member: str, before: datetime) -> dict[str, datetime]:
    """Each customer's first sale at the member before ``before``: tells new from returning."""
    o = orders.c
    query = (
        select(o.customer_key, func.min(o.sale_at))
        .where(
            o.member == member,
            o.status.in_(SALE_VALUES),
            o.customer_key != "",
            o.sale_at < before,
        )
        .group_by(o.customer_key)
    )
    found: dict[str, datetime] = {}
    for key, first in conn.execute(query):
        if isinstance(first, str):  # SQLite's min() hands back the stored text
            first = orders.c.sale_at.type.process_result_value(
                datetime.fromisoformat(first), conn.dialect
            )
        found[key] = first
    return found


def member_spans(
    conn: Connection, member: str, start: datetime, end: datetime, middle: tuple[datetime, datetime]
) -> Sequence[tuple[str, int, int]]:
    """``(customer, after_first, before_last)`` for each customer of the member in the window.

    ``middle`` is (start of the second month, start of the last month) of the window; the two
    flags say whether the customer still bought at the member once the window loses its first
    or its last month. One member at a time: each query sorts only that member's customers,
    as ``count(DISTINCT customer_key)`` would (alliance.overlap.count_audiences pairs them).
    """
    second, last = middle
    o = orders.c
    sale_at = _not_indexed_on_sqlite(conn)
    query = (
        select(
            o.customer_key,
            func.max(case((sale_at >= second, 1), else_=0)),
            func.max(case((sale_at < last, 1), else_=0)),
        )
        .where(
            o.member == member,
            o.status.in_(SALE_VALUES),
            o.customer_key != "",
            sale_at >= start,
            sale_at < end,
        )
        .group_by(o.customer_key)
    )
    return conn.execute(query).all()


def _not_indexed_on_sqlite(conn: Connection) -> Any:
    """``orders.sale_at``, written ``+sale_at`` on SQLite: its planner would otherwise seek the
    window in the (member, sale_at) index and fetch every row from the table, where the
    (member, customer_key, sale_at, status) index answers alone and in customer order."""
    if conn.dialect.name != "sqlite":
        return orders.c.sale_at
    return literal_column("+orders.sale_at", type_=orders.c.sale_at.type)


def audience_kinds(
    conn: Connection,
    members: Sequence[str],
    start: datetime,
    end: datetime,
    middle: tuple[datetime, datetime],
) -> list[tuple[int, int, int, int]]:
    """Kinds of customer in the window, counted in the database: ``(where, after_first,
    before_last, customers)``, each a bit mask over ``members`` (at most 62 of them; see
    :func:`alliance.overlap.audiences_from_kinds`). The customers never leave the database:
    two grouped passes, and a few hundred rows come back however many customers there are."""
    second, last = middle
    o = orders.c
    sale_at = _not_indexed_on_sqlite(conn)
    # one row per (customer, member), read in the order of the (member, customer_key, ...)
    # index; above it a customer's members are distinct bits, so their sum is their or
    per_pair = (
        select(
            o.customer_key.label("customer"),
            case({m: 1 << i for i, m in enumerate(members)}, value=o.member, else_=0).label("bit"),
            func.max(case((sale_at >= second, 1), else_=0)).label("after"),
            func.max(case((sale_at < last, 1), else_=0)).label("before"),
        )
        .where(o.status.in_(SALE_VALUES), o.customer_key != "", sale_at >= start, sale_at < end)
        .group_by(o.member, o.customer_key)
        .subquery()
    )
    p = per_pair.c
    per_customer = (
        select(
            func.sum(p.bit).label("mask"),
            func.sum(p.bit * p.after).label("after"),
            func.sum(p.bit * p.before).label("before"),
        )
        .group_by(p.customer)
        .subquery()
    )
    c = per_customer.c
    query = select(c.mask, c.after, c.before, func.count()).group_by(c.mask, c.after, c.before)
    return [(int(a), int(b), int(d), int(n)) for a, b, d, n in conn.execute(query)]


def members_with_sales(conn: Connection, start: datetime, end: datetime) -> list[str]:
    """Every member (or former member) with a sale in the window."""
    o = orders.c
    return sorted(conn.execute(select(o.member).where(_sales(start, end)).distinct()).scalars())


def shared_purchases(
    conn: Connection, start: datetime, end: datetime
) -> Iterator[tuple[str, str, datetime, str]]:
    """``(customer, member, sale_at, categories)`` of customers with sales at two members or
    more in the window: all complementarity and lift need."""
    o, p = orders.c, order_profiles.c
    sale_at = _not_indexed_on_sqlite(conn)
    multi = (
        select(o.customer_key)
        .where(o.status.in_(SALE_VALUES), o.customer_key != "", sale_at >= start, sale_at < end)
        .group_by(o.customer_key)
        .having(func.count(func.distinct(o.member)) > 1)
        .subquery()
    )
    query = (
        select(o.customer_key, o.member, o.sale_at, p.categories)
        .select_from(
            orders.join(multi, multi.c.customer_key == o.customer_key).outerjoin(
                order_profiles, and_(p.member == o.member, p.external_id == o.external_id)
            )
        )
        .where(_sales(start, end))
    )
    for key, member, sale_at, categories in conn.execute(query):
        yield key, member, sale_at, categories or ""


def customers_of(conn: Connection, start: datetime, end: datetime) -> dict[str, set[str]]:
    """``member -> customer ids`` in the window (a prospect is compared in memory)."""
    o = orders.c
    found: dict[str, set[str]] = defaultdict(set)
    query = select(o.member, o.customer_key).where(_sales(start, end)).distinct()
    for member, key in conn.execute(query):
        found[member].add(key)
    return found


def latest_sale(conn: Connection) -> datetime | None:
    """The newest sale booked: where a default window ends."""
    o = orders.c
    value = conn.execute(
        select(func.max(o.sale_at)).where(o.status.in_(SALE_VALUES))
    ).scalar_one_or_none()
    if isinstance(value, str):
        value = orders.c.sale_at.type.process_result_value(datetime.fromisoformat(value), None)
    return value


def sales_of_customers(
    conn: Connection, start: datetime, end: datetime, keys: Collection[str]
) -> Iterator[tuple[str, str, datetime, str]]:
    """``(customer, member, sale_at, categories)`` of the members' sales to these customers
    (a prospect's, keyed in memory): every sale of the window is read, the matches kept, so
    the keys are never sent to the database."""
    o, p = orders.c, order_profiles.c
    query = (
        select(o.customer_key, o.member, o.sale_at, p.categories)
        .select_from(
            orders.outerjoin(
                order_profiles, and_(p.member == o.member, p.external_id == o.external_id)
            )
        )
        .where(_sales(start, end))
    )
    for key, member, sale_at, categories in conn.execute(query):
        if key in keys:
            yield key, member, sale_at, categories or ""
