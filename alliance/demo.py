"""``alliance demo``: the worked example from MISSION.md, end to end, on SQLite.

Li, Wang, Zhang and Zhao trade for six weeks up to today: referral coupons, tracked clicks
from Li's article, a swap between Zhang and Zhao, refunds, a cancellation and a
cash-on-delivery order. Each shop gets its own sandbox WooCommerce store (a real HTTP
server on localhost, see ``alliance sandbox serve``) holding its orders and products, and the
alliance syncs all four through the real connector, exactly as it would sync real shops. Then
the last complete month is closed, Wang refunds a sale in its store and the next sync books a
clawback. Everything is deterministic except the dates, which follow today's.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from alliance import report
from alliance.agreement.parse import load_agreement
from alliance.booking import book_clicks
from alliance.clicks import Click
from alliance.demo_site import serve_demo
from alliance.periods import period_of
from alliance.reporting import close_period, member_statement, period_balances, record_agreement
from alliance.settings import Settings
from alliance.storage.database import open_database
from connector.member_report import member_status_table
from connector.members import member_statuses
from connector.sandbox.server import start_sandbox
from connector.woocommerce.fixtures import woo_order
from connector.woocommerce.product_fixtures import woo_product
from worker.jobs import close_engines
from worker.runner import Runner

EXAMPLE = Path(__file__).with_name("data") / "example-alliance.toml"
DEMO_SECRET = "demo-only-secret-do-not-use-in-production-0000"
WEEKS = 6

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


def run_demo(
    directory: Path, *, echo: Callable[[str], None] = print, serve_port: int | None = None
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "alliance.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    secret = os.environ.get("ALLIANCE_SECRET") or DEMO_SECRET
    if secret == DEMO_SECRET:
        echo("(demo) ALLIANCE_SECRET is not set: using a public demo secret for customer keys.")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(weeks=WEEKS)
    rng = random.Random(2026)
    clicks = _clicks(rng, start, now)
    raw = _orders(rng, start, now, clicks)

    with ExitStack() as running:
        stores = {
            member: running.enter_context(start_sandbox(orders=orders))
            for member, orders in raw.items()
        }
        for member, handle in stores.items():  # products live on the store's own address
            handle.state.add_products(_products(member, start, handle.url))
        config = directory / "alliance.toml"
        links = f"http://127.0.0.1:{serve_port}" if serve_port is not None else None
        config.write_text(_agreement_for(stores, links), encoding="utf-8")
        keys = {f"{m.upper()}_WC_KEY": h.key.consumer_key for m, h in stores.items()}
        keys |= {f"{m.upper()}_WC_SECRET": h.key.consumer_secret for m, h in stores.items()}
        running.enter_context(_environment(keys))  # the stores' keys, as a deployment sets them
        settings = Settings.from_env(config=config)
        settings = replace(
            settings, database_url=f"sqlite:///{database}", secret=secret, redis_url=None
        )
        runner = Runner(settings)
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
        echo("")
        echo("alliance run: the worker's job functions, in this one process, no Redis")
        echo("first round (a backfill of every store):")
        _echo_syncs(echo, _round(runner))

        previous = period_of(start, agreement.settings.timezone)
        current = period_of(now, agreement.settings.timezone)
        late = _late_refund(raw["wang"])
        if previous != current and late is not None:
            close_period(engine, previous)
            stores["wang"].state.refund(late["id"], late["total"], "Returned unopened")
            echo("")
            echo(f"Closed {previous}; then Wang refunded order #{late['number']} in the store.")
            echo("next round (only what changed):")
            _echo_syncs(echo, _round(runner))
        echo("")
        statuses = member_statuses(engine, agreement, settings)
        echo("alliance members:")
        echo(member_status_table(statuses))

        total_orders = sum(len(v) for v in raw.values())
        echo("")
        echo(
            f"{total_orders} orders in {len(raw)} stores and {len(clicks)} tracked clicks over "
            f"the last {WEEKS} weeks."
        )
        periods = [previous] if previous == current else [previous, current]
        if previous != current:
            echo(
                f"Period {previous} was closed, then a late refund arrived: "
                f"see the clawback in {current}."
            )
        for period in periods:
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
        echo(f"Everything is in {database}. Explore it with, for example:")
        echo(
            f"  ALLIANCE_DATABASE_URL=sqlite:///{database} alliance --config {config} "
            f"statement --member li --period {periods[-1]} --format json"
        )
        echo("Run your own sandbox store with: alliance sandbox serve --port 8080 --generate 500")
        if serve_port is not None:
            serve_demo(settings, agreement, engine, stores, serve_port, echo)
        engine.dispose()
        close_engines()


def _agreement_for(stores: dict, links_base_url: str | None = None) -> str:
    """The example agreement, with each member's url pointing at its sandbox store (and the
    tracked links at the demo's own web app when it serves one)."""
    text = EXAMPLE.read_text(encoding="utf-8")
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
                    rng=rng,
                )
            )
        result[seller] = [_not_after(order, now) for order in orders]
    return result


def _not_after(order: dict, now: datetime) -> dict:
    """Completion dates the fixture puts in the future are moved to now, as a store would."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S")
    local = (now + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S")
    for name in ("date_modified", "date_completed"):
        if (order.get(f"{name}_gmt") or "") > stamp:
            order[f"{name}_gmt"], order[name] = stamp, local
    return order


def _late_refund(orders: list[dict]) -> dict | None:
    """Wang's earliest referred, completed, unrefunded sale: refunded in full today."""
    for order in sorted(orders, key=lambda o: o["date_created_gmt"]):
        if order["status"] == "completed" and order["coupon_lines"] and not order["refunds"]:
            return order
    return None
