"""``alliance profile | overlap | prospect | simulate``: choosing partners and terms with evidence.

A thin shell over :mod:`alliance.services.insights` and :mod:`alliance.services.whatif`;
registered on the main ``alliance`` group. Every number printed was suppressed by the domain
first; no command prints a customer key, an email, a name or an address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from alliance.cli.shell import current_agreement, current_engine, current_settings, fail, friendly
from alliance.suppression import shown

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from alliance.agreement import Agreement

FORMAT = click.Choice(["table", "json"])
F = TypeVar("F", bound=Callable[..., Any])


def _month(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from alliance.periods import parse_period

    if value is None:
        return None
    try:
        return parse_period(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _window_options(func: F) -> F:
    """``--months N`` and ``--to YYYY-MM``: the window of whole months a command reads."""
    func = click.option(
        "--to",
        "last",
        callback=_month,
        help="The last month, YYYY-MM (default: the month of the newest booked sale).",
    )(func)
    return click.option(
        "--months",
        type=click.IntRange(1, 36),
        default=3,
        show_default=True,
        help="How many whole months, ending with --to.",
    )(func)


@click.command()
@click.argument("member")
@click.option("--period", callback=_month, help="One month, YYYY-MM (same as --months 1 --to).")
@_window_options
@click.option("--format", "fmt", type=FORMAT, default="table", show_default=True)
@friendly
def profile(member: str, period: str | None, months: int, last: str | None, fmt: str) -> None:
    """A member's customers by region, category, value band, new or returning, month by month."""
    if period is not None:
        months, last = 1, period
    from alliance.insights_report import profile_json, profile_table
    from alliance.services.insights import default_window, member_profile

    agreement = current_agreement()
    if member not in agreement.members:
        known = ", ".join(sorted(agreement.members))
        fail(f"member {member!r} is not in {agreement.source}; members are: {known}")
    engine = current_engine()
    span = default_window(engine, agreement, months, last)
    result = member_profile(engine, agreement, member, span)
    click.echo(profile_table(result) if fmt == "table" else profile_json(result))


@click.command()
@click.option("--member", "-m", default=None, help="Only this member's pairs and best partners.")
@_window_options
@click.option("--format", "fmt", type=FORMAT, default="table", show_default=True)
@friendly
def overlap(member: str | None, months: int, last: str | None, fmt: str) -> None:
    """Customers in common between members, complementarity, and partner fit."""
    from alliance.insights_report import overlap_json, overlap_table
    from alliance.services.insights import alliance_overlap, default_window

    agreement = current_agreement()
    if member is not None and member not in agreement.members:
        known = ", ".join(sorted(agreement.members))
        fail(f"member {member!r} is not in {agreement.source}; members are: {known}")
    engine = current_engine()
    span = default_window(engine, agreement, months, last)
    r = alliance_overlap(engine, agreement, span, member)
    render = overlap_table if fmt == "table" else overlap_json
    click.echo(render(r.window.months, r.k, r.customers, r.pairs, r.lifts, r.best))


@click.command()
@click.option("--name", required=True, help="The prospective shop's short name, e.g. sun.")
@click.option(
    "--orders",
    "orders_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Its WooCommerce orders export: the JSON list GET /wp-json/wc/v3/orders returns.",
)
@click.option("--store", "store_url", help="Or its store's address, read with REST keys.")
@click.option(
    "--credentials-env",
    default="PROSPECT_WC",
    show_default=True,
    help="With --store: the keys are read from <NAME>_KEY and <NAME>_SECRET (read-only keys do).",
)
@click.option(
    "--category",
    "categories",
    multiple=True,
    help="A category slug the prospect sells (repeat it); an export does not name categories.",
)
@_window_options
@click.option("--format", "fmt", type=FORMAT, default="table", show_default=True)
@friendly
def prospect(
    name: str,
    orders_file: Path | None,
    store_url: str | None,
    credentials_env: str,
    categories: tuple[str, ...],
    months: int,
    last: str | None,
    fmt: str,
) -> None:
    """How a shop that is not a member yet would fit: overlap and fit against every member.

    Its orders (an export, or read from its store) are mapped through the data firewall,
    keyed with the alliance's secret and compared in memory: nothing of the prospect's
    customers is stored or printed.
    """
    from alliance.insights_report import overlap_json, overlap_table
    from alliance.orders import Order
    from alliance.services.insights import default_window, prospect_overlap
    from connector.woocommerce.files import read_orders_document
    from connector.woocommerce.mapping import map_orders

    if (orders_file is None) == (store_url is None):
        fail("give the prospect's orders as --orders export.json or --store URL (one of them)")
    keys = _prospect_keys(credentials_env) if store_url is not None else ("", "")
    agreement = current_agreement()
    secret = current_settings().require_secret()
    engine = current_engine()
    span = default_window(engine, agreement, months, last)
    if store_url is None:
        documents = read_orders_document(orders_file or "")
    else:
        documents = _store_orders(store_url, keys, name, span.start)
    mapped = map_orders(documents, member=name, secret=secret)
    del documents  # the raw orders, names and emails included, are not kept a moment longer
    orders = [item for item in mapped if isinstance(item, Order)]
    refused = len(mapped) - len(orders)
    r = prospect_overlap(engine, agreement, span, name, orders, categories)
    render = overlap_table if fmt == "table" else overlap_json
    click.echo(render(r.window.months, r.k, r.customers, r.pairs, r.lifts, r.best))
    if refused:
        click.echo(
            f"{refused} order(s) of the export could not be read and were left out.", err=True
        )


def _prospect_keys(credentials_env: str) -> tuple[str, str]:
    """The prospect's REST keys from the environment, or a message saying what to set."""
    import os

    key = os.environ.get(f"{credentials_env}_KEY", "")
    secret = os.environ.get(f"{credentials_env}_SECRET", "")
    if not key or not secret:
        fail(
            f"set {credentials_env}_KEY and {credentials_env}_SECRET to the prospect's REST keys "
            "(WooCommerce > Settings > Advanced > REST API; read-only keys are enough)"
        )
    return key, secret


def _store_orders(url: str, keys: tuple[str, str], name: str, since: datetime) -> list[Any]:
    """Every order the store changed since ``since`` (the window's start), page by page."""
    from connector.woocommerce.store import WooCommerceStore

    store = WooCommerceStore(name, url, *keys)
    documents: list[Any] = []
    try:
        page = store.list_orders(modified_after=since)
        documents += page.documents
        for number in range(2, (page.total_pages or 1) + 1):
            documents += store.list_orders(modified_after=since, page=number).documents
    finally:
        store.close()
    return documents


@click.command()
@click.option(
    "--agreement",
    "proposed_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The proposed agreement file (new rates, deals, members, attribution window).",
)
@click.option("--from", "first", required=True, callback=_month, help="First month, YYYY-MM.")
@click.option("--to", "last", required=True, callback=_month, help="Last month, YYYY-MM.")
@click.option("--format", "fmt", type=FORMAT, default="table", show_default=True)
@friendly
def simulate(proposed_file: Path, first: str, last: str, fmt: str) -> None:
    """Replay the months' orders and clicks under proposed terms; writes nothing."""
    from alliance.agreement.parse import load_agreement
    from alliance.insights_report import simulation_json, simulation_table
    from alliance.services.whatif import simulate as run

    current = current_agreement()
    proposed = load_agreement(proposed_file)
    result = run(current_engine(), current, proposed, first, last)
    click.echo(simulation_table(result) if fmt == "table" else simulation_json(result))


COMMANDS = [profile, overlap, prospect, simulate]


def demo_insights(
    engine: Engine, agreement: Agreement, first: str, last: str, *, member: str = "li"
) -> list[str]:
    """What ``alliance demo`` ends with: the member's best-fit partner without a deal, and one
    what-if (its first percent deal at 12% instead of its rate), over ``first`` to ``last``."""
    from alliance.agreement import DealKind
    from alliance.money import format_amount
    from alliance.services.insights import alliance_overlap, window
    from alliance.services.whatif import simulate as run

    months = len(_months_between(first, last))
    report = alliance_overlap(
        engine, agreement, window(last, months, agreement.settings.timezone), member
    )
    lines = [f"alliance overlap --member {member} (customers in common, as released):"]
    ranked = report.best.get(member, [])
    if ranked:
        partner, fit = ranked[0]
        pair = next(p for p in report.pairs if partner in (p.a, p.b))
        share = pair.share_of_b if pair.a == member else pair.share_of_a
        common = shown(pair.shared, report.k)
        of_theirs = f" ({share * 100:.0f}% of {partner}'s)" if share is not None else ""
        lines.append(
            f"  {member}'s best-fit partner without a deal is {partner}: {common} customers in "
            f"common{of_theirs}, complementarity {pair.complementarity * 100:.0f}%, "
            f"fit {fit}."
            if pair.complementarity is not None
            else f"  {member}'s best-fit partner without a deal is {partner} (fit {fit})."
        )
    else:
        lines.append(
            f"  no partner {member} has no deal with shares {report.k} or more customers yet."
        )
    deal = next(
        (
            d
            for d in agreement.deals
            if d.kind is DealKind.PERCENT and any(g.referrer == member for g in d.legs)
        ),
        None,
    )
    if deal is None or deal.rate is None:
        return lines
    rate = deal.rate + Decimal("0.02")
    changed = tuple(replace(d, rate=rate) if d.id == deal.id else d for d in agreement.deals)
    proposed = replace(agreement, deals=changed, _legs_by_pair={})  # legs recomputed
    result = run(engine, agreement, proposed, first, last)
    actual, simulated = result.members[member]
    cur = agreement.currency
    seller = next(g.seller for g in deal.legs if g.referrer == member)
    lines += [
        f"alliance simulate ({deal.id} at {rate * 100:.0f}% instead of "
        f"{deal.rate * 100:.0f}%, {first} to {last}; nothing written):",
        f"  {member} would have earned {format_amount(simulated.earned, cur)} {cur} instead of "
        f"{format_amount(actual.earned, cur)} "
        f"({format_amount(simulated.earned - actual.earned, cur)} more), and {seller} would "
        f"have owed {format_amount(result.members[seller][1].owed, cur)} instead of "
        f"{format_amount(result.members[seller][0].owed, cur)}.",
    ]
    return lines


def _months_between(first: str, last: str) -> list[str]:
    from alliance.periods import next_period

    months = [first]
    while months[-1] < last:
        months.append(next_period(months[-1]))
    return months
