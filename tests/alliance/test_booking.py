"""Booking through real storage: the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from decimal import Decimal
from hashlib import blake2b

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from alliance.clicks import Click
from alliance.services.booking import book_clicks, book_orders, stored_digests
from alliance.services.reporting import close_period, member_statement, period_balances
from alliance.storage import repository as repo
from alliance.storage.schema import gift_coupons, ledger_entries, metadata, orders
from tests.factories import make_order, utc

T0 = utc(2026, 12, 5, 2, 0)
LATER = utc(2027, 3, 1)


def rev(minutes=0, member="wang", id="7", coupon="LI-FRIENDS", **kw):
    return make_order(member, id, coupons=(coupon,), modified=T0 + timedelta(minutes=minutes), **kw)


def count_entries(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()


def net(engine, ref="wang/7"):
    with engine.connect() as conn:
        return {k: v for k, v in repo.booked_for(conn, [ref]).get(ref, {}).items() if v}


def test_the_migrated_schema_matches_the_declared_tables(engine):
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_a_referred_order_is_stored_and_booked(engine, agreement):
    result = book_orders(engine, agreement, [rev()])
    assert (result.orders_applied, result.attributed, result.entries_booked) == (1, 1, 1)
    assert net(engine) == {("li-wang", "wang", "li", "CNY"): Decimal("10.00")}
    with engine.connect() as conn:
        row = conn.execute(select(orders)).one()
    assert (row.referrer, row.status, row.total_minor, row.sale_at) == (
        "li",
        "processing",
        12300,
        T0,
    )
    facts = json.loads(row.facts)
    assert facts["evidence"] == ["referral_coupon", "li-friends"]
    assert facts["coupons"] == ["li-friends"] and facts["items_subtotal"] == "100.00"


def test_booking_the_same_orders_again_writes_nothing(engine, agreement):
    book_orders(engine, agreement, [rev(), rev(member="li", coupon="WANG-LOVES-LI")])
    again = book_orders(engine, agreement, [rev(), rev(member="li", coupon="WANG-LOVES-LI")])
    assert (again.orders_applied, again.orders_unchanged, again.entries_booked) == (0, 2, 0)
    assert count_entries(engine) == 2


def test_an_older_revision_arriving_after_a_newer_one_changes_nothing(engine, agreement):
    book_orders(engine, agreement, [rev(10, status="cancelled")])
    result = book_orders(engine, agreement, [rev(0)])
    assert result.orders_unchanged == 1 and count_entries(engine) == 0


def test_duplicates_and_revisions_in_one_batch_keep_only_the_newest(engine, agreement):
    book_orders(engine, agreement, [rev(5, refunded="12.30"), rev(0), rev(5, refunded="12.30")])
    assert net(engine) == {("li-wang", "wang", "li", "CNY"): Decimal("9.00")}
    assert count_entries(engine) == 1


def test_a_partial_refund_then_a_cancellation_reverse_step_by_step(engine, agreement):
    book_orders(engine, agreement, [rev(0)])
    book_orders(engine, agreement, [rev(5, refunded="12.30")])
    assert net(engine) == {("li-wang", "wang", "li", "CNY"): Decimal("9.00")}
    book_orders(engine, agreement, [rev(9, status="cancelled", refunded="12.30")])
    assert net(engine) == {}
    with engine.connect() as conn:
        kinds = [
            r.kind
            for r in conn.execute(
                select(ledger_entries).order_by(ledger_entries.c.amount_minor.desc())
            )
        ]
    assert kinds == ["accrual", "reversal", "reversal"]


def test_a_refund_after_closing_the_period_is_a_clawback_in_the_next_period(engine, agreement):
    book_orders(engine, agreement, [rev(0)])
    assert close_period(engine, "2026-12") is True
    assert close_period(engine, "2026-12") is False
    book_orders(engine, agreement, [rev(60 * 24 * 30, status="refunded", refunded="123.00")])
    january = member_statement(engine, agreement, "li", "2027-01", as_of=LATER)
    assert [(ln.kind.value, ln.amount, ln.order) for ln in january.lines] == [
        ("clawback", Decimal("-10.00"), "wang#7")
    ]
    december = member_statement(engine, agreement, "li", "2026-12", as_of=LATER)
    assert [(ln.amount, ln.status) for ln in december.lines] == [
        (Decimal("10.00"), "clawed back")  # settled in december, taken back in january
    ]
    (balance,) = period_balances(engine, "2027-01")  # the referrer gives the commission back
    assert (balance.payer, balance.payee, balance.amount) == ("li", "wang", Decimal("10.00"))


def test_a_stored_click_named_by_utm_content_earns_the_order(engine, agreement):
    click = Click("clk-1", "li", "wang", "li-wang", T0 - timedelta(hours=1))
    book_clicks(engine, agreement, [click])
    utm = {"utm_source": "alliance", "utm_campaign": "li-wang", "utm_content": "clk-1"}
    order = make_order("wang", "8", utm=utm, created=T0)
    assert book_orders(engine, agreement, [order]).attributed == 1
    assert net(engine, "wang/8") == {("li-wang", "wang", "li", "CNY"): Decimal("10.00")}


def test_valid_clicks_on_a_per_click_deal_are_booked_once_and_invalid_ones_never(engine, agreement):
    good = Click("clk-2", "li", "zhao", "li-zhao", T0)
    bot = Click("clk-3", "li", "zhao", "li-zhao", T0, valid=False, invalid_reason="bot")
    assert book_clicks(engine, agreement, [good, bot]) == 1
    assert book_clicks(engine, agreement, [good, bot]) == 0
    (balance,) = period_balances(engine, "2026-12")
    assert (balance.payer, balance.payee, balance.amount) == ("zhao", "li", Decimal("0.50"))


def test_a_batch_mixing_a_stored_click_and_a_new_one_books_only_the_new_one(engine, agreement):
    first = Click("clk-4", "li", "zhao", "li-zhao", T0)
    second = Click("clk-5", "li", "zhao", "li-zhao", T0 + timedelta(minutes=1))
    assert book_clicks(engine, agreement, [first]) == 1
    assert book_clicks(engine, agreement, [first, second]) == 1  # a retry carrying a new one
    assert book_clicks(engine, agreement, [Click("clk-6", "li", "wang", "li-wang", T0)]) == 0
    (balance,) = period_balances(engine, "2026-12")
    assert (balance.payer, balance.payee, balance.amount) == ("zhao", "li", Decimal("1.00"))


def test_a_gift_pack_coupon_pays_the_trigger_member(engine, agreement):
    with engine.begin() as conn:
        conn.execute(
            gift_coupons.insert().values(
                member="zhang",
                code="np-7k2m",
                promotion_id="newborn-gift-pack",
                trigger_ref="li/1",
                created_at=T0,
                expires_at=T0 + timedelta(days=60),
            )
        )
    book_orders(engine, agreement, [make_order("zhang", "9", items="60.00", coupons=("NP-7K2M",))])
    assert net(engine, "zhang/9") == {("newborn-gift-pack", "zhang", "li", "CNY"): Decimal("3.00")}


def test_an_order_in_another_currency_is_rejected_and_the_rest_booked(engine, agreement):
    result = book_orders(engine, agreement, [rev(), rev(id="8", currency="USD")])
    assert result.orders_applied == 1
    (problem,) = result.rejected
    assert "USD" in str(problem) and problem.field == "currency" and "(id 8)" in problem.order


def test_statements_keep_swap_credits_apart_from_money(engine, agreement):
    book_orders(
        engine,
        agreement,
        [
            rev(coupon="ZHANG-PHOTO", member="zhao", id="1"),
            rev(coupon="WANG-TOYS", member="zhang", id="2"),
        ],
    )
    zhang = member_statement(engine, agreement, "zhang", "2026-12", as_of=T0)
    assert [(ln.deal, ln.amount, ln.status) for ln in zhang.lines] == [
        ("wang-zhang", Decimal("-15.00"), "pending")
    ]
    assert (zhang.earned, zhang.owed, zhang.net) == (
        Decimal(0),
        Decimal("15.00"),
        Decimal("-15.00"),
    )
    assert [(ln.deal, ln.amount) for ln in zhang.credit_lines] == [("zhang-zhao", Decimal(1))]
    assert zhang.credits_received == 1


def test_balances_sum_what_each_member_owes_each_other_before_netting(engine, agreement):
    book_orders(
        engine,
        agreement,
        [rev(id="1"), rev(id="2"), rev(member="li", id="3", coupon="WANG-LOVES-LI")],
    )
    rows = {(b.payer, b.payee): b.amount for b in period_balances(engine, "2026-12")}
    assert rows == {("wang", "li"): Decimal("20.00"), ("li", "wang"): Decimal("8.00")}


@pytest.mark.postgres
def test_the_same_orders_produce_the_same_entry_ids_on_any_database(
    sqlite_engine, postgres_engine, agreement
):
    """Entry ids are derived from the facts, not from the database: SQLite and PostgreSQL,
    fed the same revisions (a sale, then a partial refund), hold the very same entries."""
    held = []
    for engine in (sqlite_engine, postgres_engine):
        book_orders(engine, agreement, [rev(0)])
        book_orders(engine, agreement, [rev(5, refunded="50")])
        with engine.connect() as conn:
            rows = conn.execute(
                select(ledger_entries.c.id, ledger_entries.c.kind, ledger_entries.c.amount_minor)
            )
            held.append(sorted(tuple(r) for r in rows))
    sqlite_rows, postgres_rows = held
    assert sqlite_rows == postgres_rows
    # 10.00; then 50.00 of 123.00 refunded: base 100.00 x 73/123 = 59.35, 10% = 5.935 -> 5.94
    assert sorted(r[2] for r in sqlite_rows) == [-406, 1000]


def test_every_paid_click_of_a_batch_is_booked_under_its_lasting_entry_id(engine, agreement):
    """The click writer books clicks in batches: each valid one earns its 0.50. An entry's id
    is derived from the click and the fixed revision "click", so a click re-delivered after
    an upgrade still finds its entry and is never paid twice."""
    first = Click("clk-7", "li", "zhao", "li-zhao", T0)
    second = Click("clk-8", "li", "zhao", "li-zhao", T0 + timedelta(minutes=1))
    assert book_clicks(engine, agreement, [first, second]) == 2
    with engine.connect() as conn:
        stored = conn.execute(select(ledger_entries.c.id, ledger_entries.c.revision)).all()
    expected = {
        blake2b(f"click|click:{c}|click|li-zhao|zhao|li|CNY".encode(), digest_size=12).hexdigest()
        for c in ("clk-7", "clk-8")
    }
    assert {row.id for row in stored} == expected
    assert {row.revision for row in stored} == {"click"}
    (balance,) = period_balances(engine, "2026-12")
    assert (balance.payer, balance.payee, balance.amount) == ("zhao", "li", Decimal("1.00"))


def test_what_a_booking_run_reports_adds_up_over_its_batches(engine, agreement):
    """The counts ``import-orders`` and the sync print: seen, applied, unchanged, attributed,
    booked and refused, summed over every batch; a refused order stops nothing after it."""
    usd = make_order("wang", "40", currency="USD", number="1040")
    newest = rev(5, id="41")
    batch = [
        usd,
        rev(0, id="43"),  # after the refused one, in the same batch
        newest,
        rev(0, id="41"),  # an older revision after the newest: unchanged
        rev(0, id="42", coupon="none"),  # no partner sent it
    ]
    result = book_orders(engine, agreement, batch, batch_size=2, now=T0)
    assert (result.orders_seen, result.orders_applied, result.orders_unchanged) == (5, 3, 1)
    assert (result.attributed, result.entries_booked) == (2, 2)
    (refused,) = result.rejected
    assert str(refused) == (
        "order #1040 (id 40) at wang: currency: USD is not the alliance currency CNY; "
        "the agreement settles in one currency"
    )
    assert net(engine, "wang/43") == {("li-wang", "wang", "li", "CNY"): Decimal("10.00")}
    again = book_orders(engine, agreement, batch, batch_size=10, now=T0)
    assert (again.orders_applied, again.orders_unchanged, again.entries_booked) == (0, 4, 0)


def test_the_stored_digests_are_those_of_the_member_asked_about(engine, agreement):
    order = dataclasses.replace(rev(0, id="44"), source_digest="digest-44")
    book_orders(engine, agreement, [order], now=T0)
    with engine.connect() as conn:
        assert stored_digests(conn, "wang", ["44", "45"]) == {"44": "digest-44"}
        assert stored_digests(conn, "li", ["44"]) == {}
        assert stored_digests(conn, "wang", []) == {}


def test_in_one_batch_the_newest_revision_wins_whatever_comes_after_it(engine, agreement):
    cancelled, paid = rev(5, id="46", status="cancelled"), rev(0, id="46")
    assert book_orders(engine, agreement, [cancelled, paid], now=T0).orders_applied == 1
    assert net(engine, "wang/46") == {}  # the cancellation is the newest: nothing is owed


def test_every_attributed_order_of_a_batch_is_counted(engine, agreement):
    result = book_orders(engine, agreement, [rev(0, id="47"), rev(0, id="48")], now=T0)
    assert (result.attributed, result.entries_booked) == (2, 2)
