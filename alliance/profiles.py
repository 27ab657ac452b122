"""De-identified group profiles: the coarse facts about an order a shop owner would call a profile.

What a profile may hold (issue 16; DESIGN.md's data firewall): the region (country and
state/province, never city, postcode or street), the categories the basket touched, the order's
value band, and whether the customer was new or returning at that member. WooCommerce keeps no
age, so there are no age bands. Profiles count customers by ``customer_key`` (the keyed hash)
and release only suppressed tables (:mod:`alliance.suppression`): the key itself never leaves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from alliance.orders import Order
from alliance.suppression import ReleasedTable, suppress_column

UNCATEGORISED = "uncategorised"
"""A product the catalog does not know, of a member that declares no categories."""

VALUE_BANDS: tuple[tuple[str, Decimal], ...] = (
    ("under-100", Decimal(100)),
    ("100-299", Decimal(300)),
    ("300-999", Decimal(1000)),
    ("1000+", Decimal("Infinity")),
)
"""Order-value bands on what the customer paid, in the alliance currency: ``(label, below)``."""

CATEGORIES_MAX = 500
"""The stored category list is cut to fit its column (a basket rarely spans more than a few)."""

NEW, RETURNING = "new", "returning"
DIMENSIONS = ("region", "category", "value_band", "new_or_returning")
"""The profile's tables, in the order they are printed."""


def value_band(total: Decimal) -> str:
    """The band an order total falls in; refunds do not move an order out of its band."""
    for label, below in VALUE_BANDS:
        if total < below:
            return label
    return VALUE_BANDS[-1][0]


def basket_categories(
    order: Order, catalog: Mapping[str, Sequence[str]], declared: Sequence[str]
) -> tuple[str, ...]:
    """The category slugs of the basket, sorted; unknown products count as the member's own
    declared categories (the agreement's ``categories``), else :data:`UNCATEGORISED`."""
    found: set[str] = set()
    for line in order.lines:
        found.update(catalog.get(line.product_id) or declared or (UNCATEGORISED,))
    if not found:
        found.update(declared or (UNCATEGORISED,))
    return tuple(sorted(found))


def categories_text(categories: Sequence[str]) -> str:
    """How a basket's categories are stored: space-separated slugs, cut at a whole slug."""
    text = ""
    for slug in categories:
        slug = "".join(ch for ch in slug if not ch.isspace())
        candidate = f"{text} {slug}" if text else slug
        if len(candidate) > CATEGORIES_MAX:
            break
        text = candidate
    return text


def region_label(country: str, state: str) -> str:
    """``CN-CN31``; the country alone without a state; ``unknown`` without either."""
    if not country:
        return "unknown"
    return f"{country}-{state}" if state else country


@dataclass(frozen=True, slots=True)
class ProfileFact:
    """One sale of the member, as a profile sees it: the customer only as an opaque id."""

    customer: str  # the keyed hash; used to count, never released
    month: str  # YYYY-MM in the alliance timezone
    region: str
    categories: tuple[str, ...]
    value_band: str
    first_month: str  # the customer's first sale month at this member, ever


@dataclass(frozen=True, slots=True)
class Profile:
    """A member's released profile: per dimension, a suppressed table of months."""

    member: str
    months: tuple[str, ...]
    min_group_size: int
    tables: dict[str, dict[str, ReleasedTable]]  # dimension -> month -> released column


def build_profile(
    member: str, facts: Iterable[ProfileFact], months: Sequence[str], k: int
) -> Profile:
    """Count distinct customers per dimension value and month, then suppress each month.

    Each month is its own column with its own total, and no total spans months: so a query
    for one more month adds one more column and changes none of the others.
    """
    cells: dict[str, dict[str, dict[str, set[str]]]] = {
        dimension: {month: defaultdict(set) for month in months} for dimension in DIMENSIONS
    }
    totals: dict[str, set[str]] = {month: set() for month in months}
    for fact in facts:
        if fact.month not in totals or not fact.customer:
            continue
        totals[fact.month].add(fact.customer)
        status = NEW if fact.first_month == fact.month else RETURNING
        for dimension, values in (
            ("region", (fact.region,)),
            ("category", fact.categories),
            ("value_band", (fact.value_band,)),
            ("new_or_returning", (status,)),
        ):
            for value in values:
                cells[dimension][fact.month][value].add(fact.customer)
    tables = {
        dimension: {
            month: suppress_column(
                {value: len(ids) for value, ids in by_value.items()},
                len(totals[month]),
                k,
                union=_union_counter(by_value),
            )
            for month, by_value in by_month.items()
        }
        for dimension, by_month in cells.items()
    }
    return Profile(member, tuple(months), k, tables)


def _union_counter(by_value: Mapping[str, set[str]]) -> Callable[[Iterable[str]], int]:
    def union(values: Iterable[str]) -> int:
        found: set[str] = set()
        for value in values:
            found |= by_value.get(value, set())
        return len(found)

    return union
