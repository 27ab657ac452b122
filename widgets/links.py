"""Tracked links: a signed, URL-safe token naming who sent a shopper where, under which deal.

A token is ``base64url(payload || tag)`` without padding, where ``payload`` is a version byte
and the five claim fields joined by the unit separator (``\\x1f``), and ``tag`` is the first
:data:`TAG_BYTES` bytes of HMAC-SHA256 over the payload under a key derived from the alliance
secret for links only (:func:`link_key`). Nothing in a token is secret, only unforgeable: a
shopper may read which deal a link belongs to, never change it.

:func:`verify_link` refuses anything but a token :func:`sign_link` made with the same key:
wrong alphabet, non-canonical base64 (a changed last character that only flips padding bits),
oversize input, truncated tags and tampered bytes all raise :class:`BadLink`, and nothing is
decoded before the tag is checked in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from alliance.errors import BadInputError

VERSION = b"\x01"
"""The payload layout; a new layout gets a new byte, old links keep working or fail loudly."""

TAG_BYTES = 16
"""128-bit tag: forging one takes 2**128 tries on average."""

FIELD_MAX = 64
"""Longest claim field (the ``clicks`` columns hold 64 characters; placements 32)."""

PLACEMENT_MAX = 32

TOKEN_MAX = 512
"""Longer path segments are refused before any decoding: real tokens are under 100 characters."""

PLACEMENTS = ("product", "cart", "thankyou", "article")
"""Where a link or block can sit on a member's pages; travels as ``utm_medium``."""

GIFT_PACK_PLACEMENT = "giftpack"
"""Where a gift pack's links sit (its note, the thank-you block's gift list): a link there
names a promotion, not a deal (:class:`widgets.redirect.Redirector`). No block is placed there."""

LINK_PLACEMENTS = (*PLACEMENTS, GIFT_PACK_PLACEMENT)
"""Every placement a tracked link may carry."""

_SEPARATOR = "\x1f"
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")
_CONTEXT = b"alliance/links/v1"


class BadLink(BadInputError):
    """A token that is malformed, truncated, oversize or not signed with our key."""


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a tracked link says: ``source`` sends a shopper to ``target``'s product."""

    source: str  # the referrer: whose page the link is on
    target: str  # the seller: whose product it points to
    product_id: str  # the seller's product id, or "" for the store's home page
    placement: str  # product | cart | thankyou | article, or giftpack
    deal_id: str  # the deal; for the giftpack placement, the promotion

    def fields(self) -> tuple[str, str, str, str, str]:
        return (self.source, self.target, self.product_id, self.placement, self.deal_id)


def link_key(secret: bytes) -> bytes:
    """The key for link signatures only: HMAC(secret, "alliance/links/v1")."""
    return hmac.new(secret, _CONTEXT, hashlib.sha256).digest()


_NAMES = ("source", "target", "product_id", "placement", "deal_id")
_LIMITS = (FIELD_MAX, FIELD_MAX, FIELD_MAX, PLACEMENT_MAX, FIELD_MAX)


def _check(claim: LinkClaim) -> None:
    """Every field text, printable and within its limit; all but the product non-empty."""
    fields = claim.fields()
    if (  # the usual case in one pass (this runs on every click), the reasons below
        all(type(v) is str and v.isprintable() for v in fields)
        and all(len(v) <= limit for v, limit in zip(fields, _LIMITS, strict=True))
        and all(fields[i] for i in (0, 1, 3, 4))
    ):
        return
    for name, value in zip(_NAMES, fields, strict=True):
        if type(value) is not str:
            raise BadLink(f"link {name} must be text, not {type(value).__name__}")
        limit = PLACEMENT_MAX if name == "placement" else FIELD_MAX
        if len(value) > limit:
            raise BadLink(f"link {name} is longer than {limit} characters")
        if not value.isprintable():
            raise BadLink(f"link {name} holds control characters")
        if not value and name != "product_id":
            raise BadLink(f"link {name} is empty")


def _tag(key: bytes, payload: bytes) -> bytes:
    return hmac.digest(key, payload, "sha256")[:TAG_BYTES]  # one call into C


def sign_link(key: bytes, claim: LinkClaim) -> str:
    """The token for ``claim`` under ``key`` (from :func:`link_key`)."""
    _check(claim)
    payload = VERSION + _SEPARATOR.join(claim.fields()).encode("utf-8")
    return base64.urlsafe_b64encode(payload + _tag(key, payload)).rstrip(b"=").decode("ascii")


def verify_link(key: bytes, token: str) -> LinkClaim:
    """The claim a genuine token carries; :class:`BadLink` for anything else."""
    if type(token) is not str or not token:
        raise BadLink("empty link token")
    if len(token) > TOKEN_MAX:
        raise BadLink("link token is too long")
    if not _TOKEN_RE.fullmatch(token) or len(token) % 4 == 1:
        raise BadLink("link token is not base64url")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # Unused low bits of the last character would let two spellings carry one token.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise BadLink("link token is not canonical base64url")
    if len(raw) <= TAG_BYTES + len(VERSION):
        raise BadLink("link token is truncated")
    payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not hmac.compare_digest(_tag(key, payload), tag):
        raise BadLink("link token signature does not match")
    if payload[:1] != VERSION:
        raise BadLink("link token has an unknown version")
    try:
        fields = payload[1:].decode("utf-8").split(_SEPARATOR)
    except UnicodeDecodeError:
        raise BadLink("link token payload is not UTF-8") from None
    if len(fields) != 5:
        raise BadLink("link token does not name five fields")
    claim = LinkClaim(*fields)
    _check(claim)
    return claim


def link_url(base_url: str, token: str) -> str:
    """The shareable URL of a token: ``<base>/r/<token>``."""
    return f"{base_url.rstrip('/')}/r/{token}"
