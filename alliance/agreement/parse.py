"""Read ``alliance.toml`` into an :class:`~alliance.agreement.model.Agreement`.

Shop owners edit this file by hand, so every problem is collected and reported at once as
``FILE:LINE: key: what is wrong`` (:class:`~alliance.errors.AgreementError`) instead of
stopping at the first one. ``tomllib`` gives no positions; :mod:`.locate` supplies the lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any

from alliance.agreement.deals import read_deals
from alliance.agreement.fields import Report
from alliance.agreement.locate import LineLocator
from alliance.agreement.model import Agreement
from alliance.agreement.promotions import read_promotions
from alliance.agreement.secrets import ENV_RE, default_credentials_env, find_secrets
from alliance.agreement.sections import read_alliance, read_members
from alliance.agreement.summary import agreement_summary
from alliance.agreement.wording import dotted
from alliance.errors import AgreementError, Problem

__all__ = ["FILE_KEY", "STARTER_PATH", "agreement_summary", "load_agreement", "parse_agreement"]

STARTER_PATH = Path(__file__).resolve().parent.parent / "data" / "starter-alliance.toml"
"""The commented starter agreement that ``alliance init`` copies."""

FILE_KEY = "<file>"
"""The key of problems about the file as a whole (missing, unreadable, not TOML)."""

MAX_DEPTH = 8
"""Keys on the way to a table or list; an agreement uses 4 (``promotions[0].rewards[0]``), so
more than 8 is surely a mistake, and far more would overflow what reads the data."""

_TOP = ("alliance", "members", "deals", "promotions")
_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_LONG_NUMBER = re.compile(r"[0-9_]{4000,}")
_INT64 = range(-(2**63), 2**63)


def load_agreement(path: str | os.PathLike[str]) -> Agreement:
    """Read and validate a file; a missing or unreadable file is a problem on line 1."""
    source = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        message = "the file does not exist; check the path, or create one with `alliance init`"
        raise AgreementError([Problem(source, 1, FILE_KEY, message)]) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        message = f"cannot be read ({reason}); check the path and the file's permissions"
        raise AgreementError([Problem(source, 1, FILE_KEY, message)]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = "is not UTF-8 text; save the file with UTF-8 encoding"
        raise AgreementError([Problem(source, line, FILE_KEY, message)]) from None
    return parse_agreement(text, source)


def parse_agreement(text: str, source: str = "alliance.toml") -> Agreement:
    """Validate agreement text; raises :class:`AgreementError` listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgreementError([_syntax_problem(str(exc), text, source)]) from None
    except RecursionError:
        message = "is nested too deeply to read; flatten the arrays"
        raise AgreementError([Problem(source, _deep_line(text), FILE_KEY, message)]) from None
    except ValueError:  # an integer of 4,300 digits or more: Python will not read it
        found = _LONG_NUMBER.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else 1
        message = "holds a number thousands of digits long; write one that fits in 64 bits"
        raise AgreementError([Problem(source, line, FILE_KEY, message)]) from None
    report = Report(source, LineLocator(text))
    _cut_absurd(report, data)
    agreement = _build(report, data, version_of(data))
    if report.problems or agreement is None:
        problems = report.problems or [Problem(source, 1, FILE_KEY, "could not be understood")]
        raise AgreementError(sorted(problems, key=lambda problem: problem.line))
    return agreement


def version_of(data: dict[str, Any]) -> str:
    """Hash of the terms: comments, order and layout do not change it, any value does."""
    canonical = json.dumps(
        data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_plain_json
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _plain_json(value: object) -> str:
    return value.isoformat() if isinstance(value, date | time) else str(value)


def _cut_absurd(report: Report, data: dict[str, Any]) -> None:
    """Report, then cut out, what no agreement holds and what reads the data cannot take:
    nesting deeper than :data:`MAX_DEPTH`, whole numbers beyond 64 bits. Iterative, so any
    depth tomllib accepts is walked; nothing more is said about what was cut."""
    pending: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while pending:
        path, node = pending.pop()
        for key, value in list(node.items() if isinstance(node, dict) else enumerate(node)):
            where = (*path, key)
            if isinstance(value, dict | list):
                if len(where) <= MAX_DEPTH:
                    pending.append((where, value))
                    continue
                depth = len(where) - 1 + _depth(value)
                message = (
                    f"is nested {depth} levels deep; an agreement needs at most {MAX_DEPTH}, so "
                    "this is surely a mistake: remove it or flatten it"
                )
                report.refuse(where, message, key=dotted(where[:3]) + "...")
                node[key] = type(value)()
            elif type(value) is int and value not in _INT64:
                report.refuse(
                    where,
                    f"is a whole number of {value.bit_length()} bits; TOML numbers fit in 64 "
                    "bits, and no term of an agreement comes near",
                )
                node[key] = 0


def _depth(value: object) -> int:
    """How many levels of tables and lists ``value`` holds (1 for a flat one)."""
    deepest, pending = 0, [(1, value)]
    while pending:
        level, node = pending.pop()
        deepest = max(deepest, level)
        children = node.values() if isinstance(node, dict) else node  # type: ignore[union-attr]
        pending += [(level + 1, child) for child in children if isinstance(child, dict | list)]
    return deepest


def _deep_line(text: str) -> int:
    """The line where brackets first nest deeper than :data:`MAX_DEPTH` (a close guess:
    tomllib names none when its recursion overflows)."""
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        quote = ""
        for char in line:
            if quote:
                quote = "" if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char == "#":
                break
            elif char in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return number
            elif char in "]}":
                depth = max(0, depth - 1)
    return 1


def _syntax_problem(message: str, text: str, source: str) -> Problem:
    last_line = text.count("\n") + 1
    match = _AT_LINE.search(message)
    if match:
        line, where = int(match.group(1)), f" (column {match.group(2)})"
        reason = message[: match.start()]
    else:
        line, where = last_line, " (at the end of the file)"
        reason = message.replace("(at end of document)", "").strip()
    line = max(1, min(line, last_line))
    reason = (reason[:1].lower() + reason[1:]).rstrip(".")
    return Problem(
        source, line, FILE_KEY, f"is not valid TOML: {reason}{where}; fix the syntax of this line"
    )


def _build(report: Report, data: dict[str, Any], version: str) -> Agreement | None:
    """Secrets are reported first, so no later problem talks about a hidden value; member
    ids are known before deals and promotions refer to them."""
    raw_members = data.get("members")
    envs: dict[str, str] = {}
    if isinstance(raw_members, dict):
        report.members = set(raw_members)
        for member_id, table in raw_members.items():
            env = table.get("credentials_env") if isinstance(table, dict) else None
            valid = isinstance(env, str) and ENV_RE.fullmatch(env)
            envs[member_id] = env if valid else default_credentials_env(member_id)
    find_secrets(report, data, envs)
    report.unknown_keys(data, (), _TOP)
    settings = read_alliance(report, data.get("alliance"))
    members = read_members(report, raw_members)
    deals = read_deals(report, data.get("deals", []))
    deal_ids = {deal.id for deal in deals or ()}
    promotions = read_promotions(report, data.get("promotions", []), deal_ids)
    if settings is None or members is None or deals is None or promotions is None:
        return None
    return Agreement(settings, members, tuple(deals), tuple(promotions), version, report.source)
