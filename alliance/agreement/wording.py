"""How keys and values of the agreement file are spelled in messages to shop owners.

Problems name a key the way a user would write it (:func:`dotted`), echo a value the way TOML
would spell it (:func:`show`, :func:`describe`) and offer near-miss corrections
(:func:`suggest`). Every path through here refuses to print anything that looks like a secret,
so a message can be shown or logged safely.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection
from datetime import date, datetime, time
from decimal import Decimal

from alliance.agreement.locate import Path
from alliance.agreement.secrets import looks_secret

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dotted(path: Path) -> str:
    """The key as a user would write it: ``deals[2].rate``, ``members.li.url``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if looks_secret(part):
            name = "<hidden>"
        elif _BARE_KEY.fullmatch(part):
            name = part
        else:
            name = quoted(part)
        out += f".{name}" if out else name
    return out


def quoted(text: str) -> str:
    """Text in JSON quotes, every unprintable character escaped (``"Li\\u202e"``): control
    and bidi characters in a message could rewrite the terminal or the line around them."""
    spelled = json.dumps(text, ensure_ascii=False)
    if spelled.isprintable():
        return spelled
    return "".join(char if char.isprintable() else json.dumps(char)[1:-1] for char in spelled)


def show(value: object) -> str:
    """A value as TOML would spell it, for messages; secret-looking text is never shown."""
    if isinstance(value, str):
        if looks_secret(value):
            return "(a secret-looking value, not shown)"
        return quoted(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date | time):
        return value.isoformat()
    return "a list" if isinstance(value, list) else "a table"


_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "true/false"),  # before int: True is an int too
    (int, "a whole number"),
    (float, "a decimal number"),
    (str, "text"),
    (datetime, "a date and time"),  # before date: a datetime is a date too
    (date, "a date"),
    (time, "a time"),
    (list, "a list"),
)


def type_name(value: object) -> str:
    """How a TOML value's type reads in a message: ``a whole number``, ``a table``."""
    for kind, name in _TYPE_NAMES:
        if isinstance(value, kind):
            return name
    return "a table"


def describe(value: object) -> str:
    """``text "14"``, ``a decimal number 0.1``, ``a list``."""
    if isinstance(value, list | dict):
        return type_name(value)
    return f"{type_name(value)} {show(value)}"


def plain(number: Decimal) -> str:
    """``Decimal("10.0")`` -> ``"10"``, ``Decimal("0.125")`` -> ``"0.125"``."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def suggest(word: object, options: Collection[str]) -> str:
    """``; did you mean "x"?`` for a near miss, else an empty string."""
    if not isinstance(word, str) or looks_secret(word):
        return ""
    close = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.7)
    return f"; did you mean {quoted(close[0])}?" if close else ""


def listed(names: Collection[str]) -> str:
    """``li, wang, zhang``: names as they read, any that would not print spelled as TOML
    would (the file's own ids may hold control characters it is being told about)."""
    return ", ".join(name if name.isprintable() else quoted(name) for name in sorted(names))
