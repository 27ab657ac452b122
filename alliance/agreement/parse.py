"""Read ``alliance.toml`` into an :class:`~alliance.agreement.model.Agreement`.

Shop owners edit this file by hand, so every problem is collected and reported at once as
``FILE:LINE: key: what is wrong`` (:class:`~alliance.errors.AgreementError`) instead of
stopping at the first one. ``tomllib`` gives no positions; :mod:`.locate` supplies the lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Collection
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from alliance.agreement.fields import (
    ENV_RE,
    REQUIRED,
    Report,
    Spec,
    default_credentials_env,
    describe,
    find_secrets,
    plain,
    show,
)
from alliance.agreement.locate import LineLocator
from alliance.agreement.locate import Path as KeyPath
from alliance.agreement.model import (
    Agreement,
    AllianceSettings,
    Base,
    Deal,
    DealKind,
    DealLeg,
    DiscountType,
    Member,
    Promotion,
    Reward,
    SettlementPeriod,
)
from alliance.errors import AgreementError, Problem
from alliance.money import format_amount, minor_digits

__all__ = ["FILE_KEY", "STARTER_PATH", "agreement_summary", "load_agreement", "parse_agreement"]

STARTER_PATH = Path(__file__).resolve().parent.parent / "data" / "starter-alliance.toml"
"""The commented starter agreement that ``alliance init`` copies."""

FILE_KEY = "<file>"
"""The key of problems about the file as a whole (missing, unreadable, not TOML)."""

_TOP = ("alliance", "members", "deals", "promotions")
_BASES = tuple(base.value for base in Base)
_KINDS = tuple(kind.value for kind in DealKind)
_DISCOUNTS = tuple(kind.value for kind in DiscountType)
_REWARDS_EXAMPLE = '[{ member = "wang", discount_type = "fixed_cart", amount = "30.00" }]'
_ALLIANCE: tuple[Spec, ...] = (
    ("name", '"Refined Parenting Alliance"', "text", ('"Refined Parenting Alliance"',), REQUIRED),
    ("currency", '"CNY"', "currency", (), REQUIRED),
    ("timezone", '"Asia/Shanghai"', "timezone", (), REQUIRED),
    ("links_base_url", "", "url", ('"https://go.example"',), ""),
    ("attribution_window_days", "", "integer", (1, 365, 30), 30),
    ("settlement_period", "", "choice", (("monthly",),), "monthly"),
    ("holdback_days", "", "integer", (0, 365, 14), 14),
    ("min_group_size", "", "integer", (1, 1000, 10), 10),
)
_MEMBER: tuple[Spec, ...] = (
    ("name", '"Your shop\'s name"', "text", ('"Li\'s Organic Baby Clothes"',), REQUIRED),
    ("url", '"https://shop.example"', "url", ('"https://shop.example"',), REQUIRED),
    ("store", "", "choice", (("woocommerce",),), "woocommerce"),
    ("categories", "", "strings", ('["toys"]',), ()),
    ("description", "", "text", ('"What the shop sells"', True), ""),
)
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
_PROMOTION: tuple[Spec, ...] = (
    ("id", '"newborn-gift-pack"', "identifier", ("promotion",), REQUIRED),
    ("description", "", "text", ('"..."', True), ""),
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
)
_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


def load_agreement(path: str | os.PathLike[str]) -> Agreement:
    """Read and validate a file; a missing or unreadable file is a problem on line 1."""
    source = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        message = "the file does not exist; check the path, or create one with `alliance init`"
        raise AgreementError([Problem(source, 1, FILE_KEY, message)]) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        message = f"cannot be read ({reason}); check the path and the file's permissions"
        raise AgreementError([Problem(source, 1, FILE_KEY, message)]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = "is not UTF-8 text; save the file with UTF-8 encoding"
        raise AgreementError([Problem(source, line, FILE_KEY, message)]) from None
    return parse_agreement(text, source)


def parse_agreement(text: str, source: str = "alliance.toml") -> Agreement:
    """Validate agreement text; raises :class:`AgreementError` listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgreementError([_syntax_problem(str(exc), text, source)]) from None
    except RecursionError:
        message = "is nested too deeply to read; flatten the arrays"
        raise AgreementError([Problem(source, 1, FILE_KEY, message)]) from None
    report = Report(source, LineLocator(text))
    agreement = _build(report, data, version_of(data))
    if report.problems or agreement is None:
        problems = report.problems or [Problem(source, 1, FILE_KEY, "could not be understood")]
        raise AgreementError(sorted(problems, key=lambda problem: problem.line))
    return agreement


def version_of(data: dict[str, Any]) -> str:
    """Hash of the terms: comments, order and layout do not change it, any value does."""
    canonical = json.dumps(
        data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain_json
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _plain_json(value: object) -> str:
    return value.isoformat() if isinstance(value, date | time) else str(value)


def _syntax_problem(message: str, text: str, source: str) -> Problem:
    last_line = text.count("\n") + 1
    match = _AT_LINE.search(message)
    if match:
        line, where = int(match.group(1)), f" (column {match.group(2)})"
        reason = message[: match.start()]
    else:
        line, where = last_line, " (at the end of the file)"
        reason = message.replace("(at end of document)", "").strip()
    line = max(1, min(line, last_line))
    reason = (reason[:1].lower() + reason[1:]).rstrip(".")
    return Problem(
        source, line, FILE_KEY, f"is not valid TOML: {reason}{where}; fix the syntax of this line"
    )


def _complete(values: dict[str, Any]) -> bool:
    return all(value is not None for value in values.values())


def _build(report: Report, data: dict[str, Any], version: str) -> Agreement | None:
    raw_members = data.get("members")
    envs: dict[str, str] = {}
    if isinstance(raw_members, dict):
        report.members = set(raw_members)
        for member_id, table in raw_members.items():
            env = table.get("credentials_env") if isinstance(table, dict) else None
            valid = isinstance(env, str) and ENV_RE.fullmatch(env)
            envs[member_id] = env if valid else default_credentials_env(member_id)
    find_secrets(report, data, envs)
    report.unknown_keys(data, (), _TOP)
    settings = _alliance(report, data.get("alliance"))
    members = _members(report, raw_members)
    deals = _deals(report, data.get("deals", []))
    deal_ids = {deal.id for deal in deals or ()}
    promotions = _promotions(report, data.get("promotions", []), deal_ids)
    if settings is None or members is None or deals is None or promotions is None:
        return None
    return Agreement(settings, members, tuple(deals), tuple(promotions), version, report.source)


def _alliance(report: Report, raw: object) -> AllianceSettings | None:
    path: KeyPath = ("alliance",)
    if raw is None:
        report.add(path, "missing; add an [alliance] table with name, currency and timezone")
        return None
    table = report.table(raw, path, "[alliance]")
    if table is None:
        return None
    report.unknown_keys(table, path, [spec[0] for spec in _ALLIANCE])
    values = report.fields(table, path, _ALLIANCE)
    if values["currency"] is not None:
        report.digits = minor_digits(values["currency"])
    if not _complete(values):
        return None
    values["links_base_url"] = values["links_base_url"] or None
    values["settlement_period"] = SettlementPeriod(values["settlement_period"])
    return AllianceSettings(**values)


def _members(report: Report, raw: object) -> dict[str, Member] | None:
    path: KeyPath = ("members",)
    if raw is None:
        report.add(path, "missing; add at least two [members.<id>] tables, one for each shop")
        return None
    table = report.table(raw, path, "[members.li]")
    if table is None:
        return None
    members: dict[str, Member] = {}
    for member_id, value in table.items():
        member = _member(report, member_id, value)
        if member is not None:
            members[member_id] = member
    if len(table) < 2:
        report.add(
            path,
            f"an alliance needs at least 2 members but this file has {len(table)}; "
            "add a [members.<id>] table for each shop",
        )
    return members if len(members) == len(table) >= 2 else None


def _member(report: Report, member_id: str, raw: object) -> Member | None:
    path: KeyPath = ("members", member_id)
    if report.identifier(member_id, path, "member") is None:
        return None
    table = report.table(raw, path, f"[members.{member_id}]")
    if table is None:
        return None
    report.unknown_keys(table, path, [*(spec[0] for spec in _MEMBER), "credentials_env"])
    values = report.fields(table, path, _MEMBER)
    env = default_credentials_env(member_id)
    values["credentials_env"] = report.field(
        table, path, "credentials_env", "", report.env, env, default=env
    )
    return Member(id=member_id, **values) if _complete(values) else None


def _deals(report: Report, raw: object) -> list[Deal] | None:
    path: KeyPath = ("deals",)
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        report.add(path, "must be a list of deal tables; start each deal with a [[deals]] line")
        return None
    deals: list[Deal] = []
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
        deal = _deal(report, (*path, index), table)
        if deal is not None:
            deals.append(deal)
    _overlapping_deals(report, deals, first_index)
    return deals if len(deals) == len(raw) else None


def _deal(report: Report, path: KeyPath, table: dict[str, Any]) -> Deal | None:
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
            ("description", "", "text", ('"..."', True), ""),
        ),
    )
    if kind is None:
        return None
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
        elif _complete(leg):
            legs = (DealLeg(values["id"], kind, **leg),)
    if legs is None or not _complete(values):
        return None
    values["base"] = Base(values.get("base", _BASES[0]))
    return Deal(kind=kind, legs=legs, **values)


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


def _overlapping_deals(report: Report, deals: list[Deal], index_of: dict[str, int]) -> None:
    """Two same-kind deals for one direction, or one coupon code meaning two deals."""
    directions: dict[tuple[DealKind, str, str], str] = {}
    coupons: dict[tuple[str, str], str] = {}
    clashes: set[tuple[str, str]] = set()
    for deal in deals:
        path: KeyPath = ("deals", index_of[deal.id])
        for leg in deal.legs:
            other = directions.setdefault((deal.kind, leg.referrer, leg.seller), deal.id)
            if other != deal.id and (other, deal.id) not in clashes:
                clashes.add((other, deal.id))
                report.add(
                    path,
                    f'deals "{other}" and "{deal.id}" are both {deal.kind.value} deals in which '
                    f"{leg.seller} pays {leg.referrer}; keep one of them",
                )
            where: KeyPath = (*path, "referral_coupons")
            if deal.kind is DealKind.SWAP:
                where = (*where, leg.seller)
            for position, code in enumerate(leg.referral_coupons):
                owner = coupons.setdefault((leg.seller, code), deal.id)
                if owner != deal.id or code in leg.referral_coupons[:position]:
                    report.add(
                        (*where, position),
                        f"referral coupon {show(code)} is already used in {leg.seller}'s store "
                        f'by deal "{owner}"; a code can belong to one deal only',
                    )


def _promotions(report: Report, raw: object, deal_ids: Collection[str]) -> list[Promotion] | None:
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
    if trigger is None or not _complete(values):
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
        report.unknown_keys(table, where, ("member", "amount", *(spec[0] for spec in _REWARD)))
        values = report.fields(table, where, _REWARD)
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
        elif _complete(values):
            values["discount_type"] = DiscountType(values["discount_type"])
            rewards.append(Reward(**values))
    return tuple(rewards) if len(rewards) == len(value) else None


def agreement_summary(agreement: Agreement) -> str:
    """What the file says, in plain words, for ``alliance check`` and for people to confirm."""
    config, unit = agreement.settings, agreement.currency
    lines = [
        config.name,
        f"  currency {unit}, time zone {config.timezone}, settled "
        f"{config.settlement_period.value} after a {config.holdback_days}-day holdback",
        f"  clicks count for {config.attribution_window_days} days; shared figures need "
        f"at least {config.min_group_size} customers",
        f"members ({len(agreement.members)}):",
        *(
            f"  {m.id}: {m.name} <{m.url}> (keys in {m.key_variable} / {m.secret_variable})"
            for m in agreement.members.values()
        ),
        f"deals ({len(agreement.deals)}):",
        *(f"  {deal.id} [{deal.kind.value}]: {_terms(deal, unit)}" for deal in agreement.deals),
        f"promotions ({len(agreement.promotions)}):",
    ]
    for promo in agreement.promotions:
        gifts = ", ".join(f"{r.member} {_reward(r, unit)}" for r in promo.rewards)
        lines.append(
            f"  {promo.id}: {promo.starts} to {promo.ends}, an order of at least "
            f"{format_amount(promo.min_order_total, unit)} {unit} at {promo.trigger_member} earns "
            f"{gifts}; coupons last {promo.coupon_valid_days} days; each redemption pays "
            f"{promo.trigger_member} {plain(promo.redemption_rate * 100)}%"
        )
    lines.append(f"version {agreement.version}")
    return "\n".join(lines)


def _terms(deal: Deal, unit: str) -> str:
    leg = deal.legs[0]
    if deal.kind is DealKind.SWAP:
        terms = f"{leg.referrer} and {leg.seller} promote each other, {deal.credits} credit(s) "
        terms += "per referred order, no money"
    elif deal.kind is DealKind.PERCENT:
        rate = plain((deal.rate or Decimal(0)) * 100)
        terms = f"{leg.seller} pays {leg.referrer} {rate}% of {deal.base.value.replace('_', ' ')}"
    else:
        money = f"{format_amount(deal.amount or Decimal(0), unit)} {unit}"
        terms = f"{leg.seller} pays {leg.referrer} {money} per referred order"
        if deal.kind is DealKind.PER_CLICK:
            terms = f"{leg.seller} pays {leg.referrer} {money} per valid click "
            terms += f"(one per visitor per {deal.click_window_hours} h)"
    codes = sorted(f"{code} at {lg.seller}" for lg in deal.legs for code in lg.referral_coupons)
    return terms + (f"; referral coupons {', '.join(codes)}" if codes else "")


def _reward(reward: Reward, unit: str) -> str:
    if reward.discount_type is DiscountType.PERCENT:
        text = f"{plain(reward.amount)}% off"
    else:
        text = f"{format_amount(reward.amount, unit)} {unit} off ({reward.discount_type.value})"
    return text + (f' "{reward.label}"' if reward.label else "")
