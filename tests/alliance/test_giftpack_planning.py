"""Gift packs in the database (SQLite and PostgreSQL): planned once per order, even by two
planners at once; leased to one issuer at a time; revoked when the trigger order is."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from alliance.giftpacks import CouponState, PackStatus, gift_code_key
from alliance.services import giftpacks as packs
from alliance.services.booking import book_orders
from alliance.storage.schema import gift_coupons, gift_packs
from tests.conftest import SECRET
from tests.factories import make_order, utc

KEY = gift_code_key(SECRET.encode())
NOW = utc(2026, 12, 6, 1, 0)
TTL = timedelta(minutes=5)


def li(order_id: str, **kw):
    kw.setdefault("items", "320.00")
    return make_order("li", order_id, created=utc(2026, 12, 5, 2, 0), **kw)


def count(engine: Engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def booked(engine: Engine, agreement):
    book_orders(engine, agreement, [li("1"), li("2"), li("3", items="100.00")])
    return engine


def test_qualifying_orders_get_one_pack_each_with_pending_coupons(booked, agreement):
    with booked.begin() as conn:
        planned = packs.plan_packs(conn, agreement, KEY, NOW)
    assert planned.new == ["newborn-gift-pack li#1", "newborn-gift-pack li#2"]
    with booked.begin() as conn:
        assert packs.plan_packs(conn, agreement, KEY, NOW).new == []
    assert (count(booked, gift_packs), count(booked, gift_coupons)) == (2, 6)
    with booked.connect() as conn:
        (first, _) = packs.packs(conn)
    assert first.status is PackStatus.ISSUING and first.qualified_at == NOW
    assert [(c.member, c.state) for c in first.coupons] == [
        (m, CouponState.PENDING) for m in ("wang", "zhang", "zhao")
    ]


def test_two_planners_at_once_still_make_one_pack_per_order(booked, agreement):
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def plan() -> None:
        with booked.begin() as conn:
            barrier.wait()
            results.append(packs.plan_packs(conn, agreement, KEY, NOW).new)

    threads = [threading.Thread(target=plan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) in ([0, 2], [1, 1])
    assert (count(booked, gift_packs), count(booked, gift_coupons)) == (2, 6)


def test_a_lease_goes_to_one_issuer_and_is_free_again_once_it_expires(booked, agreement):
    with booked.begin() as conn:
        packs.plan_packs(conn, agreement, KEY, NOW)
        mine = packs.claim_packs(conn, "a" * 32, NOW, TTL)
        theirs = packs.claim_packs(conn, "b" * 32, NOW + timedelta(minutes=1), TTL)
    assert len(mine) == 2 and theirs == []
    with booked.begin() as conn:
        later = packs.claim_packs(conn, "b" * 32, NOW + TTL + timedelta(seconds=1), TTL)
    assert len(later) == 2
    with booked.begin() as conn, pytest.raises(packs.LeaseLost):
        packs.record_note_intent(conn, "a" * 32, later[0].key, ["x"], NOW)
    update = packs.CouponUpdate(later[0].key, "wang", later[0].coupons[0].code,
                                CouponState.CREATED, coupon_id=7)  # fmt: skip
    with booked.begin() as conn:
        assert packs.record_coupons(conn, "a" * 32, [update], NOW) == [update]  # refused
        assert packs.record_coupons(conn, "b" * 32, [update], NOW) == []
        packs.release(conn, "b" * 32)
        assert not packs.leased(conn, "li", NOW)


def test_a_cancelled_or_fully_refunded_trigger_order_turns_its_pack_to_revoking(booked, agreement):
    with booked.begin() as conn:
        packs.plan_packs(conn, agreement, KEY, NOW)
    later = utc(2026, 12, 7)
    book_orders(booked, agreement, [li("1", status="cancelled", modified=later),
                                    li("2", refunded="100.00", modified=later)])  # fmt: skip
    with booked.begin() as conn:
        marked = packs.mark_revocations(conn, NOW)
        assert packs.orders_with_work(conn, agreement, "li") == ["1", "2"]  # both still open
    assert marked == [("newborn-gift-pack li#1", "the trigger order is cancelled")]
    with booked.connect() as conn:
        statuses = {p.trigger_order_id: p.status for p in packs.packs(conn)}
    assert statuses == {"1": PackStatus.REVOKING, "2": PackStatus.ISSUING}


def test_orders_with_work_lists_what_a_job_should_look_at(booked, agreement):
    with booked.connect() as conn:
        assert packs.orders_with_work(conn, agreement, "li") == ["1", "2"]  # not yet planned
        assert packs.orders_with_work(conn, agreement, "wang") == []
