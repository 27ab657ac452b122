"""Gift packs and their coupons as stored: rows to values, the queries that find work, leases.

The application logic (planning, revocation, recording what the issuer learnt) is
:mod:`alliance.services.giftpacks`; this module only reads and writes rows.

A lease marks the packs one issuer is working on (``lease_token`` until ``lease_until``): a
pack whose lease expired (its issuer died) is free again, and every write for a pack first
checks, in its own transaction and with the row locked on PostgreSQL, that the lease is still
the writer's (:func:`hold`).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    exists,
    func,
    not_,
    or_,
    select,
    tuple_,
    update,
)

from alliance.agreement import Agreement, DiscountType, Promotion
from alliance.errors import AllianceError
from alliance.giftpacks import (
    REVOKING_STATUSES,
    CouponPlan,
    CouponState,
    PackStatus,
    display_code,
    promotion_window,
)
from alliance.money import round_money, to_minor
from alliance.orders import SALE_STATUSES, Order
from alliance.storage import repository as repo
from alliance.storage.repository import _chunks
from alliance.storage.schema import gift_coupons, gift_packs, ledger_entries, orders

OPEN = [PackStatus.ISSUING.value, PackStatus.REVOKING.value]
"""Packs an issuer still has work on."""

STANDING = [PackStatus.ISSUING.value, PackStatus.ISSUED.value]
"""Packs a revocation of their trigger order would change."""

gp, gc, o = gift_packs.c, gift_coupons.c, orders.c


class LeaseLost(AllianceError):
    """Another issuer holds the pack now (this one stalled past its lease): nothing written."""


@dataclass(frozen=True)
class GiftCoupon:
    """One coupon of a pack, as stored."""

    plan: CouponPlan
    state: CouponState
    planned_at: datetime
    coupon_id: int | None = None
    store_created_at: datetime | None = None
    error: str = ""
    revoked_at: datetime | None = None
    usage_count: int | None = None

    @property
    def member(self) -> str:
        return self.plan.member

    @property
    def code(self) -> str:
        """The code as the store and the database hold it (lowercased)."""
        return self.plan.key


@dataclass(frozen=True)
class GiftPack:
    """A pack and its coupons, as stored."""

    promotion_id: str
    trigger_ref: str
    trigger_member: str
    trigger_order_id: str
    trigger_order_number: str
    sale_at: datetime
    qualified_at: datetime
    status: PackStatus
    coupons: tuple[GiftCoupon, ...] = ()
    issued_at: datetime | None = None
    note_intent_at: datetime | None = None
    note_intent_codes: tuple[str, ...] = ()
    first_note_at: datetime | None = None
    first_note_codes: tuple[str, ...] = ()
    late_note_at: datetime | None = None
    late_note_codes: tuple[str, ...] = ()
    revoked_at: datetime | None = None
    revoke_reason: str = ""
    problem: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.promotion_id, self.trigger_ref)

    @property
    def name(self) -> str:
        """How people read it: ``newborn-gift-pack li#1234``."""
        return f"{self.promotion_id} {self.trigger_member}#{self.trigger_order_number}"

    @property
    def delivered(self) -> frozenset[str]:
        """Codes a note on the trigger order has listed."""
        return frozenset((*self.first_note_codes, *self.late_note_codes))

    def coupons_in(self, *states: CouponState) -> list[GiftCoupon]:
        return [c for c in self.coupons if c.state in states]


# -- queries that find work ----------------------------------------------------------------


def qualifying_orders(agreement: Agreement, promotion: Promotion) -> Select[tuple[str]]:
    """Store ids of the trigger member's orders that look qualifying and have no pack yet.

    The SQL half of :func:`alliance.giftpacks.why_not_qualifying` (status, items after
    discount, sale date in the window, not fully refunded); the caller confirms with the rule.
    """
    currency = agreement.currency
    start, end = promotion_window(promotion, agreement.settings.timezone)
    least = to_minor(round_money(promotion.min_order_total, currency), currency)
    served = exists().where(
        gp.promotion_id == promotion.id,
        gp.trigger_member == o.member,
        gp.trigger_order_id == o.external_id,
    )
    return select(o.external_id).where(
        o.member == promotion.trigger_member,
        o.status.in_([s.value for s in SALE_STATUSES]),
        o.items_total_minor >= least,
        o.sale_at >= start,
        o.sale_at < end,
        not_(and_(o.refunded_minor > 0, o.refunded_minor >= o.total_minor)),
        not_(served),
    )


def revocable_packs() -> Select[Any]:
    """Standing packs whose stored trigger order is cancelled, failed, refunded or trashed."""
    return (
        select(
            gp.promotion_id,
            gp.trigger_ref,
            gp.trigger_member,
            gp.trigger_order_id,
            gp.trigger_order_number,
        )
        .join(orders, and_(o.member == gp.trigger_member, o.external_id == gp.trigger_order_id))
        .where(
            gp.status.in_(STANDING),
            or_(
                o.status.in_([s.value for s in REVOKING_STATUSES]),
                and_(o.refunded_minor > 0, o.refunded_minor >= o.total_minor),
            ),
        )
    )


# -- leases -------------------------------------------------------------------------------


def new_lease_token() -> str:
    return secrets.token_hex(16)


def claim_packs(
    conn: Connection,
    token: str,
    now: datetime,
    ttl: timedelta,
    *,
    promotion_id: str | None = None,
    members: Collection[str] | None = None,
) -> list[GiftPack]:
    """Lease every open pack nobody else holds (an expired lease is free) and load them."""
    free = or_(gp.lease_until.is_(None), gp.lease_until < now)
    stmt = update(gift_packs).where(gp.status.in_(OPEN), free)
    if promotion_id is not None:
        stmt = stmt.where(gp.promotion_id == promotion_id)
    if members is not None:
        stmt = stmt.where(gp.trigger_member.in_(list(members)))
    conn.execute(stmt.values(lease_token=token, lease_until=now + ttl))
    return held_packs(conn, token)


def held_packs(conn: Connection, token: str) -> list[GiftPack]:
    """The packs this lease holds, with their coupons."""
    return load(conn, gp.lease_token == token)


def renew(conn: Connection, token: str, now: datetime, ttl: timedelta) -> int:
    """Extend the lease on every pack it still holds (a long run renews as it goes)."""
    stmt = update(gift_packs).where(gp.lease_token == token).values(lease_until=now + ttl)
    return conn.execute(stmt).rowcount


def release(conn: Connection, token: str) -> None:
    conn.execute(
        update(gift_packs).where(gp.lease_token == token).values(lease_token=None, lease_until=None)
    )


def hold(conn: Connection, token: str, pack: tuple[str, str]) -> None:
    """Refuse to write for a pack this lease no longer holds (locks the row on PostgreSQL)."""
    query = (
        select(gp.lease_token)
        .where(gp.promotion_id == pack[0], gp.trigger_ref == pack[1])
        .with_for_update()
    )
    if conn.execute(query).scalar_one_or_none() != token:
        raise LeaseLost(f"gift pack {pack[0]} {pack[1]} is held by another issuer now")


_HOLDERS = (
    select(gp.promotion_id, gp.trigger_ref, gp.lease_token)
    .where(tuple_(gp.promotion_id, gp.trigger_ref).in_(bindparam("keys", expanding=True)))
    .with_for_update()
)  # built once: every batch of an issuer's writes runs it


def held_among(
    conn: Connection, token: str, keys: Collection[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The packs among ``keys`` this lease still holds (their rows locked on PostgreSQL): the
    check of :func:`hold` for many packs at once, a query per :data:`IN_CHUNK` of them."""
    held: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted(set(keys))):
        for promotion_id, ref, holder in conn.execute(_HOLDERS, {"keys": list(chunk)}):
            if holder == token:
                held.add((promotion_id, ref))
    return held


def hold_all(conn: Connection, token: str, keys: Collection[tuple[str, str]]) -> None:
    """:func:`hold` for many packs: refuses (:class:`LeaseLost`) if any is held no longer."""
    lost = sorted(set(keys) - held_among(conn, token, keys))
    if lost:
        raise LeaseLost(f"gift pack {lost[0][0]} {lost[0][1]} is held by another issuer now")


# -- rows -----------------------------------------------------------------------------------


def coupon_row(
    promotion_id: str, trigger_ref: str, plan: CouponPlan, now: datetime
) -> dict[str, Any]:
    """A pending coupon's row: the plan as it must exist in the store, fixed at planning."""
    return {
        "member": plan.member,
        "code": plan.key,
        "promotion_id": promotion_id,
        "trigger_ref": trigger_ref,
        "created_at": now,
        "expires_at": plan.expires_at,
        "state": CouponState.PENDING.value,
        "discount_type": plan.discount_type.value,
        "amount": format(plan.amount, "f"),
        "minimum_amount": "" if plan.minimum_amount is None else format(plan.minimum_amount, "f"),
        "individual_use": plan.individual_use,
        "exclude_sale_items": plan.exclude_sale_items,
        "product_skus": orjson.dumps(list(plan.product_skus)).decode(),
        "label": plan.label[:200],
        "description": plan.description[:500],
        "error": "",
        "updated_at": now,
    }


def load(conn: Connection, condition: Any) -> list[GiftPack]:
    query = select(gift_packs).where(condition)
    rows = conn.execute(query.order_by(gp.sale_at, gp.trigger_ref, gp.promotion_id)).mappings()
    rows = list(rows)
    if not rows:
        return []
    coupons: dict[tuple[str, str], list[GiftCoupon]] = {
        (row["promotion_id"], row["trigger_ref"]): [] for row in rows
    }
    refs = sorted({ref for _, ref in coupons})
    for chunk in _chunks(refs):
        found = select(gift_coupons).where(gc.trigger_ref.in_(list(chunk)))
        found = found.order_by(gc.trigger_ref, gc.created_at, gc.member)
        for row in conn.execute(found).mappings():
            bucket = coupons.get((row["promotion_id"], row["trigger_ref"]))
            if bucket is not None:
                bucket.append(_coupon(row))
    return [_pack(row, coupons[(row["promotion_id"], row["trigger_ref"])]) for row in rows]


def _coupon(row: Mapping[str, Any]) -> GiftCoupon:
    try:
        kind = DiscountType(row["discount_type"])
    except ValueError:  # a row stored before the alliance issued coupons itself
        kind = DiscountType.FIXED_CART
    minimum = row["minimum_amount"]
    plan = CouponPlan(
        member=row["member"],
        code=display_code(row["code"]),
        discount_type=kind,
        amount=Decimal(row["amount"] or "0"),
        expires_at=row["expires_at"],
        label=row["label"],
        description=row["description"],
        minimum_amount=Decimal(minimum) if minimum else None,
        individual_use=row["individual_use"],
        exclude_sale_items=row["exclude_sale_items"],
        product_skus=tuple(orjson.loads(row["product_skus"])),
    )
    return GiftCoupon(
        plan=plan,
        state=CouponState(row["state"]),
        planned_at=row["created_at"],
        coupon_id=row["coupon_id"],
        store_created_at=row["store_created_at"],
        error=row["error"],
        revoked_at=row["revoked_at"],
        usage_count=row["usage_count"],
    )


def _pack(row: Mapping[str, Any], coupons: list[GiftCoupon]) -> GiftPack:
    codes = {name: tuple(orjson.loads(row[name])) for name in _CODE_LISTS}
    return GiftPack(
        promotion_id=row["promotion_id"],
        trigger_ref=row["trigger_ref"],
        trigger_member=row["trigger_member"],
        trigger_order_id=row["trigger_order_id"],
        trigger_order_number=row["trigger_order_number"],
        sale_at=row["sale_at"],
        qualified_at=row["qualified_at"],
        status=PackStatus(row["status"]),
        coupons=tuple(coupons),
        issued_at=row["issued_at"],
        note_intent_at=row["note_intent_at"],
        first_note_at=row["first_note_at"],
        late_note_at=row["late_note_at"],
        revoked_at=row["revoked_at"],
        revoke_reason=row["revoke_reason"],
        problem=row["problem"],
        **codes,
    )


_CODE_LISTS = ("note_intent_codes", "first_note_codes", "late_note_codes")


def _json(codes: Iterable[str]) -> str:
    return orjson.dumps(list(codes)).decode()


# -- what reports read ----------------------------------------------------------------------

_WITH_COUPONS = '"coupons":["'
"""How a stored order's facts (``repository.order_row``, orjson: no spaces) begin a non-empty
coupon list: a key quoted like this cannot occur inside a JSON string value, where quotes are
escaped."""


def orders_using_codes(
    conn: Connection, member: str, codes: Collection[str], since: datetime
) -> list[Order]:
    """``member``'s stored orders sold since ``since`` that used one of ``codes`` (stored,
    lowercased), in any status: SQL keeps orders with coupons, the codes are matched here."""
    wanted = set(codes)
    if not wanted:
        return []
    query = (
        select(orders)
        .where(o.member == member, o.sale_at >= since, o.facts.contains(_WITH_COUPONS))
        .order_by(o.sale_at, o.external_id)
    )
    found = []
    for row in conn.execute(query).mappings():
        order = repo.order_from_row(row)
        if wanted.intersection(order.coupon_codes):
            found.append(order)
    return found


def promotion_entries(conn: Connection, promotion_id: str) -> dict[tuple[str, str, str], int]:
    """``(payer, payee, unit) -> net minor units`` of the ledger entries citing the promotion."""
    e = ledger_entries.c
    query = (
        select(e.payer, e.payee, e.unit, func.sum(e.amount_minor))
        .where(e.deal_id == promotion_id)
        .group_by(e.payer, e.payee, e.unit)
    )
    return {(payer, payee, unit): int(total) for payer, payee, unit, total in conn.execute(query)}
