"""Netting into transfers: the rules in alliance/netting.py, as properties over any obligations.

"Fewest" has an oracle of its own: on small alliances every set of owing pairs is tried here
by brute force, each solved by peeling off members that have one pair left, and the smallest
that settles everyone must be as small as what ``net`` returns.
"""

from __future__ import annotations

import random
from collections import defaultdict
from itertools import combinations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from alliance.netting import EXACT_PAIRS, _forest, bilateral, net, positions

MEMBERS = ["li", "wang", "zhang", "zhao", "chen", "sun", "zhou", "wu", "zheng"]

obligation = st.tuples(
    st.sampled_from(MEMBERS), st.sampled_from(MEMBERS), st.integers(-(10**9), 10**9)
)
obligations = st.lists(obligation, max_size=40)
small = st.lists(
    st.tuples(st.sampled_from(MEMBERS[:5]), st.sampled_from(MEMBERS[:5]), st.integers(1, 50)),
    max_size=12,
)


def nonzero(found: dict[str, int]) -> dict[str, int]:
    return {member: amount for member, amount in found.items() if amount}


def members_in(obs: list[tuple[str, str, int]]) -> set[str]:
    return {m for payer, payee, amount in obs if payer != payee and amount for m in (payer, payee)}


@given(obligations)
@example([("li", "wang", 10184), ("wang", "li", 2745)])  # the demo's month: one transfer, 74.39
@example([("li", "wang", 10), ("wang", "zhang", 10)])  # a chain: wang passes it on
@example([("li", "wang", 10), ("wang", "zhang", 10), ("zhang", "li", 10)])  # a cycle: nothing
def test_every_member_ends_at_its_net_position_and_the_transfers_sum_to_zero(obs):
    transfers = net(obs)
    received: dict[str, int] = defaultdict(int)
    for payer, payee, amount in obs:
        received[payee] += amount
        received[payer] -= amount
    assert nonzero(positions(transfers)) == nonzero(received)
    assert sum(positions(transfers).values()) == 0
    assert all(amount > 0 for amount in transfers.values())


@given(obligations)
def test_a_transfer_runs_only_the_way_a_net_debt_runs(obs):
    debts = bilateral(obs)
    for debtor, creditor in net(obs):
        assert (debtor, creditor) in debts  # never between two who owe each other nothing
        assert (creditor, debtor) not in debts  # never against the debt


@given(obligations)
def test_there_are_at_most_members_minus_one_transfers(obs):
    involved = members_in(obs)
    assert len(net(obs)) <= max(0, len(involved) - 1)


@given(obligations, st.randoms(use_true_random=False))
def test_the_same_obligations_in_any_order_give_the_same_transfers(obs, rnd):
    shuffled = list(obs)
    rnd.shuffle(shuffled)
    assert net(shuffled) == net(obs)
    assert list(net(obs)) == sorted(net(obs))


@given(obligations)
def test_netting_the_transfers_again_gives_them_back(obs):
    transfers = net(obs)
    again = [(debtor, creditor, amount) for (debtor, creditor), amount in transfers.items()]
    assert net(again) == transfers


def _fewest_by_brute_force(debts: dict[tuple[str, str], int]) -> int:
    """The smallest support of owing pairs (each used its own way, any positive amount) that
    settles the positions: amounts found by peeling leaves, any cycle rejected."""
    owed = nonzero(positions(debts))
    pairs = sorted(debts)
    for size in range(len(pairs) + 1):
        for chosen in combinations(pairs, size):
            left = dict(owed)
            edges = list(chosen)
            ok = True
            while edges and ok:  # peel a pair with a member of degree one
                degree: dict[str, int] = defaultdict(int)
                for a, b in edges:
                    degree[a] += 1
                    degree[b] += 1
                leaf = next(((a, b) for a, b in edges if degree[a] == 1 or degree[b] == 1), None)
                if leaf is None:
                    ok = False  # a cycle: a smaller support does the same
                    break
                debtor, creditor = leaf
                if degree[creditor] == 1 and left.get(creditor, 0) > 0:
                    amount = left[creditor]
                elif degree[debtor] == 1 and left.get(debtor, 0) < 0:
                    amount = -left[debtor]
                else:
                    ok = False
                    break
                left[creditor] = left.get(creditor, 0) - amount
                left[debtor] = left.get(debtor, 0) + amount
                edges.remove(leaf)
            if ok and not nonzero(left):
                return size
    raise AssertionError("the bilateral nets always settle")  # pragma: no cover


@settings(max_examples=150)
@given(small)
def test_with_few_owing_pairs_it_finds_the_fewest_transfers(obs):
    debts = bilateral(obs)
    assert len(debts) <= EXACT_PAIRS
    assert len(net(obs)) == _fewest_by_brute_force(debts)


def test_li_pays_zhang_all_of_it_when_that_lets_wang_drop_out():
    transfers = net([("li", "wang", 10), ("wang", "zhang", 10), ("li", "zhang", 5)])
    assert transfers == {("li", "zhang"): 15}


def test_cancelling_cycles_on_a_large_alliance_leaves_a_forest_that_settles_it():
    rng = random.Random(2026)
    members = [f"m{n:02d}" for n in range(50)]
    obs = [(a, b, rng.randint(1, 10**7)) for a in members for b in members if a != b]
    debts = bilateral(obs)
    assert len(debts) > EXACT_PAIRS
    transfers = net(obs)
    assert transfers == dict(sorted(_forest(debts).items()))
    assert len(transfers) <= 49
    assert nonzero(positions(transfers)) == nonzero(positions(debts))
    assert all(pair in debts for pair in transfers)
