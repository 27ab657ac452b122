"""Validation of the ``[[promotions]]`` tables: joint gift packs across member shops.

A promotion is triggered by a large enough order at one member and rewards the customer with a
coupon at each of the other members; every redemption pays the trigger member a share. Its id
must differ from every deal's and every other promotion's, because ledger entries cite these
ids.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from alliance.agreement.fields import REQUIRED, Report, Spec, complete
from alliance.agreement.locate import Path as KeyPath
from alliance.agreement.model import Base, DiscountType, Promotion, Reward
from alliance.agreement.wording import show

_BASES = tuple(base.value for base in Base)
_DISCOUNTS = tuple(kind.value for kind in DiscountType)
_REWARDS_EXAMPLE = '[{ member = "wang", discount_type = "fixed_cart", amount = "30.00" }]'
_PROMOTION: tuple[Spec, ...] = (
    ("id", '"newborn-gift-pack"', "identifier", ("promotion",), REQUIRED),
    ("description", "", "text", ('"..."', True, True), ""),
    ("starts", "2026-12-01", "local_date", (), REQUIRED),
    ("ends", "2027-02-28", "local_date", (), REQUIRED),
    ("coupon_valid_days", "60", "integer", (1, 3650, 60), REQUIRED),
    ("redemption_rate", '"5%"', "percent", (), REQUIRED),
    ("redemption_base", "", "choice", (_BASES,), _BASES[0]),
)
_PROMOTION_KEYS = (*(spec[0] for spec in _PROMOTION), "trigger", "rewards")
_REWARD: tuple[Spec, ...] = (
    ("discount_type", '"fixed_cart"', "choice", (_DISCOUNTS,), REQUIRED),
    ("label", "", "text", ('"Baby-wash trial set"', True), ""),
    ("individual_use", "", "boolean", (), False),
    ("exclude_sale_items", "", "boolean", (), False),
)
_REWARD_KEYS = ("member", "amount", "minimum_amount", "products", *(spec[0] for spec in _REWARD))
SKU_MAX = 100
"""Characters of a product SKU (WooCommerce's own column is wider; real SKUs are short)."""
PRODUCTS_MAX = 100
"""SKUs one reward may name: a coupon limited to more products is a category, not a gift."""


def read_promotions(
    report: Report, raw: object, deal_ids: Collection[str]
) -> list[Promotion] | None:
    """The ``promotions`` list; no id may repeat one in ``deal_ids`` or another promotion's."""
    path: KeyPath = ("promotions",)
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        report.add(path, "must be a list of promotion tables; start each with [[promotions]]")
        return None
    seen: set[str] = set(deal_ids)
    result: list[Promotion] = []
    for index, table in enumerate(raw):
        promotion = _promotion(report, (*path, index), table)
        promotion_id = table.get("id")
        if isinstance(promotion_id, str) and promotion_id in seen:
            report.add(
                (*path, index, "id"),
                f"promotion id {show(promotion_id)} is already used by a deal or promotion; "
                "ledger entries cite these ids, so give it its own",
            )
            promotion = None
        if isinstance(promotion_id, str):
            seen.add(promotion_id)
        if promotion is not None:
            result.append(promotion)
    return result if len(result) == len(raw) else None


def _promotion(report: Report, path: KeyPath, table: dict[str, Any]) -> Promotion | None:
    report.unknown_keys(table, path, _PROMOTION_KEYS)
    trigger = report.field(table, path, "trigger", '{ member = "li" }', _trigger, report)
    values = report.fields(table, path, _PROMOTION)
    values["rewards"] = report.field(
        table, path, "rewards", _REWARDS_EXAMPLE, _rewards, report, trigger and trigger[0]
    )
    starts, ends = values["starts"], values["ends"]
    if starts is not None and ends is not None and starts > ends:
        report.add(
            (*path, "ends"),
            f"ends {ends} is before starts {starts}; end the promotion on or after its first day",
        )
        return None
    if trigger is None or not complete(values):
        return None
    values["redemption_base"] = Base(values["redemption_base"])
    return Promotion(trigger_member=trigger[0], min_order_total=trigger[1], **values)


def _trigger(value: object, path: KeyPath, report: Report) -> tuple[str, Decimal] | None:
    table = report.table(value, path, '{ member = "li", min_order_total = "300.00" }')
    if table is None:
        return None
    report.unknown_keys(table, path, ("member", "min_order_total"))
    member = report.field(table, path, "member", '"li"', report.member)
    total = report.field(table, path, "min_order_total", '"0.00"', report.money, True)
    return None if member is None or total is None else (member, total)


def _rewards(
    value: object, path: KeyPath, report: Report, trigger: str | None
) -> tuple[Reward, ...] | None:
    if not isinstance(value, list) or not value:
        report.add(path, f"rewards must list at least one reward, such as {_REWARDS_EXAMPLE}")
        return None
    rewards: list[Reward] = []
    for index, raw in enumerate(value):
        where: KeyPath = (*path, index)
        table = report.table(raw, where, '{ member = "wang", discount_type = "fixed_cart" }')
        if table is None:
            continue
        report.unknown_keys(table, where, _REWARD_KEYS)
        values = report.fields(table, where, _REWARD)
        minimum = report.field(table, where, "minimum_amount", '"100.00"', report.money,
                               default=None)  # fmt: skip
        refused = "minimum_amount" in table and minimum is None  # reported: keep it out
        values["products"] = report.field(table, where, "products", '["SKU-501"]', _skus,
                                          report, default=())  # fmt: skip
        member = values["member"] = report.field(table, where, "member", '"wang"', report.member)
        percent = values["discount_type"] == DiscountType.PERCENT.value
        amount = values["amount"] = report.field(
            table, where, "amount", '"30.00"', report.money, False, percent
        )
        if member is not None and member == trigger:
            report.add(
                (*where, "member"),
                f'member "{member}" is the trigger member; rewards come from the other members',
            )
        elif member is not None and member in {reward.member for reward in rewards}:
            report.add(
                (*where, "member"),
                f'member "{member}" already has a reward here; give each member one reward',
            )
        elif percent and amount is not None and amount > 100:
            report.add(
                (*where, "amount"),
                f"amount {show(table['amount'])} is over 100 for a percent discount; "
                "write a percentage between 0 and 100",
            )
        elif complete(values) and not refused:
            values["discount_type"] = DiscountType(values["discount_type"])
            rewards.append(Reward(**values, minimum_amount=minimum))
    return tuple(rewards) if len(rewards) == len(value) else None


def _skus(value: object, path: KeyPath, report: Report) -> tuple[str, ...] | None:
    """``products``: SKUs in the reward member's store, each once; resolved at issue time."""
    items = report.strings(value, path, '["SKU-501"]')
    if items is None:
        return None
    ok = True
    if not items or len(items) > PRODUCTS_MAX:
        report.add(
            path,
            f"products lists {len(items)} SKUs; list 1 to {PRODUCTS_MAX}, or leave products out "
            "for a coupon valid on the whole store",
        )
        return None
    seen: set[str] = set()
    for index, sku in enumerate(items):
        if not sku.strip() or len(sku) > SKU_MAX or sku != sku.strip():
            ok = False
            report.add(
                (*path, index),
                f"SKU {show(sku)} is not usable; write the product's SKU as its store shows it, "
                f'1 to {SKU_MAX} characters without spaces around it, such as "SKU-501"',
            )
        elif sku in seen:
            ok = False
            report.add((*path, index), f"SKU {show(sku)} is listed twice; list each product once")
        seen.add(sku)
    return items if ok else None
