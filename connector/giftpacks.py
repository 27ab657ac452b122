"""The gift-pack issuing edge: coupons into partners' stores, the note onto the trigger order.

One run (:func:`issue_gift_packs`) plans a pack for every qualifying trigger order that has
none, marks packs whose trigger order was cancelled or refunded for revocation, leases every
open pack it may work on, then:

1. **Revokes**: each coupon of a revoked pack is read back from its store; unused, it is
   expired now; used, it stays valid (and booked). A coupon still pending is looked up by its
   code, since a crash may have created it.
2. **Creates** pending coupons, grouped per partner store across all packs, at most 100 per
   ``POST coupons/batch``. A per-item ``woocommerce_rest_coupon_code_already_exists`` counts as
   created only once ``GET coupons?code=`` shows the same terms (a crash after the store saved
   it); other terms are a failed coupon, never ours to change. A store that throttles, fails
   or is down leaves its coupons pending for the next run: codes are deterministic, so the
   next run converges instead of leaving orphan codes.
3. **Delivers**: once every coupon exists (or the wait for a store that is down is over), one
   customer-facing note on the trigger order lists them; a late note lists the rest. The
   intent is recorded before posting, and a run that finds an intent reads the order's notes
   first, so a crash between posting and recording never sends a note twice.

Links in the note come from ``link_for`` (trigger member, partner, promotion id -> URL): the
composition root hands it in, since signing tracked links is the web app's business and the
connector does not import the web app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine

from alliance.agreement import Agreement, Promotion
from alliance.errors import AllianceError, FatalError, RetriableError
from alliance.giftpack_notes import (
    DEFAULT_NOTE_WAIT,
    NoteDue,
    NoteLine,
    codes_in,
    gives,
    note_due,
)
from alliance.giftpack_notes import note_text as _note_text
from alliance.giftpacks import CouponPlan, CouponState, PackStatus, gift_code_key
from alliance.services import catalog
from alliance.services import giftpacks as packs
from alliance.services.giftpacks import CouponUpdate, GiftCoupon, GiftPack
from connector.errors import NotFound, StoreError
from connector.storefront import CouponOutcome, NewCoupon, Storefront

log = logging.getLogger("alliance.giftpacks")

LinkFor = Callable[[str, str, str], str | None]
"""(trigger member, partner, promotion id) -> a tracked link to the partner's store, or None."""

StoreOpener = Callable[[str], Storefront]
"""member -> its store; raises (a :class:`~alliance.errors.ConfigError`) when it cannot."""

BATCH_MAX = 100
"""Coupons per ``POST coupons/batch``: WooCommerce refuses more with 413."""

EXPIRY_TOLERANCE = timedelta(minutes=1)
"""An existing coupon's expiry may differ this much from the plan (the store keeps seconds)."""

LEASE_TTL = timedelta(minutes=5)
"""How long this run's claim on its packs lasts without renewal (renewed after each call)."""

NOTE_CHUNK = 50
"""Notes whose intents are recorded together (and then recorded as sent together)."""


@dataclass
class PackReport:
    """What became of one pack in this run, for people and for the job log."""

    name: str
    status: str = ""
    created: list[str] = field(default_factory=list)  # partners whose coupon exists
    pending: list[str] = field(default_factory=list)  # "zhang (store unavailable ...)"
    failed: list[str] = field(default_factory=list)  # "zhang: the code exists with ..."
    revoked: list[str] = field(default_factory=list)  # "wang: expired unused", "zhao: kept"
    note: str = ""  # what happened to the note in this run
    problems: list[str] = field(default_factory=list)  # what needs a person

    @property
    def needs_attention(self) -> bool:
        return bool(self.problems or self.failed)


@dataclass
class IssueReport:
    """One run of :func:`issue_gift_packs`."""

    planned: list[str] = field(default_factory=list)
    revoking: list[tuple[str, str]] = field(default_factory=list)
    packs: list[PackReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about stores, not one pack
    requests: int = 0

    @property
    def needs_attention(self) -> bool:
        return bool(self.problems) or any(p.needs_attention for p in self.packs)

    def summary(self) -> dict[str, Any]:
        """Counts for a job's log line: nothing personal, no codes."""
        statuses = [p.status for p in self.packs]
        return {
            "planned": len(self.planned),
            "revoking": len(self.revoking),
            "packs": len(self.packs),
            "issued": statuses.count(PackStatus.ISSUED.value),
            "open": sum(
                s in (PackStatus.ISSUING.value, PackStatus.REVOKING.value) for s in statuses
            ),
            "revoked": statuses.count(PackStatus.REVOKED.value),
            "attention": sum(p.needs_attention for p in self.packs) + len(self.problems),
            "requests": self.requests,
        }


def issue_gift_packs(
    engine: Engine,
    agreement: Agreement,
    *,
    secret: bytes,
    open_store: StoreOpener,
    link_for: LinkFor | None = None,
    promotion_id: str | None = None,
    members: Collection[str] | None = None,
    note_wait: timedelta = DEFAULT_NOTE_WAIT,
    lease_ttl: timedelta = LEASE_TTL,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    plan: bool = True,
) -> IssueReport:
    """Plan, revoke, create and deliver every gift pack in scope (a promotion, trigger members).

    Store errors never escape: they leave coupons pending (a store down, throttling) or mark
    them failed (a refusal), and the report says which, so a scheduled run simply tries again.
    """
    report = IssueReport()
    if plan:
        with engine.begin() as conn:
            planned = packs.plan_packs(
                conn,
                agreement,
                gift_code_key(secret),
                clock(),
                promotion_id=promotion_id,
                members=members,
            )
        report.planned = planned.new
    with engine.begin() as conn:
        report.revoking = packs.mark_revocations(
            conn, clock(), members=members, promotion_id=promotion_id
        )
    token = packs.new_lease_token()
    issuer = _Issuer(engine, agreement, token, open_store, link_for, clock, note_wait, lease_ttl)
    issuer.report = report
    try:
        with engine.begin() as conn:
            held = packs.claim_packs(
                conn, token, clock(), lease_ttl, promotion_id=promotion_id, members=members
            )
        issuer.run(held)
    finally:
        with engine.begin() as conn:
            packs.release(conn, token)
        report.requests = issuer.close()
    return report


class _Issuer:
    """One run's work on the packs it leased."""

    def __init__(
        self,
        engine: Engine,
        agreement: Agreement,
        token: str,
        open_store: StoreOpener,
        link_for: LinkFor | None,
        clock: Callable[[], datetime],
        note_wait: timedelta,
        lease_ttl: timedelta,
    ) -> None:
        self.engine = engine
        self.agreement = agreement
        self.token = token
        self.open_store = open_store
        self.link_for = link_for
        self.clock = clock
        self.note_wait = note_wait
        self.lease_ttl = lease_ttl
        self.report = IssueReport()
        self.stores: dict[str, Storefront | AllianceError] = {}
        self.sent_before: dict[str, int] = {}
        self.pack_reports: dict[tuple[str, str], PackReport] = {}
        self.promotions = {p.id: p for p in agreement.promotions}

    # -- the run ----------------------------------------------------------------------------

    def run(self, held: list[GiftPack]) -> None:
        workable: list[GiftPack] = []
        for pack in held:
            self._pack_report(pack)
            if pack.status is PackStatus.REVOKING:
                workable.append(pack)
            elif (why := self._unworkable(pack)) is not None:
                self._problem(pack, why)
            else:
                workable.append(pack)
        self._revoke([p for p in workable if p.status is PackStatus.REVOKING])
        issuing = [p for p in workable if p.status is PackStatus.ISSUING]
        self._create(issuing)
        self._deliver_all([pack.key for pack in issuing])
        worked = {pack.key for pack in workable}
        with self.engine.begin() as conn:
            done = {pack.key: self._deliverable(pack) for pack in held if pack.key in worked}
            packs.settle_all(conn, self.token, done, self.clock())
            finals = {p.key: p for p in packs.held_packs(conn, self.token)}
        for key, entry in self.pack_reports.items():
            final = finals.get(key)
            if final is not None:
                self._describe(entry, final)
            self.report.packs.append(entry)

    def _unworkable(self, pack: GiftPack) -> str | None:
        """Why an issuing pack cannot be worked on now (it is left as it is), or None."""
        if pack.promotion_id not in self.promotions:
            return (
                f"promotion {pack.promotion_id} is no longer in the agreement; the pack is left "
                "as it is (its coupons stay as they are; nothing more is created or sent)"
            )
        if pack.trigger_member not in self.agreement.members:
            return (
                f"{pack.trigger_member} is no longer a member of the alliance; no note can be "
                "sent on its order, so the pack is left as it is"
            )
        return None

    def close(self) -> int:
        """Close the stores this run opened; returns the requests they sent."""
        sent = 0
        for member, store in self.stores.items():
            if isinstance(store, AllianceError):
                continue
            sent += getattr(store, "requests_sent", 0) - self.sent_before.get(member, 0)
            store.close()
        return sent

    # -- stores -----------------------------------------------------------------------------

    def _store(self, member: str) -> Storefront | AllianceError:
        if member not in self.stores:
            if member not in self.agreement.members:
                self.stores[member] = _Gone(f"{member} is no longer a member of the alliance")
            else:
                try:
                    store = self.open_store(member)
                except AllianceError as exc:
                    self.stores[member] = exc
                    self.report.problems.append(str(exc))
                else:
                    self.stores[member] = store
                    self.sent_before[member] = getattr(store, "requests_sent", 0)
        return self.stores[member]

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        """A transaction that first renews this run's lease."""
        with self.engine.begin() as conn:
            packs.renew(conn, self.token, self.clock(), self.lease_ttl)
            yield conn

    def _record(self, updates: Sequence[CouponUpdate]) -> None:
        if not updates:
            return
        with self._writing() as conn:
            lost = packs.record_coupons(conn, self.token, updates, self.clock())
        for item in lost:
            log.warning("gift pack %s: another issuer holds it now; not recorded", item.pack)

    # -- revocation -------------------------------------------------------------------------

    def _revoke(self, revoking: list[GiftPack]) -> None:
        now = self.clock()
        for pack in revoking:
            updates: list[CouponUpdate] = []
            for coupon in pack.coupons:
                handled = coupon.state is CouponState.CREATED and coupon.revoked_at is None
                if handled or coupon.state is CouponState.PENDING:
                    update = self._revoke_one(pack, coupon, now)
                    if update is not None:
                        updates.append(update)
            self._record(updates)

    def _revoke_one(self, pack: GiftPack, coupon: GiftCoupon, now: datetime) -> CouponUpdate | None:
        entry = self.pack_reports[pack.key]
        member = coupon.member
        store = self._store(member)
        if isinstance(store, _Gone):  # a pending one was, as far as anyone can tell, never made
            why = f"{store}; its coupon could not be checked or expired"
            entry.revoked.append(f"{member}: {why}")
            state = CouponState.REVOKED if coupon.state is CouponState.PENDING else coupon.state
            return _update(pack, coupon, state, error=why, revoked=True)
        if isinstance(store, AllianceError):
            entry.pending.append(f"{member} (revocation waits: {store})")
            if isinstance(store, FatalError):
                entry.problems.append(str(store))
            return _update(pack, coupon, coupon.state, error=str(store))
        try:
            if coupon.coupon_id is not None:
                found = store.get_coupon(coupon.coupon_id)
            else:
                found = store.find_coupon(coupon.code)
                if found is not None and _mismatch(coupon.plan, found) is not None:
                    found = None  # a coupon of the store's own with this code: not ours
            if found is None:
                entry.revoked.append(f"{member}: never created")
                return _update(pack, coupon, CouponState.REVOKED, revoked=True)
            used = _whole(found.get("usage_count"))
            coupon_id = _whole(found.get("id")) or coupon.coupon_id
            if used:
                entry.revoked.append(f"{member}: kept, used {used} time(s)")
                return _update(
                    pack, coupon, CouponState.CREATED, coupon_id=coupon_id, usage=used, revoked=True
                )
            if coupon_id is None:
                raise _NoId()
            store.expire_coupon(coupon_id, now)
        except NotFound:
            entry.revoked.append(f"{member}: no longer in the store")
            return _update(pack, coupon, CouponState.REVOKED, revoked=True)
        except _NoId:
            entry.pending.append(f"{member} (the store's coupon has no id)")
            return None
        except StoreError as exc:
            entry.pending.append(f"{member} (revocation waits: {exc})")
            if isinstance(exc, FatalError):
                entry.problems.append(str(exc))
            return _update(pack, coupon, coupon.state, error=str(exc))
        entry.revoked.append(f"{member}: expired unused")
        return _update(
            pack, coupon, CouponState.REVOKED, coupon_id=coupon_id, usage=0, revoked=True
        )

    # -- creation ---------------------------------------------------------------------------

    def _create(self, issuing: list[GiftPack]) -> None:
        """Every pending coupon, grouped per partner store across packs, 100 per call."""
        by_member: dict[str, list[tuple[GiftPack, GiftCoupon]]] = {}
        refused: list[CouponUpdate] = []
        for pack in issuing:
            promotion = self.promotions[pack.promotion_id]
            rewarded = {reward.member for reward in promotion.rewards}
            for coupon in pack.coupons_in(CouponState.PENDING):
                member = coupon.member
                why = None
                if member not in self.agreement.members:
                    why = f"{member} is no longer a member of the alliance; its coupon was not made"
                elif member not in rewarded:
                    why = f"{promotion.id} no longer gives a gift at {member}; no coupon was made"
                if why is None:
                    by_member.setdefault(member, []).append((pack, coupon))
                else:
                    self.pack_reports[pack.key].failed.append(f"{member}: {why}")
                    refused.append(_update(pack, coupon, CouponState.FAILED, error=why))
        self._record(refused)
        for member, items in by_member.items():
            self._create_at(member, items)

    def _create_at(self, member: str, items: list[tuple[GiftPack, GiftCoupon]]) -> None:
        store = self._store(member)
        if isinstance(store, AllianceError):
            self._wait_all(items, str(store), fatal=isinstance(store, FatalError))
            return
        ready = self._resolved(member, items)
        for start in range(0, len(ready), BATCH_MAX):
            chunk = ready[start : start + BATCH_MAX]
            try:
                outcomes = store.create_coupons([new for _, _, new in chunk])
            except StoreError as exc:
                # down, throttled or refused: what is left stays pending for the next run
                rest = [(pack, coupon) for pack, coupon, _ in ready[start:]]
                self._wait_all(rest, str(exc), fatal=isinstance(exc, FatalError))
                return
            updates = [
                self._outcome(store, pack, coupon, new, outcome)
                for (pack, coupon, new), outcome in zip(chunk, outcomes, strict=True)
            ]
            self._record(updates)

    def _resolved(
        self, member: str, items: list[tuple[GiftPack, GiftCoupon]]
    ) -> list[tuple[GiftPack, GiftCoupon, NewCoupon]]:
        """Each coupon as the store's API takes it, its SKUs turned into the store's product
        ids through the synced catalog; an unknown SKU keeps the coupon pending, with why."""
        wanted = {sku for _, coupon in items for sku in coupon.plan.product_skus}
        ids: dict[str, str] = {}
        has_catalog = True
        if wanted:
            with self.engine.connect() as conn:
                ids = catalog.product_ids_by_sku(conn, member, wanted)
                has_catalog = catalog.has_catalog(conn, member)
        ready, waiting = [], []
        for pack, coupon in items:
            missing = [sku for sku in coupon.plan.product_skus if sku not in ids]
            if not missing:
                product_ids = tuple(int(ids[sku]) for sku in coupon.plan.product_skus)
                ready.append((pack, coupon, _new_coupon(pack, coupon.plan, product_ids)))
                continue
            why = (
                f"unknown SKU {', '.join(missing)} in {member}'s synced catalog; fix the "
                f"reward's products in the agreement, or sync {member} if the product is new"
                if has_catalog
                else f"{member}'s products are not synced yet, so SKU {', '.join(missing)} "
                f"cannot be found; run alliance sync --member {member}"
            )
            entry = self.pack_reports[pack.key]
            entry.pending.append(f"{member} ({why})")
            entry.problems.append(f"{member}: {why}")
            waiting.append(_update(pack, coupon, CouponState.PENDING, error=why))
        self._record(waiting)
        return ready

    def _outcome(
        self,
        store: Storefront,
        pack: GiftPack,
        coupon: GiftCoupon,
        new: NewCoupon,
        outcome: CouponOutcome,
    ) -> CouponUpdate:
        entry = self.pack_reports[pack.key]
        member = coupon.member
        if outcome.ok and not outcome.already_exists:
            entry.created.append(member)
            return _update(pack, coupon, CouponState.CREATED, coupon_id=outcome.coupon_id)
        if not outcome.already_exists and outcome.error_code:
            why = f"{member}'s store refused the coupon: {outcome.error} ({outcome.error_code})"
            entry.failed.append(f"{member}: {why}")
            return _update(pack, coupon, CouponState.FAILED, error=why)
        if not outcome.already_exists:  # no answer for this item: try again next run
            entry.pending.append(f"{member} ({outcome.error})")
            return _update(pack, coupon, CouponState.PENDING, error=outcome.error or "")
        try:
            found = store.find_coupon(coupon.code)
        except StoreError as exc:
            entry.pending.append(f"{member} (checking the existing code: {exc})")
            return _update(pack, coupon, CouponState.PENDING, error=str(exc))
        if found is None:
            why = "the store says the code exists but does not list it; tried again next run"
            entry.pending.append(f"{member} ({why})")
            return _update(pack, coupon, CouponState.PENDING, error=why)
        mismatch = _mismatch(coupon.plan, found, new.product_ids)
        if mismatch is not None:
            why = (
                f"the code already exists in {member}'s store with other terms ({mismatch}); "
                "the alliance does not change a coupon it did not make"
            )
            entry.failed.append(f"{member}: {why}")
            return _update(pack, coupon, CouponState.FAILED, error=why)
        entry.created.append(member)
        return _update(pack, coupon, CouponState.CREATED, coupon_id=_whole(found.get("id")))

    def _wait_all(
        self, items: Sequence[tuple[GiftPack, GiftCoupon]], why: str, *, fatal: bool
    ) -> None:
        updates = []
        for pack, coupon in items:
            entry = self.pack_reports[pack.key]
            entry.pending.append(f"{coupon.member} ({why})")
            if fatal:
                entry.problems.append(why)
            updates.append(_update(pack, coupon, CouponState.PENDING, error=why))
        self._record(updates)

    # -- delivery ---------------------------------------------------------------------------

    def _deliverable(self, pack: GiftPack) -> set[str] | None:
        """Codes a note should list: coupons at partners still in the alliance and still
        rewarded by the promotion (None: the promotion is gone, nothing is checked)."""
        promotion = self.promotions.get(pack.promotion_id)
        if promotion is None:
            return None
        rewarded = {r.member for r in promotion.rewards} & set(self.agreement.members)
        return {c.code for c in pack.coupons if c.member in rewarded}

    def _deliver_all(self, keys: Sequence[tuple[str, str]]) -> None:
        """The notes that are due, :data:`NOTE_CHUNK` at a time: their intents recorded in one
        transaction, posted one by one, recorded as sent in one transaction."""
        with self.engine.connect() as conn:
            fresh = {p.key: p for p in packs.held_packs(conn, self.token)}
        ready: list[tuple[GiftPack, Storefront, NoteDue, str]] = []
        for key in keys:
            pack = fresh.get(key)
            if pack is None or pack.status is not PackStatus.ISSUING:
                continue  # revoked meanwhile: no note
            prepared = self._prepare_note(pack)
            if prepared is not None:
                ready.append(prepared)
        down: set[str] = set()
        for start in range(0, len(ready), NOTE_CHUNK):
            chunk = [item for item in ready[start : start + NOTE_CHUNK] if item[0].trigger_member
                     not in down]  # fmt: skip
            try:
                with self._writing() as conn:
                    intents = [(pack.key, due.codes) for pack, _store, due, _text in chunk]
                    packs.record_note_intents(conn, self.token, intents, self.clock())
            except packs.LeaseLost as exc:
                for pack, *_ in chunk:
                    self.pack_reports[pack.key].note = f"not sent: {exc}"
                continue
            sent, unsent = [], []
            for pack, store, due, text in chunk:
                if pack.trigger_member in down:
                    unsent.append(pack)  # never tried: its intent is withdrawn below
                    continue
                try:
                    store.add_order_note(int(pack.trigger_order_id), text, customer_note=True)
                except StoreError as exc:  # it may have arrived: the intent stays, checked later
                    self.pack_reports[pack.key].note = f"not sent yet: {exc}"
                    if isinstance(exc, FatalError):
                        self.pack_reports[pack.key].problems.append(str(exc))
                    if isinstance(exc, FatalError | RetriableError):
                        down.add(pack.trigger_member)
                    continue
                sent.append((pack, due))
            with self._writing() as conn:
                notes = [(pack, due.codes) for pack, due in sent] + [(pack, ()) for pack in unsent]
                packs.record_notes_sent(conn, self.token, notes, self.clock())
            for pack, due in sent:
                kind = "late note" if due.late else "note"
                more = "; the rest follow" if due.more_follow else ""
                self.pack_reports[
                    pack.key
                ].note = f"{kind} sent listing {len(due.codes)} coupon(s){more}"

    def _prepare_note(self, pack: GiftPack) -> tuple[GiftPack, Storefront, NoteDue, str] | None:
        """The note due on this pack now (after checking an unfinished earlier one), or None."""
        entry = self.pack_reports[pack.key]
        store = self._store(pack.trigger_member)
        if isinstance(store, AllianceError):
            entry.note = f"waits: {store}"
            return None
        try:
            if pack.note_intent_at is not None:
                pack = self._recover_note(store, pack, int(pack.trigger_order_id))
        except packs.LeaseLost as exc:
            entry.note = f"not sent: {exc}"
            return None
        except StoreError as exc:
            entry.note = f"not sent yet: {exc}"
            if isinstance(exc, FatalError):
                entry.problems.append(str(exc))
            return None
        deliverable = self._deliverable(pack) or set()
        created = [c for c in pack.coupons_in(CouponState.CREATED) if c.code in deliverable]
        pending = [c.code for c in pack.coupons_in(CouponState.PENDING)]
        due = note_due(
            created=[c.code for c in created],
            pending=pending,
            delivered=pack.delivered,
            first_sent_at=pack.first_note_at,
            last_sent_at=pack.late_note_at or pack.first_note_at,
            planned_at=pack.qualified_at,
            now=self.clock(),
            wait=self.note_wait,
        )
        if due is None:
            if pending and pack.first_note_at is None:
                entry.note = "waits for the partners' coupons"
            return None
        promotion = self.promotions[pack.promotion_id]
        listed = [c for c in created if c.code in due.codes]
        text = self._note(pack, promotion, listed, late=due.late, more=due.more_follow)
        return pack, store, due, text

    def _recover_note(self, store: Storefront, pack: GiftPack, order_id: int) -> GiftPack:
        """A note was about to be posted when an earlier run stopped: did it arrive?"""
        notes = store.list_order_notes(order_id)
        texts = " ".join(
            str(n.get("note", "")) for n in notes if isinstance(n, dict) and n.get("customer_note")
        )
        found = codes_in(texts, pack.note_intent_codes)
        arrived = [code for code in pack.note_intent_codes if code in found]
        with self._writing() as conn:
            packs.record_note_sent(conn, self.token, pack, arrived, self.clock())
            fresh = packs.pack(conn, pack.key)
        assert fresh is not None
        return fresh

    def _note(
        self,
        pack: GiftPack,
        promotion: Promotion,
        coupons: Sequence[GiftCoupon],
        *,
        late: bool,
        more: bool,
    ) -> str:
        currency = self.agreement.currency
        lines = []
        for coupon in coupons:
            plan = coupon.plan
            member = self.agreement.members[coupon.member]
            link = (
                self.link_for(pack.trigger_member, coupon.member, promotion.id)
                if self.link_for is not None
                else None
            )
            lines.append(
                NoteLine(
                    shop=member.name,
                    label=plan.label,
                    gives=gives(
                        plan.discount_type, plan.amount, currency, minimum=plan.minimum_amount
                    ),
                    code=plan.code,
                    expires_at=plan.expires_at,
                    link=link,
                )
            )
        return _note_text(
            self.agreement.settings.name,
            promotion.description or promotion.id,
            lines,
            timezone=self.agreement.settings.timezone,
            late=late,
            more_follow=more,
        )

    # -- reporting --------------------------------------------------------------------------

    def _pack_report(self, pack: GiftPack) -> PackReport:
        entry = self.pack_reports.get(pack.key)
        if entry is None:
            entry = self.pack_reports[pack.key] = PackReport(pack.name, pack.status.value)
        return entry

    def _problem(self, pack: GiftPack, why: str) -> None:
        self.pack_reports[pack.key].problems.append(why)
        if pack.problem != why:
            with self._writing() as conn:
                packs.record_problem(conn, self.token, pack.key, why)
        log.warning("gift pack %s: %s", pack.name, why)

    def _describe(self, entry: PackReport, final: GiftPack) -> None:
        entry.status = final.status.value
        if final.status is PackStatus.ISSUING and not entry.note and final.first_note_at:
            entry.note = "first note sent earlier"
        for name in ("created", "pending", "failed", "revoked"):
            setattr(entry, name, _unique(getattr(entry, name)))
        entry.problems = _unique(entry.problems)


class _Gone(AllianceError):
    """A partner that is no longer in the agreement: its store is not ours to call."""


class _NoId(Exception):
    """The store's coupon came back without a usable id."""


def _update(
    pack: GiftPack,
    coupon: GiftCoupon,
    state: CouponState,
    *,
    coupon_id: int | None = None,
    error: str = "",
    usage: int | None = None,
    revoked: bool = False,
) -> CouponUpdate:
    return CouponUpdate(
        pack.key, coupon.member, coupon.code, state, coupon_id, error, usage, revoked
    )


def _new_coupon(pack: GiftPack, plan: CouponPlan, product_ids: tuple[int, ...]) -> NewCoupon:
    return NewCoupon(
        code=plan.code,
        amount=plan.amount,
        discount_type=plan.discount_type.value,
        expires_at=plan.expires_at,
        usage_limit=plan.usage_limit,
        usage_limit_per_user=plan.usage_limit_per_user,
        individual_use=plan.individual_use,
        description=plan.description,
        minimum_amount=plan.minimum_amount,
        exclude_sale_items=plan.exclude_sale_items,
        product_ids=product_ids,
        meta={"alliance_gift_pack": pack.promotion_id},
    )


def _mismatch(
    plan: CouponPlan, found: Mapping[str, Any], product_ids: tuple[int, ...] | None = None
) -> str | None:
    """How a coupon the store holds differs from the plan, in words; None when it matches
    (amount, type, limits and expiry within :data:`EXPIRY_TOLERANCE`; products when known)."""
    differences = []
    if found.get("discount_type") != plan.discount_type.value:
        differences.append(
            f"type {found.get('discount_type')!s:.20}, not {plan.discount_type.value}"
        )
    amount = _decimal(found.get("amount"))
    if amount != plan.amount:
        differences.append(f"amount {found.get('amount')!s:.20}, not {plan.amount}")
    for name, wanted in (("usage_limit", 1), ("usage_limit_per_user", 1)):
        if _whole(found.get(name)) != wanted:
            differences.append(f"{name} {found.get(name)!s:.12}, not {wanted}")
    expires = _utc(found.get("date_expires_gmt"))
    if expires is None or abs(expires - plan.expires_at) > EXPIRY_TOLERANCE:
        differences.append(
            f"expiry {found.get('date_expires_gmt')!s:.20}, not {plan.expires_at:%Y-%m-%dT%H:%M:%S}"
        )
    minimum = _decimal(found.get("minimum_amount")) or Decimal(0)
    if minimum != (plan.minimum_amount or Decimal(0)):
        differences.append(f"minimum_amount {found.get('minimum_amount')!s:.20}")
    if product_ids is not None and sorted(_ids(found.get("product_ids"))) != sorted(product_ids):
        differences.append("other products")
    return "; ".join(differences) if differences else None


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        return Decimal(str(value).strip() or "0")
    except InvalidOperation:
        return None


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _ids(value: object) -> list[int]:
    return (
        [i for i in (_whole(v) for v in value) if i is not None] if isinstance(value, list) else []
    )


def _utc(value: object) -> datetime | None:
    """A WooCommerce ``*_gmt`` date (no offset: UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
