"""One answer from the sandbox store, before it is written to the socket.

Route handlers build a :class:`Response`; the server may still cut it, relabel it or run
something after it (the faults that act on a real answer), so it stays a plain mutable value
until the handler thread sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

JSON_TYPE = "application/json; charset=UTF-8"


@dataclass
class Response:
    """One answer; ``cut`` and ``after`` carry the faults that act on a real answer."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = JSON_TYPE
    cut: str | None = None
    after: Callable[[], None] | None = None


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(status, orjson.dumps(payload), list(headers))
