"""``alliance worker``, ``enqueue``, ``jobs``, ``status`` and ``run``: the commands that run the
alliance unattended, thin shells over :mod:`worker.queues`, :mod:`worker.runner` and the
member status of :mod:`connector.members`. Registered on the main ``alliance`` group."""

from __future__ import annotations

import sys
from typing import Any

import click

from alliance.cli.shell import (
    current_agreement,
    current_engine,
    current_settings,
    fail,
    friendly,
    known_members,
)


def _log_format() -> str:
    return str(click.get_current_context().meta.get("log_format", "text"))


def _logging(level: str) -> None:
    from worker.logs import configure_logging

    configure_logging(_log_format(), level)


log_level_option = click.option(
    "--log-level",
    type=click.Choice(["info", "debug"]),
    default="info",
    envvar="ALLIANCE_LOG_LEVEL",
    show_default=True,
    help="info: one line per job; debug: also RQ's and Alembic's own lines.",
)


def _wire_gift_links() -> None:
    """Hand the jobs the link signer for gift-pack notes (it lives with the web app)."""
    from alliance.cli.promotion_commands import gift_links
    from worker.jobs import provide_gift_links

    provide_gift_links(gift_links)


def _redis() -> Any:
    """The queues' Redis, answering: a message naming it (no password) and exit 1 if not."""
    from worker.connection import connect

    return connect(current_settings().require_redis())


@click.command()
@click.option("--queues", "-q", default=None, help="Comma-separated queues (default: all).")
@click.option("--burst", is_flag=True, help="Drain the queues, then exit (as rq worker --burst).")
@click.option("--fork", is_flag=True, help="Run each job in a forked child (RQ's Worker); slower.")
@log_level_option
@friendly
def worker(queues: str | None, burst: bool, fork: bool, log_level: str) -> None:
    """Work the alliance's job queues on Redis, with the schedule (unless --burst)."""
    from worker.connection import reached
    from worker.jobs import context
    from worker.keys import QUEUES
    from worker.schedule import start_scheduler_process
    from worker.workers import PromptForkWorker, PromptSimpleWorker

    redis = _redis()  # first: a worker without its Redis says so, before anything else
    _logging(log_level)
    settings = current_settings()
    context(settings)  # the agreement checked, the database migrated, once, before any job
    _wire_gift_links()
    names = [q.strip() for q in queues.split(",")] if queues else list(QUEUES)
    unknown = [q for q in names if q not in QUEUES]
    if unknown:
        fail(f"unknown queue {unknown[0]!r}; the queues are: {', '.join(QUEUES)}")
    cron = None
    if not burst:
        cron = start_scheduler_process(
            settings.require_redis(), log_format=_log_format(), log_level=log_level
        )
    kind = PromptForkWorker if fork else PromptSimpleWorker
    try:
        with reached(redis):  # RQ retries a lost Redis while it works, but not as it starts
            kind(names, connection=redis).work(
                burst=burst, with_scheduler=not burst, logging_level=log_level.upper()
            )
    finally:
        if cron is not None:
            cron.terminate()
            cron.join(timeout=10)


@click.group()
def enqueue() -> None:
    """Queue work now, for `alliance worker` to do."""


@enqueue.command("sync")
@click.option("--member", "-m", "members", multiple=True, help="Only this member (repeatable).")
@click.option("--full", is_flag=True, help="Read every order again, not just what changed.")
@click.option("--now", is_flag=True, help="A sync waiting for its retry runs now instead.")
@friendly
def enqueue_sync(members: tuple[str, ...], full: bool, now: bool) -> None:
    """Queue a sync of each member (a member already queued or running is not queued twice;
    one waiting for its retry after a store failure waits, unless --now)."""
    from worker.queues import clock_time, enqueue_syncs, sync_state, sync_waits

    chosen = known_members(current_agreement(), members)
    redis = _redis()
    waiting = sync_waits(redis, chosen) if now else {}
    queued = enqueue_syncs(redis, chosen, full=full, now=now)
    for member in chosen:
        if member in queued and member in waiting:
            state = f"queued now (its retry was due at {clock_time(waiting[member])})"
        else:
            state = "queued" if member in queued else sync_state(redis, member)
        click.echo(f"{member}: {state}")


@click.group(invoke_without_command=True)
@click.pass_context
@friendly
def jobs(ctx: click.Context) -> None:
    """Jobs on the queues: queued, running, waiting for a retry (with when) and failed."""
    if ctx.invoked_subcommand is None:
        _print_jobs(failed_only=False)


def _print_jobs(*, failed_only: bool) -> None:
    from alliance.report import printable, table_lines
    from worker.queues import list_jobs

    lines = list_jobs(_redis(), failed_only=failed_only)
    if not lines:
        click.echo(
            "No failed jobs."
            if failed_only
            else "No jobs queued, running, waiting for a retry or failed."
        )
        return
    rows = [[j.id, j.queue, j.status, j.description, j.enqueued_at, _next_run(j),
             printable(j.error)] for j in lines]  # fmt: skip
    headers = ["job", "queue", "status", "what", "enqueued", "next run", "error"]
    click.echo("\n".join(table_lines(headers, rows, right=set())))
    if any(j.next_run is not None for j in lines):
        click.echo("`alliance jobs retry ID` runs a waiting retry now.")


def _next_run(line: Any) -> str:
    """When a job runs: ``now`` (queued), ``running``, a retry's time, or nothing (failed)."""
    from worker.queues import clock_time

    if line.next_run is not None:
        left = f", {line.retries_left} retries left" if line.retries_left else ""
        return clock_time(line.next_run) + left
    return {"queued": "next", "started": "running", "deferred": "after its dependency"}.get(
        line.status, ""
    )


@jobs.command("failed")
@friendly
def jobs_failed() -> None:
    """Failed jobs, with their last error."""
    _print_jobs(failed_only=True)


@jobs.command("retry")
@click.argument("job_id")
@friendly
def jobs_retry(job_id: str) -> None:
    """Put a failed job back on its queue, or run a job waiting for its retry now."""
    from worker.queues import retry_job

    click.echo(f"{job_id}: {retry_job(_redis(), job_id)}")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@friendly
def status(fmt: str) -> None:
    """Each member's sync (last success, bookmark, orders behind, last error), the queues and
    the live workers; exits 1 when a member needs attention or syncs are overdue (no worker
    running, say), for cron and monitoring."""
    import json as jsonlib
    from datetime import UTC, datetime

    from connector.member_report import member_status_json, member_status_table
    from connector.members import member_statuses
    from worker.health import overdue_syncs, schedule_verdict

    settings = current_settings()
    queues: dict[str, int] | None = None
    workers: list[str] = []
    if settings.redis_url:  # first: a Redis that is down is told before any store is asked
        from worker.queues import depths, live_workers

        redis = _redis()
        queues, workers = depths(redis), live_workers(redis)
    statuses = member_statuses(current_engine(), current_agreement(), settings, check=True)
    attention = [s.member for s in statuses if not s.healthy]
    last = [(s.member, s.state.last_success_at) for s in statuses]
    overdue = overdue_syncs(last, settings.sync_interval_minutes, datetime.now(UTC))
    verdict = schedule_verdict(bool(settings.redis_url), len(workers), overdue)
    if fmt == "json":
        body = {
            "members": jsonlib.loads(member_status_json(statuses)),
            "queues": queues,
            "workers": workers,
            "needs_attention": attention,
            "overdue_syncs": overdue,
            "schedule": verdict,
        }
        click.echo(jsonlib.dumps(body, indent=2))
    else:
        click.echo(member_status_table(statuses))
        click.echo("")
        if queues is None:
            click.echo("queues: none (ALLIANCE_REDIS_URL is not set; `alliance run` mode)")
        else:
            click.echo("queues: " + ", ".join(f"{k} {v}" for k, v in queues.items()))
            click.echo(f"workers: {len(workers)}" + (f" ({', '.join(workers)})" if workers else ""))
        if attention:
            click.secho(f"needs attention: {', '.join(attention)}", fg="red")
        if verdict:
            click.secho(verdict, fg="red" if overdue else "yellow")
    if attention or overdue:
        sys.exit(1)


@click.command()
@click.option("--once", is_flag=True, help="One round of syncs, then exit.")
@log_level_option
@friendly
def run(once: bool, log_level: str) -> None:
    """The whole schedule in this one process, no Redis needed; Ctrl-C stops between jobs."""
    from worker.runner import Runner

    settings = current_settings()
    if settings.redis_url:  # jobs then take each member's lock there, as workers do
        _redis()
    _logging(log_level)
    settings.require_secret()
    current_agreement()
    _wire_gift_links()
    runner = Runner(settings)
    runner.install_signal_handlers()
    click.echo(
        f"Syncing every member every {settings.sync_interval_minutes} minutes"
        + ("" if once else "; Ctrl-C stops")
    )
    results = runner.run(cycles=1 if once else None)
    failed = [r for r in results if not str(r.get("status", "")).startswith(("ok", "slot"))]
    click.echo(f"Stopped after {len(results)} job(s), {len(failed)} not ok.")
    if once and failed:
        sys.exit(1)


COMMANDS = [worker, enqueue, jobs, status, run]
