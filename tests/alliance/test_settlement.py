"""Settling a month on SQLite and PostgreSQL: the fewest transfers, once; swap credits carried;
disputed lines held and released; payments recorded once; everything in the audit log, which
(like every settlement table) refuses UPDATE and DELETE.

November, hand-computed from examples/alliance.toml (li-wang pays 10% of items, wang-li 8%,
wang-zhang 15.00 per order, zhang-zhao one swap credit per order):

| order   | deal       | who owes whom        | amount |
|---------|------------|----------------------|--------|
| wang#1  | li-wang    | wang owes li         | 101.84 | (items 1018.40)
| li#2    | wang-li    | li owes wang         |  27.45 | (items 343.13: 27.4504)
| zhang#3 | wang-zhang | zhang owes wang      |  15.00 |
| zhao#4  | zhang-zhao | zhao owes zhang      | 1 credit |
| wang#5  | li-wang    | wang owes li         |  20.00 | (items 200.00)

Net: wang pays li 101.84 + 20.00 - 27.45 = 94.39, zhang pays wang 15.00 (zhang and li owe each
other nothing, so zhang never pays li: two transfers).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from alliance.attribution import attribute
from alliance.audit import Actor, AuditAction
from alliance.commission import order_targets
from alliance.disputes import DisputeError
from alliance.errors import BadInputError
from alliance.ledger import Fact, SourceKind, plan_entries
from alliance.services.booking import book_orders
from alliance.services.disputes import open_dispute, resolve_dispute
from alliance.services.reporting import member_statement
from alliance.services.settlement import record_payment, settle, transfer_states
from alliance.settlement import PendingLines, TransferStatus
from alliance.storage import repository as repo
from alliance.storage.audit_log import events
from alliance.storage.period_lock import closed_periods_held
from alliance.storage.schema import APPEND_ONLY, ledger_entries, metadata
from tests.factories import make_order, utc

D = Decimal
BOOKED = utc(2026, 11, 10)
SETTLE = utc(2026, 12, 15, 1)  # 09:00 on 15 December in Shanghai: November's settlement day
ME = Actor("bookkeeper@alliance", "alliance settle --period 2026-11")


def november() -> list:
    return [
        make_order("wang", "1", coupons=("LI-FRIENDS",), items="1018.40", created=utc(2026, 11, 5)),
        make_order("li", "2", coupons=("WANG-LOVES-LI",), items="343.13", created=utc(2026, 11, 6)),
        make_order("zhang", "3", coupons=("WANG-TOYS",), created=utc(2026, 11, 7)),
        make_order("zhao", "4", coupons=("ZHANG-PHOTO",), created=utc(2026, 11, 8)),
        make_order("wang", "5", coupons=("LI-FRIENDS",), items="200.00", created=utc(2026, 11, 9)),
    ]


@pytest.fixture
def booked(engine, agreement):
    book_orders(engine, agreement, november(), now=BOOKED)
    return engine


def moves(settlement) -> list[tuple[str, str, Decimal]]:
    return [(t.payer, t.payee, t.amount) for t in settlement.transfers]


def entry_of(engine, label: str):
    with engine.connect() as conn:
        (entry,) = [e for e in repo.entries_in_period(conn, "2026-11") if e.label == label]
    return entry


def rows(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar_one()


def test_a_month_settles_into_the_fewest_transfers_once(booked, agreement):
    first = settle(booked, agreement, "2026-11", now=SETTLE, actor=ME)
    assert first.created
    s = first.settlement
    assert moves(s) == [("wang", "li", D("94.39")), ("zhang", "wang", D("15.00"))]
    assert (s.entries, s.forced, s.held, s.due_on.isoformat()) == (5, False, (), "2026-12-25")
    assert [(b.owed_by, b.owed_to, b.carried_forward) for b in s.swap_balances] == [
        ("zhao", "zhang", D(1))
    ]
    with booked.connect() as conn:
        assert "2026-11" in repo.closed_periods(conn)
    counts = {table: rows(booked, table) for table in APPEND_ONLY}

    again = settle(booked, agreement, "2026-11", now=SETTLE + timedelta(days=3), actor=ME)
    assert not again.created
    assert again.settlement == s  # the stored settlement, exactly
    assert {table: rows(booked, table) for table in APPEND_ONLY} == counts  # nothing written


def test_a_refund_after_settlement_is_a_clawback_in_the_next_period_never_an_edit(
    booked, agreement
):
    s = settle(booked, agreement, "2026-11", now=SETTLE, actor=ME).settlement
    wang_li = s.transfers[0]
    record_payment(booked, agreement, wang_li.id, "ICBC 2026-12-16", now=SETTLE, actor=ME)
    refunded = make_order(
        "wang", "1", coupons=("LI-FRIENDS",), items="1018.40", created=utc(2026, 11, 5),
        modified=utc(2026, 12, 20), status="refunded", refunded="1151.40",
    )  # fmt: skip
    book_orders(booked, agreement, [refunded], now=utc(2026, 12, 20))
    assert settle(booked, agreement, "2026-11", now=utc(2027, 1, 2), actor=ME).settlement == s
    december = settle(booked, agreement, "2026-12", now=utc(2027, 1, 15, 1), actor=ME)
    assert moves(december.settlement) == [("li", "wang", D("101.84"))]  # li gives it back
    (paid,) = [x for x in transfer_states(booked, agreement, today=utc(2027, 1, 20).date())
               if x.transfer.id == wang_li.id]  # fmt: skip
    assert (paid.status, paid.transfer.amount) == (TransferStatus.PAID, D("94.39"))
    lines = member_statement(booked, agreement, "li", "2026-11", as_of=utc(2027, 1, 20)).lines
    assert (lines[0].order, lines[0].status) == ("wang#1", "clawed back")


def test_swap_credits_are_carried_from_one_settlement_to_the_next(booked, agreement):
    settle(booked, agreement, "2026-11", now=SETTLE, actor=ME)
    december = [
        make_order("zhao", "6", coupons=("ZHANG-PHOTO",), created=utc(2026, 12, 3)),
        make_order("zhao", "7", coupons=("ZHANG-PHOTO",), created=utc(2026, 12, 4)),
        make_order("zhang", "8", coupons=("ZHAO-TOYS",), created=utc(2026, 12, 5)),
    ]
    book_orders(booked, agreement, december, now=utc(2026, 12, 6))
    s = settle(booked, agreement, "2026-12", now=utc(2027, 1, 15, 1), actor=ME).settlement
    assert s.transfers == ()  # credits are never money
    (balance,) = s.swap_balances
    assert (balance.owed_by, balance.owed_to) == ("zhao", "zhang")
    assert (balance.brought_forward, balance.this_period, balance.carried_forward) == (1, 1, 2)


def test_a_disputed_line_alone_is_held_and_a_rejected_dispute_releases_it_next_month(
    booked, agreement
):
    disputed = entry_of(booked, "wang#5")
    dispute = open_dispute(
        booked, agreement, disputed.id, "the customer came from our own newsletter",
        now=SETTLE - timedelta(days=2), actor=Actor("wang@shop", "alliance dispute open ..."),
    )  # fmt: skip
    s = settle(booked, agreement, "2026-11", now=SETTLE, actor=ME).settlement
    assert moves(s) == [("wang", "li", D("74.39")), ("zhang", "wang", D("15.00"))]
    assert [(h.entry, h.dispute, h.status, h.amount) for h in s.held] == [
        (disputed.id, dispute.id, "open", D("20.00"))
    ]
    statement = member_statement(booked, agreement, "li", "2026-11", as_of=SETTLE)
    assert [(ln.order, ln.status) for ln in statement.lines] == [
        ("wang#1", "approved"), ("li#2", "approved"), ("wang#5", "disputed"),
    ]  # fmt: skip
    assert (statement.net, statement.earned) == (D("74.39"), D("101.84"))

    resolve_dispute(booked, agreement, dispute.id, accept=False, note="the coupon was li's",
                    now=SETTLE + timedelta(days=1), actor=ME)  # fmt: skip
    s12 = settle(booked, agreement, "2026-12", now=utc(2027, 1, 15, 1), actor=ME).settlement
    assert moves(s12) == [("wang", "li", D("20.00"))]
    assert [(h.entry, h.status) for h in s12.released] == [(disputed.id, "rejected")]
    statement = member_statement(booked, agreement, "li", "2026-11", as_of=SETTLE)
    assert statement.lines[2].status == "approved"
    s01 = settle(booked, agreement, "2027-01", now=utc(2027, 2, 15, 1), actor=ME).settlement
    assert s01.transfers == () and s01.released == ()  # released once


def test_an_accepted_dispute_keeps_the_line_and_its_later_clawback_out_for_good(booked, agreement):
    disputed = entry_of(booked, "wang#5")
    dispute = open_dispute(booked, agreement, disputed.id, "not referred", now=SETTLE, actor=ME)
    resolve_dispute(booked, agreement, dispute.id, accept=True, note="agreed", now=SETTLE,
                    actor=ME)  # fmt: skip
    s = settle(booked, agreement, "2026-11", now=SETTLE, actor=ME).settlement
    assert moves(s)[0] == ("wang", "li", D("74.39"))
    assert [h.status for h in s.held] == ["accepted"]
    refunded = make_order(
        "wang", "5", coupons=("LI-FRIENDS",), items="200.00", created=utc(2026, 11, 9),
        modified=utc(2026, 12, 20), status="refunded", refunded="223.00",
    )  # fmt: skip
    book_orders(booked, agreement, [refunded], now=utc(2026, 12, 20))
    s12 = settle(booked, agreement, "2026-12", now=utc(2027, 1, 15, 1), actor=ME).settlement
    assert s12.transfers == ()  # the clawback of a line never paid is never paid back
    assert [h.status for h in s12.held] == ["accepted"]
    statement = member_statement(booked, agreement, "li", "2026-11", as_of=SETTLE)
    assert statement.lines[2].status == "voided"


def test_a_line_is_disputed_once_and_a_dispute_resolved_once(booked, agreement):
    disputed = entry_of(booked, "wang#5")
    dispute = open_dispute(booked, agreement, disputed.id, "why?", now=SETTLE, actor=ME)
    with pytest.raises(DisputeError, match=f"disputed already: dispute {dispute.id}"):
        open_dispute(booked, agreement, disputed.id, "again", now=SETTLE, actor=ME)
    with pytest.raises(DisputeError, match="no ledger entry"):
        open_dispute(booked, agreement, "f" * 24, "?", now=SETTLE, actor=ME)
    resolve_dispute(booked, agreement, dispute.id, accept=True, note="ok", now=SETTLE, actor=ME)
    with pytest.raises(DisputeError, match="resolved already: accepted"):
        resolve_dispute(booked, agreement, dispute.id, accept=False, note="no", now=SETTLE,
                        actor=ME)  # fmt: skip
    with pytest.raises(DisputeError, match="no dispute"):
        resolve_dispute(booked, agreement, "d-0000000000", accept=True, note="x", now=SETTLE,
                        actor=ME)  # fmt: skip
    settle(booked, agreement, "2026-11", now=SETTLE, actor=ME)
    with pytest.raises(DisputeError, match="which is settled"):
        open_dispute(booked, agreement, entry_of(booked, "wang#1").id, "late", now=SETTLE,
                     actor=ME)  # fmt: skip
    assert rows(booked, "disputes") == 1 and rows(booked, "dispute_resolutions") == 1


def test_pending_lines_refuse_a_settlement_that_changes_nothing_unless_forced(engine, agreement):
    late = make_order("wang", "9", coupons=("LI-FRIENDS",), created=utc(2026, 11, 28, 4))
    book_orders(engine, agreement, [*november(), late], now=utc(2026, 11, 29))
    early = utc(2026, 12, 2)
    with pytest.raises(PendingLines) as refused:
        settle(engine, agreement, "2026-11", now=early, actor=ME)
    assert refused.value.count == 1
    assert refused.value.until == late.sale_date + timedelta(days=14)
    assert "1 line(s) still pending" in str(refused.value)
    assert "until 2026-12-12 12:00 Asia/Shanghai" in str(refused.value)
    assert {table: rows(engine, table) for table in (*APPEND_ONLY, "periods")} == dict.fromkeys(
        (*APPEND_ONLY, "periods"), 0
    )
    forced = settle(engine, agreement, "2026-11", now=early, actor=ME, force=True).settlement
    assert forced.forced and moves(forced)[0] == ("wang", "li", D("104.39"))
    statement = member_statement(engine, agreement, "li", "2026-11", as_of=early)
    assert {ln.status for ln in statement.lines} == {"approved"}  # the settlement approved them


def test_a_month_not_over_and_a_month_without_entries(engine, agreement):
    from alliance.settlement import NotSettleable

    with pytest.raises(NotSettleable, match="not over yet"):
        settle(engine, agreement, "2026-12", now=SETTLE, actor=ME)
    with pytest.raises(NotSettleable, match="in the future"):
        settle(engine, agreement, "2027-06", now=SETTLE, actor=ME)
    assert rows(engine, "audit_log") == 0
    empty = settle(engine, agreement, "2026-08", now=SETTLE, actor=ME).settlement
    assert (empty.entries, empty.transfers, empty.swap_balances) == (0, (), ())


def test_a_payment_is_recorded_once_with_who_said_so(booked, agreement):
    s = settle(booked, agreement, "2026-11", now=SETTLE, actor=ME).settlement
    due = s.due_on
    states = transfer_states(booked, agreement, today=due + timedelta(days=3))
    assert [(x.status, x.days_overdue) for x in states] == [(TransferStatus.OVERDUE, 3)] * 2
    li = Actor("li@shop", "alliance transfers paid ...")
    paid = record_payment(booked, agreement, s.transfers[0].id, " BOC-77 ", now=SETTLE, actor=li)
    assert (paid.status, paid.payment.reference, paid.payment.recorded_by) == (
        TransferStatus.PAID, "BOC-77", "li@shop",
    )  # fmt: skip
    with pytest.raises(BadInputError, match=r"was paid already .*li@shop.*'BOC-77'"):
        record_payment(booked, agreement, s.transfers[0].id, "again", now=SETTLE, actor=ME)
    with pytest.raises(BadInputError, match="no transfer '2026-11-nope'"):
        record_payment(booked, agreement, "2026-11-nope", "x", now=SETTLE, actor=ME)
    assert rows(booked, "transfer_payments") == 1


def test_the_audit_log_says_who_did_what_from_which_command(booked, agreement):
    wang = Actor("wang@shop", "alliance dispute open X --reason 'not ours'")
    dispute = open_dispute(booked, agreement, entry_of(booked, "wang#5").id, "not ours",
                           now=SETTLE, actor=wang)  # fmt: skip
    s = settle(booked, agreement, "2026-11", now=SETTLE, actor=ME).settlement
    record_payment(booked, agreement, s.transfers[1].id, "R1", now=SETTLE, actor=ME)
    resolve_dispute(booked, agreement, dispute.id, accept=False, note="stands", now=SETTLE,
                    actor=ME)  # fmt: skip
    with booked.connect() as conn:
        found = events(conn)
    assert [(e.actor, e.action, e.subject) for e in found] == [
        ("wang@shop", AuditAction.DISPUTE_OPENED, dispute.id),
        (ME.who, AuditAction.SETTLED, "2026-11"),
        (ME.who, AuditAction.TRANSFER_PAID, s.transfers[1].id),
        (ME.who, AuditAction.DISPUTE_RESOLVED, dispute.id),
    ]
    assert found[0].command == wang.command and found[0].details["reason"] == "not ours"
    assert found[1].details["transfers"] == "2" and found[1].details["held"] == "1"
    assert [e.id for e in found] == sorted(e.id for e in found)


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_settlement_tables_refuse_to_change_or_lose_a_row(booked, agreement, table):
    wang = entry_of(booked, "wang#5")
    dispute = open_dispute(booked, agreement, wang.id, "x", now=SETTLE, actor=ME)
    s = settle(booked, agreement, "2026-11", now=SETTLE, actor=ME).settlement
    record_payment(booked, agreement, s.transfers[0].id, "R", now=SETTLE, actor=ME)
    resolve_dispute(booked, agreement, dispute.id, accept=False, note="y", now=SETTLE, actor=ME)
    settle(booked, agreement, "2026-12", now=utc(2027, 1, 15, 1), actor=ME)  # releases wang#5
    assert rows(booked, table) > 0
    column = next(iter(metadata.tables[table].c)).name
    for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), booked.begin() as conn:
            conn.execute(text(statement))
    assert rows(booked, table) > 0


def closing_lock(statement: str) -> bool:
    """The statement :func:`lock_for_closing` takes the period lock with, on either database."""
    return "pg_advisory_xact_lock(" in statement or statement.startswith("UPDATE periods")


def until_waiting(booker) -> bool:
    """On PostgreSQL, wait until a session waits for the advisory lock the booker holds; on
    SQLite the booker holds the one write lock, which the settlement's first write needs."""
    if booker.dialect.name != "postgresql":
        return True
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with booker.engine.connect() as conn:
            if conn.execute(query).scalar_one():
                return True
        time.sleep(0.01)
    return False


def test_a_booking_in_flight_is_waited_for_so_its_entry_is_settled(booked, agreement):
    """The booking holds the period lock between reading the closed periods and committing;
    a settlement that starts meanwhile waits for it, and counts what it booked."""
    late = make_order("wang", "11", coupons=("LI-FRIENDS",), created=utc(2026, 11, 20))
    result: dict = {}
    with booked.connect() as booker:
        booker.begin()
        closed = closed_periods_held(booker)
        assert "2026-11" not in closed

        def settling() -> None:
            result["s"] = settle(booked, agreement, "2026-11", now=SETTLE, actor=ME).settlement

        worker = threading.Thread(target=settling)
        asks = threading.Event()

        def spot(conn, cursor, statement, *args) -> None:  # the settling thread's lock request
            if threading.current_thread() is worker and closing_lock(statement):
                asks.set()

        event.listen(booked, "before_cursor_execute", spot)
        try:
            worker.start()
            assert asks.wait(30), "the settlement never asked for the period lock"
            assert until_waiting(booker), "the settlement did not wait for the booking's lock"
        finally:
            event.remove(booked, "before_cursor_execute", spot)
        assert worker.is_alive()  # waiting for the booking
        fact = Fact(SourceKind.ORDER, late.ref, late.revision, late.sale_date, "wang#11")
        coupons = agreement.referral_coupon_index()
        won = attribute(late, agreement, referral_coupons=coupons, gift_coupons={}, clicks={})
        entries = plan_entries(
            fact,
            order_targets(late, won, agreement),
            {},
            timezone=agreement.settings.timezone,
            closed_periods=closed,
            agreement_version=agreement.version,
        )
        assert [e.period for e in entries] == ["2026-11"]  # planned while 2026-11 was open
        repo.insert_entries(booker, entries, BOOKED)
        booker.commit()
    worker.join(timeout=30)
    assert moves(result["s"])[0] == ("wang", "li", D("104.39"))  # 94.39 + wang#11's 10.00
    with booked.connect() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(ledger_entries)
            .where(ledger_entries.c.period == "2026-11")
        ).scalar_one()
    assert result["s"].entries == count == 6
