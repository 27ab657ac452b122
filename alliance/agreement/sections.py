"""Validation of the ``[alliance]`` settings and the ``[members.<id>]`` tables.

These are the parts of the agreement that say who the alliance is: its name, currency, time
zone and settlement rules, and the shops that belong to it. Both are checked field by field on a
:class:`~alliance.agreement.fields.Report`; the currency found here sets how many decimal places
amounts elsewhere in the file may have.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from alliance.agreement.fields import REQUIRED, Report, Spec, complete
from alliance.agreement.locate import Path as KeyPath
from alliance.agreement.model import AllianceSettings, Member, SettlementPeriod
from alliance.agreement.secrets import default_credentials_env
from alliance.agreement.wording import show
from alliance.money import minor_digits

_ALLIANCE: tuple[Spec, ...] = (
    ("name", '"Refined Parenting Alliance"', "text", ('"Refined Parenting Alliance"',), REQUIRED),
    ("currency", '"CNY"', "currency", (), REQUIRED),
    ("timezone", '"Asia/Shanghai"', "timezone", (), REQUIRED),
    ("links_base_url", "", "url", ('"https://go.example"',), ""),
    ("attribution_window_days", "", "integer", (1, 365, 30), 30),
    ("settlement_period", "", "choice", (("monthly",),), "monthly"),
    ("holdback_days", "", "integer", (0, 365, 14), 14),
    ("min_group_size", "", "integer", (5, 1000, 10), 10),
    ("payment_due_days", "", "integer", (0, 365, 10), 10),
    ("settlement_day", "", "integer", (1, 28, 15), 0),
    ("free_rider_ratio", "", "ratio", (), Decimal(3)),
)
_MEMBER: tuple[Spec, ...] = (
    ("name", '"Your shop\'s name"', "text", ('"Li\'s Organic Baby Clothes"',), REQUIRED),
    ("url", '"https://shop.example"', "url", ('"https://shop.example"',), REQUIRED),
    ("store", "", "choice", (("woocommerce",),), "woocommerce"),
    ("categories", "", "strings", ('["toys"]',), ()),
    ("description", "", "text", ('"What the shop sells"', True, True), ""),
    ("rest_route", "", "boolean", (), False),
)


def read_alliance(report: Report, raw: object) -> AllianceSettings | None:
    """The ``[alliance]`` table; also tells ``report`` the currency's decimal places."""
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
    if not complete(values):
        return None
    values["links_base_url"] = values["links_base_url"] or None
    values["settlement_period"] = SettlementPeriod(values["settlement_period"])
    return AllianceSettings(**values)


def read_members(report: Report, raw: object) -> dict[str, Member] | None:
    """Every ``[members.<id>]`` table; an alliance needs at least two."""
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
    _shared(report, table, members)
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
    return Member(id=member_id, **values) if complete(values) else None


_DEFAULT_PORTS = {"http": 80, "https": 443}


def store_address(url: str) -> tuple[str, str, int | None, str]:
    """What makes two addresses one store: scheme, host (any case), port, path (no final /)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    return scheme, host, parts.port or _DEFAULT_PORTS.get(scheme), parts.path.rstrip("/")


def _shared(report: Report, table: Mapping[str, Any], members: Mapping[str, Member]) -> None:
    """Two members reading one pair of keys, or syncing one store, are surely a mistake."""
    envs: dict[str, str] = {}
    stores: dict[tuple[str, str, int | None, str], str] = {}
    taken = {member.credentials_env for member in members.values()}
    for member_id, member in members.items():
        env = member.credentials_env
        first = envs.setdefault(env, member_id)
        if first != member_id:
            own = _unused(default_credentials_env(member_id), taken)
            taken.add(own)
            if "credentials_env" in table[member_id]:
                report.add(
                    ("members", member_id, "credentials_env"),
                    f'"{env}" is also the credentials_env of members.{first}; each member reads '
                    f'its own keys: give {member_id} its own, such as credentials_env = "{own}"',
                )
            else:
                report.add(
                    ("members", member_id),
                    f"reads its keys from {env}_KEY and {env}_SECRET, as does members.{first} "
                    "(both names come from the member ids); each member reads its own keys: "
                    f'write credentials_env = "{own}" in [members.{member_id}]',
                )
        owner = stores.setdefault(store_address(member.url), member_id)
        if owner != member_id:
            report.add(
                ("members", member_id, "url"),
                f"url {show(member.url)} is the store of members.{owner} "
                f"({show(members[owner].url)}); each member has its own store: check the "
                "address, or remove one of the two members",
            )


def _unused(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}{number}", number + 1
    return candidate
