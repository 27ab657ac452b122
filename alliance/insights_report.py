"""Profiles, overlap and what-if as text tables and JSON, from released values only.

Nothing here sees a customer id: the values it renders were suppressed before they got here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from alliance.money import format_amount
from alliance.overlap import Lift, PairOverlap
from alliance.profiles import DIMENSIONS, Profile
from alliance.suppression import Released, as_json, shown
from alliance.whatif import Comparison

_TITLES = {
    "region": "Region (country-state)",
    "category": "Category bought",
    "value_band": "Order value band",
    "new_or_returning": "New or returning at this member",
}
OTHER, TOTAL = "other", "customers"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    return lines


def _percent(value: Decimal | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def profile_table(profile: Profile) -> str:
    k = profile.min_group_size
    out = [
        f"Profile of {profile.member}: distinct customers per month "
        f"({profile.months[0]} to {profile.months[-1]}); groups under {k} are shown as "
        f'"< {k}" and folded into "{OTHER}". WooCommerce keeps no ages: there are no age bands.'
    ]
    for dimension in DIMENSIONS:
        columns = profile.tables[dimension]
        labels = sorted({label for column in columns.values() for label in column.cells})
        rows = [
            [label, *[shown(columns[m].cells.get(label, 0), k) for m in profile.months]]
            for label in labels
        ]
        rows.append([OTHER, *[shown(columns[m].other, k) for m in profile.months]])
        rows.append([TOTAL, *[shown(columns[m].total, k) for m in profile.months]])
        out += ["", _TITLES[dimension], *_table(["", *profile.months], rows)]
    return "\n".join(out)


def profile_json(profile: Profile) -> str:
    tables: dict[str, Any] = {}
    for dimension in DIMENSIONS:
        columns = profile.tables[dimension]
        tables[dimension] = {
            month: {
                "cells": {label: as_json(v) for label, v in sorted(column.cells.items())},
                OTHER: as_json(column.other),
                "total": as_json(column.total),
            }
            for month, column in columns.items()
        }
    document = {
        "member": profile.member,
        "months": list(profile.months),
        "min_group_size": profile.min_group_size,
        "dimensions": tables,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def overlap_table(
    months: Sequence[str],
    k: int,
    customers: Mapping[str, Released],
    pairs: Sequence[PairOverlap],
    lifts: Sequence[Lift],
    best: Mapping[str, Sequence[tuple[str, Decimal]]],
) -> str:
    out = [
        f"Audience overlap, {months[0]} to {months[-1]}: distinct customers with a sale at "
        f'both; groups under {k} are shown as "< {k}".',
        "",
    ]
    out += _table(["member", "customers"], [[m, shown(n, k)] for m, n in sorted(customers.items())])
    out.append("")
    rows = [
        [
            p.a,
            p.b,
            shown(p.shared, k),
            _percent(p.share_of_a),
            _percent(p.share_of_b),
            _percent(p.complementarity),
            "-" if p.fit is None else f"{p.fit}",
        ]
        for p in pairs
    ]
    out += _table(["a", "b", "shared", "of a", "of b", "complementary", "fit"], rows)
    if lifts:
        out += ["", "Co-purchase lift (bought within 90 days; 1.00 = chance):"]
        out += _table(
            ["a", "category at a", "b", "category at b", "customers", "lift"],
            [
                [x.a, x.category_a, x.b, x.category_b, shown(x.customers, k), str(x.lift)]
                for x in lifts
            ],
        )
    out.append("")
    for member, ranked in sorted(best.items()):
        if ranked:
            partners = ", ".join(f"{other} (fit {fit})" for other, fit in ranked)
            out.append(f"Best fit for {member} among partners without a deal: {partners}")
        else:
            out.append(
                f"Best fit for {member}: no partner without a deal has enough shared customers"
            )
    return "\n".join(out)


def overlap_json(
    months: Sequence[str],
    k: int,
    customers: Mapping[str, Released],
    pairs: Sequence[PairOverlap],
    lifts: Sequence[Lift],
    best: Mapping[str, Sequence[tuple[str, Decimal]]],
) -> str:
    def num(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    document = {
        "from": months[0],
        "to": months[-1],
        "min_group_size": k,
        "customers": {m: as_json(n) for m, n in sorted(customers.items())},
        "pairs": [
            {
                "a": p.a,
                "b": p.b,
                "shared": as_json(p.shared),
                "share_of_a": num(p.share_of_a),
                "share_of_b": num(p.share_of_b),
                "complementarity": num(p.complementarity),
                "fit": num(p.fit),
            }
            for p in pairs
        ],
        "lift": [
            {
                "a": x.a,
                "category_a": x.category_a,
                "b": x.b,
                "category_b": x.category_b,
                "customers": as_json(x.customers),
                "lift": str(x.lift),
            }
            for x in lifts
        ],
        "best_partners": {
            m: [{"member": other, "fit": str(fit)} for other, fit in ranked]
            for m, ranked in sorted(best.items())
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def simulation_json(result: Comparison) -> str:
    cur = result.currency

    def money(amount: Decimal, unit: str = cur) -> str:
        return format_amount(amount, unit)

    document = {
        "from": result.first,
        "to": result.last,
        "members": {
            member: {
                "actual": {"earned": money(actual.earned), "owed": money(actual.owed)},
                "simulated": {"earned": money(sim.earned), "owed": money(sim.owed)},
            }
            for member, (actual, sim) in result.members.items()
        },
        "deals": [
            {
                "deal": d.deal_id,
                "payer": d.payer,
                "payee": d.payee,
                "unit": d.unit,
                "actual": money(d.actual, d.unit),
                "simulated": money(d.simulated, d.unit),
                "difference": money(d.difference, d.unit),
            }
            for d in result.deals
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def simulation_table(result: Comparison) -> str:
    cur = result.currency

    def money(amount: Decimal, unit: str = cur) -> str:
        return format_amount(amount, unit)

    out = [
        f"What-if, {result.first} to {result.last} ({cur}): what each member earned and owed, "
        "and what it would have under the proposed terms. Nothing was written to the ledger.",
        "",
    ]
    rows = []
    for member, (actual, sim) in result.members.items():
        rows.append(
            [
                member,
                money(actual.earned),
                money(sim.earned),
                money(sim.earned - actual.earned),
                money(actual.owed),
                money(sim.owed),
                money(sim.owed - actual.owed),
            ]
        )
    out += _table(
        ["member", "earned", "would earn", "difference", "owed", "would owe", "difference"], rows
    )
    if result.deals:
        out.append("")
        out += _table(
            ["deal", "payer", "payee", "unit", "actual", "simulated", "difference"],
            [
                [
                    d.deal_id,
                    d.payer,
                    d.payee,
                    d.unit,
                    money(d.actual, d.unit),
                    money(d.simulated, d.unit),
                    money(d.difference, d.unit),
                ]
                for d in result.deals
            ],
        )
    return "\n".join(out)
