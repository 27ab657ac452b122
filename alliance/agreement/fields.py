"""Checks for single fields of the agreement file.

Each check records a :class:`~alliance.errors.Problem` on a :class:`Report` and returns
``None`` instead of raising, so one run of ``alliance check`` lists every mistake in the file
at once. Values are echoed in messages only through :func:`show`, which never prints anything
that looks like a secret.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alliance.agreement.locate import LineLocator, Path
from alliance.agreement.secrets import ENV_RE, is_secret_key
from alliance.agreement.secrets import default_credentials_env as default_credentials_env
from alliance.agreement.secrets import find_secrets as find_secrets
from alliance.agreement.secrets import looks_secret as looks_secret
from alliance.agreement.wording import describe, dotted, listed, plain, quoted, show, suggest
from alliance.agreement.wording import type_name as type_name
from alliance.errors import Problem
from alliance.money import is_known_currency, parse_money

ID_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
ID_RULE = '1 to 32 lowercase letters, digits, "-" or "_", starting with a letter'
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")

MAX_AMOUNT = Decimal(10) ** 12
"""An amount this large is surely a typing mistake, whatever the currency."""

PERCENT_PLACES = 4
"""Decimal places a percentage may have: what it pays is rounded to the minor unit anyway."""

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BIDI_NAME = "a bidi override"
_INVISIBLE = {"Cc": "a control character", "Zl": "a line separator", "Zp": "a paragraph separator"}

T = TypeVar("T")

REQUIRED: Any = object()
"""Default meaning "the key must be present"."""

Spec = tuple[str, str, str, tuple[Any, ...], Any]
"""``(key, example written when missing, Report method, its extra arguments, default)``."""


def complete(values: dict[str, Any]) -> bool:
    """True when every value of :meth:`Report.fields` passed its check (none is ``None``)."""
    return all(value is not None for value in values.values())


def _name(path: Path) -> str:
    """The key a message talks about (``entry`` for a list element)."""
    return path[-1] if path and isinstance(path[-1], str) else "entry"


class Report:
    """Collects problems, each with its file, line and dotted key."""

    def __init__(self, source: str, locator: LineLocator) -> None:
        self.source = source
        self.locator = locator
        self.problems: list[Problem] = []
        self.members: Collection[str] = ()  # member ids, for references (set by the parser)
        self.digits: int | None = None  # the currency's decimal places, once it is known
        self._hidden: list[Path] = []

    def add(self, path: Path, message: str) -> None:
        """Record a problem, unless it is about a value already reported as a secret."""
        if any(path[: len(hidden)] == hidden for hidden in self._hidden):
            return
        line = self.locator.line_of(path)
        self.problems.append(Problem(self.source, line, dotted(path), message))

    def refuse(self, path: Path, message: str, key: str | None = None) -> None:
        """Record a problem (under ``key``, default the dotted path) and say nothing more
        about anything at or under ``path``."""
        if not any(path[: len(hidden)] == hidden for hidden in self._hidden):
            line = self.locator.line_of(path)
            self.problems.append(Problem(self.source, line, key or dotted(path), message))
        self._hidden.append(path)

    def secret(self, path: Path, variable: str) -> None:
        self.add(
            path,
            "a secret is written inline; remove it and set it in the environment variable "
            f"{variable} instead (the file names variables with credentials_env)",
        )
        self._hidden.append(path)

    # -- whole tables -----------------------------------------------------------------------

    def unknown_keys(
        self,
        table: Mapping[str, Any],
        path: Path,
        allowed: Collection[str],
        inapplicable: Mapping[str, str] | None = None,
    ) -> None:
        """Report keys this table does not take (secret-looking keys are reported elsewhere)."""
        for key in table:
            if key in allowed or is_secret_key(key):
                continue
            if inapplicable and key in inapplicable:
                self.add((*path, key), inapplicable[key])
                continue
            hint = suggest(key, allowed) or f"; remove it (this table takes {', '.join(allowed)})"
            self.add((*path, key), f"unknown key {quoted(key)}{hint}")

    def table(self, value: object, path: Path, example: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.add(path, f"is {describe(value)}; write it as a table, such as {example}")
        return None

    # -- single fields: each returns None after reporting a problem --------------------------

    def field(
        self,
        table: Mapping[str, Any],
        path: Path,
        key: str,
        missing: str,
        check: Callable[..., T | None],
        *args: Any,
        default: Any = REQUIRED,
    ) -> T | None:
        """``check(table[key], path + (key,), *args)``; a missing key gets ``default``.

        A missing required key is reported as ``missing; write <key> = <missing>``.
        """
        if key not in table:
            if default is REQUIRED:
                self.add((*path, key), f"missing; write {key} = {missing}")
                return None
            return default  # type: ignore[no-any-return]
        return check(table[key], (*path, key), *args)

    def fields(self, table: Mapping[str, Any], path: Path, specs: Sequence[Spec]) -> dict[str, Any]:
        """Check several fields at once; a value is None where a problem was reported."""
        return {
            key: self.field(table, path, key, missing, getattr(self, check), *args, default=default)
            for key, missing, check, args, default in specs
        }

    def currency(self, value: object, path: Path) -> str | None:
        code = self.text(value, path, '"CNY"')
        if code is None or is_known_currency(code):
            return code
        if is_known_currency(code.strip().upper()):
            self.add(path, f'currency {show(code)} must be written "{code.strip().upper()}"')
        else:
            self.add(
                path,
                f"currency {show(code)} is not a known ISO 4217 code; "
                'write one such as "CNY" or "EUR"',
            )
        return None

    def timezone(self, value: object, path: Path) -> str | None:
        name = self.text(value, path, '"Asia/Shanghai"')
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            self.add(
                path,
                f"timezone {show(name)} is not a known time zone; write a name from the IANA "
                'time zone database, such as "Asia/Shanghai" or "Europe/Berlin"',
            )
            return None
        return name

    def env(self, value: object, path: Path, example: str) -> str | None:
        name = self.text(value, path, f'"{example}"')
        if name is None or ENV_RE.fullmatch(name):
            return name
        self.add(
            path,
            f"credentials_env {show(name)} is not an environment variable name; write capital "
            f'letters, digits and "_", starting with a letter, such as "{example}"',
        )
        return None

    def text(
        self,
        value: object,
        path: Path,
        example: str,
        allow_empty: bool = False,
        lines: bool = False,
    ) -> str | None:
        """Text people read; ``lines`` allows line breaks and tabs (descriptions)."""
        key = _name(path)
        if not isinstance(value, str):
            self.add(path, f"{key} is {describe(value)}; write text in quotes, such as {example}")
            return None
        if not allow_empty and not value.strip():
            self.add(path, f"{key} is empty; write something, such as {key} = {example}")
            return None
        return value if self.visible(value, path, lines) else None

    def visible(self, text: str, path: Path, lines: bool = False) -> bool:
        """Refuse control, bidi and line-separator characters: invisible where names show."""
        if text.isprintable():
            return True
        for index, char in enumerate(text):
            if lines and char in "\n\r\t":
                continue
            what = _BIDI_NAME if char in _BIDI else _INVISIBLE.get(unicodedata.category(char))
            if what is not None:
                self.add(
                    path,
                    f"{_name(path)} has U+{ord(char):04X} ({what}) at character {index + 1}; "
                    "remove it (such characters are invisible or reorder text where people "
                    "read it: statements, partner blocks, logs)",
                )
                return False
        return True

    def integer(self, value: object, path: Path, low: int, high: int, example: int) -> int | None:
        key = _name(path)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(
                path,
                f"{key} is {describe(value)}; write a whole number without quotes, "
                f"such as {key} = {example}",
            )
            return None
        if not low <= value <= high:
            self.add(path, f"{key} is {value}; write a whole number between {low} and {high}")
            return None
        return value

    def choice(self, value: object, path: Path, options: Sequence[str]) -> str | None:
        key = _name(path)
        if isinstance(value, str) and value in options:
            return value
        if len(options) == 1:
            self.add(
                path,
                f'{key} {show(value)} is not supported; only "{options[0]}" is, '
                f'so write {key} = "{options[0]}"',
            )
        else:
            self.add(
                path,
                f"{key} {show(value)} is not supported; write one of {', '.join(options)}"
                + suggest(value, options),
            )
        return None

    def identifier(self, value: object, path: Path, what: str) -> str | None:
        if isinstance(value, str) and ID_RE.fullmatch(value):
            return value
        self.add(path, f"{what} id {show(value)} is not valid; use {ID_RULE}")
        return None

    def member(self, value: object, path: Path) -> str | None:
        members = self.members
        key = path[-1] if isinstance(path[-1], str) else "member"
        if isinstance(value, str) and value in members:
            return value
        if not isinstance(value, str):
            self.add(path, f'{key} is {describe(value)}; write a member id in quotes, such as "li"')
        elif not members:
            self.add(path, f"{key} {show(value)} is not a member; add [members.<id>] tables first")
        else:
            self.add(
                path,
                f"{key} {show(value)} is not a member; use one of {listed(members)}"
                + suggest(value, members),
            )
        return None

    def boolean(self, value: object, path: Path) -> bool | None:
        if isinstance(value, bool):
            return value
        self.add(path, f"{_name(path)} is {describe(value)}; write true or false, without quotes")
        return None

    def strings(self, value: object, path: Path, example: str) -> tuple[str, ...] | None:
        key = _name(path)
        if not isinstance(value, list):
            self.add(path, f"{key} is {describe(value)}; write a list of text, such as {example}")
            return None
        bad = [i for i, item in enumerate(value) if not isinstance(item, str)]
        for index in bad:
            item = value[index]
            self.add((*path, index), f"is {describe(item)}; every entry must be text in quotes")
        unseen = [
            index
            for index, item in enumerate(value)
            if isinstance(item, str) and not self.visible(item, (*path, index))
        ]
        return None if bad or unseen else tuple(value)

    def url(self, value: object, path: Path, example: str) -> str | None:
        text = self.text(value, path, example)
        if text is None:
            return None
        try:
            parts = urlsplit(text)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            ok = ok and parts.port != 0  # reading the port also refuses "host:99999"
        except ValueError:
            ok = False
        if ok and not any(char.isspace() for char in text):
            return text
        self.add(
            path,
            f"{_name(path)} {show(text)} is not a web address; write a full http or https "
            f"address, such as {example}",
        )
        return None

    def percent(self, value: object, path: Path) -> Decimal | None:
        """``"10%"`` -> ``Decimal("0.10")``: above 0% and at most 100%."""
        key = _name(path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = Decimal(repr(value))
            if isinstance(value, float) and 0 < value <= 1:
                number *= 100
            self.add(
                path,
                f"{key} {show(value)} is a bare number; quote it as a percentage, "
                f'such as {key} = "{plain(number)}%"',
            )
            return None
        if not isinstance(value, str):
            self.add(path, f'{key} is {describe(value)}; write a percentage such as "10%"')
            return None
        text = value.strip()
        body = text[:-1].strip() if text.endswith("%") else text
        if not _NUMBER.fullmatch(body):
            self.add(path, f'{key} {show(value)} is not a percentage; write it like "10%"')
            return None
        number = Decimal(body)
        what = 'write a percentage between 0% and 100% such as "10%"'
        if number < 0:
            self.add(path, f"{key} {show(value)} is negative; {what}")
        elif not text.endswith("%"):
            hint = f'"{plain(number)}%"' if number > 1 else 'a percentage such as "10%"'
            self.add(path, f"{key} {show(value)} has no percent sign; write {hint}")
        elif number == 0:
            self.add(path, f"{key} {show(value)} pays nothing; {what}")
        elif number > 100:
            self.add(path, f"{key} {show(value)} is over 100%; {what}")
        elif self._fine(value, number, path, "%"):
            return number.scaleb(-2)
        return None

    def ratio(self, value: object, path: Path) -> Decimal | None:
        """A plain number from 1 to 100 (``3`` or ``2.5``): how many times more one side may
        receive than it gives before the dashboard flags it."""
        key = _name(path)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(
                path,
                f"{key} is {describe(value)}; write a number without quotes, such as {key} = 3.0",
            )
            return None
        number = Decimal(repr(value))
        if not number.is_finite() or not Decimal(1) <= number <= Decimal(100):
            self.add(path, f"{key} is {show(value)}; write a number between 1 and 100")
            return None
        return number

    def _fine(self, value: object, number: Decimal, path: Path, sign: str = "") -> bool:
        """A percentage with at most :data:`PERCENT_PLACES` decimals; else a problem."""
        places = -number.normalize().as_tuple().exponent  # "10.50%" has one
        if places <= PERCENT_PLACES:  # type: ignore[operator]
            return True
        shorter = plain(round(number, PERCENT_PLACES))
        self.add(
            path,
            f"{_name(path)} {show(value)} has {places} decimal places; write at most "
            f'{PERCENT_PLACES}, such as "{shorter}{sign}" (commission is rounded to the '
            "currency's minor unit anyway)",
        )
        return False

    def money(
        self, value: object, path: Path, zero_ok: bool = False, any_digits: bool = False
    ) -> Decimal | None:
        """A quoted decimal amount with at most the currency's decimals (unless ``any_digits``)."""
        key = _name(path)
        digits = None if any_digits else self.digits
        example = '"15.00"' if digits is None or digits == 2 else f'"{15:.{digits}f}"'
        if not isinstance(value, str):
            self.add(
                path, f"{key} is {describe(value)}; write the amount in quotes, such as {example}"
            )
            return None
        try:
            amount = parse_money(value)
        except ValueError:
            self.add(path, f"{key} {show(value)} is not an amount; write it like {example}")
            return None
        places = max(0, -int(amount.as_tuple().exponent))
        if amount < 0 or (amount == 0 and not zero_ok):
            least = "0 or more" if zero_ok else "more than 0"
            self.add(path, f"{key} {show(value)} is too small; write {least}, such as {example}")
        elif amount >= MAX_AMOUNT:
            self.add(
                path,
                f"{key} {show(value)} is too large to be meant; write an amount below "
                f"{MAX_AMOUNT:f}, such as {example}",
            )
        elif any_digits:
            return amount if self._fine(value, amount, path) else None
        elif digits is not None and places > digits:
            self.add(
                path,
                f"{key} {show(value)} has more decimal places than the currency allows; "
                f"write at most {digits}, such as {example}",
            )
        else:
            return amount
        return None

    def local_date(self, value: object, path: Path) -> date | None:
        key = _name(path)
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        self.add(path, f"{key} is {describe(value)}; write it as 2026-12-01 without quotes")
        return None

    def codes(self, value: object, path: Path) -> tuple[str, ...] | None:
        """Referral coupon codes, lowercased as WooCommerce stores them."""
        items = self.strings(value, path, '["LI-FRIENDS"]')
        if items is None:
            return None
        ok = True
        for index, code in enumerate(items):
            if not code or len(code) > 50 or any(char.isspace() for char in code):
                ok = False
                self.add(
                    (*path, index),
                    f"coupon code {show(code)} is not usable; write 1 to 50 characters "
                    'without spaces, such as "LI-FRIENDS"',
                )
        return tuple(code.lower() for code in items) if ok else None
