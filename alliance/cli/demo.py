"""``alliance demo``: the worked example from MISSION.md, end to end, on SQLite.

Li, Wang, Zhang and Zhao trade for six weeks up to today: referral coupons, tracked clicks
from Li's article, a swap between Zhang and Zhao, refunds, a cancellation and a
cash-on-delivery order. Each shop gets its own sandbox WooCommerce store (a real HTTP
server on localhost, see ``alliance sandbox serve``) holding its orders and products, and the
alliance syncs all four through the real connector, exactly as it would sync real shops. Then
every complete month before the current one is closed, Wang refunds in full a sale Li
referred in the last closed month, and the next sync books its clawback into the current
(open) period; every period of the six weeks is printed.

The newborn gift pack runs alongside: some of Li's orders earn it, so the first round creates
its coupons in Wang's, Zhang's and Zhao's stores and puts a note with the codes and tracked
links on Li's orders (emailed to the customer); between the rounds customers redeem codes at
the partners and Li refunds one of those orders in full, so the next round books the
redemptions and revokes that pack; ``alliance promotions report`` ends the demo. When the
example's promotion dates do not cover the demo's last days, the demo's own agreement runs it
over the demo's six weeks, and says so. Everything is deterministic except the dates, which
follow the day it is run (``run_demo(now=...)`` picks another day).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alliance import report
from alliance.agreement import Agreement, Promotion
from alliance.agreement.parse import load_agreement
from alliance.cli.demo_history import add_history
from alliance.cli.demo_settlement import dispute_a_line, echo_settlements, settle_months
from alliance.cli.demo_site import listen, serve_demo
from alliance.cli.insight_commands import demo_insights
from alliance.cli.promotion_commands import gift_links
from alliance.clicks import Click
from alliance.giftpacks import promotion_window
from alliance.ledger import EntryKind
from alliance.periods import local_date, next_period, period_of
from alliance.promotion_report import promotions_table
from alliance.services import giftpacks as gift_packs
from alliance.services.booking import book_clicks
from alliance.services.promotion_report import promotion_reports
from alliance.services.reporting import (
    member_statement,
    period_balances,
    record_agreement,
)
from alliance.settings import Settings
from alliance.storage.database import open_database
from connector.fixtures.orders import woo_order
from connector.fixtures.people import fake_customer
from connector.fixtures.products import woo_product
from connector.member_report import member_status_table
from connector.members import member_statuses
from connector.sandbox.errors import RestError
from connector.sandbox.server import start_sandbox
from connector.sandbox.state import SandboxState
from worker.jobs import close_engines, provide_gift_links
from worker.runner import Runner

EXAMPLE = Path(__file__).parents[1] / "data" / "example-alliance.toml"
DEMO_SECRET = "demo-only-secret-do-not-use-in-production-0000"
WEEKS = 6
STORY_SELLER, STORY_REFERRER, STORY_COUPON = "wang", "li", "LI-FRIENDS"
STORY_ORDER_ID = 1000 + WEEKS * 5  # the first id after the generated orders (1000 + n)
STORY_REASON = "Returned unopened"

CATALOGUE = {
    "li": [
        (101, "Organic cotton bodysuit", Decimal("129.00")),
        (102, "Muslin swaddle set", Decimal("219.00")),
        (103, "Newborn gift box", Decimal("368.00")),
    ],
    "wang": [
        (201, "Natural baby wash 300 ml", Decimal("59.00")),
        (202, "After-bath massage oil", Decimal("88.00")),
        (203, "Gentle diaper cream", Decimal("45.00")),
    ],
    "zhang": [
        (301, "Wooden shape sorter", Decimal("139.00")),
        (302, "Custom name puzzle", Decimal("189.00")),
        (303, "Sensory cloth book", Decimal("79.00")),
    ],
    "zhao": [
        (401, "Home newborn photo session", Decimal("1280.00")),
        (402, "Mini family session", Decimal("680.00")),
    ],
}
# who refers to each seller, and with which coupon (None: the partner's tracked link)
REFERRALS = {
    "li": [("wang", "WANG-LOVES-LI")],
    "wang": [("li", "LI-FRIENDS"), ("li", None)],
    "zhang": [("wang", "WANG-TOYS"), ("zhao", "ZHAO-TOYS")],
    "zhao": [("zhang", "ZHANG-PHOTO"), ("li", None)],
}
DEALS_BY_LINK = {("li", "wang"): "li-wang", ("li", "zhao"): "li-zhao"}

PROMOTION = "newborn-gift-pack"
GIFT_ORDER_ID = STORY_ORDER_ID  # Li's orders built to earn the pack: 1030, 1031, ... at li
GIFT_BASKETS = [  # each over the promotion's 300.00 of items after discount
    [(103, "Newborn gift box", 1, Decimal("368.00"))],
    [
        (102, "Muslin swaddle set", 1, Decimal("219.00")),
        (101, "Organic cotton bodysuit", 1, Decimal("129.00")),
    ],
    [(101, "Organic cotton bodysuit", 3, Decimal("129.00"))],
    [(102, "Muslin swaddle set", 2, Decimal("219.00"))],
]
GIFT_REDEMPTIONS = [  # (which of those orders' customer, at which partner, what they buy)
    (0, "wang", [(201, 2)]),  # 2 x 59.00 - 30.00 = 88.00
    (0, "zhao", [(402, 1)]),  # 680.00 - 15% = 578.00
    (1, "zhang", [(302, 1)]),  # 189.00 - 20.00 = 169.00
    (3, "wang", [(202, 1)]),  # 88.00 - 30.00 = 58.00, before Li refunds that order
]
GIFT_REVOKED = 3  # the order Li refunds in full: its pack is revoked
GIFT_REFUND_REASON = "Changed her mind"


def run_demo(
    directory: Path,
    *,
    echo: Callable[[str], None] = print,
    serve_port: int | None = None,
    now: datetime | None = None,
) -> None:
    """Run the worked example; ``now`` (timezone-aware, default the current time) is the day
    the demo is run on, so tests can tell the story on any date they choose."""
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware (a UTC datetime), got a naive one")
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "alliance.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    secret = os.environ.get("ALLIANCE_SECRET") or DEMO_SECRET
    if secret == DEMO_SECRET:
        echo("(demo) ALLIANCE_SECRET is not set: using a public demo secret for customer keys.")
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(weeks=WEEKS)
    example = load_agreement(EXAMPLE)
    timezone = example.settings.timezone
    story = plan_story(start, now, timezone)
    gifts = plan_gift_story(start, now, example.promotion(PROMOTION), timezone)
    rng = random.Random(2026)
    clicks = _clicks(rng, start, now)
    raw = _orders(rng, start, now, clicks)
    raw[STORY_SELLER].append(story.order)
    raw[gifts.trigger_member] += gifts.orders
    clock = _running_clock(now)

    with ExitStack() as running:
        stores = {
            member: running.enter_context(start_sandbox(orders=orders, clock=clock))
            for member, orders in raw.items()
        }
        for member, handle in stores.items():  # products live on the store's own address
            handle.state.add_products(_products(member, start, handle.url))
        config = directory / "alliance.toml"
        listener = None
        if serve_port is not None:  # bound first: the links name the port it really got
            listener = running.enter_context(listen(serve_port))
            serve_port = listener.getsockname()[1]
        links = f"http://127.0.0.1:{serve_port}" if serve_port is not None else None
        config.write_text(_agreement_for(stores, links, gifts.dates), encoding="utf-8")
        keys = {f"{m.upper()}_WC_KEY": h.key.consumer_key for m, h in stores.items()}
        keys |= {f"{m.upper()}_WC_SECRET": h.key.consumer_secret for m, h in stores.items()}
        running.enter_context(_environment(keys))  # the stores' keys, as a deployment sets them
        settings = Settings.from_env(config=config)
        settings = replace(
            settings, database_url=f"sqlite:///{database}", secret=secret, redis_url=None
        )
        provide_gift_links(gift_links)  # the notes' tracked links, as `alliance run` signs them
        running.callback(provide_gift_links, None)
        runner = Runner(settings, now=clock)
        agreement = load_agreement(config)
        engine = open_database(settings.database_url)
        record_agreement(engine, agreement)
        book_clicks(engine, agreement, clicks, now=now)

        echo(
            f"{agreement.settings.name}: {len(agreement.members)} members, "
            f"{len(agreement.deals)} deals, agreement version {agreement.version}"
        )
        echo("Four sandbox WooCommerce stores are running (real HTTP, OAuth 1.0a):")
        for member, handle in stores.items():
            echo(f"  {member:6} {handle.url}  ({len(raw[member])} orders)")
        if gifts.dates is not None:
            echo(_moved_sentence(gifts, now, timezone, config))
        echo("")
        echo("alliance run: the worker's job functions, in this one process, no Redis")
        echo("first round (a backfill of every store, and the gift packs Li's orders earned):")
        _echo_syncs(echo, _round(runner))
        _echo_gift_packs(echo, runner)
        _echo_note(echo, stores[gifts.trigger_member].state, gifts)

        number = story.order["number"]
        disputed = None
        if story.closed:
            last_closed = story.closed[-1]
            spare = f"{STORY_SELLER}#{number}"
            disputed = dispute_a_line(engine, agreement, last_closed, now=now, spare=spare)
        settled = settle_months(engine, agreement, story.closed, now=now)
        stores[STORY_SELLER].state.refund(story.order["id"], story.order["total"], STORY_REASON)
        echo("")
        echo(
            f"Settled {_and(story.closed)}, every complete month before {story.open_period} "
            f"({timezone}): each is closed, nothing more is booked into it, and a later change "
            "is carried into the open period."
        )
        echo(
            f"Then Wang refunded order #{number} in full in its store: a sale paid on "
            f"{story.paid_on} (period {story.sale_period}) with Li's referral coupon "
            f"{STORY_COUPON}."
        )
        echo(_redeem(engine, stores, gifts))
        echo("next round (only what changed):")
        _echo_syncs(echo, _round(runner))
        _echo_gift_packs(echo, runner)
        echo("")
        statuses = member_statuses(engine, agreement, settings)
        echo("alliance members:")
        echo(member_status_table(statuses))

        total_orders = sum(len(v) for v in raw.values())
        echo("")
        echo(
            f"{total_orders} orders in {len(raw)} stores and {len(clicks)} tracked clicks over "
            f"the last {WEEKS} weeks ({local_date(start, timezone)} to "
            f"{local_date(now, timezone)}, {timezone}): periods {_and(story.periods)}, "
            "each with every member's statement and the balances below."
        )
        echo(_story_sentence(engine, agreement, story, now))
        for period in story.periods:
            echo("")
            status = "settled" if period in story.closed else "open"
            echo(f"=== Period {period} ({status}) ===")
            for member in agreement.members:
                echo("")
                echo(
                    report.statement_table(
                        member_statement(engine, agreement, member, period, as_of=now)
                    )
                )
            echo("")
            echo(report.balances_table(period, agreement.currency, period_balances(engine, period)))
        echo("")
        echo(f"=== The {PROMOTION}: alliance promotions report ===")
        echo("")
        echo(promotions_table(promotion_reports(engine, agreement, promotion_id=PROMOTION)))
        echo_settlements(echo, engine, agreement, settled, disputed, now=now, directory=directory)
        echo("")
        for line in demo_insights(engine, agreement, story.periods[0], story.periods[-1]):
            echo(line)
        echo("")
        echo(f"Everything is in {database}. Explore it with, for example:")
        echo(
            f"  alliance --config {config} "
            f"statement --member li --period {story.open_period} --format json"
        )
        echo(f"  alliance --config {config} promotions report --format json")
        echo(f"  alliance --config {config} overlap --member li")
        echo("Run your own sandbox store with: alliance sandbox serve --port 8080 --generate 500")
        if listener is not None:
            echo("")
            echo(
                add_history(
                    engine,
                    agreement,
                    secret.encode(),
                    start=start,
                    weeks=WEEKS,
                    make_clicks=_clicks,
                    make_orders=_orders,
                )
            )
            serve_demo(settings, agreement, engine, stores, listener, echo)
        engine.dispose()
        close_engines()


@dataclass(frozen=True)
class Story:
    """The late refund the demo tells, fixed before any store starts so it holds on any day:
    which order, the periods of the window, the ones closed before the refund, the closed
    period the order was paid in, and the open period its clawback must land in."""

    order: dict[str, Any]
    periods: tuple[str, ...]
    closed: tuple[str, ...]
    sale_period: str
    open_period: str
    paid_on: str

    @property
    def label(self) -> str:
        """How statements name the order (``wang#1030``)."""
        return f"{STORY_SELLER}#{self.order['number']}"


def plan_story(start: datetime, now: datetime, timezone: str) -> Story:
    """Every period the window ``start``..``now`` touches; all but the current one get closed,
    and the refunded sale is built to be paid in the last of them.

    The order is constructed rather than picked from the random ones: near the start of a
    month (the 1st just after midnight, 1 January) the random orders may hold no referred,
    completed sale of the last closed month, and the story must hold on every day.
    """
    periods = _periods_between(period_of(start, timezone), period_of(now, timezone))
    current = periods[-1]
    last_closed = _previous_period(current)
    # the part of the last closed month inside the window: at least 11 days, since the
    # window is 42 days and the current month has run at most 31 of them
    begin = max(start, _period_start(last_closed, timezone))
    end = _period_start(current, timezone)
    paid = (begin + (end - begin) / 2).replace(second=0, microsecond=0)
    order = woo_order(
        STORY_ORDER_ID,
        status="completed",
        created=paid - timedelta(minutes=1),  # paid one minute after the checkout
        lines=[
            (201, "Natural baby wash 300 ml", 2, Decimal("59.00")),
            (202, "After-bath massage oil", 1, Decimal("88.00")),
        ],
        coupons=[(STORY_COUPON, Decimal("10.00"))],
        tax_rate=Decimal("0.13"),
    )
    return Story(
        order=_not_after(order, now),
        periods=tuple(periods),
        closed=tuple(periods[:-1]),
        sale_period=period_of(paid, timezone),
        open_period=current,
        paid_on=local_date(paid, timezone),
    )


@dataclass(frozen=True)
class GiftStory:
    """The gift pack the demo tells: Li's orders built to earn it (more of Li's random orders
    may earn it too), and the promotion's dates when the example's do not cover them."""

    trigger_member: str
    orders: list[dict[str, Any]]
    example_dates: tuple[str, str]
    dates: tuple[str, str] | None  # the demo's own agreement's starts and ends, if moved

    def order_id(self, index: int) -> int:
        return int(self.orders[index]["id"])

    def email(self, index: int) -> str:
        return str(self.orders[index]["billing"]["email"])


def plan_gift_story(
    start: datetime, now: datetime, promotion: Promotion, timezone: str
) -> GiftStory:
    """Li's orders that earn the pack, paid on each of the four days before ``now``; the
    promotion's dates are moved over the demo's six weeks when the example's window (2026-12-01
    to 2027-02-28) does not hold all four, so the story is the same on any day."""
    orders = []
    for n, lines in enumerate(GIFT_BASKETS):
        created = now - timedelta(days=len(GIFT_BASKETS) - n, hours=3)
        order = woo_order(GIFT_ORDER_ID + n, status="processing", created=created, lines=lines,
                          tax_rate=Decimal("0.13"))  # fmt: skip
        orders.append(_not_after(order, now))
    begins, ends = promotion_window(promotion, timezone)
    first = now - timedelta(days=len(GIFT_BASKETS) + 1)
    covered = begins <= first and now < ends
    example = (promotion.starts.isoformat(), promotion.ends.isoformat())
    moved = None if covered else (local_date(start, timezone), local_date(now, timezone))
    return GiftStory(promotion.trigger_member, orders, example, moved)


def _moved_sentence(gifts: GiftStory, now: datetime, timezone: str, config: Path) -> str:
    assert gifts.dates is not None
    return (
        f"(demo) The example's {PROMOTION} runs {gifts.example_dates[0]} to "
        f"{gifts.example_dates[1]}, which does not cover the demo's last days "
        f"({local_date(now - timedelta(days=len(GIFT_BASKETS) + 1), timezone)} to "
        f"{local_date(now, timezone)}); the demo's {config.name} runs it over the demo's six "
        f"weeks instead: starts = {gifts.dates[0]}, ends = {gifts.dates[1]}."
    )


def _echo_gift_packs(echo: Callable[[str], None], runner: Runner) -> None:
    """What the gift-pack jobs after the syncs did (the Runner keeps them apart from syncs)."""
    for r in runner.gift_pack_results:
        if r.get("status") not in ("ok", "needs attention"):
            echo(f"  gift packs ({r['member']}): {r.get('status')}")
            continue
        echo(
            f"  gift packs ({r['member']}): {r['planned']} new, {r['issued']} issued, "
            f"{r['open']} still open, {r['revoked']} revoked, in {r['requests']} requests to the "
            "stores" + ("; NEEDS ATTENTION" if r["status"] != "ok" else "")
        )
    runner.gift_pack_results.clear()


def _echo_note(echo: Callable[[str], None], li: SandboxState, gifts: GiftStory) -> None:
    """The email Li's shop sent the first customer: the note with the codes and links."""
    order_id = gifts.order_id(0)
    sent = [e for e in li.sent_emails() if e.order_id == order_id]
    if not sent:
        echo(f"  (no note was sent on Li's order #{order_id})")
        return
    echo("")
    echo(
        f"Li's shop emailed the customer of order #{order_id} (through its own mail; no "
        "customer data left Li's shop):"
    )
    echo(f"  Subject: {sent[0].subject}")
    for line in sent[0].body.splitlines():
        echo(f"  | {line}" if line else "  |")


def _redeem(engine: Engine, stores: dict, gifts: GiftStory) -> str:
    """Customers redeem their codes at the partners' checkouts; Li refunds one order in full.
    The codes are read from the database as the notes listed them."""
    with engine.connect() as conn:
        packs = {p.trigger_order_id: p for p in gift_packs.packs(conn, promotion_id=PROMOTION)}
    done = []
    for index, partner, basket in GIFT_REDEMPTIONS:
        order_id = gifts.order_id(index)
        pack = packs.get(str(order_id))
        code = (
            next((c.plan.code for c in pack.coupons if c.member == partner), None) if pack else None
        )
        if code is None:
            done.append(f"no {partner} code for Li's #{order_id}")
            continue
        try:
            bought = stores[partner].state.checkout(
                {
                    "line_items": [{"product_id": p, "quantity": q} for p, q in basket],
                    "coupon_lines": [{"code": code}],
                    "billing": {"email": gifts.email(index), "country": "CN", "state": "CN31"},
                    "payment_method": "alipay",
                }
            )
        except RestError as exc:  # a coupon the store refused: the story says so
            done.append(f"{partner.capitalize()} refused Li's #{order_id} code ({exc.message})")
            continue
        done.append(f"{partner.capitalize()} order #{bought['number']} (Li's #{order_id})")
    refunded = gifts.orders[GIFT_REVOKED]
    li = stores[gifts.trigger_member].state
    li.refund(refunded["id"], refunded["total"], GIFT_REFUND_REASON)
    return (
        f"Li's customers used the codes from their notes at the partners' checkouts: "
        f"{_and(done)}. Then Li refunded order #{refunded['number']} in full, so the next round "
        "revokes its pack."
    )


def _story_sentence(engine: Engine, agreement: Agreement, story: Story, now: datetime) -> str:
    """What happened to the refunded sale, read back from the ledger, not assumed."""
    referrer = member_statement(engine, agreement, STORY_REFERRER, story.open_period, as_of=now)
    clawed = [
        line
        for line in referrer.lines
        if line.order == story.label and line.kind is EntryKind.CLAWBACK
    ]
    number = story.order["number"]
    if not clawed:
        return (
            f"Wang refunded order #{number} after its period {story.sale_period} was closed, "
            f"but no clawback for {story.label} is in {story.open_period}: the refund has not "
            "reached the ledger. Check the wang row of `alliance members` above and sync again."
        )
    amount = -sum((line.amount for line in clawed), Decimal(0))
    return (
        f"The late refund: Wang refunded order #{number}, a sale Li referred that was paid "
        f"in the closed period {story.sale_period}; that period stays as it was closed, so "
        f"the next sync booked a clawback into the open period {story.open_period}: Li gives "
        f"back the {amount} {agreement.currency} commission (see {story.label} in the "
        f"{story.open_period} statements below)."
    )


def _running_clock(start: datetime) -> Callable[[], datetime]:
    """A clock that reads ``start`` when the demo begins and runs from there, as the stores'
    clocks would on that day: the refund is stamped after every revision before it."""
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


def _periods_between(first: str, last: str) -> list[str]:
    periods = [first]
    while periods[-1] != last:
        periods.append(next_period(periods[-1]))
    return periods


def _previous_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def _period_start(period: str, timezone: str) -> datetime:
    """The UTC moment a period begins: midnight of its 1st in the alliance timezone."""
    local = datetime(int(period[:4]), int(period[5:7]), 1, tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def _and(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _agreement_for(
    stores: dict, links_base_url: str | None = None, dates: tuple[str, str] | None = None
) -> str:
    """The example agreement, with each member's url pointing at its sandbox store (and the
    tracked links at the demo's own web app when it serves one, and the gift pack's dates
    moved to ``dates`` when they are given)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    if dates is not None:  # the first promotion's (the gift pack's) starts and ends
        head, marker, tail = text.partition("[[promotions]]")
        tail = re.sub(r"^starts = \S+", f"starts = {dates[0]}", tail, count=1, flags=re.M)
        tail = re.sub(r"^ends = \S+", f"ends = {dates[1]}", tail, count=1, flags=re.M)
        text = head + marker + tail
    if links_base_url is not None:
        text = re.sub(
            r'^links_base_url = "[^"]*"', f'links_base_url = "{links_base_url}"', text, flags=re.M
        )
    for member, handle in stores.items():
        text = text.replace(f'url = "https://{member}.example"', f'url = "{handle.url}"')
    return text


def _round(runner: Runner) -> list[dict]:
    runner.results.clear()
    runner.cycle()
    return list(runner.results)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _echo_syncs(echo: Callable[[str], None], outcomes: list[dict]) -> None:
    for r in outcomes:
        if r.get("error"):
            echo(f"  {r['member']}: FAILED: {r['error']}")
            continue
        echo(
            f"  {r['member']:6} {r['fetched']:3} orders fetched in {r['requests']} requests, "
            f"{r['applied']:3} new or changed, {r['booked']:3} ledger entries"
        )


def _products(member: str, start: datetime, site: str) -> list[dict]:
    return [
        woo_product(pid, name=name, price=price, modified=start, site=site)
        for pid, name, price in CATALOGUE[member]
    ]


def _clicks(rng: random.Random, start: datetime, now: datetime) -> list[Click]:
    """Clicks from Li's article and thank-you page to Wang and Zhao; a few are not paid."""
    clicks = []
    for n in range(60):
        target = "wang" if n % 3 else "zhao"
        at = start + timedelta(minutes=rng.randrange(int((now - start).total_seconds() // 60)))
        valid, reason = True, ""
        if n % 17 == 5:
            valid, reason = False, "bot"
        elif n % 13 == 7:
            valid, reason = False, "duplicate"
        clicks.append(
            Click(
                id=f"demo-{n:04d}",
                source_member="li",
                target_member=target,
                deal_id=DEALS_BY_LINK[("li", target)],
                clicked_at=at,
                product_id=str(CATALOGUE[target][0][0]),
                placement="article" if n % 2 else "thankyou",
                visitor_key=f"{rng.getrandbits(64):016x}",
                agent_class="bot" if reason == "bot" else "browser",
                valid=valid,
                invalid_reason=reason,
            )
        )
    return clicks


def _orders(
    rng: random.Random, start: datetime, now: datetime, clicks: list[Click]
) -> dict[str, list]:
    by_target = {m: [c for c in clicks if c.target_member == m and c.valid] for m in CATALOGUE}
    result: dict[str, list] = {}
    for seller, products in CATALOGUE.items():
        orders = []
        for n in range(WEEKS * 5):
            order_id = 1000 + n
            created = start + timedelta(hours=rng.randrange(1, WEEKS * 7 * 24 - 2))
            picks = rng.sample(products, k=min(len(products), rng.choice([1, 1, 2])))
            lines = [(pid, name, rng.choice([1, 1, 2]), price) for pid, name, price in picks]
            coupons: list[tuple[str, Decimal]] = []
            attribution = None
            referral = rng.random()
            if referral < 0.45:
                _referrer, code = rng.choice(REFERRALS[seller])
                if code:
                    coupons.append((code, Decimal("10.00")))
                else:
                    earlier = [c for c in by_target[seller] if c.clicked_at < created]
                    if earlier:
                        c = rng.choice(earlier)
                        attribution = {
                            "utm_source": "alliance",
                            "utm_medium": c.placement,
                            "utm_campaign": c.deal_id,
                            "utm_content": c.id,
                        }
            status = rng.choices(["completed", "processing", "pending", "cancelled"], [6, 3, 1, 1])[
                0
            ]
            refunds = [Decimal("20.00")] if n % 11 == 4 and status == "completed" else None
            person = fake_customer(rng)  # drawn as woo_order would: the rest stays the same
            orders.append(
                woo_order(
                    order_id,
                    status=status,
                    created=created,
                    lines=lines,
                    coupons=coupons,
                    refunds=refunds,
                    attribution=attribution,
                    cod=n % 9 == 2 and status == "processing",
                    tax_rate=Decimal("0.13"),
                    customer=_family(person, seller, n),
                    rng=rng,
                )
            )
        result[seller] = [_not_after(order, now) for order in orders]
    return result


FAMILIES = 24
"""Young families who shop across the alliance (the article's premise: the same customers):
Li's, Wang's and Zhang's orders come from this one pool, so ``alliance overlap`` finds
customers in common; Zhao's clients are its own."""


def _family(drawn: dict[str, Any], seller: str, n: int) -> dict[str, Any]:
    """The customer of a generated order: one of the shared families, or Zhao's own."""
    if seller == "zhao":
        return drawn
    index = {"li": n, "wang": n * 5 + 3, "zhang": n * 7 + 1}[seller] % FAMILIES
    family = fake_customer(random.Random(f"family-{index}"))
    person = dict(drawn)
    person.update(
        first_name=family["first_name"],
        last_name=family["last_name"],
        email=f"family{index:02d}.{family['last_name'].lower()}@example.com",
    )
    return person


def _not_after(order: dict, now: datetime) -> dict:
    """Completion dates the fixture puts in the future are moved to now, as a store would."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S")
    local = (now + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S")
    for name in ("date_modified", "date_completed"):
        if (order.get(f"{name}_gmt") or "") > stamp:
            order[f"{name}_gmt"], order[name] = stamp, local
    return order
