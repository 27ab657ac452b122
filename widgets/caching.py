"""Caching answers: rendered blocks kept per rotation slot in the process, ETags for browsers.

A block is rendered once per process and rotation slot and kept until the slot ends; every
answer carries an ``ETag`` (a hash of its bytes) so a browser or proxy revalidating with
``If-None-Match`` gets a bodiless 304.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

CACHE_ENTRIES = 2048
"""Rendered blocks kept per process; expired ones are dropped first."""


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str
    partners: tuple[str, ...]  # one entry per card, for impressions
    expires: float


@dataclass
class BlockCache:
    """Rendered blocks by request shape, each kept until its rotation slot ends."""

    entries: dict[tuple[Any, ...], Rendered] = field(default_factory=dict)
    limit: int = CACHE_ENTRIES

    def get(self, key: tuple[Any, ...], now: float) -> Rendered | None:
        hit = self.entries.get(key)
        return hit if hit is not None and hit.expires > now else None

    def put(self, key: tuple[Any, ...], value: Rendered, now: float) -> None:
        if len(self.entries) >= self.limit:
            self.entries = {k: v for k, v in self.entries.items() if v.expires > now}
            if len(self.entries) >= self.limit:
                self.entries.clear()
        self.entries[key] = value


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` (a list, weak or strong, or ``*``) matches ``etag``."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


def cached_response(body: bytes, etag: str, request: Request, headers: dict[str, str]) -> Response:
    """``body`` with its ``ETag``, or a 304 when the client already holds it."""
    headers = {"ETag": etag, **headers}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, headers=headers)
