"""The ledger books differences: revisions, refunds, cancellations, clawbacks, statuses."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from alliance.attribution import attribute
from alliance.commission import Target, order_targets
from alliance.ledger import EntryKind, EntryStatus, Fact, SourceKind, entry_status, plan_entries
from tests.factories import make_order, utc

T0 = utc(2026, 12, 5, 2, 0)


class Book:
    """A tiny in-memory ledger that follows the same rules as alliance.services.booking."""

    def __init__(self, agreement, closed=()):
        self.agreement = agreement
        self.closed = frozenset(closed)
        self.entries = []
        self.revision = {}

    def apply(self, order):
        if order.ref in self.revision and order.revision <= self.revision[order.ref]:
            return []
        won = attribute(
            order,
            self.agreement,
            referral_coupons=self.agreement.referral_coupon_index(),
            gift_coupons={},
            clicks={},
        )
        booked = {}
        for e in self.entries:
            if e.source_ref == order.ref:
                booked[e.key] = booked.get(e.key, Decimal(0)) + e.amount
        fact = Fact(SourceKind.ORDER, order.ref, order.revision, order.sale_date, order.ref)
        new = plan_entries(
            fact,
            order_targets(order, won, self.agreement),
            booked,
            timezone=self.agreement.settings.timezone,
            closed_periods=self.closed,
            agreement_version=self.agreement.version,
        )
        self.entries += new
        self.revision[order.ref] = order.revision
        return new

    def net(self):
        total = {}
        for e in self.entries:
            total[(e.source_ref, e.key)] = total.get((e.source_ref, e.key), Decimal(0)) + e.amount
        return {k: v for k, v in total.items() if v}


def rev(minutes, **kw):
    return make_order(
        "wang", "7", coupons=("LI-FRIENDS",), modified=T0 + timedelta(minutes=minutes), **kw
    )


def test_a_referred_sale_books_one_accrual_citing_the_deal_and_agreement_version(agreement):
    book = Book(agreement)
    (entry,) = book.apply(rev(0))
    assert (entry.kind, entry.deal_id, entry.payer, entry.payee, entry.amount) == (
        EntryKind.ACCRUAL,
        "li-wang",
        "wang",
        "li",
        Decimal("10.00"),
    )
    assert entry.agreement_version == agreement.version
    assert entry.period == "2026-12"


def test_applying_the_same_revision_twice_books_nothing_more(agreement):
    book = Book(agreement)
    book.apply(rev(0))
    assert book.apply(rev(0)) == []
    assert len(book.entries) == 1


def test_an_older_revision_arriving_late_changes_nothing(agreement):
    book = Book(agreement)
    book.apply(rev(10, status="cancelled"))
    assert book.apply(rev(0)) == []
    assert book.net() == {}


def test_a_partial_refund_books_only_the_difference_as_a_reversal(agreement):
    book = Book(agreement)
    book.apply(rev(0))
    (entry,) = book.apply(rev(5, refunded="12.30"))  # 10% of the 123.00 total
    assert (entry.kind, entry.amount, entry.base) == (
        EntryKind.REVERSAL,
        Decimal("-1.00"),
        Decimal("90.00"),
    )
    assert list(book.net().values()) == [Decimal("9.00")]


def test_a_cancellation_reverses_everything_and_a_reinstatement_books_it_again(agreement):
    book = Book(agreement)
    book.apply(rev(0))
    book.apply(rev(5, status="cancelled"))
    assert book.net() == {}
    book.apply(rev(9, status="processing"))
    assert list(book.net().values()) == [Decimal("10.00")]
    assert [e.kind for e in book.entries] == [
        EntryKind.ACCRUAL,
        EntryKind.REVERSAL,
        EntryKind.ACCRUAL,
    ]


def test_a_reversal_after_the_period_closed_is_a_clawback_in_the_next_open_period(agreement):
    book = Book(agreement)
    book.apply(rev(0))
    book.closed = frozenset({"2026-12", "2027-01"})
    (entry,) = book.apply(rev(60 * 24 * 40, status="refunded", refunded="123.00"))
    assert (entry.kind, entry.period, entry.amount) == (
        EntryKind.CLAWBACK,
        "2027-02",
        Decimal("-10.00"),
    )


def test_periods_are_cut_in_the_alliance_timezone():
    # 2026-11-30 17:00 UTC is already 1 December in Shanghai.
    from alliance.periods import period_of

    assert period_of(utc(2026, 11, 30, 15, 59), "Asia/Shanghai") == "2026-11"
    assert period_of(utc(2026, 11, 30, 16, 0), "Asia/Shanghai") == "2026-12"


def test_a_cash_on_delivery_order_without_paid_date_is_placed_by_its_created_date(agreement):
    book = Book(agreement)
    order = make_order(
        "wang", "8", coupons=("LI-FRIENDS",), created=utc(2026, 11, 30, 17), paid=None
    )
    (entry,) = book.apply(order)
    assert entry.period == "2026-12" and entry.occurred_at == utc(2026, 11, 30, 17)


def test_a_paid_date_places_the_order_even_when_created_in_another_month(agreement):
    book = Book(agreement)
    order = make_order(
        "wang", "9", coupons=("LI-FRIENDS",), created=utc(2026, 11, 20), paid=utc(2026, 12, 2)
    )
    assert book.apply(order)[0].period == "2026-12"


def test_entries_are_pending_inside_the_holdback_and_approved_after_it(agreement):
    book = Book(agreement)
    (entry,) = book.apply(rev(0))
    hold = timedelta(days=14)
    assert (
        entry_status(entry, entry.amount, as_of=T0 + timedelta(days=13), holdback=hold)
        is EntryStatus.PENDING
    )
    assert (
        entry_status(entry, entry.amount, as_of=T0 + timedelta(days=14), holdback=hold)
        is EntryStatus.APPROVED
    )


def test_a_fully_reversed_accrual_and_its_reversal_both_read_as_reversed(agreement):
    book = Book(agreement)
    book.apply(rev(0))
    book.apply(rev(1, status="cancelled"))
    hold = timedelta(days=14)
    assert {entry_status(e, Decimal(0), as_of=T0, holdback=hold) for e in book.entries} == {
        EntryStatus.REVERSED
    }


def test_entry_ids_are_deterministic_so_a_replay_writes_the_same_ids(agreement):
    first, second = Book(agreement), Book(agreement)
    for book in (first, second):
        book.apply(rev(0))
        book.apply(rev(3, refunded="50.00"))
    assert [e.id for e in first.entries] == [e.id for e in second.entries]
    assert len({e.id for e in first.entries}) == 2


def test_every_entry_debits_the_payer_exactly_what_it_credits_the_payee(agreement):
    book = Book(agreement)
    book.apply(rev(0))
    (debit, credit) = book.entries[0].postings()
    assert debit == ("wang", Decimal("-10.00")) and credit == ("li", Decimal("10.00"))


def test_two_revisions_of_the_same_second_are_ordered_by_the_orders_lifecycle(agreement):
    paid, cancelled = rev(0), rev(0, status="cancelled")
    partly, fully = rev(0, refunded="12.30"), rev(0, refunded="50.00")
    assert paid.revision < cancelled.revision and partly.revision < fully.revision
    for sequence in ([paid, cancelled], [cancelled, paid]):
        book = Book(agreement)
        for order in sequence:
            book.apply(order)
        assert book.net() == {}  # the cancellation wins whichever arrives first


def test_a_deal_already_carried_in_full_does_not_stop_the_next_deal_being_booked():
    """One fact, two amounts: the first (in key order) is booked already, the second is new;
    only the second is appended, as an accrual."""
    fact = Fact(SourceKind.ORDER, "wang/9", "r2", T0, "wang#9")
    carried = Target("a-deal", "wang", "li", "CNY", Decimal("10.00"))
    new = Target("b-deal", "wang", "zhang", "CNY", Decimal("4.00"))
    (entry,) = plan_entries(
        fact,
        [carried, new],
        {carried.key: Decimal("10.00")},
        timezone="Asia/Shanghai",
        closed_periods=frozenset(),
        agreement_version="v1",
    )
    assert (entry.deal_id, entry.kind, entry.amount) == (
        "b-deal",
        EntryKind.ACCRUAL,
        Decimal("4.00"),
    )
