"""``alliance db copy``: move a trial ledger (SQLite) to the database the alliance will run on."""

from __future__ import annotations

import click

from alliance.cli.shell import current_settings, friendly


@click.group()
def db() -> None:
    """The ledger's database."""


@db.command("copy")
@click.option(
    "--to",
    "target_url",
    required=True,
    metavar="URL",
    help="The new, empty database, e.g. postgresql://alliance@db.internal/alliance.",
)
@friendly
def copy_command(target_url: str) -> None:
    """Copy the current ledger (ALLIANCE_DATABASE_URL, or alliance.db next to the agreement)
    into an empty database: every table, checked by row counts and ledger totals."""
    from sqlalchemy.engine import make_url

    from alliance.errors import BadInputError
    from alliance.storage.copy import copy_ledger
    from alliance.storage.database import normalise_url, open_database

    source_url = current_settings().database_url
    shown = make_url(normalise_url(target_url)).render_as_string(hide_password=True)
    if normalise_url(source_url) == normalise_url(target_url):
        raise BadInputError(f"the ledger is already at {shown}; give another database")
    source = open_database(source_url, create=False)
    target = open_database(target_url)
    try:
        tables = copy_ledger(source, target, progress=_every_50_000_rows)
    finally:
        source.dispose()
        target.dispose()
    for table in tables:
        click.echo(f"  {table.name:24} {table.rows:>10} rows")
    total = sum(t.rows for t in tables)
    click.echo(
        f"Copied {total} rows in {len(tables)} tables to {shown}; every table's row count and "
        "the ledger's totals per period match."
    )
    click.echo(f"Now run the alliance on it: export ALLIANCE_DATABASE_URL={shown}")


def _every_50_000_rows(table: str, rows: int) -> None:
    if rows % 50_000 == 0:
        click.echo(f"  {table}: {rows} rows ...", err=True)


COMMANDS = [db]
