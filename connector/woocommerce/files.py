"""Order files: a JSON export of ``GET /wp-json/wc/v3/orders``, read safely.

Invalid UTF-8 bytes are kept as surrogates, and an integer too long for Python's ``int`` is
read as a ``Decimal``, so only the order holding them is refused (the mapping names its field).
A file that is not JSON or holds no list raises :class:`BadInputError` naming the file and what
to do.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from alliance.errors import BadInputError
from connector.woocommerce.mapping import MappedItem, describe_kind, map_orders

FIX = "export the orders again as the JSON list that GET /wp-json/wc/v3/orders returns"


def read_orders_document(path: str | os.PathLike[str]) -> list[Any]:
    """The orders in a file: a JSON list, or ``{"orders": [...]}``; elements unchecked."""
    where = os.fspath(path)
    try:
        data = Path(where).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BadInputError(f"{where}: cannot read the orders file ({reason})") from None
    text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    try:
        parsed = _loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(
            f"{where}: line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg}); {FIX}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise BadInputError(f"{where}: not usable JSON ({exc}); {FIX}") from None
    if isinstance(parsed, dict) and "orders" in parsed:
        parsed = parsed["orders"]
    if not isinstance(parsed, list):
        raise BadInputError(
            f"{where}: expected a JSON list of orders, found {describe_kind(parsed)}; {FIX}"
        )
    return parsed


def _loads(text: str) -> Any:
    """JSON with exact decimals; an integer ``int()`` refuses (4,300 digits) becomes a Decimal."""
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError:
        raise
    except ValueError:  # such an integer: read the file again, converting each one with care
        return json.loads(text, parse_float=Decimal, parse_int=_whole)


def _whole(digits: str) -> int | Decimal:
    """A JSON integer: an ``int`` while Python converts one (4,300 digits), else a Decimal."""
    try:
        return int(digits)
    except ValueError:
        return Decimal(digits)


def read_orders_file(
    path: str | os.PathLike[str], *, member: str, secret: bytes
) -> list[MappedItem]:
    """Read and map an orders file: each element an ``Order`` or the ``OrderDataError`` why not."""
    return map_orders(read_orders_document(path), member=member, secret=secret)
