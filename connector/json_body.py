"""JSON from a store's answers: orjson first, the standard library for what only it reads.

A store can send what JSON allows but orjson refuses: an escaped lone surrogate (``"\\ud800"``,
half of an emoji cut by a plugin). One such order must be quarantined on its own, not fail every
sync of its member, so an answer orjson refuses for that reason alone is read again by the
slower standard library, and the mapping then refuses that one order by name. Anything else
orjson refuses stays refused (broken JSON, ``NaN``, nesting deeper than 1,024), as a
``ValueError``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(raw: bytes | str) -> Any:
    """The JSON value of ``raw``; ``ValueError`` when it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if "surrogate" not in str(error):  # "no low surrogate", "invalid high surrogate"
            raise
    try:
        return json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
