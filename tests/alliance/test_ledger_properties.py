"""Ledger properties (hypothesis): replay convergence, double entry, rounding."""

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
from alliance.orders import OrderStatus
from alliance.services.booking import book_orders
from alliance.services.reporting import close_period
from alliance.storage import repository as repo
from alliance.storage.database import open_database
from alliance.storage.schema import metadata
from tests.alliance.test_ledger import Book
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


@st.composite
def revisions(draw):
    """A few distinct revisions of one order, then a delivery sequence with repeats."""
    seller, coupon = draw(st.sampled_from(CASES))
    items = draw(cents)
    count = draw(st.integers(1, 6))
    revs = []
    for i in range(count):
        total = items + Decimal("10.00")
        refunded = draw(st.sampled_from([Decimal(0), total / 3, total / 2, total]))
        revs.append(
            make_order(
                seller,
                "42",
                items=str(items),
                shipping="10.00",
                tax="0.00",
                status=draw(st.sampled_from(STATUSES)),
                refunded=str(refunded.quantize(Decimal("0.01"))),
                coupons=(coupon,) if draw(st.booleans()) else (),
                modified=T0 + timedelta(minutes=draw(st.integers(0, 3)) * 10 + i % 2),
                created=T0 - timedelta(days=draw(st.integers(0, 40))),
            )
        )
    deliveries = draw(st.lists(st.sampled_from(revs), min_size=1, max_size=12))
    closings = draw(st.lists(st.sampled_from(["2026-11", "2026-12", "2027-01"]), max_size=3))
    return deliveries, closings


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(revisions())
def test_any_delivery_sequence_nets_the_same_as_the_newest_revision_once(agreement, case):
    deliveries, closings = case
    replayed = Book(agreement)
    for i, order in enumerate(deliveries):
        if i < len(closings):  # periods close while revisions keep arriving
            replayed.closed |= {closings[i]}
        replayed.apply(order)
    newest_only = Book(agreement)
    newest_only.apply(max(deliveries, key=lambda o: o.revision))
    assert replayed.net() == newest_only.net()


@settings(max_examples=200, deadline=None)
@given(revisions())
def test_every_entry_debits_its_payer_what_it_credits_its_payee(agreement, case):
    deliveries, _ = case
    book = Book(agreement)
    for order in deliveries:
        book.apply(order)
    balances: dict[tuple[str, str], Decimal] = {}
    for entry in book.entries:
        (payer, debit), (payee, credit) = entry.postings()
        assert debit == -credit and payer != payee
        for member, amount in ((payer, debit), (payee, credit)):
            balances[(member, entry.unit)] = balances.get((member, entry.unit), Decimal(0)) + amount
    for unit in {u for _, u in balances}:
        assert sum(v for (_, u), v in balances.items() if u == unit) == 0


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


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(revisions())
def test_booking_through_storage_converges_like_the_newest_revision_alone(
    stored_engine, agreement, case
):
    deliveries, closings = case
    order_id = f"p{next(_example_ids)}-{uuid.uuid4().hex[:6]}"
    renamed = [replace(order, external_id=order_id) for order in deliveries]
    for i, order in enumerate(renamed):
        if i < len(closings):
            close_period(stored_engine, closings[i])
        book_orders(stored_engine, agreement, [order])
    with stored_engine.connect() as conn:
        ref = renamed[0].ref
        stored = {k: v for k, v in repo.booked_for(conn, [ref]).get(ref, {}).items() if v}
    newest_only = Book(agreement)
    newest_only.apply(max(renamed, key=lambda o: o.revision))
    assert stored == {key: amount for (_, key), amount in newest_only.net().items()}
