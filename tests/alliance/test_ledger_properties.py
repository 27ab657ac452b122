"""Ledger properties (hypothesis): the real booking against the rules worked out by hand, and
rounding. The expected amounts never come from the planning functions under test."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance.agreement import Base
from alliance.attribution import Attribution, Evidence
from alliance.commission import order_targets
from alliance.money import CREDIT
from alliance.orders import OrderStatus
from alliance.services.booking import book_orders
from alliance.services.reporting import close_period
from alliance.storage import repository as repo
from alliance.storage.database import open_database
from alliance.storage.schema import metadata
from tests.factories import make_order, utc

T0 = utc(2026, 12, 20, 2, 0)
STATUSES = [s.value for s in OrderStatus]
CASES = [  # (seller, coupon) -> one deal of each order-paying kind
    ("wang", "LI-FRIENDS"),  # percent 10%
    ("li", "WANG-LOVES-LI"),  # percent 8%
    ("zhang", "WANG-TOYS"),  # per_order 15.00
    ("zhao", "ZHANG-PHOTO"),  # swap credit
]

cents = st.integers(min_value=0, max_value=5_000_000).map(lambda n: Decimal(n).scaleb(-2))


@settings(max_examples=500, deadline=None)
@given(
    items=cents,
    refunded_share=st.sampled_from([0, 1, 2, 3]),
    seller=st.sampled_from(["wang", "li"]),
)
def test_each_entry_is_rounded_half_up_to_the_minor_unit(agreement, items, refunded_share, seller):
    total = items + Decimal("10.00")
    refunded = (total * refunded_share / 7).quantize(Decimal("0.01"))
    order = make_order(seller, items=str(items), shipping="10.00", tax="0", refunded=str(refunded))
    referrer = "li" if seller == "wang" else "wang"
    targets = order_targets(
        order, Attribution(referrer, seller, Evidence.CLICK, "c", "x"), agreement
    )
    deal = agreement.legs_between(referrer, seller)[0].deal_id
    rate = agreement.deal(deal).rate
    for target in targets:
        assert target.amount == target.amount.quantize(Decimal("0.01"))
        # the documented rule, computed independently: base net of refunds, then rate, half-up
        base = items * (total - refunded) / total if refunded else items
        base = base.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert target.base == base
        assert target.amount == (base * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert agreement.deal(deal).base is Base.ITEMS_AFTER_DISCOUNT


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def stored_engine(request, tmp_path_factory):
    """One real database for all examples; each example books its own order id."""
    if request.param == "sqlite":
        engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'ledger.db'}")
    else:
        engine = open_database(request.getfixturevalue("postgres_server_url"))
    yield engine
    with engine.begin() as conn:  # the PostgreSQL database is shared with later tests
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


_example_ids = itertools.count(1)

REFERRALS = {  # (seller, coupon) -> (referrer, deal, pay, rate or amount), as examples/ says
    ("wang", "LI-FRIENDS"): ("li", "li-wang", "percent", Decimal("0.10")),
    ("li", "WANG-LOVES-LI"): ("wang", "wang-li", "percent", Decimal("0.08")),
    ("zhang", "WANG-TOYS"): ("wang", "wang-zhang", "per_order", Decimal("15.00")),
    ("zhao", "ZHANG-PHOTO"): ("zhang", "zhang-zhao", "swap", Decimal(1)),
}
CENT = Decimal("0.01")
SALES_MOSTLY = st.one_of(st.sampled_from(["processing", "completed"]), st.sampled_from(STATUSES))
"""Half the revisions are sales, so most examples book something to revise or reverse."""


def owed(order, coupon: str) -> dict[tuple[str, str, str, str], Decimal]:
    """What the README's rules say one revision of an order carries, worked out directly:
    a sale (processing or completed) using the seller's referral coupon pays the referrer;
    a percentage of the items, shrunk by the share of the total refunded, each step rounded
    half-up to the cent; a per-order fee or a swap credit while any part of it stands."""
    if order.status.value not in ("processing", "completed"):
        return {}
    if coupon.lower() not in order.coupon_codes or order.refunded_total >= order.total:
        return {}
    referrer, deal, pay, figure = REFERRALS[(order.member, coupon)]
    if pay == "swap":
        return {(deal, order.member, referrer, CREDIT): figure}
    if pay == "per_order":
        return {(deal, order.member, referrer, "CNY"): figure}
    share = (order.total - order.refunded_total) / order.total
    base = (order.items_total * share).quantize(CENT, rounding=ROUND_HALF_UP)
    amount = (base * figure).quantize(CENT, rounding=ROUND_HALF_UP)
    return {(deal, order.member, referrer, "CNY"): amount} if amount else {}


@st.composite
def delivered_out_of_order(draw):
    """Revisions of one order a minute apart (status, refunds, the coupon kept or lost), then
    delivered in any order, with repeats, while periods close in between."""
    seller, coupon = draw(st.sampled_from(CASES))
    items = draw(cents)
    created = T0 - timedelta(days=draw(st.integers(0, 40)))
    revs = []
    for i in range(draw(st.integers(1, 6))):
        total = items + Decimal("10.00")
        refunded = draw(st.sampled_from([Decimal(0), total / 3, total / 2, total]))
        revs.append(
            make_order(
                seller,
                "42",
                items=str(items),
                shipping="10.00",
                tax="0.00",
                status=draw(SALES_MOSTLY),
                refunded=str(refunded.quantize(CENT)),
                coupons=(coupon,) if draw(st.booleans()) else (),
                modified=T0 + timedelta(minutes=i),
                created=created,
            )
        )
    deliveries = draw(st.permutations(revs))
    deliveries += draw(st.lists(st.sampled_from(revs), max_size=6))
    closings = draw(st.lists(st.sampled_from(["2026-11", "2026-12", "2027-01"]), max_size=3))
    return coupon, deliveries, closings


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(delivered_out_of_order())
def test_the_stored_ledger_holds_what_the_newest_revision_carries_whatever_the_order(
    stored_engine, agreement, case
):
    """The real booking, on SQLite and PostgreSQL, against the rules worked out by hand:
    revisions out of order, repeated, evidence lost and regained, periods closing between."""
    coupon, deliveries, closings = case
    order_id = f"p{next(_example_ids)}-{uuid.uuid4().hex[:6]}"
    renamed = [replace(order, external_id=order_id) for order in deliveries]
    for i, order in enumerate(renamed):
        if i < len(closings):
            close_period(stored_engine, closings[i])
        book_orders(stored_engine, agreement, [order])
    with stored_engine.connect() as conn:
        ref = renamed[0].ref
        stored = {k: v for k, v in repo.booked_for(conn, [ref]).get(ref, {}).items() if v}
    newest = max(renamed, key=lambda o: o.modified_at)
    assert stored == owed(newest, coupon)
