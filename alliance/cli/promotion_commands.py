"""``alliance promotions ...``: joint promotions (gift packs) by hand, a thin shell over
:mod:`connector.giftpacks`. Registered on the main ``alliance`` group.

Also the wiring the gift-pack issuer needs from above it: :func:`gift_links` signs the note's
tracked links with the web app's link signer (``widgets.links``), handed down to the connector
and the worker's jobs, which may not import the web app themselves.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from alliance.agreement import Agreement
from alliance.cli.shell import current_agreement, current_engine, current_settings, fail, friendly

if TYPE_CHECKING:
    from connector.giftpacks import LinkFor
    from connector.storefront import Storefront

GIFT_PACK_PLACEMENT = "giftpack"
"""Where a gift pack's link sits (the note on the trigger order): travels as ``utm_medium``."""


def gift_links(agreement: Agreement, secret: bytes) -> LinkFor | None:
    """How a note links to a partner's store: a tracked link signed like the partner blocks'
    (``<links_base_url>/r/<token>``, naming the trigger member, the partner and the promotion
    as its campaign); None when the agreement has no ``links_base_url``."""
    from widgets.links import LinkClaim, link_key, link_url, sign_link

    base = agreement.settings.links_base_url
    if not base:
        return None
    key = link_key(secret)

    def link(source: str, target: str, promotion_id: str) -> str:
        claim = LinkClaim(source, target, "", GIFT_PACK_PLACEMENT, promotion_id)
        return link_url(base, sign_link(key, claim))

    return link


@click.group()
def promotions() -> None:
    """Joint promotions (gift packs): issue them now, and report what they did."""


@promotions.command("issue")
@click.option("--promotion", "promotion_id", default=None, help="Only this promotion's packs.")
@friendly
def issue(promotion_id: str | None) -> None:
    """Issue a gift pack for every qualifying order not yet served, and complete open ones."""
    from alliance.report import printable
    from alliance.services.reporting import record_agreement
    from connector.connect import open_store
    from connector.giftpacks import issue_gift_packs
    from connector.members import policy_from
    from connector.store_connections import connected_environ

    settings = current_settings()
    agreement = current_agreement()
    known = [p.id for p in agreement.promotions]
    if promotion_id is not None and promotion_id not in known:
        listed = ", ".join(known) if known else "none"
        fail(f"promotion {promotion_id!r} is not in {agreement.source}; its promotions: {listed}")
    secret = settings.require_secret()
    engine = current_engine()
    record_agreement(engine, agreement)
    policy = policy_from(settings)

    credentials = connected_environ(engine, agreement, settings)

    def opener(member: str) -> Storefront:
        return open_store(agreement.members[member], credentials, policy=policy)

    report = issue_gift_packs(
        engine,
        agreement,
        secret=secret,
        open_store=opener,
        link_for=gift_links(agreement, secret),
        promotion_id=promotion_id,
        note_wait=timedelta(minutes=settings.giftpack_note_wait_minutes),
        lease_ttl=timedelta(seconds=settings.lock_ttl_seconds),
    )
    for name, reason in report.revoking:
        click.echo(f"{name}: to revoke ({reason})")
    if not report.packs:
        click.echo("No gift packs to issue: every qualifying order is served.")
    for pack in report.packs:
        parts = [f"{pack.name}: {pack.status}"]
        if pack.created:
            parts.append(f"created at {', '.join(pack.created)}")
        if pack.revoked:
            parts.append("; ".join(pack.revoked))
        if pack.note:
            parts.append(pack.note)
        click.echo(printable(", ".join(parts)))
        for item in pack.pending:
            click.echo(printable(f"  pending: {item}"))
        for item in pack.failed:
            click.secho(printable(f"  failed: {item}"), fg="red")
        for problem in pack.problems:
            click.secho(printable(f"  needs attention: {problem}"), fg="red")
    for problem in dict.fromkeys(report.problems):
        click.secho(printable(f"needs attention: {problem}"), fg="red", err=True)
    counts = report.summary()
    click.echo(
        f"{counts['planned']} new pack(s), {counts['issued']} issued, {counts['open']} still "
        f"open, {counts['revoked']} revoked; {counts['requests']} request(s) to the stores."
    )
    if report.needs_attention:
        sys.exit(1)


@promotions.command("report")
@click.option("--promotion", "promotion_id", default=None, help="Only this promotion.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)  # fmt: skip
@friendly
def report(promotion_id: str | None, fmt: str) -> None:
    """Packs issued and revoked; per partner: coupons, redemptions, revenue, discount and
    commission."""
    from alliance.promotion_report import promotions_csv, promotions_json, promotions_table
    from alliance.services.promotion_report import promotion_reports

    agreement = current_agreement()
    figures = promotion_reports(current_engine(), agreement, promotion_id=promotion_id)
    if promotion_id is not None and not figures:
        known = [p.id for p in agreement.promotions]
        listed = ", ".join(known) if known else "none"
        fail(
            f"promotion {promotion_id!r} is not in {agreement.source} and has no gift packs in "
            f"the database; its promotions: {listed}"
        )
    if fmt == "json":
        click.echo(promotions_json(figures))
    elif fmt == "csv":
        click.echo(promotions_csv(figures), nl=False)
    else:
        click.echo(promotions_table(figures))


COMMANDS = [promotions]
