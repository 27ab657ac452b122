"""JSON from a store's answers: orjson first, the standard library for what only it reads.

A store can send what JSON allows but orjson refuses: an escaped lone surrogate (``"\\ud800"``,
half of an emoji cut by a plugin). One such order must be quarantined on its own, not fail every
sync of its member, so an answer orjson refuses is read again by the slower standard library
and the mapping then refuses that one order by name. Broken JSON still fails: both parsers'
errors are ``ValueError``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(raw: bytes | str) -> Any:
    """The JSON value of ``raw``; ``ValueError`` when it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
