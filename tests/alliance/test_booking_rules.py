"""Rules of booking that a one-line slip would break without any other test noticing, each
through the real booking on SQLite and PostgreSQL, with amounts worked out by hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from alliance.clicks import Click
from alliance.services.booking import book_clicks, book_orders
from alliance.storage import repository as repo
from tests.factories import make_order, utc

T0 = utc(2026, 12, 5, 2, 0)


def net(engine, ref: str) -> dict:
    with engine.connect() as conn:
        return {k: v for k, v in repo.booked_for(conn, [ref]).get(ref, {}).items() if v}


def test_a_click_counts_only_for_the_member_it_was_sent_to(engine, agreement):
    """li's click to zhao (deal li-zhao), its id then carried by an order at wang: wang has a
    deal with li too, but li never sent this shopper to wang, so wang pays li nothing."""
    to_zhao = Click("clk-zhao", "li", "zhao", "li-zhao", T0 - timedelta(hours=1))
    book_clicks(engine, agreement, [to_zhao])
    utm = {"utm_source": "alliance", "utm_campaign": "li-zhao", "utm_content": "clk-zhao"}
    at_wang = make_order("wang", "31", utm=utm, created=T0)
    result = book_orders(engine, agreement, [at_wang])
    assert (result.orders_applied, result.attributed, result.entries_booked) == (1, 0, 0)
    assert net(engine, "wang/31") == {}
    at_zhao = make_order("zhao", "32", utm=utm, created=T0)  # where it was sent: it counts
    assert book_orders(engine, agreement, [at_zhao]).attributed == 1


def test_an_order_that_loses_its_evidence_is_reversed(engine, agreement):
    """Booked with li's referral coupon (10% of 100.00 items), then revised in the store with
    the coupon removed: nothing says li sent it any more, so the 10.00 is taken back."""
    with_coupon = make_order("wang", "41", coupons=("LI-FRIENDS",), modified=T0)
    assert book_orders(engine, agreement, [with_coupon]).entries_booked == 1
    assert net(engine, "wang/41") == {("li-wang", "wang", "li", "CNY"): Decimal("10.00")}
    without = make_order("wang", "41", modified=T0 + timedelta(minutes=5))
    result = book_orders(engine, agreement, [without])
    assert (result.attributed, result.entries_booked) == (0, 1)
    assert net(engine, "wang/41") == {}
    assert book_orders(engine, agreement, [with_coupon]).entries_booked == 0  # older: ignored
    assert net(engine, "wang/41") == {}


def test_of_two_revisions_in_one_batch_only_the_newest_is_booked(engine, agreement):
    """A sale and its partial refund (50.00 of 123.00) fetched on one page: one entry, for
    what the refunded order carries: 10% of 100.00 x 73/123 = 59.35 -> 5.935 -> 5.94."""
    sale = make_order("wang", "51", coupons=("LI-FRIENDS",), modified=T0)
    refund = make_order(
        "wang", "51", coupons=("LI-FRIENDS",), refunded="50", modified=T0 + timedelta(minutes=5)
    )
    assert book_orders(engine, agreement, [sale, refund]).entries_booked == 1
    assert net(engine, "wang/51") == {("li-wang", "wang", "li", "CNY"): Decimal("5.94")}
