"""``alliance close-period`` and ``alliance reopen-period``: a month closed by hand, and
opened again while nothing has been settled from it."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from alliance.cli.shell import (
    command_actor,
    current_agreement,
    current_engine,
    friendly,
    period_argument,
)


@click.command("close-period")
@click.argument("period", callback=period_argument)
@click.option("--yes", "-y", is_flag=True, help="Close it without asking.")
@friendly
def close_period_command(period: str, yes: bool) -> None:
    """Close an ended PERIOD (YYYY-MM): nothing more is booked into it; later changes to its
    orders land in the next open period. `alliance settle` closes the periods it settles."""
    from alliance.services.periods import close_period, is_closed
    from alliance.settlement import check_over

    agreement = current_agreement()
    now = datetime.now(UTC)
    check_over(period, now, agreement.settings.timezone)
    engine = current_engine()
    if is_closed(engine, period):
        click.echo(f"{period} was already closed; nothing changed.")
        return
    if not yes:
        click.confirm(
            f"Close {period}? Nothing more will be booked into it; later changes to its orders "
            f"will land in the next open period (`alliance reopen-period {period}` undoes this "
            "until the period is settled)",
            abort=True,
        )
    if close_period(engine, agreement, period, now=now, actor=command_actor()):
        click.echo(f"Closed {period}. Later changes to its orders land in the next open period.")
    else:
        click.echo(f"{period} was already closed; nothing changed.")


@click.command("reopen-period")
@click.argument("period", callback=period_argument)
@friendly
def reopen_period_command(period: str) -> None:
    """Open a closed PERIOD again, if it has not been settled: later changes to its orders are
    booked into it again (what was already carried into later periods stays there)."""
    from alliance.services.periods import reopen_period

    reopen_period(current_engine(), period, now=datetime.now(UTC), actor=command_actor())
    click.echo(f"Reopened {period}. Changes to its orders are booked into it again.")


COMMANDS = [close_period_command, reopen_period_command]
