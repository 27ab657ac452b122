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

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    and_,
    bindparam,
    case,
    func,
    select,
    tuple_,
    update,
)

from alliance.agreement import Agreement
from alliance.giftpacks import CouponState, PackStatus, plan_pack, revocation_reason
from alliance.giftpacks import why_not_qualifying as _why_not
from alliance.orders import Order
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
from alliance.storage.repository import _chunks, _insert
from alliance.storage.schema import UTCDateTime, gift_coupons, gift_packs

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
    "record_note_intents",
    "record_note_sent",
    "record_notes_sent",
    "record_problem",
    "release",
    "renew",
    "settle",
    "settle_all",
]

_ERROR_MAX = 500
PLAN_CHUNK = 200
"""Packs inserted by one statement while planning (their coupons by the next)."""
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
        query = query.order_by(rows.o.sale_at, rows.o.external_id)
        candidates = list(conn.execute(query).scalars())
        stored = repo.stored_orders(conn, member, candidates)
        planned: list[tuple[dict[str, Any], Order]] = []
        for external_id in candidates:
            order = stored.get(external_id)
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
            planned.append((pack_row, order))
        for chunk in _chunks(planned, PLAN_CHUNK):
            # if-new, many rows a statement: the packs another planner was first to are not
            # returned, and their coupons are left to it
            stmt = _insert(conn, gift_packs).on_conflict_do_nothing().returning(gp.trigger_ref)
            inserted = set(conn.execute(stmt, [pack_row for pack_row, _ in chunk]).scalars())
            mine = [order for _, order in chunk if order.ref in inserted]
            coupons = [
                rows.coupon_row(promotion.id, order.ref, plan, now)
                for order in mine
                for plan in plan_pack(agreement, promotion, order.ref, now, key)
            ]
            if coupons:
                conn.execute(_insert(conn, gift_coupons).on_conflict_do_nothing(), coupons)
            result.new += [f"{promotion.id} {member}#{order.number}" for order in mine]
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
    """Store what the issuer learnt; returns the updates it could not store (lease lost).

    One query checks the lease on every pack, one statement (executed for many rows) writes
    every coupon: an issuer records a whole batch call's outcomes at once.
    """
    held = rows.held_among(conn, token, {item.pack for item in updates})
    lost = [item for item in updates if item.pack not in held]
    params = [
        {
            "b_member": item.member,
            "b_code": item.code,
            "b_state": item.state.value,
            "b_error": item.error[:_ERROR_MAX],
            "b_now": now,
            "b_coupon_id": item.coupon_id,
            "b_usage_count": item.usage_count,
            "b_revoked": item.revoked,
            "b_created": item.state is CouponState.CREATED,
        }
        for item in updates
        if item.pack in held
    ]
    if params:
        conn.execute(_RECORD_COUPON, params)
    return lost


_NOW = bindparam("b_now", type_=UTCDateTime)
_RECORD_COUPON = (
    update(gift_coupons)
    .where(gc.member == bindparam("b_member"), gc.code == bindparam("b_code"))
    .values(
        state=bindparam("b_state"),
        error=bindparam("b_error"),
        updated_at=_NOW,
        # kept when the issuer did not learn them
        coupon_id=func.coalesce(bindparam("b_coupon_id", type_=BigInteger), gc.coupon_id),
        usage_count=func.coalesce(bindparam("b_usage_count", type_=BigInteger), gc.usage_count),
        revoked_at=case((bindparam("b_revoked", type_=Boolean), _NOW), else_=gc.revoked_at),
        # when the store was first seen to hold it
        store_created_at=case(
            (and_(bindparam("b_created", type_=Boolean), gc.store_created_at.is_(None)), _NOW),
            else_=gc.store_created_at,
        ),
    )
)
"""One coupon's outcome, as :func:`record_coupons` writes it for many coupons at once."""


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
    record_note_intents(conn, token, [(pack, codes)], now)


def record_note_intents(
    conn: Connection,
    token: str,
    intents: Sequence[tuple[tuple[str, str], Sequence[str]]],
    now: datetime,
) -> None:
    """:func:`record_note_intent` for many packs: ``(pack, codes)`` each; refuses them all
    (:class:`LeaseLost`) when this lease no longer holds one of them."""
    rows.hold_all(conn, token, [key for key, _ in intents])
    if intents:
        conn.execute(
            _NOTE_INTENT,
            [
                {"b_promotion": key[0], "b_ref": key[1], "b_codes": _json(codes), "b_now": now}
                for key, codes in intents
            ],
        )


_PACK_ROW = and_(gp.promotion_id == bindparam("b_promotion"), gp.trigger_ref == bindparam("b_ref"))
_NOTE_INTENT = (
    update(gift_packs)
    .where(_PACK_ROW)
    .values(note_intent_at=_NOW, note_intent_codes=bindparam("b_codes"), updated_at=_NOW)
)


def record_note_sent(
    conn: Connection, token: str, pack: GiftPack, codes: Sequence[str], now: datetime
) -> None:
    """A note listing ``codes`` is on the trigger order (the first one, or a late one after it);
    no ``codes``: the intended note never reached the store. Either way the intent is done."""
    record_notes_sent(conn, token, [(pack, codes)], now)


def record_notes_sent(
    conn: Connection,
    token: str,
    notes: Sequence[tuple[GiftPack, Sequence[str]]],
    now: datetime,
) -> None:
    """:func:`record_note_sent` for many packs; refuses them all (:class:`LeaseLost`) when this
    lease no longer holds one of them."""
    rows.hold_all(conn, token, [pack.key for pack, _ in notes])
    withdrawn, first, late = [], [], []
    for pack, codes in notes:
        params = {"b_promotion": pack.promotion_id, "b_ref": pack.trigger_ref, "b_now": now}
        if not codes:
            withdrawn.append(params)
        elif pack.first_note_at is None:
            first.append(params | {"b_codes": _json(codes)})
        else:
            late.append(params | {"b_codes": _json([*pack.late_note_codes, *codes])})
    for statement, params in ((_NOTE_WITHDRAWN, withdrawn), (_FIRST_NOTE, first),
                              (_LATE_NOTE, late)):  # fmt: skip
        if params:
            conn.execute(statement, params)


_NOTE_DONE = {"note_intent_at": None, "note_intent_codes": "[]", "updated_at": _NOW}
_NOTE_WITHDRAWN = update(gift_packs).where(_PACK_ROW).values(**_NOTE_DONE)
_FIRST_NOTE = (
    update(gift_packs)
    .where(_PACK_ROW)
    .values(**_NOTE_DONE, first_note_at=_NOW, first_note_codes=bindparam("b_codes"))
)
_LATE_NOTE = (
    update(gift_packs)
    .where(_PACK_ROW)
    .values(**_NOTE_DONE, late_note_at=_NOW, late_note_codes=bindparam("b_codes"))
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
    return settle_all(conn, token, {key: deliverable}, now)[key]


def settle_all(
    conn: Connection,
    token: str,
    packs_done: Mapping[tuple[str, str], Collection[str] | None],
    now: datetime,
) -> dict[tuple[str, str], PackStatus]:
    """:func:`settle` for many packs (each with its deliverable codes): one lease check, one
    load, one statement per kind of move; refuses them all (:class:`LeaseLost`) when this lease
    no longer holds one of them."""
    rows.hold_all(conn, token, packs_done)
    current: dict[tuple[str, str], GiftPack] = {}
    for chunk in _chunks(sorted(packs_done)):
        key_in = tuple_(gp.promotion_id, gp.trigger_ref).in_(list(chunk))
        current.update((found.key, found) for found in rows.load(conn, key_in))
    assert len(current) == len(packs_done)  # held: each exists
    statuses: dict[tuple[str, str], PackStatus] = {}
    moves: dict[PackStatus, list[dict[str, Any]]] = {PackStatus.ISSUED: [], PackStatus.REVOKED: []}
    for key, deliverable in packs_done.items():
        found = current[key]
        status = _settled(found, deliverable)
        statuses[key] = status
        if status is not found.status:
            moves[status].append(
                {"b_promotion": key[0], "b_ref": key[1], "b_from": found.status.value, "b_now": now}
            )
    for status, params in moves.items():
        if params:
            conn.execute(_ISSUED if status is PackStatus.ISSUED else _REVOKED, params)
    return statuses


def _settled(pack: GiftPack, deliverable: Collection[str] | None) -> PackStatus:
    """The status the pack's work has earned (see :func:`settle`)."""
    pending = pack.coupons_in(CouponState.PENDING)
    created = pack.coupons_in(CouponState.CREATED)
    if pack.status is PackStatus.ISSUING and not pending:
        wanted = [c.code for c in created if deliverable is None or c.code in deliverable]
        if all(code in pack.delivered for code in wanted):
            return PackStatus.ISSUED
    elif pack.status is PackStatus.REVOKING and not pending and all(c.revoked_at for c in created):
        return PackStatus.REVOKED
    return pack.status


_MOVE = and_(_PACK_ROW, gp.status == bindparam("b_from"))
_ISSUED = (
    update(gift_packs)
    .where(_MOVE)
    .values(status=PackStatus.ISSUED.value, updated_at=_NOW, issued_at=_NOW)
)
_REVOKED = (
    update(gift_packs)
    .where(_MOVE)
    .values(status=PackStatus.REVOKED.value, updated_at=_NOW, revoked_at=_NOW)
)


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
