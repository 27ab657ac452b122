"""``alliance serve``, ``alliance link`` and ``alliance widget``: thin shells over
:mod:`widgets.app`, :mod:`widgets.links` and :mod:`widgets.snippet`. The lead registers
:data:`COMMANDS` on the main ``alliance`` group."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

import click

from alliance.cli.shell import current_settings, friendly
from widgets.blocks import MAX_CARDS, MIN_CARDS, THANKYOU, Variant, partner_deals
from widgets.links import PLACEMENTS, LinkClaim, link_key, link_url, sign_link
from widgets.order_refs import canonical_order_id, order_ref
from widgets.snippet import LANGUAGES, SnippetMode, snippet

if TYPE_CHECKING:
    from alliance.agreement import Agreement

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
"""Where ``alliance serve`` listens by default; links use it without ``links_base_url``."""


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0: any free port (the address printed says which).",
)
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Processes."
)
@click.option(
    "--trusted-proxies",
    envvar="ALLIANCE_TRUSTED_PROXIES",
    default="127.0.0.1",
    show_default=True,
    help="Comma-separated addresses (or networks) whose X-Forwarded-For is believed: your "
    "reverse proxy. Visitors are told apart by the address this yields.",
)
@friendly
def serve(host: str, port: int, workers: int, trusted_proxies: str) -> None:
    """Serve tracked links, webhooks and partner blocks (granian: bench/clicks.py chose it)."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    from alliance.cli.web_app import alliance_app

    settings = current_settings()
    alliance_app(settings).state.engine.dispose()  # a clear message here on bad settings
    # each server process builds the app from the environment (alliance.cli.web_app.served_app)
    os.environ["ALLIANCE_CONFIG"] = str(settings.config_path)
    os.environ["ALLIANCE_DATABASE_URL"] = settings.database_url
    os.environ["ALLIANCE_TRUSTED_PROXIES"] = trusted_proxies
    holder = _hold_free_port(host) if port == 0 else None
    if holder is not None:
        port = holder.getsockname()[1]
    click.echo(f"serving on http://{host}:{port} ({workers} process(es)); Ctrl-C stops")
    try:
        Granian(
            "alliance.cli.web_app:served_app",
            factory=True,
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            log_level=LogLevels.info,
        ).serve()
    finally:
        if holder is not None:
            holder.close()


def _hold_free_port(host: str) -> socket.socket:
    """``--port 0``: a free port, bound (never listening) for as long as the server runs.

    Granian's workers each bind the port themselves with SO_REUSEPORT, so port 0 would give
    each its own; holding one port this way lets them share it, prints the address really
    served, and keeps any other program from taking it meanwhile.
    """
    holder = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        holder.bind((host, 0))
    except OSError as exc:
        holder.close()
        raise click.ClickException(f"cannot listen on {host}: {exc.strerror}") from None
    return holder


@click.command()
@click.option("--from", "source", required=True, help="The member whose page carries the link.")
@click.option("--to", "target", required=True, help="The member whose product it points to.")
@click.option("--product", "product_id", required=True, help="The target's product id.")
@click.option("--placement", type=click.Choice(PLACEMENTS), default="article", show_default=True)
@click.option("--deal", "deal_id", default=None, help="Which deal (when several allow it).")
@click.option(
    "--allow-unknown",
    is_flag=True,
    help="Sign it even when the product is not in the partner's synced catalogue.",
)
@friendly
def link(
    source: str,
    target: str,
    product_id: str,
    placement: str,
    deal_id: str | None,
    allow_unknown: bool,
) -> None:
    """Print a tracked URL to a partner's product, for articles, emails and posts."""
    from alliance.agreement.parse import load_agreement

    settings = current_settings()
    agreement = load_agreement(settings.config_path)
    for member in (source, target):
        if member not in agreement.members:
            known = ", ".join(sorted(agreement.members))
            raise click.UsageError(f"{member!r} is not a member; the members are: {known}")
    legs = agreement.legs_between(source, target)
    if deal_id is not None:
        legs = tuple(leg for leg in legs if leg.deal_id == deal_id)
    if not legs and deal_id is None:
        raise click.ClickException(
            f"no deal lets {source} refer customers to {target}; add one to the agreement"
        )
    if not legs:
        raise click.ClickException(
            f"deal {deal_id!r} is not a deal in which {target} rewards {source} for referrals"
        )
    if not allow_unknown:
        _require_known_product(target, product_id)
    claim = LinkClaim(source, target, product_id, placement, legs[0].deal_id)
    token = sign_link(link_key(settings.require_secret()), claim)
    click.echo(link_url(_base_url(agreement), token))


def _require_known_product(member: str, product_id: str) -> None:
    """Refuse a product the partner's synced catalogue does not have: its click would land
    on the partner's home page and still count."""
    from alliance.cli.shell import current_engine
    from alliance.services.catalog import products_of

    with current_engine().connect() as conn:
        known = products_of(conn, member)
    if any(p.product_id == product_id for p in known):
        return
    if not known:
        said = f"{member}'s catalogue has not been synced yet (alliance sync --member {member})"
    else:
        some = ", ".join(f"{p.product_id} ({p.name})" for p in known[:3])
        said = f"{member}'s synced catalogue has {len(known)} products, e.g. {some}"
    raise click.ClickException(
        f"product {product_id!r} is not in {member}'s catalogue: {said}. Check the id in "
        f"{member}'s store, sync again if it is new, or pass --allow-unknown to sign it anyway"
    )


def _base_url(agreement: Agreement) -> str:
    """The agreement's ``links_base_url``, or the local default with a warning: a link or
    snippet made with it works only on this machine."""
    if agreement.settings.links_base_url:
        return agreement.settings.links_base_url
    click.secho(
        f"warning: links_base_url is not set in {agreement.source}, so this uses "
        f"{DEFAULT_BASE_URL}, which works only on this machine. Set links_base_url under "
        "[alliance] to the address `alliance serve` is reached at (e.g. https://go.example.org)",
        fg="yellow",
        err=True,
    )
    return DEFAULT_BASE_URL


@click.command()
@click.option("--member", required=True, help="The member whose page shows the block.")
@click.option("--placement", type=click.Choice(PLACEMENTS), required=True)
@click.option("--variant", type=click.Choice([v.value for v in Variant]), default=None)
@click.option(
    "--count",
    type=click.IntRange(MIN_CARDS, MAX_CARDS),
    default=None,
    help="Cards shown (default: grid 4, list 3; single shows 1).",
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default=None,
    help="The block's language (default: the page's <html lang> in script mode, else the "
    "visitor's browser's).",
)
@click.option(
    "--height",
    type=click.IntRange(100, 4000),
    default=None,
    help="iframe mode: the frame's height in pixels.",
)
@click.option("--title", default=None, help="iframe mode: the frame's accessible name.")
@click.option(
    "--mode",
    type=click.Choice([m.value for m in SnippetMode]),
    default=SnippetMode.SCRIPT.value,
    show_default=True,
    help="script: embed.js; iframe: a sandboxed frame; html: how to fetch plain HTML.",
)
@click.option(
    "--order",
    "order_id",
    default=None,
    help="Thank-you placement: the order's id in the store. The snippet carries its reference, "
    "signed with <MEMBER>_WC_WEBHOOK_SECRET, and the block shows that order's gift pack.",
)
@friendly
def widget(
    member: str,
    placement: str,
    variant: str | None,
    count: int | None,
    lang: str | None,
    height: int | None,
    title: str | None,
    mode: str,
    order_id: str | None,
) -> None:
    """Print the snippet a shop pastes into its pages to show its partners' block.

    With --order, the snippet of one order's thank-you page, for trying it by hand; a shop's
    server signs each order's reference itself (README: widgets.order_refs.order_ref).
    """
    from alliance.agreement.parse import load_agreement

    if order_id is not None and placement != THANKYOU:
        raise click.UsageError(f"--order is only for --placement {THANKYOU}")
    if order_id is not None and not canonical_order_id(order_id):
        raise click.UsageError(f"--order {order_id!r} is not a plain order id, such as 1234")
    agreement = load_agreement(current_settings().config_path)
    if member not in agreement.members:
        known = ", ".join(sorted(agreement.members))
        raise click.UsageError(f"{member!r} is not a member; the members are: {known}")
    ref = None
    if order_id is not None:
        variable = agreement.members[member].webhook_secret_variable
        secret = os.environ.get(variable, "")
        if not secret:
            raise click.ClickException(
                f"{variable} is not set: an order's reference is signed with {member}'s "
                "webhook secret, the one its store signs webhooks with"
            )
        ref = order_ref(secret, member, order_id)
        click.echo(
            f"data-order is the signed reference of {member}'s order {order_id} "
            f"(signed with {variable}); a shop's server makes one per order.",
            err=True,
        )
    if not partner_deals(agreement, member):
        click.secho(
            f"warning: no deal rewards {member} for referrals, so the block stays empty;"
            " add one to the agreement",
            fg="yellow",
            err=True,
        )
    if mode == SnippetMode.IFRAME.value and lang is None:
        click.echo(
            "note: the frame cannot read your page's language; it speaks the visitor's browser "
            f"language unless you give --lang ({' or '.join(LANGUAGES)}).",
            err=True,
        )
    base = _base_url(agreement)
    text = snippet(
        base,
        member,
        placement,
        variant=variant,
        mode=SnippetMode(mode),
        order=ref,
        count=count,
        lang=lang,
        height=height,
        title=title,
    )
    click.echo(text)


COMMANDS = [serve, link, widget]
"""Commands for the main ``alliance`` group: ``for c in COMMANDS: main.add_command(c)``."""
