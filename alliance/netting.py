"""Netting: what members owe each other, as the fewest transfers that settle it all.

The input is every obligation of a period (payer, payee, amount in minor units); the output is
a set of transfers ``(debtor, creditor) -> amount``. The rules, each a property test in
``tests/alliance/test_netting.py``:

1. Every member ends where the obligations put it: what it receives minus what it pays is its
   net position, to the minor unit.
2. A transfer runs only between two members whose dealings net to a debt, from the one that
   owes to the one that is owed: never between two members who owe each other nothing net,
   never against the direction of their debt. (It may be larger than that debt: when li owes
   wang, wang owes zhang and li owes zhang, li can pay zhang all of it and wang drop out.)
3. At most members - 1 transfers: the transfers form a forest.
4. The same obligations give the same transfers whatever their order, and netting the
   transfers again gives them back unchanged.

How: the bilateral nets (each pair's debts set against each other) already satisfy 1 and 2.
With at most :data:`EXACT_PAIRS` of them (every pair of an alliance of six), every set of
pairs is tried, smallest first; on a forest the amounts follow from the positions, so the first
set whose amounts all run the right way is the fewest transfers possible. With more pairs,
cycles are cancelled instead: each cycle of debts (li -> wang -> zhang -> li, in any
directions) has an amount pushed round it that zeroes one of its pairs, until none is left.
Integers throughout: amounts are minor units, so nothing is ever rounded here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import combinations, pairwise

Pair = tuple[str, str]
"""``(debtor, creditor)``: who pays whom."""

EXACT_PAIRS = 15
"""Up to this many owing pairs every set of pairs is tried (at most 2^15, in well under a
second); past it, cycle cancelling gives a forest (at most members - 1 transfers)."""


def bilateral(obligations: Iterable[tuple[str, str, int]]) -> dict[Pair, int]:
    """Each pair's obligations set against each other: ``(debtor, creditor) -> amount > 0``."""
    totals: dict[Pair, int] = defaultdict(int)
    for payer, payee, amount in obligations:
        if payer == payee or not amount:
            continue
        if payer < payee:
            totals[(payer, payee)] += amount
        else:
            totals[(payee, payer)] -= amount
    debts: dict[Pair, int] = {}
    for (first, second), amount in totals.items():
        if amount > 0:
            debts[(first, second)] = amount
        elif amount < 0:
            debts[(second, first)] = -amount
    return debts


def positions(debts: Mapping[Pair, int]) -> dict[str, int]:
    """Net position of every member named: positive is owed to it, negative is owed by it."""
    found: dict[str, int] = defaultdict(int)
    for (debtor, creditor), amount in debts.items():
        found[debtor] -= amount
        found[creditor] += amount
    return dict(found)


def net(obligations: Iterable[tuple[str, str, int]]) -> dict[Pair, int]:
    """The fewest transfers that settle ``obligations`` under the rules above, sorted."""
    debts = bilateral(obligations)
    found = _fewest(debts) if len(debts) <= EXACT_PAIRS else _forest(debts)
    return dict(sorted(found.items()))


def _fewest(debts: Mapping[Pair, int]) -> dict[Pair, int]:
    """Every set of owing pairs, smallest first; the first whose forest carries the positions
    with every amount running the way its debt runs."""
    pairs = sorted(debts)
    owed = {m: p for m, p in positions(debts).items() if p}
    for size in range((len(owed) + 1) // 2, len(pairs) + 1):
        for chosen in combinations(pairs, size):
            flows = _tree_flows(chosen, owed)
            if flows is not None:
                return flows
    return dict(debts)  # pragma: no cover - the bilateral nets themselves always qualify


def _tree_flows(chosen: tuple[Pair, ...], owed: Mapping[str, int]) -> dict[Pair, int] | None:
    """The amounts on ``chosen`` that settle ``owed``, if ``chosen`` is a forest covering every
    member that is owed or owes, each of whose pairs carries a positive amount its own way."""
    links: dict[str, list[Pair]] = defaultdict(list)
    for pair in chosen:
        links[pair[0]].append(pair)
        links[pair[1]].append(pair)
    if any(member not in links for member in owed):
        return None
    flows: dict[Pair, int] = {}
    seen: set[str] = set()
    for root in sorted(links):
        if root in seen:
            continue
        order, parent = [root], {root: ("", ("", ""))}
        seen.add(root)
        for member in order:  # breadth first; grows while it is read
            for pair in links[member]:
                other = pair[1] if pair[0] == member else pair[0]
                if other == parent[member][0]:
                    continue
                if other in seen:
                    return None  # a cycle: not a forest
                seen.add(other)
                parent[other] = (member, pair)
                order.append(other)
        below = {member: owed.get(member, 0) for member in order}
        for member in reversed(order[1:]):
            up, pair = parent[member]
            amount = below[member]  # what the subtree under ``member`` is owed, net
            if (pair[1] == member and amount <= 0) or (pair[0] == member and amount >= 0):
                return None  # against the debt's direction, or nothing to carry
            flows[pair] = abs(amount)
            below[up] += amount
        if below[root]:
            return None  # this tree's members do not settle among themselves
    return flows


def _forest(debts: Mapping[Pair, int]) -> dict[Pair, int]:
    """Cancel every cycle of the owing pairs: what is left is a forest."""
    flow = dict(debts)
    tree: dict[str, set[str]] = defaultdict(set)
    for debtor, creditor in sorted(debts):
        path = _path(tree, creditor, debtor)
        if path is None:
            tree[debtor].add(creditor)
            tree[creditor].add(debtor)
            continue
        steps = [(debtor, creditor), *pairwise(path)]
        along = [step for step in steps if step in flow]
        against = [(v, u) for u, v in steps if (u, v) not in flow]
        down = min(flow[p] for p in along)  # push back round the cycle: along pairs shrink
        up = min((flow[p] for p in against), default=0)  # push forward: against pairs shrink
        zeroed_down = sum(flow[p] == down for p in along)
        zeroed_up = sum(flow[p] == up for p in against) if against else -1
        moved_down = down * (len(against) - len(along))
        moved_up = up * (len(along) - len(against))
        if (zeroed_up, -moved_up) > (zeroed_down, -moved_down):
            shrink, grow, amount = against, along, up
        else:
            shrink, grow, amount = along, against, down
        for pair in grow:
            flow[pair] += amount
        for pair in shrink:
            flow[pair] -= amount
            if flow[pair] == 0:
                del flow[pair]
                tree[pair[0]].discard(pair[1])
                tree[pair[1]].discard(pair[0])
        if (debtor, creditor) in flow:
            tree[debtor].add(creditor)
            tree[creditor].add(debtor)
    return flow


def _path(tree: Mapping[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The members from ``start`` to ``goal`` along the forest, or None when not connected."""
    if start not in tree or goal not in tree:
        return None
    came: dict[str, str] = {start: start}
    queue = [start]
    for member in queue:
        if member == goal:
            break
        for other in sorted(tree[member]):
            if other not in came:
                came[other] = member
                queue.append(other)
    if goal not in came:
        return None
    path = [goal]
    while path[-1] != start:
        path.append(came[path[-1]])
    return path[::-1]
