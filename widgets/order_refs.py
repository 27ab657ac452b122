"""Signed order references: which order a thank-you page is for, with no personal data.

A shop's thank-you page puts ``data-order="<ref>"`` on its partner block so the block can show
that order's gift pack. The reference is the order's store id and a tag only the shop and the
alliance can make, both knowing the member's webhook secret (``<MEMBER>_WC_WEBHOOK_SECRET``)::

    key = HMAC-SHA256(webhook secret, "alliance thankyou order ref")
    tag = HMAC-SHA256(key, "<member>/<order id>")[:16]
    ref = base64url(order id as ASCII digits || tag), without "=" padding

so order 1234 at ``li`` is 27 characters. :func:`order_ref` is the function a shop's server
mirrors (the WordPress plugin will); in PHP::

    $key = hash_hmac('sha256', 'alliance thankyou order ref', $secret, true);
    $tag = substr(hash_hmac('sha256', $member . '/' . $order_id, $key, true), 0, 16);
    $ref = rtrim(strtr(base64_encode($order_id . $tag), '+/', '-_'), '=');

Nothing in a reference is secret but the tag: it names an order id, never a customer.
:func:`read_order_ref` refuses everything but a reference :func:`sign_order_ref` made for the
same member under the same key, spelled the one way it spells it (a non-canonical last
character, padding, oversize input, a truncated or changed tag, an order id that is not a
plain positive number), checking the tag in constant time before reading the id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from alliance.errors import BadInputError

ORDER_REF_CONTEXT = b"alliance thankyou order ref"
"""What the member's webhook secret is keyed with, so the key serves order references only."""

TAG_BYTES = 16
"""128-bit tag, as tracked links have (:mod:`widgets.links`)."""

ORDER_ID_MAX = 20
"""Digits of an order id at most (WooCommerce ids are 64-bit integers)."""

REF_MAX = 64
"""Longer references are refused before any decoding (order 2**63 makes 48 characters)."""

_REF_RE = re.compile(r"[A-Za-z0-9_-]+")


class BadOrderRef(BadInputError):
    """An order reference that is malformed, not canonical, or not signed with the key."""


def order_ref_key(webhook_secret: str) -> bytes:
    """The key for the member's order references: HMAC(secret, "alliance thankyou order ref").

    :class:`BadOrderRef` for an empty secret: with it anybody could sign a reference.
    """
    if not webhook_secret:
        raise BadOrderRef("no webhook secret: order references cannot be signed or checked")
    return hmac.new(webhook_secret.encode("utf-8"), ORDER_REF_CONTEXT, hashlib.sha256).digest()


def canonical_order_id(order_id: str) -> bool:
    """A plain positive whole number in ASCII digits, no sign, no leading zero."""
    return (
        type(order_id) is str
        and 0 < len(order_id) <= ORDER_ID_MAX
        and order_id.isascii()
        and order_id.isdigit()
        and order_id[0] != "0"
    )


def _tag(key: bytes, member: str, order_id: bytes) -> bytes:
    return hmac.digest(key, member.encode("utf-8") + b"/" + order_id, "sha256")[:TAG_BYTES]


def sign_order_ref(key: bytes, member: str, order_id: str) -> str:
    """The reference to ``member``'s order ``order_id`` under ``key`` (:func:`order_ref_key`)."""
    if not canonical_order_id(order_id):
        raise BadOrderRef(f"order id {order_id!r} is not a plain positive whole number")
    body = order_id.encode("ascii")
    raw = body + _tag(key, member, body)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def order_ref(webhook_secret: str, member: str, order_id: str) -> str:
    """The ``data-order`` value of ``member``'s thank-you page for ``order_id`` (the store's
    order id, as WooCommerce's ``$order->get_id()``), signed with the member's webhook secret.
    """
    return sign_order_ref(order_ref_key(webhook_secret), member, order_id)


def read_order_ref(key: bytes, member: str, ref: str) -> str:
    """The order id a genuine reference of ``member`` names; :class:`BadOrderRef` else."""
    if type(ref) is not str or not ref:
        raise BadOrderRef("empty order reference")
    if len(ref) > REF_MAX:
        raise BadOrderRef("order reference is too long")
    if not _REF_RE.fullmatch(ref) or len(ref) % 4 == 1:
        raise BadOrderRef("order reference is not base64url")
    raw = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4))
    # Unused low bits of the last character would let two spellings carry one reference.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != ref:
        raise BadOrderRef("order reference is not canonical base64url")
    if len(raw) <= TAG_BYTES:
        raise BadOrderRef("order reference is truncated")
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not hmac.compare_digest(_tag(key, member, body), tag):
        raise BadOrderRef("order reference signature does not match")
    order_id = body.decode("latin-1")  # one character a byte: a non-ASCII one fails below
    if not canonical_order_id(order_id):
        raise BadOrderRef("order reference does not name a plain order id")
    return order_id
