"""The PHP and WordPress built-ins WooCommerce's key check leans on, reproduced in Python.

An OAuth signature covers the request variables as PHP parsed them (``$_GET``, ``$_POST``), and
the key lookup goes through WordPress's sanitising; a client's signature only matches a real
store's if these behave byte for byte like PHP does, quirks included. ``auth`` decides; this
module only imitates the runtime underneath it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

TRIM = " \t\n\r\0\x0b"
"""The characters PHP's ``trim()`` strips by default."""

_NUMERIC = re.compile(r"[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*")
_INT_KEY = re.compile(r"0|-?[1-9][0-9]*")
_PERCENT_OCTET = re.compile(r"%[a-fA-F0-9]{2}")

PhpArray = dict[int | str, "PhpValue"]
PhpValue = str | PhpArray
"""A PHP request variable: a string, or an array built from ``name[index]`` parameters."""


def is_numeric(text: str) -> bool:
    """PHP ``is_numeric`` for a string (surrounding whitespace allowed)."""
    return _NUMERIC.fullmatch(text) is not None


def request_vars(pairs: Iterable[tuple[str, str]]) -> PhpArray:
    """``$_GET`` or ``$_POST`` as PHP builds them from decoded name/value pairs.

    Later duplicates win; ``.`` and spaces in a name become ``_``; ``a[b][]`` names build nested
    arrays; integer-like keys become integers.
    """
    variables: PhpArray = {}
    for name, value in pairs:
        path = _variable_path(name)
        if path is None:
            continue
        node = variables
        for index in path[:-1]:
            key = _key(index, node)
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]  # type: ignore[assignment]
        node[_key(path[-1], node)] = value
    return variables


def _variable_path(name: str) -> list[str | None] | None:
    """Split ``a[b][]`` into ``["a", "b", None]`` (None appends); None if PHP drops the name."""
    name = name.split("\0", 1)[0].lstrip(" ")
    bracket = name.find("[")
    base = (name if bracket < 0 else name[:bracket]).replace(" ", "_").replace(".", "_")
    if not base:
        return None
    path: list[str | None] = [base]
    rest = "" if bracket < 0 else name[bracket:]
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            if len(path) == 1:  # never closed: PHP keeps one plain name
                return [base + "_" + re.sub(r"[ .\[]", "_", rest[1:])]
            break
        path.append(rest[1:close] or None)
        rest = rest[close + 1 :]
    return path


def _key(index: str | None, array: PhpArray) -> int | str:
    if index is None:
        return max([0] + [key + 1 for key in array if isinstance(key, int)])
    if _INT_KEY.fullmatch(index) and -(2**63) <= int(index) < 2**63:
        return int(index)
    return index


def array_merge(*arrays: PhpArray) -> PhpArray:
    """PHP ``array_merge``: string keys overwrite in place, integer keys are renumbered."""
    merged: PhpArray = {}
    next_index = 0
    for array in arrays:
        for key, value in array.items():
            if isinstance(key, int):
                merged[next_index] = value
                next_index += 1
            else:
                merged[key] = value
    return merged


def empty(value: PhpValue | None) -> bool:
    """PHP ``empty()``: missing, ``""``, ``"0"`` and the empty array all count as absent."""
    return value is None or value in ("", "0") or value == {}


def as_text(value: PhpValue | None) -> str:
    """A request variable where a string is expected; an array (``a[]=``) reads as ``""``."""
    return value if isinstance(value, str) else ""


def sanitize_text_field(value: str) -> str:
    """The part of WordPress ``sanitize_text_field`` that can change a consumer key lookup."""
    text = re.sub(r"[\r\n\t ]+", " ", value).strip(TRIM)
    found = False
    while octet := _PERCENT_OCTET.search(text):
        text = text.replace(octet.group(0), "")
        found = True
    return re.sub(" +", " ", text).strip(TRIM) if found else text


def rawurlencode(text: str) -> str:
    """PHP ``rawurlencode``: every byte but ``A-Za-z0-9-_.~`` percent-encoded."""
    return quote(as_bytes(text), safe="-_.~")


def as_bytes(text: str) -> bytes:
    """The bytes PHP would hold for this text (lone surrogates kept, not rejected)."""
    return text.encode("utf-8", "surrogatepass")


def get_home_url(home_url: str, path: str, scheme: str) -> str:
    """WordPress ``get_home_url(null, $path, $scheme)`` for a single site."""
    url = home_url.strip(TRIM)
    if scheme == "relative":
        url = re.sub(r"^\w+://[^/]*", "", url, flags=re.ASCII).lstrip(TRIM)
        if url.startswith("/"):
            url = "/" + url.lstrip("/" + TRIM)
    else:
        url = re.sub(r"^\w+://", f"{scheme}://", url, flags=re.ASCII)
    if path and path != "0":  # PHP truthiness
        url += "/" + path.lstrip("/")
    return url
