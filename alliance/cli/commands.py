"""The ``alliance`` command: a thin shell that turns library errors into friendly messages.

Every command loads settings once, calls the library, and prints; ``AllianceError`` becomes
``error: <message>`` on stderr and exit status 1 (2 for usage mistakes, as click does).
"""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from alliance import __version__
from alliance.cli.shell import (
    current_agreement,
    current_engine,
    current_settings,
    fail,
    friendly,
    known_members,
)
from alliance.settings import Settings

if TYPE_CHECKING:
    from alliance.agreement import Agreement
    from alliance.errors import Problem

FORMATS = click.Choice(["table", "csv", "json"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ALLIANCE_CONFIG",
    help="The agreement file (default: ./alliance.toml, or $ALLIANCE_CONFIG).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    envvar="ALLIANCE_LOG_FORMAT",
    help="Logs of long-running commands (worker, run): text, or one JSON object per line.",
)
@click.version_option(__version__, prog_name="alliance")
@click.pass_context
def main(ctx: click.Context, config: Path | None, log_format: str) -> None:
    """Run a shop alliance: its agreement, its ledger and its statements."""
    ctx.obj = Settings.from_env(config=config)
    ctx.meta["log_format"] = log_format


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@friendly
def init(directory: Path) -> None:
    """Write a commented starter agreement (alliance.toml) into DIRECTORY."""
    from alliance.agreement.parse import STARTER_PATH

    target = directory / "alliance.toml"
    if target.exists():
        fail(f"{target} already exists; edit it, or choose another directory")
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STARTER_PATH, target)
    click.echo(f"Wrote {target}. Fill in your members and deals, then run: alliance check {target}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option(
    "--online", is_flag=True, help="Also check that links_base_url answers as the web app."
)
@friendly
def check(file: Path | None, online: bool) -> None:
    """Validate an agreement file; print every problem as FILE:LINE: key: what is wrong.

    Then warn (without failing) about what would break later from this environment: no
    links_base_url, members whose store keys are not set here, and with --online a
    links_base_url that does not answer."""
    import os

    from alliance.agreement.parse import agreement_summary, load_agreement
    from alliance.cli.check_notes import (
        connected_members,
        environment_warnings,
        online_warnings,
    )

    path = file or current_settings().config_path
    agreement = load_agreement(path)
    click.echo(agreement_summary(agreement))
    ledger = Settings.from_env(config=path).database_url  # the checked file's own ledger
    connected = connected_members(ledger)
    warnings = environment_warnings(agreement, os.environ, connected=connected)
    if online:
        warnings += online_warnings(agreement)
    for warning in warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    problems = _catalog_problems(agreement, path)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.secho(f"{len(problems)} problem(s) against the synced catalogs.", fg="red", err=True)
        sys.exit(1)
    click.secho("The agreement is valid.", fg="green")


def _catalog_problems(agreement: Agreement, path: Path) -> list[Problem]:
    """Gift-pack reward SKUs the synced catalogs do not hold, when a ledger database exists
    (an SQLite file that is there, a PostgreSQL server that answers); none otherwise."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from alliance.agreement.locate import LineLocator
    from alliance.agreement.wording import dotted
    from alliance.errors import AllianceError, Problem
    from alliance.services.catalog import unknown_skus
    from alliance.storage.database import create_database_engine, normalise_url

    if not any(reward.products for p in agreement.promotions for reward in p.rewards):
        return []
    url = Settings.from_env(config=path).database_url  # the checked file's own ledger
    try:
        parsed = make_url(normalise_url(url))
    except AllianceError:
        return []
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return []  # no ledger here: nothing synced to check against
    engine = create_database_engine(url)
    try:
        with engine.connect() as conn:
            missing = unknown_skus(conn, agreement)
    except SQLAlchemyError:  # unreachable, or a database from before SKUs were kept
        return []
    finally:
        engine.dispose()
    locator = LineLocator(path.read_text(encoding="utf-8-sig"))
    return [
        Problem(
            str(path),
            locator.line_of(where),
            dotted(where),
            f'SKU "{sku}" is not in {member}\'s synced products; fix the SKU, or add the '
            f"product in {member}'s store and sync it (alliance sync --member {member})",
        )
        for where, member, sku in missing
    ]


@main.command("import-orders")
@click.option("--member", "-m", required=True, help="The member whose store the orders are from.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly
def import_orders(member: str, file: Path) -> None:
    """Import WooCommerce orders (a JSON list as GET /orders returns it) and book them."""
    from alliance.services.reporting import record_agreement
    from connector.woocommerce.files import read_orders_document
    from connector.woocommerce.ingest import ingest_orders

    settings = current_settings()
    agreement = current_agreement()
    if member not in agreement.members:
        known = ", ".join(sorted(agreement.members))
        fail(f"member {member!r} is not in {agreement.source}; members are: {known}")
    secret = settings.require_secret()
    documents = read_orders_document(file)
    engine = current_engine(create=True)
    record_agreement(engine, agreement)
    r = ingest_orders(engine, agreement, documents, member=member, secret=secret)
    click.echo(
        f"{file}: {r.orders_seen} order(s) read for {member}: {r.orders_applied} booked as new "
        f"revisions, {r.orders_unchanged} unchanged, {r.attributed} attributed to a partner, "
        f"{r.entries_booked} ledger entries written."
    )
    if r.rejected:
        from alliance.report import printable

        click.secho(f"{len(r.rejected)} order(s) rejected (the others were imported):", err=True)
        for problem in r.rejected:
            click.echo(f"  {printable(str(problem))}", err=True)
        sys.exit(1)


def _period(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from alliance.periods import parse_period

    try:
        return parse_period(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _as_of(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date such as 2026-12-31") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@main.command()
@click.option("--member", "-m", required=True)
@click.option("--period", "-p", required=True, callback=_period, help="YYYY-MM")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html", "pdf"]),
    default="table",
    show_default=True,
    help="html: printable on A4; pdf: the same page as a PDF (needs --output, or a pipe).",
)
@click.option("--as-of", callback=_as_of, help="Judge pending/approved as of this date (UTC).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the statement to this file instead of the terminal.",
)
@friendly
def statement(member: str, period: str, fmt: str, as_of: datetime, output: Path | None) -> None:
    """A member's statement for one period: every line cites its deal."""
    from alliance import report
    from alliance.services.reporting import member_statement

    agreement = current_agreement()
    if member not in agreement.members:
        fail(f"member {member!r} is not in {agreement.source}")
    if fmt in ("html", "pdf"):
        _statement_document(agreement, member, period, fmt, as_of, output)
        return
    result = member_statement(current_engine(), agreement, member, period, as_of=as_of)
    render = {"table": report.statement_table, "csv": report.statement_csv}
    text = render.get(fmt, report.statement_json)(result).rstrip("\n")
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")


def _statement_document(
    agreement: Agreement, member: str, period: str, fmt: str, as_of: datetime, output: Path | None
) -> None:
    """HTML streamed as it renders; a PDF to a file or a pipe, never onto a terminal."""
    from alliance.services.statement_documents import statement_html, statement_pdf
    from widgets.rendering import override_dir

    engine, template_dir = current_engine(), override_dir()
    if fmt == "html":
        pieces = statement_html(
            engine, agreement, member, period, as_of=as_of, template_dir=template_dir
        )
        if output is None:
            for piece in pieces:
                click.echo(piece, nl=False)
            return
        with output.open("w", encoding="utf-8") as out:
            out.writelines(pieces)
        return
    stdout = sys.stdout.buffer
    if output is None and stdout.isatty():
        fail(f"a PDF is not for the terminal: add --output statement-{period}-{member}.pdf")
    pdf = statement_pdf(engine, agreement, member, period, as_of=as_of, template_dir=template_dir)
    if output is None:
        stdout.write(pdf)
        stdout.flush()
    else:
        output.write_bytes(pdf)


@main.command()
@click.option("--period", "-p", required=True, callback=_period, help="YYYY-MM")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@friendly
def balances(period: str, fmt: str) -> None:
    """What each member owes each other in one period, before netting."""
    from alliance import report
    from alliance.services.reporting import period_balances

    agreement = current_agreement()
    rows = period_balances(current_engine(), period)
    if fmt == "json":
        click.echo(report.balances_json(period, agreement.currency, rows))
    elif fmt == "csv":
        click.echo(report.balances_csv(rows).rstrip("\n"))
    else:
        click.echo(report.balances_table(period, agreement.currency, rows))


@main.command()
@click.option("--member", "-m", default=None, help="Only this member (default: every member).")
@click.option(
    "--period",
    "-p",
    callback=lambda ctx, param, value: None if value is None else _period(ctx, param, value),
    help="YYYY-MM (default: this month; days in the agreement's timezone).",
)
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE",
              help="First day (in the agreement's timezone), instead of a period.")  # fmt: skip
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE",
              help="Last day, included (default: today).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@friendly
def exchange(
    member: str | None, period: str | None, first: datetime | None, last: datetime | None, fmt: str
) -> None:
    """Cards shown and clicks sent between partners: given versus received, with a balance."""
    from alliance.exchange import Window, build_exchange, day_in
    from alliance.exchange_report import exchange_json, exchange_table
    from alliance.storage.click_counts import clicks_counted
    from alliance.storage.impressions import cards_shown, last_flush

    agreement = current_agreement()
    zone = agreement.settings.timezone
    today = day_in(datetime.now(UTC), zone)
    try:
        window = Window.chosen(
            period, first and first.date(), last and last.date(), today=today, timezone=zone
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if member is not None and member not in agreement.members:
        known = ", ".join(sorted(agreement.members))
        raise click.BadParameter(
            f"{member!r} is not a member of {agreement.source}; members are: {known}",
            param_hint="'--member'",
        )
    with current_engine().connect() as conn:
        cards = cards_shown(conn, window.first.isoformat(), window.last.isoformat(), member)
        clicks = clicks_counted(conn, window.start, window.end, member)
        flushed = last_flush(conn)
    chosen = [member] if member else list(agreement.members)
    view = build_exchange(window, chosen, cards, clicks, cards_flushed_at=flushed)
    click.echo(exchange_json(view) if fmt == "json" else exchange_table(view))


class _ReportedBelow(logging.Filter):
    """``alliance sync`` prints each member's failure and notices from its report. The sync's
    own log lines for them (an error, and notices logged as ``"%s"``) are for unattended runs;
    here they would reach the terminal too, and say each thing twice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR and record.msg != "%s"


@main.command()
@click.option("--member", "-m", "members", multiple=True, help="Only this member (repeatable).")
@click.option("--full", is_flag=True, help="Read every order again, not just what changed.")
@friendly
def sync(members: tuple[str, ...], full: bool) -> None:
    """Fetch what changed in each member's store and book it; the first run is a backfill."""
    from tqdm import tqdm

    from alliance.services.reporting import record_agreement
    from connector.members import sync_members

    settings = current_settings()
    agreement = current_agreement()
    chosen = known_members(agreement, members)
    settings.require_secret()
    engine = current_engine(create=True)
    record_agreement(engine, agreement)
    bars: list[tqdm] = []

    def progress(member: str) -> Callable[[int, int | None], None]:
        bar = tqdm(desc=member, unit=" orders", leave=True, disable=None, dynamic_ncols=True)
        bars.append(bar)

        def update(done: int, total: int | None) -> None:
            if total is not None and (bar.total is None or total > bar.total):
                bar.total = total
            bar.update(done - bar.n)

        return update

    sync_log = logging.getLogger("alliance.sync")
    said_below = _ReportedBelow()
    sync_log.addFilter(said_below)
    try:
        if settings.redis_url:  # workers may be running: take each member's lock, as they do
            from worker.locks import locked_syncs

            reports = locked_syncs(engine, agreement, settings, chosen, full=full,
                                   progress=progress)  # fmt: skip
        else:
            reports = sync_members(engine, agreement, settings, members=chosen, full=full,
                                   progress=progress)  # fmt: skip
    finally:
        sync_log.removeFilter(said_below)
    for bar in bars:
        bar.close()
    from alliance.report import printable

    for r in reports:
        for warning in r.warnings:
            click.secho(f"warning: {printable(warning)}", fg="yellow", err=True)
        if r.error is not None:
            said = str(r.error).removeprefix(f"{r.member}: ")
            click.secho(f"{r.member}: FAILED: {printable(said)}", fg="red", err=True)
            continue
        if r.skipped:
            click.echo(f"{r.member}: {r.skipped}; skipped")
            continue
        b = r.booking
        click.echo(
            f"{r.member}: {r.orders_fetched} order(s) fetched in {r.requests} request(s), "
            f"{b.orders_applied} new or changed, {b.entries_booked} ledger entries, "
            f"{r.quarantined} quarantined, {r.products_synced} product(s); bookmark "
            f"{r.bookmark:%Y-%m-%d %H:%M:%S} UTC ({r.seconds:.1f} s)"
            if r.bookmark
            else f"{r.member}: nothing to sync yet ({r.requests} request(s), {r.seconds:.1f} s)"
        )
    if any(r.error is not None for r in reports):
        sys.exit(1)


@main.group(invoke_without_command=True)
@click.option("--no-check", is_flag=True, help="Show stored state only; do not call the stores.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
@friendly
def members(ctx: click.Context, no_check: bool, fmt: str) -> None:
    """Each member's store: reachable, key valid (read/write), last sync and the time since
    it, bookmark, orders behind, and the latest error with its time.

    With a subcommand, manages one member instead (see below).
    """
    if ctx.invoked_subcommand is not None:
        return
    from connector.member_report import member_status_json, member_status_table
    from connector.members import member_statuses

    statuses = member_statuses(
        current_engine(create=True), current_agreement(), current_settings(), check=not no_check
    )
    click.echo(member_status_json(statuses) if fmt == "json" else member_status_table(statuses))
    if any(not s.healthy for s in statuses) and not no_check:
        sys.exit(1)


@main.command()
@click.option("--member", "-m", default=None, help="Only this member.")
@friendly
def quarantine(member: str | None) -> None:
    """Orders a store sent that could not be booked, with the reason; fixed ones leave by sync."""
    from alliance.report import printable
    from alliance.services.sync_records import quarantined

    with current_engine().connect() as conn:
        rows = quarantined(conn, member)
    if not rows:
        click.echo("No orders in quarantine.")
        return
    for row in rows:
        click.echo(
            f"{row.member} order {row.external_id} (modified {row.date_modified}): "
            f"{printable(row.reason)}"
        )


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("alliance-demo"),
    show_default=True,
    help="Where the demo writes its agreement copy, order files and SQLite database.",
)
@click.option(
    "--serve",
    "serve_port",
    type=click.IntRange(0, 65535),
    default=None,
    is_flag=False,
    flag_value=8000,
    help="Then serve the web app and a sample page per shop on this port (default 8000; 0: "
    "any free port, printed).",
)
@friendly
def demo(directory: Path, serve_port: int | None) -> None:
    """Build the worked example (Li, Wang, Zhang, Zhao) and print statements and balances."""
    from alliance.cli.demo import run_demo

    run_demo(directory, echo=click.echo, serve_port=serve_port)


def _register_edges() -> None:
    from alliance.cli.connect_commands import add_member_commands
    from alliance.cli.dashboard_commands import COMMANDS as DASHBOARD_COMMANDS
    from alliance.cli.dashboard_commands import member_token
    from alliance.cli.db_commands import COMMANDS as DB_COMMANDS
    from alliance.cli.insight_commands import COMMANDS as INSIGHT_COMMANDS
    from alliance.cli.period_commands import COMMANDS as PERIOD_COMMANDS
    from alliance.cli.promotion_commands import COMMANDS as PROMOTION_COMMANDS
    from alliance.cli.sandbox_commands import sandbox
    from alliance.cli.settlement_commands import COMMANDS as SETTLEMENT_COMMANDS
    from alliance.cli.web_commands import COMMANDS as WEB_COMMANDS
    from alliance.cli.worker_commands import COMMANDS as WORKER_COMMANDS

    main.add_command(sandbox)
    add_member_commands(members)
    members.add_command(member_token)
    for command in DASHBOARD_COMMANDS:
        main.add_command(command)
    for command in [
        *WORKER_COMMANDS,
        *WEB_COMMANDS,
        *PROMOTION_COMMANDS,
        *SETTLEMENT_COMMANDS,
        *PERIOD_COMMANDS,
        *DB_COMMANDS,
    ]:
        main.add_command(command)
    for command in INSIGHT_COMMANDS:
        main.add_command(command)


_register_edges()
