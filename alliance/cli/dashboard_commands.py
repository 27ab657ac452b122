"""``alliance members token MEMBER``, ``alliance admin token`` and ``alliance dashboard
refresh``: sign-in tokens for the dashboard and its rollups, thin shells over
:mod:`alliance.services.dashboard_access` and :mod:`alliance.services.dashboard`.

A token is printed once and stored only as its SHA-256; ``--revoke`` ends every token of that
member (or of the admin), and their sessions with them at their next request.
"""

from __future__ import annotations

import click

from alliance.cli.shell import current_agreement, current_engine, friendly

DASHBOARD_PATH = "/dashboard/sign-in"


def _print_token(token: str, who: str) -> None:
    click.echo(f"Sign-in token for {who} (shown once; keep it like a password):")
    click.echo(token)
    click.echo(f"Sign in at <the web app's address>{DASHBOARD_PATH}; revoke it with --revoke.")


@click.command("token")
@click.argument("member")
@click.option("--revoke", is_flag=True, help="Revoke every sign-in token of this member.")
@friendly
def member_token(member: str, revoke: bool) -> None:
    """Issue a dashboard sign-in token for MEMBER (or revoke its tokens)."""
    from alliance.services.dashboard_access import issue_token, revoke_tokens

    agreement, engine = current_agreement(), current_engine(create=True)
    if revoke:
        count = revoke_tokens(engine, agreement, member)
        click.echo(f"Revoked {count} sign-in token(s) of {member}; their sessions have ended.")
        return
    _print_token(issue_token(engine, agreement, member), member)


@click.group()
def admin() -> None:
    """The alliance's administrator: dashboard access."""


@admin.command("token")
@click.option("--revoke", is_flag=True, help="Revoke every admin sign-in token.")
@friendly
def admin_token(revoke: bool) -> None:
    """Issue a dashboard sign-in token for the admin (every member's pages; or revoke them)."""
    from alliance.services.dashboard_access import issue_token, revoke_tokens

    agreement, engine = current_agreement(), current_engine(create=True)
    if revoke:
        count = revoke_tokens(engine, agreement, None)
        click.echo(f"Revoked {count} admin sign-in token(s); their sessions have ended.")
        return
    _print_token(issue_token(engine, agreement, None), "the admin")


@click.group()
def dashboard() -> None:
    """The members' dashboard (served by `alliance serve` under /dashboard)."""


@dashboard.command()
@click.option("--full", is_flag=True, help="Count everything again, not just what changed.")
@friendly
def refresh(full: bool) -> None:
    """Bring the dashboard's figures up to date now (pages also do it every minute)."""
    from alliance.services.dashboard import refresh_rollups

    done = refresh_rollups(current_engine(), current_agreement(), full=full)
    if done.skipped:
        click.echo("Another refresh is running; its figures will be up to date when it ends.")
        return
    click.echo(
        f"Dashboard figures up to date: orders of {len(done.members)} member(s), "
        f"{len(done.periods)} ledger period(s), clicks from {done.click_days_from or '-'}."
    )


COMMANDS = [admin, dashboard]
"""Registered on the main group; :data:`member_token` goes on the ``members`` group."""
