"""Audience overlap, complementarity and partner fit between members (and a prospect).

Definitions (README: "Insights"), all over the sales of a window of whole months:

- **shared customers** of A and B: distinct ``customer_key``\\ s with a sale at both;
  shown as a share of each side's customers.
- **co-purchase lift** of category X at A and Y at B: among the shared customers,
  ``N * n(X at A and Y at B within 90 days) / (n(X at A) * n(Y at B))``; 1 is chance,
  above 1 the two go together more often than chance. Released only when the joint count
  is at least k, and that count only as a floor to a multiple of k (like a window count
  that differs from a shorter window's, it could otherwise difference out a small group).
- **complementarity** of A and B: the share of shared customers whose categories at A and at
  B do not meet (they bought different kinds of things at each). A count under k on either
  side of that share is rounded to none or all, so the share never tells a group under k.
- **partner fit** = overlap x complementarity, where overlap = shared / the smaller side's
  customers: from 0 (nobody in common, or the same products) to 1 (every customer of the
  smaller shop also buys something different at the other). Only released numbers go in,
  so the score reveals nothing the table does not.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations

from alliance.suppression import AtLeast, Released, Withheld, release_window_count

CO_PURCHASE_DAYS = 90
"""Two purchases at two members count as bought together when at most this far apart."""

_SHARE = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class WindowCount:
    """A count over the window and over the two windows one month shorter (first/last dropped)."""

    whole: int
    without_first: int
    without_last: int

    def released(self, k: int) -> Released:
        return release_window_count(self.whole, (self.without_first, self.without_last), k)


@dataclass(frozen=True, slots=True)
class Audiences:
    """Customers per member and shared per pair (a < b), each over the window and the two
    windows one month shorter."""

    members: dict[str, WindowCount]
    pairs: dict[tuple[str, str], WindowCount]


MAX_MASK_MEMBERS = 62
"""Members a database can tell apart in one signed 64-bit mask (alliance.storage.profiles)."""


def audiences_from_kinds(
    names: Sequence[str], kinds: Iterable[tuple[int, int, int, int]]
) -> Audiences:
    """Count from kinds of customer: ``(where, after_first, before_last, customers)``, three
    bit masks over ``names`` (bit i: ``names[i]``): where the customers bought in the window,
    where still once it loses its first month, and where once it loses its last; and how many
    customers share those masks. A few thousand kinds stand for any number of customers."""
    members = [[0, 0, 0] for _ in names]
    pairs: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for mask, after_mask, before_mask, count in kinds:
        present = [i for i in range(len(names)) if mask >> i & 1]
        for i in present:
            tally = members[i]
            tally[0] += count
            tally[1] += count if after_mask >> i & 1 else 0
            tally[2] += count if before_mask >> i & 1 else 0
        for i, j in combinations(present, 2):
            both = 1 << i | 1 << j
            a, b = sorted((names[i], names[j]))
            tally = pairs[a, b]
            tally[0] += count
            tally[1] += count if after_mask & both == both else 0
            tally[2] += count if before_mask & both == both else 0
    return Audiences(
        {name: WindowCount(*members[i]) for i, name in enumerate(names) if members[i][0]},
        {pair: WindowCount(*t) for pair, t in pairs.items()},
    )


def count_audiences(
    members_in: Sequence[str], spans_of: Callable[[str], Iterable[tuple[str, int, int]]]
) -> Audiences:
    """:func:`audiences_from_kinds` from each member's ``(customer, after_first,
    before_last)`` rows, read one member at a time
    (:func:`alliance.storage.profiles.member_spans`): for more members than a database mask
    holds. Each customer becomes one integer of the three masks, and equal integers are
    counted together."""
    names = list(members_in)
    after_at, before_at = len(names), 2 * len(names)  # where the other two masks start
    code: dict[str, int] = {}
    get = code.get
    for index, member in enumerate(names):
        bits = (1 << index, 1 << (index + after_at), 1 << (index + before_at))
        marks = {
            (a, b): bits[0] | (bits[1] if a else 0) | (bits[2] if b else 0)
            for a in (0, 1)
            for b in (0, 1)
        }
        for customer, after_first, before_last in spans_of(member):
            code[customer] = get(customer, 0) | marks[after_first, before_last]
    everyone = (1 << len(names)) - 1
    kinds = (
        (value & everyone, value >> after_at & everyone, value >> before_at & everyone, count)
        for value, count in Counter(code.values()).items()
    )
    return audiences_from_kinds(names, kinds)


@dataclass(frozen=True, slots=True)
class PairOverlap:
    """What two members (or a member and a prospect) may see of their common audience."""

    a: str
    b: str
    shared: Released
    share_of_a: Decimal | None  # None when either count is withheld
    share_of_b: Decimal | None
    complementarity: Decimal | None
    fit: Decimal | None  # None: too few shared customers to say


@dataclass(frozen=True, slots=True)
class Lift:
    a: str
    category_a: str
    b: str
    category_b: str
    customers: AtLeast  # who bought both within CO_PURCHASE_DAYS: only ever a floor of k's
    lift: Decimal


@dataclass(frozen=True, slots=True)
class Purchase:
    """One sale, as overlap needs it: who (opaque), where, when (a day number), what kinds."""

    customer: str
    member: str
    day: int  # days since any fixed epoch
    categories: tuple[str, ...]


def lower_bound(value: Released) -> int | None:
    """The exact count, or the floor an "at least" release promises; None when under k."""
    if isinstance(value, int):
        return value
    if isinstance(value, AtLeast):
        return value.floor
    return None


def share(part: Released, whole: Released) -> Decimal | None:
    """``part / whole`` to two places, only when both were released exactly."""
    if not isinstance(part, int) or not isinstance(whole, int) or whole <= 0:
        return None
    return (Decimal(part) / whole).quantize(_SHARE, rounding=ROUND_HALF_UP)


def coarse_share(part: int, whole: int, k: int) -> Decimal | None:
    """``part / whole`` with a part (or its rest) under k rounded to none or all."""
    if whole < k:
        return None
    if part < k:
        part = 0
    elif whole - part < k:
        part = whole
    return (Decimal(part) / whole).quantize(_SHARE, rounding=ROUND_HALF_UP)


def fit_score(
    shared: Released, side_a: Released, side_b: Released, complementarity: Decimal | None
) -> Decimal | None:
    """Overlap (shared over the smaller side) x complementarity, from released numbers only."""
    common = lower_bound(shared)
    sides = [n for n in (lower_bound(side_a), lower_bound(side_b)) if n]
    if not common or not sides or complementarity is None:
        return None
    overlap = min(Decimal(1), Decimal(common) / min(sides))
    return (overlap * complementarity).quantize(_SHARE, rounding=ROUND_HALF_UP)


def baskets_by_customer(
    purchases: Iterable[Purchase],
) -> dict[str, dict[str, list[tuple[int, tuple[str, ...]]]]]:
    """``customer -> member -> [(day, categories)]``: the shape complementarity reads."""
    found: dict[str, dict[str, list[tuple[int, tuple[str, ...]]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for p in purchases:
        found[p.customer][p.member].append((p.day, p.categories))
    return found


def complementarity_and_lift(
    baskets: Mapping[str, Mapping[str, Sequence[tuple[int, tuple[str, ...]]]]],
    pairs: Iterable[tuple[str, str]],
    k: int,
) -> tuple[dict[tuple[str, str], Decimal | None], list[Lift]]:
    """Complementarity per pair and the lifts of category pairs with at least k customers."""
    shared: dict[tuple[str, str], int] = defaultdict(int)
    disjoint: dict[tuple[str, str], int] = defaultdict(int)
    joint: dict[tuple[str, str, str, str], int] = defaultdict(int)
    bought_a: dict[tuple[str, str, str], int] = defaultdict(int)  # (a, b, X at a)
    bought_b: dict[tuple[str, str, str], int] = defaultdict(int)  # (a, b, Y at b)
    wanted = set(pairs)
    for at_members in baskets.values():
        if len(at_members) < 2:
            continue
        for a, b in combinations(sorted(at_members), 2):
            if (a, b) not in wanted:
                continue
            shared[a, b] += 1
            cats_a = {c for _d, cs in at_members[a] for c in cs}
            cats_b = {c for _d, cs in at_members[b] for c in cs}
            disjoint[a, b] += cats_a.isdisjoint(cats_b)
            for x in cats_a:
                bought_a[a, b, x] += 1
            for y in cats_b:
                bought_b[a, b, y] += 1
            for x, y in _together(at_members[a], at_members[b]):
                joint[a, b, x, y] += 1
    complementarity = {
        pair: coarse_share(disjoint[pair], shared[pair], k) if shared[pair] else None
        for pair in wanted
    }
    lifts = [
        Lift(
            a,
            x,
            b,
            y,
            AtLeast(n - n % k),
            _lift(shared[a, b], n, bought_a[a, b, x], bought_b[a, b, y]),
        )
        for (a, b, x, y), n in sorted(joint.items())
        if n >= k
    ]
    return complementarity, lifts


def _together(
    at_a: Sequence[tuple[int, tuple[str, ...]]], at_b: Sequence[tuple[int, tuple[str, ...]]]
) -> set[tuple[str, str]]:
    """The (X at A, Y at B) category pairs one customer bought within CO_PURCHASE_DAYS."""
    found: set[tuple[str, str]] = set()
    for day_a, cats_a in at_a:
        for day_b, cats_b in at_b:
            if abs(day_a - day_b) <= CO_PURCHASE_DAYS:
                found.update((x, y) for x in cats_a for y in cats_b)
    return found


def _lift(population: int, both: int, with_x: int, with_y: int) -> Decimal:
    return (Decimal(population * both) / (with_x * with_y)).quantize(_SHARE, rounding=ROUND_HALF_UP)


def pair_overlap(
    a: str,
    b: str,
    shared: WindowCount,
    side_a: Released,
    side_b: Released,
    complementarity: Decimal | None,
    k: int,
) -> PairOverlap:
    """The released view of one pair: counts suppressed first, everything else from them."""
    common = shared.released(k)
    if common is Withheld.UNDER_K:
        complementarity = None
    return PairOverlap(
        a,
        b,
        common,
        share(common, side_a),
        share(common, side_b),
        complementarity,
        fit_score(common, side_a, side_b, complementarity),
    )


def best_partners(
    member: str, overlaps: Iterable[PairOverlap], has_deal: Iterable[tuple[str, str]]
) -> list[tuple[str, Decimal]]:
    """The member's candidate partners it has no deal with yet, best fit first."""
    dealt = {frozenset(pair) for pair in has_deal}
    ranked = []
    for o in overlaps:
        if member not in (o.a, o.b) or o.fit is None or frozenset((o.a, o.b)) in dealt:
            continue
        ranked.append((o.b if o.a == member else o.a, o.fit))
    return sorted(ranked, key=lambda item: (-item[1], item[0]))
