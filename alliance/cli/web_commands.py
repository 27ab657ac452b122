"""``alliance serve``, ``alliance link`` and ``alliance widget``: thin shells over
:mod:`widgets.app`, :mod:`widgets.links` and :mod:`widgets.snippet`. The lead registers
:data:`COMMANDS` on the main ``alliance`` group."""

from __future__ import annotations

import os

import click

from alliance.cli.shell import current_settings, friendly
from widgets.blocks import THANKYOU, Variant, partner_deals
from widgets.links import PLACEMENTS, LinkClaim, link_key, link_url, sign_link
from widgets.order_refs import canonical_order_id, order_ref
from widgets.snippet import SnippetMode, snippet

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
"""Where ``alliance serve`` listens by default; links use it without ``links_base_url``."""


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
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
    click.echo(f"serving on http://{host}:{port} ({workers} process(es)); Ctrl-C stops")
    Granian(
        "alliance.cli.web_app:served_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        log_level=LogLevels.info,
    ).serve()


@click.command()
@click.option("--from", "source", required=True, help="The member whose page carries the link.")
@click.option("--to", "target", required=True, help="The member whose product it points to.")
@click.option("--product", "product_id", required=True, help="The target's product id.")
@click.option("--placement", type=click.Choice(PLACEMENTS), default="article", show_default=True)
@click.option("--deal", "deal_id", default=None, help="Which deal (when several allow it).")
@friendly
def link(source: str, target: str, product_id: str, placement: str, deal_id: str | None) -> None:
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
    claim = LinkClaim(source, target, product_id, placement, legs[0].deal_id)
    token = sign_link(link_key(settings.require_secret()), claim)
    click.echo(link_url(agreement.settings.links_base_url or DEFAULT_BASE_URL, token))


@click.command()
@click.option("--member", required=True, help="The member whose page shows the block.")
@click.option("--placement", type=click.Choice(PLACEMENTS), required=True)
@click.option("--variant", type=click.Choice([v.value for v in Variant]), default=None)
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
    member: str, placement: str, variant: str | None, mode: str, order_id: str | None
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
    base = agreement.settings.links_base_url or DEFAULT_BASE_URL
    click.echo(snippet(base, member, placement, variant=variant, mode=SnippetMode(mode), order=ref))


COMMANDS = [serve, link, widget]
"""Commands for the main ``alliance`` group: ``for c in COMMANDS: main.add_command(c)``."""
