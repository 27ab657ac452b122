"""Validation of the ``[[deals]]`` tables: who pays whom for a referral, and how.

A deal is one of four kinds (a percentage, an amount per click, an amount per order, or a swap
of credits between two members), each taking its own keys. A deal becomes one
:class:`~alliance.agreement.model.DealLeg` per direction of payment; besides each deal on its
own, this module checks the deals against each other, since two deals for one direction, or one
referral coupon meaning two deals, would make commission ambiguous.
"""

from __future__ import annotations

from typing import Any

from alliance.agreement.fields import REQUIRED, Report, Spec, complete
from alliance.agreement.locate import Path as KeyPath
from alliance.agreement.model import Base, Deal, DealKind, DealLeg
from alliance.agreement.wording import describe, show

_BASES = tuple(base.value for base in Base)
_KINDS = tuple(kind.value for kind in DealKind)
_DIRECTED: tuple[Spec, ...] = (
    ("referrer", '"li"', "member", (), REQUIRED),
    ("seller", '"wang"', "member", (), REQUIRED),
    ("referral_coupons", "", "codes", (), ()),
)
_DEAL: dict[DealKind, tuple[Spec, ...]] = {
    DealKind.PERCENT: (
        ("rate", '"10%"', "percent", (), REQUIRED),
        ("base", "", "choice", (_BASES,), _BASES[0]),
    ),
    DealKind.PER_CLICK: (
        ("amount", '"0.50"', "money", (), REQUIRED),
        ("click_window_hours", "", "integer", (0, 720, 24), 24),
    ),
    DealKind.PER_ORDER: (("amount", '"15.00"', "money", (), REQUIRED),),
    DealKind.SWAP: (("credits", "", "integer", (1, 1000, 1), 1),),
}
_SWAP_KEYS = ("members", "referral_coupons")
_COMMON_DEAL_KEYS = ("id", "description", "pay")
_ANY_DEAL = tuple(
    dict.fromkeys(
        [*_COMMON_DEAL_KEYS, *(s[0] for s in _DIRECTED), *_SWAP_KEYS]
        + [spec[0] for specs in _DEAL.values() for spec in specs]
    )
)


def read_deals(report: Report, raw: object) -> list[Deal] | None:
    """The ``deals`` list; ids must be unique and deals must not overlap."""
    path: KeyPath = ("deals",)
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        report.add(path, "must be a list of deal tables; start each deal with a [[deals]] line")
        return None
    deals: list[Deal] = []
    identities: list[DealLeg] = []  # legs of every deal whose id, kind and members are valid
    first_index: dict[str, int] = {}
    for index, table in enumerate(raw):
        deal_id = table.get("id")
        if isinstance(deal_id, str) and deal_id in first_index:
            report.add(
                (*path, index, "id"),
                f"deal id {show(deal_id)} is already used by deals[{first_index[deal_id]}]; "
                "give each deal its own id",
            )
        elif isinstance(deal_id, str):
            first_index[deal_id] = index
        deal, legs = _deal(report, (*path, index), table)
        identities.extend(legs)
        if deal is not None:
            deals.append(deal)
    _overlapping_deals(report, identities, first_index)
    return deals if len(deals) == len(raw) else None


def _deal(
    report: Report, path: KeyPath, table: dict[str, Any]
) -> tuple[Deal | None, tuple[DealLeg, ...]]:
    """The deal (``None`` when any term is wrong), and its legs whenever they are valid.

    The legs go to the overlap check even when, say, the rate is wrong, so a file with both
    problems reports both.
    """
    pay = report.field(table, path, "pay", '"percent"', report.choice, _KINDS)
    kind = DealKind(pay) if pay else None
    keys = [*_COMMON_DEAL_KEYS, *(spec[0] for spec in _DEAL.get(kind, ()))]  # type: ignore[arg-type]
    keys += _SWAP_KEYS if kind is DealKind.SWAP else [spec[0] for spec in _DIRECTED]
    wrong = {key: f"{key} does not apply to {pay} deals; remove it" for key in _ANY_DEAL}
    report.unknown_keys(table, path, keys if kind else _ANY_DEAL, wrong if kind else None)
    values = report.fields(
        table,
        path,
        (
            ("id", '"li-wang"', "identifier", ("deal",), REQUIRED),
            ("description", "", "text", ('"..."', True, True), ""),
        ),
    )
    if kind is None:
        return None, ()
    values |= report.fields(table, path, _DEAL[kind])
    legs: tuple[DealLeg, ...] | None = None
    if kind is DealKind.SWAP:
        pair = report.field(table, path, "members", '["zhang", "zhao"]', _pair, report)
        coupons = report.field(
            table, path, "referral_coupons", "", _swap_coupons, report, pair, default={}
        )
        if pair is not None and coupons is not None:
            first, second = pair
            legs = (
                DealLeg(values["id"], kind, first, second, coupons.get(second, ())),
                DealLeg(values["id"], kind, second, first, coupons.get(first, ())),
            )
    else:
        leg = report.fields(table, path, _DIRECTED)
        if leg["referrer"] is not None and leg["referrer"] == leg["seller"]:
            report.add(
                (*path, "seller"),
                "a member cannot refer to itself; make referrer and seller two different members",
            )
        elif complete(leg):
            legs = (DealLeg(values["id"], kind, **leg),)
    if legs is None:
        return None, ()
    if values["id"] is None:
        return None, ()
    if not complete(values):
        return None, legs
    values["base"] = Base(values.get("base", _BASES[0]))
    return Deal(kind=kind, legs=legs, **values), legs


def _pair(value: object, path: KeyPath, report: Report) -> tuple[str, str] | None:
    if not isinstance(value, list) or len(value) != 2:
        shown = f"a list of {len(value)}" if isinstance(value, list) else describe(value)
        report.add(
            path,
            f'members is {shown}; name exactly the two members who swap, such as ["zhang", "zhao"]',
        )
        return None
    first = report.member(value[0], (*path, 0))
    second = report.member(value[1], (*path, 1))
    if first is None or second is None:
        return None
    if first == second:
        report.add((*path, 1), "a member cannot swap with itself; name two different members")
        return None
    return first, second


def _swap_coupons(
    value: object, path: KeyPath, report: Report, pair: tuple[str, str] | None
) -> dict[str, tuple[str, ...]] | None:
    """``{store: codes}``: a code used at one member's store means the other one referred."""
    table = report.table(value, path, '[deals.referral_coupons] with zhao = ["ZHANG-PHOTO"]')
    if table is None:
        return None
    result: dict[str, tuple[str, ...]] = {}
    for store, codes in table.items():
        if pair is not None and store not in pair:
            report.add(
                (*path, store),
                f"{show(store)} is not one of this swap's members ({pair[0]}, {pair[1]}); "
                "name the member whose store holds the codes",
            )
            continue
        checked = report.codes(codes, (*path, store))
        if checked is not None:
            result[store] = checked
    return result if len(result) == len(table) else None


def _overlapping_deals(report: Report, legs: list[DealLeg], index_of: dict[str, int]) -> None:
    """Two same-kind deals for one direction, or one coupon code meaning two deals."""
    directions: dict[tuple[DealKind, str, str], str] = {}
    coupons: dict[tuple[str, str], str] = {}
    clashes: set[tuple[str, str]] = set()
    for leg in legs:
        deal_id = leg.deal_id
        path: KeyPath = ("deals", index_of[deal_id])
        other = directions.setdefault((leg.kind, leg.referrer, leg.seller), deal_id)
        if other != deal_id and (other, deal_id) not in clashes:
            clashes.add((other, deal_id))
            report.add(
                path,
                f'deals "{other}" and "{deal_id}" are both {leg.kind.value} deals in which '
                f"{leg.seller} pays {leg.referrer}; keep one of them",
            )
        where: KeyPath = (*path, "referral_coupons")
        if leg.kind is DealKind.SWAP:
            where = (*where, leg.seller)
        for position, code in enumerate(leg.referral_coupons):
            owner = coupons.setdefault((leg.seller, code), deal_id)
            if owner != deal_id or code in leg.referral_coupons[:position]:
                report.add(
                    (*where, position),
                    f"referral coupon {show(code)} is already used in {leg.seller}'s store "
                    f'by deal "{owner}"; a code can belong to one deal only',
                )
