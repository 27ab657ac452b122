"""Low-level readers for single fields of WooCommerce order JSON.

Each reader takes one raw JSON value and the field's path, and returns the typed value we keep
or raises :class:`_Invalid` naming the field; :mod:`connector.woocommerce.mapping` adds the
order's name. Readers never quote a value that may be personal in their messages. They run
several times per imported order (100,000 in the benchmark), so they stay straight-line and the
regexes, translation table and money cache they use are built once at import time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from alliance.money import parse_money

MAX_ID = 2**63 - 1
"""Ids must fit a signed 64-bit database column."""

_DATE_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|\+00:00)?", re.ASCII)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_CONTROL = dict.fromkeys(
    [
        *range(0x00, 0x20),  # C0 controls, including tab and newline
        *range(0x7F, 0xA0),  # DEL and C1 controls
        *range(0x200B, 0x2010),  # zero-width spaces and joiners, LRM/RLM
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2066, 0x206A),  # bidi isolates
        0xFEFF,  # byte-order mark
    ]
)
_MONEY_MAX_CHARS = 24
_MONEY_CACHE: dict[str, Decimal] = {}
_MONEY_CACHE_SIZE = 4096
_MONEY_HINT = 'expected a decimal amount such as "12.50"'
_ZERO = Decimal(0)
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "true/false"),
    ((int, float, Decimal), "a number"),
    (str, "text"),
    (Mapping, "an object"),
    ((list, tuple), "a list"),
)


class _Invalid(Exception):
    """Internal: one field is wrong; ``map_order`` adds the order's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message


def describe_kind(value: object) -> str:
    """Describe a JSON value's type without quoting it (it may be personal data)."""
    for types, name in _KINDS:
        if isinstance(value, types):
            return name
    return "null" if value is None else type(value).__name__


def _text(value: object, field: str, limit: int) -> str:
    """Text we keep: null is ``""``; invalid UTF-8 is refused; control and bidi characters
    are dropped; the rest is trimmed to ``limit`` characters."""
    if type(value) is not str:
        if value is None:
            return ""
        raise _Invalid(field, f"expected text, got {describe_kind(value)}")
    if not value.isprintable():
        if _SURROGATE_RE.search(value) is not None:
            raise _Invalid(field, "invalid UTF-8")
        value = value.translate(_CONTROL)
    value = value.strip()
    if len(value) > limit:
        value = value[:limit].rstrip()
    return value


def _money(value: object, field: str) -> Decimal:
    """A non-negative amount through ``parse_money``; common strings are cached (immutable)."""
    if type(value) is str:
        amount = _MONEY_CACHE.get(value)
        if amount is None:
            if len(value) > _MONEY_MAX_CHARS or not value.isascii():
                raise _Invalid(field, f"{_MONEY_HINT}, got {len(value)} characters of other text")
            try:
                amount = parse_money(value)
            except ValueError:
                # never quoted: a broken store could put anything here, a customer's name too
                raise _Invalid(field, f"{_MONEY_HINT}, got {shown_safely(value)}") from None
            if len(_MONEY_CACHE) >= _MONEY_CACHE_SIZE:
                _MONEY_CACHE.clear()
            _MONEY_CACHE[value] = amount
    elif value is None:
        raise _Invalid(field, f"missing or null; {_MONEY_HINT}")
    else:
        amount = _number_money(value, field)
    if amount < _ZERO:
        raise _Invalid(field, f"must not be negative, got {shown_safely(value)}")
    return amount


def _number_money(value: object, field: str) -> Decimal:
    """Plain JSON numbers are tolerated (hand-made files); exponents and huge values are not."""
    kind = type(value)
    if kind is Decimal:
        parts = value.as_tuple()  # type: ignore[union-attr]
        sane = value.is_finite() and -12 <= parts.exponent <= 0 and len(parts.digits) <= 20  # type: ignore
    elif kind is int:
        sane = abs(value) < 10**18  # type: ignore[arg-type]
    else:
        sane = kind is float
    if not sane:
        raise _Invalid(field, f"{_MONEY_HINT}, got {describe_kind(value)}")
    try:
        return parse_money(value)
    except ValueError:  # 1e+20, nan: parse_money's message would quote the value
        raise _Invalid(field, f"{_MONEY_HINT}, got {describe_kind(value)}") from None


def shown_safely(value: object) -> str:
    """A bad value for an error message: quoted only if it is shaped like a date.

    Error messages reach logs and the quarantine table, so a store that put a customer's
    name or phone number in the wrong field must not get it through them: other text is
    described by its shape ("12,50" becomes "99,99") or its length; the order id tells the
    shop where to look.
    """
    if type(value) is str:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ][0-9:]{0,8}(Z|[+-]\d{2}:?\d{2})?", value):
            return repr(value)
        if len(value) <= 30:
            shape = re.sub(r"\d", "9", re.sub(r"[^\W\d_]", "a", value))
            legend = "digits shown as 9, letters as a"
            if not shape.isprintable():  # control, bidi and surrogate characters never get out
                shape = "".join(char if char.isprintable() else "?" for char in shape)
                legend += ", unprintable characters as ?"
            return f'text shaped like "{shape}" ({legend})'
        return f"a text of {len(value)} characters"
    return describe_kind(value)


def _date(value: object, field: str) -> datetime:
    """A ``*_gmt`` date: ``YYYY-MM-DDTHH:MM:SS`` (optionally ``Z``/``+00:00``) -> aware UTC."""
    if type(value) is not str or _DATE_RE.fullmatch(value) is None:
        if value is None:
            raise _Invalid(field, "missing or null")
        raise _Invalid(
            field, f'expected a UTC date such as "2026-11-25T13:45:32", got {shown_safely(value)}'
        )
    try:
        return datetime.fromisoformat(value[:19] + "+00:00")  # tzinfo is datetime.UTC
    except ValueError:
        raise _Invalid(field, f"not a real date: {shown_safely(value)}") from None


def _whole(value: object, field: str, minimum: int) -> int:
    """A JSON integer within ``minimum..MAX_ID`` (true/false and 2.0 are refused)."""
    if type(value) is not int:
        if value is None:
            raise _Invalid(field, "missing or null; expected a whole number")
        raise _Invalid(field, f"expected a whole number, got {describe_kind(value)}")
    if value < minimum or value > MAX_ID:
        raise _Invalid(field, out_of_range(value, minimum))
    return value


def out_of_range(value: int, minimum: int) -> str:
    """Why a whole number is refused, by its size: the number itself is never quoted."""
    expected = f"expected a whole number from {minimum} to {MAX_ID}"
    if -MAX_ID <= value <= MAX_ID:
        return f"out of range: below {minimum}; {expected}"
    return f"out of range: a number of {value.bit_length()} bits; {expected}"


def _list(value: object, field: str) -> list[Any]:
    """An optional JSON list: null or missing is empty."""
    if type(value) is list:
        return value
    if value is None:
        return []
    raise _Invalid(field, f"expected a list, got {describe_kind(value)}")


def _object(value: object, field: str) -> Mapping[str, Any] | None:
    if value is None or type(value) is dict or isinstance(value, Mapping):
        return value  # type: ignore[return-value]
    raise _Invalid(field, f"expected an object, got {describe_kind(value)}")
