"""``alliance settle``, ``transfers``, ``dispute`` and ``audit``: settling a month and paying
it, thin shells over :mod:`alliance.services.settlement` and :mod:`alliance.services.disputes`.
Registered on the main ``alliance`` group.

Every command that changes something names who acted (``ALLIANCE_ACTOR``, else login@host)
and the command as typed, for the audit log. Every refusal (a period not over or still
pending, an unknown transfer, entry or dispute, paying or resolving twice) is a message and
exit status 1, and changes nothing; a malformed period is a usage error (exit 2).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import click

from alliance.cli.shell import (
    command_actor as _actor,
)
from alliance.cli.shell import (
    current_agreement,
    current_engine,
    friendly,
)
from alliance.cli.shell import period_argument as _period

FORMATS = click.Choice(["table", "json"])


def _member(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and value not in current_agreement().members:
        known = ", ".join(sorted(current_agreement().members))
        raise click.BadParameter(f"{value!r} is not a member; members are: {known}")
    return value


@click.command()
@click.option("--period", "-p", required=True, callback=_period, help="YYYY-MM")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--force", is_flag=True, help="Settle even with lines still inside the holdback.")
@friendly
def settle(period: str, fmt: str, force: bool) -> None:
    """Settle a finished month: close it, net what members owe each other into the fewest
    transfers, carry swap credits forward, hold disputed lines out. Settling again prints
    the same settlement and changes nothing."""
    from alliance.services.reporting import record_agreement
    from alliance.services.settlement import settle as settle_period
    from alliance.settlement_report import settlement_json, settlement_table

    agreement = current_agreement()
    engine = current_engine()
    record_agreement(engine, agreement)  # statements cite this version's terms
    settled = settle_period(
        engine, agreement, period, now=datetime.now(UTC), actor=_actor(), force=force
    )
    s = settled.settlement
    timezone = agreement.settings.timezone
    if fmt == "json":
        click.echo(settlement_json(s))
    else:
        click.echo(settlement_table(s, timezone))
    if not settled.created:
        when = s.settled_at.astimezone(ZoneInfo(timezone))
        click.echo(
            f"{period} was settled on {when:%Y-%m-%d %H:%M} ({timezone}); nothing changed.",
            err=True,
        )
    elif not s.entries:
        click.echo(f"{period} had no ledger entries: settled with no transfers.", err=True)


@click.group(invoke_without_command=True)
@click.option("--period", "-p", callback=_period, help="Only this period (YYYY-MM).")
@click.option("--member", "-m", callback=_member, help="Only transfers paid or received by M.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="DATE",
    help="Judge what is overdue on this day (default: today, in the alliance's timezone).",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
@friendly
def transfers(
    ctx: click.Context,
    period: str | None,
    member: str | None,
    as_of: datetime | None,
    fmt: str,
) -> None:
    """Transfers of settled periods: who pays whom, by when, and what is paid or overdue."""
    if ctx.invoked_subcommand is not None:
        return
    from alliance.services.settlement import transfer_states
    from alliance.settlement_report import transfers_json, transfers_table

    agreement = current_agreement()
    timezone = agreement.settings.timezone
    today = as_of.date() if as_of else datetime.now(ZoneInfo(timezone)).date()
    states = transfer_states(current_engine(), agreement, today=today, period=period, member=member)
    click.echo(
        transfers_json(states, timezone) if fmt == "json" else transfers_table(states, timezone)
    )


@transfers.command("paid")
@click.argument("transfer_id")
@click.option("--reference", required=True, help="The bank's or payment's reference.")
@friendly
def transfers_paid(transfer_id: str, reference: str) -> None:
    """Record that transfer TRANSFER_ID was paid (once; the audit log keeps who said so)."""
    from alliance.money import format_amount
    from alliance.services.settlement import record_payment

    agreement = current_agreement()
    state = record_payment(
        current_engine(),
        agreement,
        transfer_id,
        reference,
        now=datetime.now(UTC),
        actor=_actor(),
    )
    t = state.transfer
    click.echo(
        f"{t.id}: {t.payer} paid {t.payee} {format_amount(t.amount, t.unit)} {t.unit} "
        f"(period {t.period}, reference {state.payment.reference if state.payment else ''}); "
        "recorded."
    )


@click.group(invoke_without_command=True)
@click.option("--member", "-m", callback=_member, help="Only lines of this member.")
@click.option("--period", "-p", callback=_period, help="Only lines of this period.")
@click.pass_context
@friendly
def dispute(ctx: click.Context, member: str | None, period: str | None) -> None:
    """Disputes: a line held out of settlement until the alliance decides."""
    if ctx.invoked_subcommand is not None:
        return
    from alliance.services.disputes import disputes
    from alliance.settlement_report import disputes_table

    timezone = current_agreement().settings.timezone
    found = disputes(current_engine(), member=member, period=period)
    click.echo(disputes_table(found, timezone))


@dispute.command("open")
@click.argument("entry_id")
@click.option("--reason", required=True, help="Why the line is wrong, in a few words.")
@friendly
def dispute_open(entry_id: str, reason: str) -> None:
    """Hold the line of ledger entry ENTRY_ID (a statement names it) out of settlement."""
    from alliance.services.disputes import open_dispute

    opened = open_dispute(
        current_engine(),
        current_agreement(),
        entry_id,
        reason,
        now=datetime.now(UTC),
        actor=_actor(),
    )
    source_ref, deal, payer, payee, _unit = opened.line
    click.echo(
        f"Dispute {opened.id} opened on entry {opened.entry} ({source_ref}, deal {deal}, "
        f"{payer} to {payee}, period {opened.period}): the line is held out of settlement "
        f"until: alliance dispute resolve {opened.id} --accept|--reject --note TEXT"
    )


@dispute.command("resolve")
@click.argument("dispute_id")
@click.option(
    "--accept/--reject",
    "accept",
    default=None,
    help="--accept: the line is not owed (voided); --reject: it stands and is settled next.",
)
@click.option("--note", required=True, help="What was decided, and why.")
@friendly
def dispute_resolve(dispute_id: str, accept: bool | None, note: str) -> None:
    """Resolve dispute DISPUTE_ID, once: accept it or reject it."""
    from alliance.services.disputes import resolve_dispute

    if accept is None:
        raise click.UsageError("say --accept (the line is not owed) or --reject (it stands)")
    resolved = resolve_dispute(
        current_engine(),
        current_agreement(),
        dispute_id,
        accept=accept,
        note=note,
        now=datetime.now(UTC),
        actor=_actor(),
    )
    what = (
        "the line is voided: no settlement pays it"
        if accept
        else "the line stands: the next settlement pays it"
    )
    click.echo(f"Dispute {resolved.id} {resolved.status.value}: {what}.")


@click.command()
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="DATE",
    help="Only events from this day on (in the alliance's timezone).",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@friendly
def audit(since: datetime | None, fmt: str) -> None:
    """The audit log: who settled, recorded a payment or disputed, when, from which command."""
    from alliance.settlement_report import audit_json, audit_table
    from alliance.storage.audit_log import events

    timezone = current_agreement().settings.timezone
    start = None
    if since is not None:
        start = datetime.combine(since.date(), time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    with current_engine().connect() as conn:
        found = events(conn, start)
    click.echo(audit_json(found) if fmt == "json" else audit_table(found, timezone))


COMMANDS = [settle, transfers, dispute, audit]
