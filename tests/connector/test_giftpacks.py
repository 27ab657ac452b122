"""Issuing gift packs for real: Li's qualifying orders, coupons created over HTTP in the
partners' sandbox stores, the customer note on Li's order, faults, revocation, departures."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from alliance.giftpacks import CouponState, PackStatus, gift_code, gift_code_key
from alliance.services import giftpacks as packs
from alliance.storage.schema import gift_coupons, gift_packs
from connector.sandbox.server import start_sandbox
from connector.storefront import NewCoupon
from tests.connector.giftpack_support import (
    KEY,
    LINKS,
    PARTNERS,
    GiftAlliance,
    gift_alliance,
    li_order,
    without_promotion,
    without_zhao,
)

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def alliance(tmp_path: Path):
    with gift_alliance(tmp_path) as built:
        built.now = T0
        yield built


def batch_calls(alliance: GiftAlliance, member: str) -> int:
    log = alliance.stores[member].state.request_log
    return sum(1 for method, path, *_ in log if method == "POST" and path.endswith("coupons/batch"))


def code_for(order_id: int, member: str) -> str:
    return gift_code(gift_code_key(KEY), "newborn-gift-pack", f"li/{order_id}", member, "RPA")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- issuing ------------------------------------------------------------------------------


def test_a_qualifying_order_gets_one_pack_with_one_coupon_per_partner_and_one_note(alliance):
    report = alliance.issue()
    assert sorted(report.planned) == ["newborn-gift-pack li#1001", "newborn-gift-pack li#1002"]
    assert [p.status for p in report.packs] == ["issued", "issued"]
    assert not report.needs_attention
    assert report.requests == 3 + 2  # one batch per partner store, one note per pack

    expires = T0 + timedelta(days=60)
    for member, (kind, amount) in {
        "wang": ("fixed_cart", "30.00"),
        "zhang": ("fixed_cart", "20.00"),
        "zhao": ("percent", "15.00"),
    }.items():
        coupons = alliance.coupons(member)
        assert set(coupons) == {code_for(1001, member).lower(), code_for(1002, member).lower()}
        coupon = coupons[code_for(1001, member).lower()]
        assert (coupon["discount_type"], coupon["amount"]) == (kind, amount)
        assert (coupon["usage_limit"], coupon["usage_limit_per_user"]) == (1, 1)
        assert coupon["date_expires_gmt"] == expires.strftime("%Y-%m-%dT%H:%M:%S")
        assert coupon["email_restrictions"] == []
        assert "newborn-gift-pack" in coupon["description"]
        assert "Li's Organic Baby Clothes" in coupon["description"]

    (note,) = alliance.notes(1001)
    for member, shop in (("wang", "Wang's Natural Baby Care"), ("zhang", "Zhang's Early"),
                         ("zhao", "Zhao Newborn Photography")):  # fmt: skip
        assert shop in note and code_for(1001, member) in note
        assert f"{LINKS}/r/li-{member}-newborn-gift-pack" in note
    assert "Baby-wash trial set: 30.00 CNY off" in note and "15% off" in note
    assert "valid until 2027-02-05" in note  # T0 + 60 days, in Shanghai
    assert "follow" not in note
    assert len(alliance.notes(1002)) == 1 and alliance.notes(1003) == []
    customer = alliance.stores["li"].state.sent_emails()
    assert len(customer) == 2  # the store mailed each customer its note

    pack = alliance.pack(1001)
    assert pack.status is PackStatus.ISSUED and pack.issued_at == T0
    assert set(pack.first_note_codes) == {code_for(1001, m).lower() for m in PARTNERS}
    assert all(c.state is CouponState.CREATED and c.coupon_id for c in pack.coupons)


def test_the_same_order_processed_twice_still_has_one_pack(alliance):
    alliance.issue()
    again = alliance.issue()
    assert again.planned == [] and again.packs == [] and again.requests == 0
    alliance.sync("li")  # the sync's overlap reads the orders again
    with alliance.engine.begin() as conn:
        planned = packs.plan_packs(conn, alliance.agreement, gift_code_key(KEY), T0)
    assert planned.new == []
    assert len(alliance.packs()) == 2
    for member in PARTNERS:
        assert len(alliance.coupons(member)) == 2
    assert len(alliance.notes(1001)) == 1


def test_coupons_of_many_packs_share_the_batch_calls(tmp_path: Path):
    orders = [li_order(2000 + n, "300.00") for n in range(150)]
    with gift_alliance(tmp_path, orders=orders) as alliance:
        report = alliance.issue()
        assert len(report.planned) == 150
        for member in PARTNERS:
            assert batch_calls(alliance, member) == 2  # 100 + 50, not 150
            assert len(alliance.coupons(member)) == 150
        assert report.requests == 3 * 2 + 150
        assert all(len(alliance.notes(2000 + n)) == 1 for n in range(150))


# -- per-item failures inside a 200 --------------------------------------------------------


def test_a_batch_with_refused_items_fails_them_with_reasons_and_creates_the_rest(tmp_path: Path):
    taken = {"code": code_for(1001, "wang"), "amount": "25.00", "discount_type": "fixed_cart"}
    with gift_alliance(tmp_path, coupons={"wang": [taken]}) as alliance:
        with alliance.engine.begin() as conn:
            packs.plan_packs(conn, alliance.agreement, gift_code_key(KEY), T0)
            conn.execute(  # a plan the store refuses: a negative amount
                update(gift_coupons)
                .where(gift_coupons.c.code == code_for(1001, "zhang").lower())
                .values(amount="-5")
            )
        report = alliance.issue()
        assert batch_calls(alliance, "wang") == 1 and batch_calls(alliance, "zhang") == 1
        assert report.needs_attention
        entry = next(p for p in report.packs if p.name.endswith("#1001"))
        wang, zhang = sorted(entry.failed)
        assert "already exists in wang's store with other terms (amount 25.00, not 30.00;" in wang
        assert zhang.startswith("zhang: zhang's store refused the coupon") and "amount" in zhang
        assert alliance.states(1001) == {
            "wang": CouponState.FAILED,
            "zhang": CouponState.FAILED,
            "zhao": CouponState.CREATED,
        }
        assert alliance.coupons("wang")[code_for(1001, "wang").lower()]["amount"] == "25.00"
        assert code_for(1001, "zhang").lower() not in alliance.coupons("zhang")
        (note,) = alliance.notes(1001)  # the customer gets what exists; failures need a person
        assert code_for(1001, "zhao") in note and code_for(1001, "wang") not in note
        assert alliance.status(1001) is PackStatus.ISSUED
        assert alliance.states(1002) == dict.fromkeys(PARTNERS, CouponState.CREATED)


def test_a_code_already_in_the_store_with_the_same_terms_counts_as_created(alliance):
    with alliance.engine.begin() as conn:
        packs.plan_packs(conn, alliance.agreement, gift_code_key(KEY), T0)
    (wang,) = [c for c in alliance.pack(1001).coupons if c.member == "wang"]
    # a run created it at Wang, then died before recording it
    plan = wang.plan
    made = NewCoupon(plan.code, plan.amount, plan.discount_type.value, plan.expires_at,
                     usage_limit=1, usage_limit_per_user=1)  # fmt: skip
    assert alliance.store("wang").create_coupons([made])[0].coupon_id
    report = alliance.issue()
    assert not report.needs_attention
    assert alliance.states(1001) == dict.fromkeys(PARTNERS, CouponState.CREATED)
    assert len(alliance.coupons("wang")) == 2  # no second copy
    assert alliance.pack(1001).coupons[0].coupon_id


# -- a store that throttles, fails or is down ------------------------------------------------


@pytest.mark.parametrize("fault", ["429@next=1@path=coupons/batch", "503@next=1@path=coupons"])
def test_a_throttled_or_failing_store_mid_issuing_completes_on_the_next_run(alliance, fault):
    alliance.stores["zhang"].faults.set(fault)
    first = alliance.issue()
    assert all(p.status == "issuing" for p in first.packs)
    assert alliance.states(1001)["zhang"] is CouponState.PENDING
    assert alliance.states(1001)["wang"] is CouponState.CREATED
    assert alliance.notes(1001) == []  # waits for Zhang
    assert not first.needs_attention  # a store that will come back needs nobody

    second = alliance.issue()
    assert [p.status for p in second.packs] == ["issued", "issued"]
    assert len(alliance.coupons("zhang")) == 2
    for member in PARTNERS:
        assert len(alliance.coupons(member)) == 2  # nothing created twice
    (note,) = alliance.notes(1001)
    assert all(code_for(1001, m) in note for m in PARTNERS)


def test_a_partner_store_down_for_an_hour_gets_a_late_note(alliance):
    zhao = alliance.stores["zhao"]
    port = int(zhao.url.rsplit(":", 1)[1])
    zhao.stop()
    alliance.issue()
    assert alliance.states(1001)["zhao"] is CouponState.PENDING
    assert alliance.notes(1001) == []

    alliance.now = T0 + timedelta(minutes=30)
    alliance.issue()
    assert alliance.notes(1001) == []  # still within the wait

    alliance.now = T0 + timedelta(minutes=61)
    report = alliance.issue()
    (first,) = alliance.notes(1001)
    assert code_for(1001, "wang") in first and code_for(1001, "zhang") in first
    assert code_for(1001, "zhao") not in first and "follow in another note" in first
    entry = next(p for p in report.packs if p.name.endswith("#1001"))
    assert entry.note == "note sent listing 2 coupon(s); the rest follow"
    assert alliance.status(1001) is PackStatus.ISSUING

    with start_sandbox(port=port, keys=zhao.keys) as back:  # the store is up again
        alliance.stores["zhao"] = back
        alliance.now = T0 + timedelta(minutes=90)
        alliance.issue()
        first_again, late = alliance.notes(1001)
        assert first_again == first
        assert code_for(1001, "zhao") in late and code_for(1001, "wang") not in late
        assert late.startswith("As promised")
        assert set(alliance.coupons("zhao")) == {code_for(n, "zhao").lower() for n in (1001, 1002)}
        pack = alliance.pack(1001)
        assert pack.status is PackStatus.ISSUED
        assert pack.late_note_codes == (code_for(1001, "zhao").lower(),)
        assert len(alliance.stores["li"].state.sent_emails()) == 4  # two notes per pack


# -- notes survive a crash between posting and recording ----------------------------------


def test_a_note_posted_but_not_recorded_is_found_in_the_store_and_not_sent_again(alliance):
    alliance.issue()
    pack = alliance.pack(1001)
    with alliance.engine.begin() as conn:  # as if the run died right after posting
        conn.execute(
            update(gift_packs)
            .where(gift_packs.c.trigger_ref == "li/1001")
            .values(
                status="issuing",
                issued_at=None,
                first_note_at=None,
                first_note_codes="[]",
                note_intent_at=T0,
                note_intent_codes=gift_packs.c.first_note_codes,
            )
        )
    report = alliance.issue()
    assert len(alliance.notes(1001)) == 1
    again = alliance.pack(1001)
    assert again.status is PackStatus.ISSUED
    assert set(again.first_note_codes) == set(pack.first_note_codes)
    assert again.note_intent_at is None
    assert [p.name for p in report.packs] == ["newborn-gift-pack li#1001"]


def test_a_note_intended_but_never_posted_is_posted_once(alliance):
    alliance.stores["zhao"].faults.set("503@path=coupons")
    alliance.issue()
    codes = sorted(c.code for c in alliance.pack(1001).coupons if c.member != "zhao")
    with alliance.engine.begin() as conn:  # as if the run died right before posting
        conn.execute(
            update(gift_packs)
            .where(gift_packs.c.trigger_ref == "li/1001")
            .values(note_intent_at=T0, note_intent_codes=f'["{codes[0]}","{codes[1]}"]')
        )
    alliance.stores["zhao"].faults.clear()
    alliance.issue()
    (note,) = alliance.notes(1001)
    assert all(code_for(1001, m) in note for m in PARTNERS)
    assert alliance.status(1001) is PackStatus.ISSUED


# -- revocation ---------------------------------------------------------------------------


def redeem(alliance: GiftAlliance, member: str, code: str, product: int) -> dict:
    return alliance.stores[member].state.checkout(
        {
            "line_items": [{"product_id": product, "quantity": 2}],
            "coupon_lines": [{"code": code}],
            "billing": {"email": "mother@example.com", "country": "CN"},
        }
    )


def test_a_refund_in_full_expires_unused_coupons_and_keeps_used_ones(alliance):
    alliance.issue()
    redeem(alliance, "wang", code_for(1001, "wang"), 501)
    li = alliance.stores["li"].state
    li.update_order(1001, {"status": "refunded"})
    li.refund(1002, "200.00", "one item returned")  # partial: 1002 keeps its pack
    alliance.sync("li")
    alliance.now = T0 + timedelta(days=3)
    report = alliance.issue()
    assert report.revoking == [("newborn-gift-pack li#1001", "the trigger order is refunded")]
    entry = next(p for p in report.packs if p.name.endswith("#1001"))
    assert sorted(entry.revoked) == [
        "wang: kept, used 1 time(s)",
        "zhang: expired unused",
        "zhao: expired unused",
    ]
    pack = alliance.pack(1001)
    assert pack.status is PackStatus.REVOKED and pack.revoked_at == alliance.now
    assert alliance.states(1001) == {
        "wang": CouponState.CREATED,
        "zhang": CouponState.REVOKED,
        "zhao": CouponState.REVOKED,
    }
    now_text = alliance.now.strftime("%Y-%m-%dT%H:%M:%S")
    assert alliance.coupons("zhang")[code_for(1001, "zhang").lower()]["date_expires_gmt"] == (
        now_text
    )
    wang = alliance.coupons("wang")[code_for(1001, "wang").lower()]
    assert wang["usage_count"] == 1 and wang["date_expires_gmt"] > now_text
    assert alliance.status(1002) is PackStatus.ISSUED  # a partial refund never revokes
    assert alliance.issue().packs == []  # nothing left to do


def test_an_order_cancelled_while_its_pack_is_issued_gets_no_note_and_no_late_coupon(alliance):
    alliance.stores["zhang"].faults.set("503@path=coupons")
    alliance.issue()  # Wang and Zhao created, Zhang pending, the note waits
    alliance.stores["li"].state.update_order(1001, {"status": "cancelled"})
    alliance.sync("li")
    alliance.stores["zhang"].faults.clear()
    alliance.now = T0 + timedelta(hours=2)
    alliance.issue()
    assert alliance.notes(1001) == []
    assert alliance.status(1001) is PackStatus.REVOKED
    assert alliance.states(1001) == dict.fromkeys(PARTNERS, CouponState.REVOKED)
    assert code_for(1001, "zhang").lower() not in alliance.coupons("zhang")  # never made
    for member in ("wang", "zhao"):
        expired = alliance.coupons(member)[code_for(1001, member).lower()]["date_expires_gmt"]
        assert expired == alliance.now.strftime("%Y-%m-%dT%H:%M:%S")
    assert alliance.status(1002) is PackStatus.ISSUED  # the other order's pack completed


# -- the agreement changed ------------------------------------------------------------------


def test_a_partner_that_left_the_alliance_gets_no_coupon_and_the_pack_completes(alliance):
    alliance.stores["zhao"].faults.set("503@path=coupons")
    alliance.issue()
    alliance.reconfigure(without_zhao)
    report = alliance.issue()
    entry = next(p for p in report.packs if p.name.endswith("#1001"))
    assert entry.failed == [
        "zhao: zhao is no longer a member of the alliance; its coupon was not made"
    ]
    assert alliance.states(1001)["zhao"] is CouponState.FAILED
    (note,) = alliance.notes(1001)
    assert code_for(1001, "zhao") not in note and "Zhao" not in note
    assert code_for(1001, "wang") in note
    assert alliance.status(1001) is PackStatus.ISSUED


def test_a_revocation_after_a_partner_left_says_its_coupon_was_not_expired(alliance):
    alliance.issue()
    alliance.reconfigure(without_zhao)
    alliance.stores["li"].state.update_order(1001, {"status": "cancelled"})
    alliance.sync("li")
    report = alliance.issue()
    entry = next(p for p in report.packs if p.name.endswith("#1001"))
    assert "zhao: zhao is no longer a member of the alliance; its coupon could not be checked" in (
        " ".join(entry.revoked)
    )
    assert alliance.status(1001) is PackStatus.REVOKED
    zhao = alliance.coupons("zhao")[code_for(1001, "zhao").lower()]
    assert zhao["date_expires_gmt"] > alliance.now.strftime("%Y-%m-%dT%H:%M:%S")  # untouched


def test_a_promotion_removed_from_the_agreement_leaves_its_open_packs_alone(alliance):
    alliance.stores["zhao"].faults.set("503@path=coupons")
    alliance.issue()
    alliance.reconfigure(without_promotion)
    alliance.stores["zhao"].faults.clear()
    alliance.now = T0 + timedelta(hours=3)
    report = alliance.issue()
    assert report.needs_attention and report.planned == []
    assert all("no longer in the agreement" in p.problems[0] for p in report.packs)
    assert alliance.coupons("zhao") == {}  # nothing more is created
    assert alliance.notes(1001) == []  # nor sent
    assert alliance.pack(1001).problem.startswith("promotion newborn-gift-pack is no longer")


# -- rewards limited to products ------------------------------------------------------------


def sample_of(sku: str):
    def edit(text: str) -> str:
        old = '{ member = "wang",  discount_type = "fixed_cart", amount = "30.00"'
        new = f'{{ member = "wang", products = ["{sku}"], discount_type = "percent", amount = "100"'
        assert old in text
        return text.replace(old, new)

    return edit


def test_a_reward_on_one_product_resolves_its_sku_through_the_synced_catalog(tmp_path: Path):
    with gift_alliance(tmp_path, extra=sample_of("SKU-501")) as alliance:
        alliance.issue()
        coupon = alliance.coupons("wang")[code_for(1001, "wang").lower()]
        assert (coupon["discount_type"], coupon["amount"]) == ("percent", "100.00")
        assert coupon["product_ids"] == [501]
        (note,) = alliance.notes(1001)
        assert "Baby-wash trial set: 100% off" in note


def test_an_unknown_sku_is_a_clear_problem_and_the_coupon_waits_for_a_fix(tmp_path: Path):
    with gift_alliance(tmp_path, extra=sample_of("SKU-999")) as alliance:
        alliance.now = T0
        report = alliance.issue()
        assert report.needs_attention
        entry = next(p for p in report.packs if p.name.endswith("#1001"))
        assert entry.problems == [
            "wang: unknown SKU SKU-999 in wang's synced catalog; fix the reward's products in "
            "the agreement, or sync wang if the product is new"
        ]
        assert alliance.states(1001)["wang"] is CouponState.PENDING
        assert alliance.coupons("wang") == {}
        alliance.reconfigure(sample_of("SKU-502"))  # the agreement fixed; the pack keeps its plan
        with alliance.engine.begin() as conn:
            conn.execute(update(gift_coupons).where(gift_coupons.c.member == "wang")
                         .values(product_skus='["SKU-502"]'))  # fmt: skip
        alliance.issue()
        assert alliance.coupons("wang")[code_for(1001, "wang").lower()]["product_ids"] == [502]


def test_a_batch_whose_answer_was_lost_after_the_store_saved_it_converges(alliance):
    alliance.stores["zhang"].faults.set("disconnect@next=1@path=coupons/batch")
    alliance.issue()  # the store made the coupons; the answer never came back
    assert alliance.states(1001)["zhang"] is CouponState.PENDING
    assert len(alliance.coupons("zhang")) == 2
    report = alliance.issue()
    assert not report.needs_attention
    assert alliance.states(1001) == dict.fromkeys(PARTNERS, CouponState.CREATED)
    assert len(alliance.coupons("zhang")) == 2  # found and checked, not made twice
    log = alliance.stores["zhang"].state.request_log
    lookups = [p for m, p, *_ in log if m == "GET" and p.endswith("/coupons")]
    assert len(lookups) == 2  # one GET coupons?code= per code the store already had
    assert len(alliance.notes(1001)) == 1
