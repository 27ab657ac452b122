"""Small-cell suppression: every number the alliance shares counts at least k customers.

k is the agreement's ``min_group_size`` (at least 5). The rules, for one column of counts of
distinct customers (one month of one profile dimension) and its total:

1. A cell under k is *primary suppressed*: shown as "< k" and folded into "other".
2. "other" (the distinct customers of every folded cell) and the total are released exactly
   only when no folded cell can be worked out from them. For a column whose cells partition
   its total (the worst case: the total minus the shown cells *is* "other"), a reader who knows
   that each "< k" cell holds 1..k-1 customers and each folded complement k or more can pin a
   cell exactly when "other" is under k, when a lone cell is folded, when every folded cell
   must be 1 (other = n + m*k), or when every one must be k-1 (other = n*(k-1)). So while any
   of those holds, the smallest shown cell is folded too (*complementary suppression*, shown
   as "folded"), and so on.
3. If folding everything still leaves a pin, neither "other" nor the total is released
   exactly: they are shown as "< k" or "at least k".

A window count (customers two members share over some months) is also checked against the
windows one month shorter at either end: when the difference to one of them is 1..k-1 the
count is released only as "at least" its floor to a multiple of k, so two queries that differ
by one month never difference out a group under k (:func:`release_window_count`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

MIN_GROUP_SIZE_FLOOR = 5
"""The least k an agreement may set: below it, suppression protects nobody."""


class Withheld(str, Enum):
    """Why a number is not shown exactly."""

    UNDER_K = "under_k"  # fewer than k customers
    FOLDED = "folded"  # k or more, folded into "other" to protect a small cell
    AT_LEAST_K = "at_least_k"  # k or more, withheld because its exact value would pin one


@dataclass(frozen=True, slots=True)
class AtLeast:
    """A count released only as a lower bound (a multiple of k)."""

    floor: int


Released = int | Withheld | AtLeast
"""What a reader sees of one count."""


@dataclass(frozen=True, slots=True)
class ReleasedTable:
    """One suppressed column: the cells, "other" and the total, as they may be shown."""

    k: int
    cells: dict[str, Released]
    other: Released  # 0 when nothing was folded
    total: Released


def shown(value: Released, k: int) -> str:
    """How a released count reads in a table: ``12``, ``< 10``, ``folded``, ``≥ 10``."""
    if isinstance(value, AtLeast):
        return f"≥ {value.floor}"
    if value is Withheld.UNDER_K:
        return f"< {k}"
    if value is Withheld.FOLDED:
        return "folded"
    if value is Withheld.AT_LEAST_K:
        return f"≥ {k}"
    return str(value)


def as_json(value: Released) -> int | str:
    """A released count in JSON: the number, or the reason it is withheld (``"<10"`` style
    strings would invite parsing; the reason names the rule)."""
    if isinstance(value, AtLeast):
        return f"at_least_{value.floor}"
    if isinstance(value, Withheld):
        return value.value
    return value


def _pinnable(other: int, primary: int, complements: int, k: int) -> bool:
    """True when a folded cell could be worked out exactly from "other" (see rule 2)."""
    if primary == 0:
        return False
    if other < k or primary + complements < 2:
        return True
    if other <= primary + complements * k:
        return True
    return complements == 0 and other >= primary * (k - 1)


def suppress_column(
    counts: Mapping[str, int],
    total: int,
    k: int,
    *,
    union: Callable[[Iterable[str]], int] | None = None,
) -> ReleasedTable:
    """Apply rules 1-3 to one column; ``union(labels)`` counts the distinct customers of some
    cells (the sum of their counts when cells never share a customer, the default)."""
    count_union = union or (lambda labels: sum(counts[label] for label in labels))
    primary = sorted(label for label, n in counts.items() if 0 < n < k)
    folded = list(primary)
    shown_cells = sorted((n, label) for label, n in counts.items() if n >= k)
    complements = 0
    other = count_union(folded) if folded else 0
    while _pinnable(other, len(primary), complements, k) and shown_cells:
        pick = 0
        for index, (_n, label) in enumerate(shown_cells):  # smallest that settles it
            if not _pinnable(count_union([*folded, label]), len(primary), complements + 1, k):
                pick = index
                break
        _n, label = shown_cells.pop(pick)
        folded.append(label)
        complements += 1
        other = count_union(folded)
    cells: dict[str, Released] = {label: n for n, label in shown_cells}
    cells.update({label: Withheld.UNDER_K for label in primary})
    cells.update({label: Withheld.FOLDED for label in folded[len(primary) :]})
    if total < k:  # nothing to show but "a few", or nobody at all
        few = {label: Withheld.UNDER_K for label, n in counts.items() if n > 0}
        return ReleasedTable(k, few, *_small(other, total))
    if _pinnable(other, len(primary), complements, k):
        hidden = Withheld.UNDER_K if other < k else Withheld.AT_LEAST_K
        return ReleasedTable(k, cells, hidden, Withheld.AT_LEAST_K)
    return ReleasedTable(k, cells, other, total)


def _small(other: int, total: int) -> tuple[Released, Released]:
    return (Withheld.UNDER_K if other else 0), (Withheld.UNDER_K if total else 0)


def release_count(count: int, k: int) -> Released:
    """A lone count (customers of a member, customers two members share): exact from k up;
    nobody at all is shown as 0."""
    return count if count >= k or count == 0 else Withheld.UNDER_K


def release_window_count(count: int, one_month_shorter: Iterable[int], k: int) -> Released:
    """A count over a window of months, checked against the same count over each window one
    month shorter (at either end): a difference of 1..k-1 to any of them would tell a group
    under k, so the count is then released only as "at least" its floor to a multiple of k."""
    if count < k:
        return release_count(count, k)
    if any(0 < count - shorter < k for shorter in one_month_shorter):
        return AtLeast(count - count % k)
    return count
