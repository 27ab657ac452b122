"""Money: Decimal from parsing to ledger, and the one rounding rule.

Rounding rule (the only one in the project): every ledger entry is rounded **half-up to the
currency's minor unit** (CNY, EUR, USD: 0.01; JPY: 1; KWD: 0.001) at the moment the entry is
computed. Differences between two rounded amounts are therefore already rounded.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision, is_currency

CREDIT = "credit"
"""The unit of swap deals: promotion credits, never money."""

_MONEY_RE = re.compile(r"-?\d+(\.\d+)?")


def is_known_currency(code: str) -> bool:
    """True for an ISO 4217 code Babel knows (``CNY``, ``EUR``...)."""
    return isinstance(code, str) and code.isupper() and is_currency(code)


@lru_cache(maxsize=64)
def minor_exponent(unit: str) -> Decimal:
    """The quantum of a unit: ``Decimal('0.01')`` for CNY, ``Decimal('1')`` for credits."""
    if unit == CREDIT:
        return Decimal(1)
    return Decimal(1).scaleb(-get_currency_precision(unit))


@lru_cache(maxsize=64)
def minor_digits(unit: str) -> int:
    """How many decimal places a unit has (2 for CNY, 0 for credits)."""
    return 0 if unit == CREDIT else get_currency_precision(unit)


def round_money(amount: Decimal, unit: str) -> Decimal:
    """Round half-up to the unit's minor unit (the project's single rounding rule)."""
    return amount.quantize(minor_exponent(unit), rounding=ROUND_HALF_UP)


def parse_money(value: object, *, allow_negative: bool = True) -> Decimal:
    """Parse a money value as storefronts send it: a decimal string such as ``"12.50"``.

    Numbers are accepted too (WooCommerce sends line ``price`` as a JSON number), but
    ``"12,50"``, ``""``, ``None``, ``NaN`` and exponents are refused with ``ValueError``.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f'expected a decimal amount such as "12.50", got {value!r}')
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError(f'expected a decimal amount such as "12.50", got {type(value).__name__}')
    if not _MONEY_RE.fullmatch(text):
        raise ValueError(f'expected a decimal amount such as "12.50", got {value!r}')
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise ValueError(f"not a decimal amount: {value!r}") from exc
    if amount < 0 and not allow_negative:
        raise ValueError(f"must not be negative, got {value!r}")
    return amount


def to_minor(amount: Decimal, unit: str) -> int:
    """Exact integer count of minor units, for storage (refuses amounts needing rounding)."""
    scaled = amount.scaleb(minor_digits(unit))
    whole = int(scaled)
    if whole != scaled:
        raise ValueError(f"{amount} {unit} is not rounded to the minor unit")
    return whole


def from_minor(minor: int, unit: str) -> Decimal:
    """Inverse of :func:`to_minor`."""
    return Decimal(minor).scaleb(-minor_digits(unit)).quantize(minor_exponent(unit))


def format_amount(amount: Decimal, unit: str) -> str:
    """Plain string with exactly the unit's decimals (``"12.50"``), as statements print it."""
    return format(round_money(amount, unit), "f")
