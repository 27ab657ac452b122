"""Gift packs: planned once per trigger order, worked under a lease, recorded, settled.

- **Plan.** Trigger orders that qualify (an SQL filter over the ``orders`` table, then the pure
  rule of :mod:`alliance.giftpacks`) and have no pack yet get one, its coupons ``pending``, in
  one transaction. Inserts are if-new, keyed by (promotion, trigger order) and (store, code),
  so planning twice, or two planners at once, still make one pack with one coupon per partner.
- **Revoke.** A pack whose trigger order is now cancelled, failed, refunded in full or trashed
  turns ``revoking``.
- **Lease.** An issuer claims open packs (``issuing``, ``revoking``) for a while
  (``ALLIANCE_LOCK_TTL_SECONDS``, renewed as it goes); every later write checks the lease and
  is refused (:class:`LeaseLost`) once it has moved on, so a stalled issuer changes nothing.
- **Record.** Coupon outcomes, the note about to be posted (so a crash between posting and
  recording is checked against the store's notes instead of posting twice), notes sent, and
  the pack's next status.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, select, update

from alliance.agreement import Agreement
from alliance.giftpacks import CouponState, PackStatus, plan_pack, revocation_reason
from alliance.giftpacks import why_not_qualifying as _why_not
from alliance.storage import giftpacks as rows
from alliance.storage import repository as repo
from alliance.storage.giftpacks import (
    OPEN,
    STANDING,
    GiftCoupon,
    GiftPack,
    LeaseLost,
    claim_packs,
    held_packs,
    new_lease_token,
    release,
    renew,
)
from alliance.storage.repository import _insert
from alliance.storage.schema import gift_coupons, gift_packs

__all__ = [
    "CouponUpdate",
    "GiftCoupon",
    "GiftPack",
    "LeaseLost",
    "Planned",
    "claim_packs",
    "held_packs",
    "leased",
    "mark_revocations",
    "new_lease_token",
    "orders_with_work",
    "pack",
    "packs",
    "plan_packs",
    "record_coupons",
    "record_note_intent",
    "record_note_sent",
    "record_problem",
    "release",
    "renew",
    "settle",
]

_ERROR_MAX = 500
gp, gc = gift_packs.c, gift_coupons.c


@dataclass(frozen=True)
class CouponUpdate:
    """What an issuer learnt about one coupon."""

    pack: tuple[str, str]  # (promotion id, trigger ref)
    member: str
    code: str  # stored (lowercased)
    state: CouponState
    coupon_id: int | None = None
    error: str = ""
    usage_count: int | None = None
    revoked: bool = False  # revocation handled it (expired, kept because used, or unreachable)


@dataclass
class Planned:
    """What :func:`plan_packs` did."""

    new: list[str] = field(default_factory=list)  # names of the packs planned now
    skipped: list[str] = field(default_factory=list)  # orders the SQL found but the rule refused


# -- planning -----------------------------------------------------------------------------


def plan_packs(
    conn: Connection,
    agreement: Agreement,
    key: bytes,
    now: datetime,
    *,
    promotion_id: str | None = None,
    members: Collection[str] | None = None,
    order_ids: Collection[str] | None = None,
) -> Planned:
    """A pack (and its pending coupons) for every qualifying trigger order that has none.

    ``key`` is :func:`alliance.giftpacks.gift_code_key` of the alliance secret; ``now`` is the
    issue time the coupons expire from.
    """
    result = Planned()
    timezone = agreement.settings.timezone
    for promotion in agreement.promotions:
        member = promotion.trigger_member
        if promotion_id is not None and promotion.id != promotion_id:
            continue
        if members is not None and member not in members:
            continue
        query = rows.qualifying_orders(agreement, promotion)
        if order_ids is not None:
            query = query.where(rows.o.external_id.in_(list(order_ids)))
        candidates = conn.execute(query.order_by(rows.o.sale_at, rows.o.external_id)).scalars()
        for external_id in list(candidates):
            order = repo.stored_order(conn, member, external_id)
            if order is None:
                continue
            why = _why_not(order, promotion, timezone)
            if why is not None:
                result.skipped.append(f"{promotion.id} {member}#{order.number}: {why}")
                continue
            pack_row = {
                "promotion_id": promotion.id,
                "trigger_ref": order.ref,
                "trigger_member": member,
                "trigger_order_id": order.external_id,
                "trigger_order_number": order.number,
                "sale_at": order.sale_date,
                "qualified_at": now,
                "status": PackStatus.ISSUING.value,
                "agreement_version": agreement.version,
                "updated_at": now,
            }
            stmt = _insert(conn, gift_packs).values(**pack_row).on_conflict_do_nothing()
            if conn.execute(stmt.returning(gp.trigger_ref)).first() is None:
                continue  # another planner was first: its pack stands
            coupons = [
                rows.coupon_row(promotion.id, order.ref, plan, now)
                for plan in plan_pack(agreement, promotion, order.ref, now, key)
            ]
            conn.execute(_insert(conn, gift_coupons).on_conflict_do_nothing(), coupons)
            result.new.append(f"{promotion.id} {member}#{order.number}")
    return result


# -- revocation ---------------------------------------------------------------------------


def mark_revocations(
    conn: Connection,
    now: datetime,
    *,
    members: Collection[str] | None = None,
    promotion_id: str | None = None,
) -> list[tuple[str, str]]:
    """Packs whose trigger order no longer earns them turn ``revoking``: ``(pack, reason)``.

    A pack being issued right now turns too: its issuer records what it created, sends no
    note, and the next run expires what is unused.
    """
    query = rows.revocable_packs()
    if members is not None:
        query = query.where(gp.trigger_member.in_(list(members)))
    if promotion_id is not None:
        query = query.where(gp.promotion_id == promotion_id)
    marked = []
    for promotion, ref, member, external_id, number in conn.execute(query).all():
        order = repo.stored_order(conn, member, external_id)
        reason = revocation_reason(order) if order is not None else None
        if reason is None:
            continue
        changed = conn.execute(
            update(gift_packs)
            .where(gp.promotion_id == promotion, gp.trigger_ref == ref, gp.status.in_(STANDING))
            .values(status=PackStatus.REVOKING.value, revoke_reason=reason[:200], updated_at=now)
        )
        if changed.rowcount:
            marked.append((f"{promotion} {member}#{number}", reason))
    return marked


# -- recording ----------------------------------------------------------------------------


def record_coupons(
    conn: Connection, token: str, updates: Sequence[CouponUpdate], now: datetime
) -> list[CouponUpdate]:
    """Store what the issuer learnt; returns the updates it could not store (lease lost)."""
    lost: list[CouponUpdate] = []
    held: dict[tuple[str, str], bool] = {}
    for item in updates:
        if item.pack not in held:
            try:
                rows.hold(conn, token, item.pack)
                held[item.pack] = True
            except LeaseLost:
                held[item.pack] = False
        if not held[item.pack]:
            lost.append(item)
            continue
        values: dict[str, Any] = {
            "state": item.state.value,
            "error": item.error[:_ERROR_MAX],
            "updated_at": now,
        }
        if item.coupon_id is not None:
            values["coupon_id"] = item.coupon_id
        if item.usage_count is not None:
            values["usage_count"] = item.usage_count
        if item.revoked:
            values["revoked_at"] = now
        where = and_(gc.member == item.member, gc.code == item.code)
        conn.execute(update(gift_coupons).where(where).values(values))
        if item.state is CouponState.CREATED:
            first_seen = and_(where, gc.store_created_at.is_(None))
            conn.execute(update(gift_coupons).where(first_seen).values(store_created_at=now))
    return lost


def record_problem(conn: Connection, token: str, pack: tuple[str, str], problem: str) -> None:
    """What needs a person about the pack as a whole ("" clears it)."""
    rows.hold(conn, token, pack)
    conn.execute(
        update(gift_packs)
        .where(gp.promotion_id == pack[0], gp.trigger_ref == pack[1])
        .values(problem=problem[:_ERROR_MAX])
    )


def record_note_intent(
    conn: Connection, token: str, pack: tuple[str, str], codes: Sequence[str], now: datetime
) -> None:
    """A note listing ``codes`` is about to be posted: if the issuer dies before recording it,
    the next one reads the order's notes before posting again."""
    rows.hold(conn, token, pack)
    conn.execute(
        update(gift_packs)
        .where(gp.promotion_id == pack[0], gp.trigger_ref == pack[1])
        .values(note_intent_at=now, note_intent_codes=_json(codes), updated_at=now)
    )


def record_note_sent(
    conn: Connection, token: str, pack: GiftPack, codes: Sequence[str], now: datetime
) -> None:
    """A note listing ``codes`` is on the trigger order (the first one, or a late one after it);
    no ``codes``: the intended note never reached the store. Either way the intent is done."""
    rows.hold(conn, token, pack.key)
    values: dict[str, Any] = {"note_intent_at": None, "note_intent_codes": "[]", "updated_at": now}
    if codes and pack.first_note_at is None:
        values |= {"first_note_at": now, "first_note_codes": _json(codes)}
    elif codes:
        values |= {"late_note_at": now, "late_note_codes": _json([*pack.late_note_codes, *codes])}
    conn.execute(
        update(gift_packs)
        .where(gp.promotion_id == pack.promotion_id, gp.trigger_ref == pack.trigger_ref)
        .values(values)
    )


def settle(
    conn: Connection,
    token: str,
    key: tuple[str, str],
    now: datetime,
    deliverable: Collection[str] | None = None,
) -> PackStatus:
    """Move the pack on when its work is done: ``issuing`` -> ``issued`` once nothing is
    pending and every deliverable coupon was in a note; ``revoking`` -> ``revoked`` once every
    coupon was handled. ``deliverable``: codes a note should list (default: the created ones).
    """
    rows.hold(conn, token, key)
    current = pack(conn, key)
    assert current is not None  # held: it exists
    status = current.status
    pending = current.coupons_in(CouponState.PENDING)
    created = current.coupons_in(CouponState.CREATED)
    if status is PackStatus.ISSUING and not pending:
        wanted = [c.code for c in created if deliverable is None or c.code in deliverable]
        if all(code in current.delivered for code in wanted):
            status = PackStatus.ISSUED
    elif status is PackStatus.REVOKING and not pending and all(c.revoked_at for c in created):
        status = PackStatus.REVOKED
    if status is not current.status:
        stamp = {"issued_at": now} if status is PackStatus.ISSUED else {"revoked_at": now}
        conn.execute(
            update(gift_packs)
            .where(
                gp.promotion_id == key[0],
                gp.trigger_ref == key[1],
                gp.status == current.status.value,
            )
            .values(status=status.value, updated_at=now, **stamp)
        )
    return status


# -- reading ------------------------------------------------------------------------------


def pack(conn: Connection, key: tuple[str, str]) -> GiftPack | None:
    found = rows.load(conn, and_(gp.promotion_id == key[0], gp.trigger_ref == key[1]))
    return found[0] if found else None


def packs(
    conn: Connection,
    *,
    promotion_id: str | None = None,
    statuses: Iterable[PackStatus] | None = None,
) -> list[GiftPack]:
    """Every pack (with its coupons), oldest sale first: what reports are built from."""
    condition = gp.promotion_id.is_not(None)
    if promotion_id is not None:
        condition = and_(condition, gp.promotion_id == promotion_id)
    if statuses is not None:
        condition = and_(condition, gp.status.in_([s.value for s in statuses]))
    return rows.load(conn, condition)


def leased(conn: Connection, member: str, now: datetime) -> bool:
    """Whether an issuer is working on one of the member's packs right now."""
    query = select(gp.trigger_ref).where(gp.trigger_member == member, gp.lease_until > now)
    return conn.execute(query.limit(1)).first() is not None


def orders_with_work(conn: Connection, agreement: Agreement, member: str) -> list[str]:
    """The member's trigger orders (store ids) a gift-pack job should look at now: qualifying
    without a pack, packs still open, and standing packs whose order must be revoked."""
    found: set[str] = set()
    for promotion in agreement.promotions:
        if promotion.trigger_member == member:
            found.update(conn.execute(rows.qualifying_orders(agreement, promotion)).scalars())
    revocable = rows.revocable_packs().where(gp.trigger_member == member)
    found.update(row.trigger_order_id for row in conn.execute(revocable))
    still_open = select(gp.trigger_order_id).where(gp.trigger_member == member, gp.status.in_(OPEN))
    found.update(conn.execute(still_open).scalars())
    return sorted(found, key=lambda ref: (len(ref), ref))


def _json(codes: Iterable[str]) -> str:
    return orjson.dumps(list(codes)).decode()
