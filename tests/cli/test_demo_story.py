"""``alliance demo`` tells a true story on any day: the late refund it names is a referred sale
of a closed month, its clawback is in the period it says, every month of the window shows, and
its last complete month is settled: transfers that net the ledger, one paid, one disputed line
held out, and every member's statement written as HTML and PDF.

Each case runs the real demo (four sandbox stores over HTTP, the real connector, SQLite) on a
chosen day and checks what it printed against what its database holds. The expected periods
are written out by hand per day, not computed with the demo's own helpers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from alliance.agreement import Agreement
from alliance.agreement.parse import load_agreement
from alliance.cli.demo import DEMO_SECRET, run_demo
from alliance.ledger import EntryKind
from alliance.periods import period_of
from alliance.services.reporting import member_statement
from alliance.statement import StatementLine
from alliance.storage import repository as repo
from alliance.storage.database import open_database
from alliance.storage.schema import (
    disputes,
    gift_coupons,
    gift_packs,
    ledger_entries,
    orders,
    settlements,
    transfer_payments,
    transfers,
)
from widgets.links import LinkClaim, link_key, verify_link

SHANGHAI = timezone(timedelta(hours=8))

STORY = re.compile(
    r"Wang refunded order #(?P<number>\d+), a sale Li referred that was paid in the closed "
    r"period (?P<sale>\d{4}-\d{2}); .* into the open period (?P<open>\d{4}-\d{2}): Li gives "
    r"back the (?P<amount>\d+\.\d{2}) CNY commission"
)
PRINTED_PERIOD = re.compile(r"^=== Period (\d{4}-\d{2}) \((settled|open)\) ===$", re.M)
STATEMENT_PERIOD = re.compile(r"^Statement for (\w+), period (\d{4}-\d{2}) ", re.M)


@dataclass(frozen=True)
class Day:
    """A day to run the demo on and the periods its six weeks must show."""

    now: datetime
    periods: tuple[str, ...]  # every month of the window, oldest first; the last one is open

    @property
    def closed(self) -> tuple[str, ...]:
        return self.periods[:-1]

    @property
    def sale_period(self) -> str:
        return self.periods[-2]

    @property
    def open_period(self) -> str:
        return self.periods[-1]


DAYS = {
    "mid-month": Day(datetime(2026, 12, 7, 10, 30, tzinfo=UTC), ("2026-10", "2026-11", "2026-12")),
    "the 1st just after midnight in Shanghai": Day(
        datetime(2027, 3, 1, 0, 5, tzinfo=SHANGHAI), ("2027-01", "2027-02", "2027-03")
    ),
    "1 January": Day(
        datetime(2027, 1, 1, 0, 1, tzinfo=SHANGHAI), ("2026-11", "2026-12", "2027-01")
    ),
    "29 February 2028": Day(datetime(2028, 2, 29, 12, 0, tzinfo=UTC), ("2028-01", "2028-02")),
}


@dataclass
class Run:
    output: str
    engine: Engine
    agreement: Agreement
    directory: Path


@pytest.fixture(scope="module", params=list(DAYS), ids=list(DAYS))
def run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Day, Run]]:
    """One demo run per day (about a second each), shared by the checks of that day."""
    day = DAYS[request.param]
    directory = tmp_path_factory.mktemp("demo")
    printed: list[str] = []
    run_demo(directory, echo=printed.append, now=day.now)
    engine = open_database(f"sqlite:///{directory / 'alliance.db'}")
    try:
        agreement = load_agreement(directory / "alliance.toml")
        yield day, Run("\n".join(printed), engine, agreement, directory)
    finally:
        engine.dispose()


def spoken(periods: tuple[str, ...]) -> str:
    """``a``, ``a and b``, ``a, b and c``: how the demo lists periods."""
    return periods[0] if len(periods) == 1 else f"{', '.join(periods[:-1])} and {periods[-1]}"


def printed_periods(output: str) -> dict[str, str]:
    """The printed text of each period's section (its statements and balances)."""
    parts = re.split(r"^=== Period (\d{4}-\d{2}) \(\w+\) ===$", output, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def lines_of(run: Run, member: str, period: str, label: str, now: datetime) -> list[StatementLine]:
    statement = member_statement(run.engine, run.agreement, member, period, as_of=now)
    return [line for line in statement.lines if line.order == label]


def test_the_story_names_a_referred_sale_of_the_last_closed_month(run: tuple[Day, Run]) -> None:
    day, demo = run
    story = STORY.search(demo.output)
    assert story, f"no story sentence in:\n{demo.output}"
    assert (story["sale"], story["open"]) == (day.sale_period, day.open_period)
    assert f"Settled {spoken(day.closed)}, every complete month before {day.open_period}" in (
        demo.output
    )
    assert "FAILED" not in demo.output

    with demo.engine.connect() as conn:
        closed = repo.closed_periods(conn)
        order = (
            conn.execute(
                select(orders).where(orders.c.member == "wang", orders.c.number == story["number"])
            )
            .mappings()
            .one()
        )
    assert set(day.closed) <= closed and day.open_period not in closed
    assert order["referrer"] == "li" and order["status"] == "refunded"
    assert order["refunded_minor"] == order["total_minor"]  # refunded in full
    assert period_of(order["sale_at"], demo.agreement.settings.timezone) == day.sale_period


def test_the_clawback_is_in_the_period_the_story_names_and_undoes_the_commission(
    run: tuple[Day, Run],
) -> None:
    day, demo = run
    story = STORY.search(demo.output)
    assert story, demo.output
    label = f"wang#{story['number']}"

    booked = lines_of(demo, "li", story["sale"], label, day.now)
    assert [line.kind for line in booked] == [EntryKind.ACCRUAL]
    assert booked[0].date[:7] == day.sale_period  # the sale date, in the alliance timezone
    commission = booked[0].amount
    assert commission > 0

    clawed = lines_of(demo, "li", story["open"], label, day.now)
    assert [(line.kind, line.amount) for line in clawed] == [(EntryKind.CLAWBACK, -commission)]
    seller = lines_of(demo, "wang", story["open"], label, day.now)
    assert [(line.kind, line.amount) for line in seller] == [(EntryKind.CLAWBACK, commission)]
    assert Decimal(story["amount"]) == commission
    printed = printed_periods(demo.output)
    shown = [ln for ln in printed[day.open_period].splitlines() if f" {label} " in ln]
    assert len(shown) == 2 and all(" clawback " in ln for ln in shown)  # li's line, wang's line
    assert all(" clawback " not in printed[p] for p in day.closed)
    for period in day.periods:  # nothing else about the order anywhere in the window
        if period not in (day.sale_period, day.open_period):
            assert lines_of(demo, "li", period, label, day.now) == []


def test_every_period_of_the_window_is_printed(run: tuple[Day, Run]) -> None:
    day, demo = run
    printed = PRINTED_PERIOD.findall(demo.output)
    assert printed == [(p, "settled") for p in day.closed] + [(day.open_period, "open")]
    statements = STATEMENT_PERIOD.findall(demo.output)
    for period in day.periods:
        assert {m for m, p in statements if p == period} == {"li", "wang", "zhang", "zhao"}
        assert f"Balances for {period} " in demo.output
    assert {p for _, p in statements} == set(day.periods)
    assert f"periods {spoken(day.periods)}, each with every member's statement" in demo.output
    assert f"statement --member li --period {day.open_period}" in demo.output


def test_a_naive_now_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run_demo(tmp_path / "demo", echo=lambda _: None, now=datetime(2026, 12, 7))
    assert not (tmp_path / "demo").exists()


PROMOTION = "newborn-gift-pack"
REPORT_HEADING = f"=== The {PROMOTION}: alliance promotions report ==="
PACKS_LINE = re.compile(r"^packs: (\d+) \((\d+) issued, (\d+) revoked\)$", re.M)
REPORT_ROW = re.compile(r"^(wang|zhang|zhao|total) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(.+)$", re.M)
TRACKED = re.compile(r"https://go\.parenting\.example/r/([A-Za-z0-9_-]+)")
PROMOTION_DATES = {  # the dates the demo's alliance.toml runs the gift pack over, by hand
    DAYS["mid-month"].now: ("2026-12-01", "2027-02-28"),  # the example's: they cover it
    DAYS["the 1st just after midnight in Shanghai"].now: ("2027-01-18", "2027-03-01"),
    DAYS["1 January"].now: ("2026-12-01", "2027-02-28"),
    DAYS["29 February 2028"].now: ("2028-01-18", "2028-02-29"),
}
# per partner, worked out from the demo's baskets: redeemed, revenue, discount, commission (5%)
REDEEMED = {
    "wang": ("2", "146.00", "60.00", "7.30"),  # 2 x 59 - 30 = 88 (4.40); 88 - 30 = 58 (2.90)
    "zhang": ("1", "169.00", "20.00", "8.45"),  # 189 - 20 = 169
    "zhao": ("1", "578.00", "102.00", "28.90"),  # 680 - 15% = 578
    "total": ("4", "893.00", "182.00", "44.65"),
}


def test_the_gift_pack_report_shows_packs_redemptions_and_one_revoked_pack(
    run: tuple[Day, Run],
) -> None:
    day, demo = run
    promotion = demo.agreement.promotion(PROMOTION)
    starts, ends = PROMOTION_DATES[day.now]
    assert (promotion.starts.isoformat(), promotion.ends.isoformat()) == (starts, ends)
    moved = f"the demo's alliance.toml runs it over the demo's six weeks instead: starts = {starts}"
    assert (moved in demo.output) == (starts != "2026-12-01")

    assert demo.output.count(REPORT_HEADING) == 1
    report = demo.output.split(REPORT_HEADING)[1]
    assert demo.output.index(REPORT_HEADING) > demo.output.rindex("Balances for ")  # at the end
    packs = PACKS_LINE.search(report)
    assert packs, report
    total, issued, revoked = (int(n) for n in packs.groups())
    assert revoked == 1 and issued == total - 1 and total >= 4  # Li's four, maybe more
    rows = {m[0]: m[1:] for m in REPORT_ROW.findall(report)}
    for partner in ("wang", "zhang", "zhao"):
        created, pending, failed, expired, redeemed, rest = rows[partner]
        assert (created, pending, failed) == (str(total), "0", "0")  # every coupon in its store
        expected_expired = "0" if partner == "wang" else "1"  # wang's coupon was used: kept
        assert expired == expected_expired
        assert (redeemed, *rest.split()[1:]) == REDEEMED[partner]
    assert (rows["total"][4], *rows["total"][5].split()[1:]) == REDEEMED["total"]

    with demo.engine.connect() as conn:  # the report agrees with the ledger
        booked = dict(
            conn.execute(
                select(ledger_entries.c.payer, func.sum(ledger_entries.c.amount_minor))
                .where(ledger_entries.c.deal_id == PROMOTION, ledger_entries.c.payee == "li")
                .group_by(ledger_entries.c.payer)
            ).all()
        )
        coupons = conn.execute(select(gift_coupons)).mappings().all()
        (gone,) = conn.execute(select(gift_packs).where(gift_packs.c.status == "revoked")).all()
    assert {payer: Decimal(minor) / 100 for payer, minor in booked.items()} == {
        partner: Decimal(figures[3]) for partner, figures in REDEEMED.items() if partner != "total"
    }
    assert len(coupons) == 3 * total and all(c["coupon_id"] for c in coupons)  # the stores' ids
    assert gone.trigger_order_number == "1033" and gone.revoke_reason.startswith("the trigger")
    assert "Li refunded order #1033 in full, so the next round revokes its pack." in demo.output

    secret = (os.environ.get("ALLIANCE_SECRET") or DEMO_SECRET).encode()
    tokens = TRACKED.findall(demo.output.split("Li's shop emailed the customer of order #1030")[1])
    claims = [verify_link(link_key(secret), token) for token in tokens[:3]]
    assert claims == [
        LinkClaim("li", partner, "", "giftpack", PROMOTION) for partner in ("wang", "zhang", "zhao")
    ]


def test_the_closed_months_are_settled_with_one_transfer_paid_and_one_line_disputed(
    run: tuple[Day, Run],
) -> None:
    day, demo = run
    last = day.closed[-1]
    with demo.engine.connect() as conn:
        settled = set(conn.execute(select(settlements.c.period)).scalars())
        (dispute,) = conn.execute(select(disputes)).mappings().all()
        moved = conn.execute(
            select(transfers.c.payer, transfers.c.payee, transfers.c.amount_minor).where(
                transfers.c.period == last
            )
        ).all()
        owed = conn.execute(
            select(
                ledger_entries.c.source_ref,
                ledger_entries.c.deal_id,
                ledger_entries.c.payer,
                ledger_entries.c.payee,
                ledger_entries.c.amount_minor,
            ).where(ledger_entries.c.period == last, ledger_entries.c.unit == "CNY")
        ).all()
        paid = conn.execute(
            select(transfers.c.id, transfer_payments.c.reference).join(
                transfer_payments, transfer_payments.c.transfer_id == transfers.c.id
            )
        ).all()
    assert settled == set(day.closed)
    held = (dispute["source_ref"], dispute["deal_id"], dispute["payer"], dispute["payee"])
    assert dispute["period"] == last and dispute["payer"] == "wang"
    assert dispute["source_ref"] != f"wang/{STORY.search(demo.output)['number']}"

    def net(rows: list[tuple[str, str, int]]) -> dict[str, int]:
        position: dict[str, int] = {}
        for payer, payee, minor in rows:
            position[payer] = position.get(payer, 0) - minor
            position[payee] = position.get(payee, 0) + minor
        return {member: minor for member, minor in position.items() if minor}

    ledger = [(p, q, m) for ref, deal, p, q, m in owed if (ref, deal, p, q) != held]
    assert len(ledger) < len(owed)  # the disputed line was there, and is left out
    assert net([tuple(t) for t in moved]) == net(ledger)  # the transfers settle the month

    assert len(paid) == 1 and paid[0].reference == "DEMO-BANK-0001"
    assert f"alliance transfers paid {paid[0].id} --reference DEMO-BANK-0001" in demo.output
    assert "Held out of this settlement by disputes (1):" in demo.output
    assert f"Settlement of {last} (CNY)" in demo.output

    written = demo.directory / "statements"
    for member in ("li", "wang", "zhang", "zhao"):
        html = (written / f"statement-{last}-{member}.html").read_text(encoding="utf-8")
        assert member in html and last in html
        assert (written / f"statement-{last}-{member}.pdf").read_bytes().startswith(b"%PDF-")
    assert f"8 statement files of {last} (HTML and PDF) written to {written}/" in demo.output
