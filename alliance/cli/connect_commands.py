"""``alliance members connect`` and ``disconnect``: a store joins without anyone copying a key.

``connect`` prints the member's own WooCommerce page that approves a key for the alliance app;
the store then hands the key to the running app (``alliance serve``), which checks it, stores
it encrypted, registers the webhooks and runs the first sync (``connector.store_connections``).
"""

from __future__ import annotations

import click

from alliance.cli.shell import current_agreement, current_engine, current_settings, friendly


@click.command()
@click.argument("member")
@click.option(
    "--app-url",
    envvar="ALLIANCE_PUBLIC_URL",
    help="The alliance app's address as the store reaches it, https (or $ALLIANCE_PUBLIC_URL).",
)
@friendly
def connect(member: str, app_url: str | None) -> None:
    """Print the link that connects MEMBER's store: its owner opens it and approves."""
    from alliance.errors import ConfigError
    from connector.store_connections import start_connect

    if not app_url:
        raise ConfigError(
            "the alliance app's address is not known; pass --app-url https://... or set "
            "ALLIANCE_PUBLIC_URL (the address where `alliance serve` is reached from the stores)"
        )
    engine = current_engine(create=True)  # connecting is how a member's data starts coming in
    url = start_connect(engine, current_agreement(), current_settings(), member, app_url)
    click.echo(
        f"Ask {member}'s shop owner to open this link, signed in to their WordPress as an "
        "administrator, and approve (it is good for one hour, once):"
    )
    click.echo(url)
    click.echo("The store then sends the key to the alliance app, which must be running there.")


@click.command()
@click.argument("member")
@friendly
def disconnect(member: str) -> None:
    """Delete MEMBER's webhooks in its store and forget the stored key."""
    from connector.members import policy_from
    from connector.store_connections import disconnect as disconnect_store

    settings = current_settings()
    done = disconnect_store(
        current_engine(), current_agreement(), settings, member, policy=policy_from(settings)
    )
    click.echo(f"{member}: {done.webhooks_deleted} webhook(s) deleted; the stored key is gone.")
    if done.problem:
        click.secho(
            f"warning: the store could not be reached ({done.problem}); delete the alliance's "
            "webhooks in WooCommerce > Settings > Advanced > Webhooks",
            fg="yellow",
            err=True,
        )
    click.echo(
        "To revoke the key itself: WooCommerce > Settings > Advanced > REST API, "
        "'Shop Alliance', Revoke."
    )


def add_member_commands(group: click.Group) -> None:
    group.add_command(connect)
    group.add_command(disconnect)
