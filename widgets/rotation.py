"""The rotation: which partners' products fill a block, weighted by reciprocity. Pure, no I/O.

The stocked partners (in id order) are laid out in one endless *schedule*: a smooth weighted
round-robin in which, in every :func:`schedule` period, each partner appears as many times as
its whole-number weight, spread out as evenly as it can be. Rotation ``r`` reads the schedule
from position ``r`` onwards and gives each partner met there its next product, skipping
partners whose shelf is used up, until the block is full. Consecutive rotations therefore
start one step further along, and each position's partner gets one card in each of the
``count`` blocks that read it: over any whole number of periods every partner's cards are
exactly ``count x its weight`` per period (given shelves at least ``count`` deep).

With equal weights the schedule is ``0, 1, ..., n-1`` and this is the plain round-robin
blocks always had: partners in id order starting at ``r % n``, each partner's own list
rotated by one product every ``n`` rotations.

Floors are in the weights (no partner below a third of the top one, see
:mod:`alliance.reciprocity`), not in each block: a block of 3 cards among 3 partners shows
the most generous partner twice where a per-block guarantee would leave reciprocity nothing to
weigh. A partner of weight ``w`` in a period of ``W`` is still never absent from more than
``2W/w`` consecutive rotations.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from alliance.products import Product
from widgets.shelves import Shelf

ROTATION_SECONDS = 60
"""How long one rotation (starting partner, product offsets) is shown; also the cache life."""

DEFAULT_WEIGHT = Decimal(1)
"""The weight of a partner missing from ``weights``: the floor of :mod:`alliance.reciprocity`."""

WEIGHT_RESOLUTION = 300
"""The largest whole-number weight: finer ratios than 1:300 make no visible difference, and
the schedule's period (the sum of the whole weights) stays short."""

Weight = Decimal | float | int


@dataclass(frozen=True, slots=True)
class Pick:
    product: Product
    deal_id: str


def rotation_for(member: str, placement: str, now: float) -> int:
    """The rotation shown at ``now``: the time slot, offset per block so blocks differ."""
    offset = zlib.crc32(f"{member}/{placement}".encode())
    return int(now // ROTATION_SECONDS) + offset


def whole_weights(weights: Sequence[Weight]) -> tuple[int, ...]:
    """The same ratios as whole numbers, the largest at most :data:`WEIGHT_RESOLUTION` and
    none below 1, divided by their greatest common divisor (equal weights give all ones)."""
    exact = [Decimal(w) for w in weights]
    if not all(w.is_finite() and w > 0 for w in exact):
        raise ValueError(f"weights must be positive numbers, not {list(weights)}")
    largest = max(exact)
    whole = [
        max(1, int((w * WEIGHT_RESOLUTION / largest).to_integral_value(ROUND_HALF_UP)))
        for w in exact
    ]
    common = math.gcd(*whole)
    return tuple(w // common for w in whole)


@lru_cache(maxsize=256)
def schedule(weights: tuple[int, ...]) -> tuple[int, ...]:
    """One period of the smooth weighted round-robin over ``weights`` (partner indexes).

    Each step every partner earns its weight, the richest (first on ties) is picked and pays
    back the total; after ``sum(weights)`` steps everyone is back at zero, so the sequence
    repeats. Partner ``i`` appears exactly ``weights[i]`` times per period, evenly spread.
    """
    total = sum(weights)
    earned = [0] * len(weights)
    order = []
    for _ in range(total):
        for i, weight in enumerate(weights):
            earned[i] += weight
        richest = max(range(len(weights)), key=lambda i: (earned[i], -i))
        earned[richest] -= total
        order.append(richest)
    return tuple(order)


def choose_products(
    shelves: Sequence[Shelf],
    count: int,
    rotation: int,
    weights: Mapping[str, Weight] | None = None,
) -> list[Pick]:
    """Up to ``count`` products across partners, weighted; deterministic in ``rotation``.

    ``weights`` (``partner -> positive number``, missing partners :data:`DEFAULT_WEIGHT`)
    set each partner's long-run share of cards; only their ratios matter. Each partner's
    own list is rotated by one product per schedule period so its other products get
    their turn.
    """
    stocked = sorted((s for s in shelves if s.products), key=lambda s: s.partner)
    if not stocked or count <= 0:
        return []
    weights = weights or {}
    order = schedule(whole_weights([weights.get(s.partner, DEFAULT_WEIGHT) for s in stocked]))
    turn = rotation // len(order)
    taken = [0] * len(stocked)
    wanted = min(count, sum(len(s.products) for s in stocked))
    picks: list[Pick] = []
    position = rotation
    while len(picks) < wanted:
        index = order[position % len(order)]
        position += 1
        products = stocked[index].products
        if taken[index] < len(products):
            product = products[(turn + taken[index]) % len(products)]
            picks.append(Pick(product, stocked[index].deal_id))
            taken[index] += 1
    return picks
