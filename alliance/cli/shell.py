"""What every ``alliance`` command shares: errors turned into messages, and the settings,
agreement and database of the current invocation. Every command module here (the alliance's
own, the worker's, the web app's, the sandbox's) builds on these, so all fail the same way."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

from alliance.audit import Actor
from alliance.errors import AgreementError, AllianceError
from alliance.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from alliance.agreement import Agreement


def fail(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Translate the project's errors at the edge: a message, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AgreementError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            click.secho(f"{len(exc.problems)} problem(s) in the agreement.", fg="red", err=True)
            sys.exit(1)
        except AllianceError as exc:
            fail(str(exc))

    return wrapper


def current_settings() -> Settings:
    """The settings ``alliance`` read at start (or the environment's, outside it)."""
    found = click.get_current_context().find_object(Settings)
    return found if found is not None else Settings.from_env()


def current_agreement() -> Agreement:
    from alliance.agreement.parse import load_agreement

    return load_agreement(current_settings().config_path)


def current_engine(*, create: bool = False) -> Engine:
    """The ledger. Only commands that bring data in (``create=True``: sync, import, the
    worker) may start a new SQLite file; the others refuse a missing one, so a command run
    from the wrong folder says so instead of reporting an empty ledger."""
    from alliance.storage.database import open_database

    return open_database(current_settings().database_url, create=create)


def known_members(agreement: Agreement, members: tuple[str, ...]) -> list[str]:
    """The members named (all when none), or a message listing the real ones."""
    unknown = [m for m in members if m not in agreement.members]
    if unknown:
        known = ", ".join(sorted(agreement.members))
        fail(f"member {unknown[0]!r} is not in {agreement.source}; members are: {known}")
    return list(members) or list(agreement.members)


def period_argument(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A click callback: YYYY-MM, or a usage error saying what is wrong."""
    from alliance.periods import parse_period

    if value is None:
        return None
    try:
        return parse_period(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def command_actor() -> Actor:
    """Who acts, and the command as it was typed (rebuilt from what click parsed, defaults
    left out)."""
    ctx = click.get_current_context()
    words = ["alliance", *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if isinstance(param, click.Argument):
            words.append(str(value))
        elif not isinstance(param, click.Option) or value is None or value == param.default:
            continue  # what was not said (a default) is not repeated
        elif param.is_flag and value is True:
            words.append(param.opts[0])
        elif param.is_flag:  # False: the flag's other name (--reject), if it has one
            words += param.secondary_opts[:1]
        else:
            words += [param.opts[0], str(value)]
    return Actor(current_settings().who, shlex.join(words))
