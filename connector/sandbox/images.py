"""Product images for the sandbox store: the URLs its products' ``images[].src`` name load.

A real store serves each product's photo from ``/wp-content/uploads/...``; partner blocks show
those photos, so a sandbox whose image URLs answer 404 shows broken images in every block. The
sandbox has no photos: it draws a small SVG per product (a colour of its own and its name),
from the product alone, so one URL always gives the same bytes and caches may keep them.
Only the paths a product names are served; any other path is still the store's 404 page.
"""

from __future__ import annotations

import hashlib
import html
import textwrap

from connector.sandbox.response import Response

SVG_TYPE = "image/svg+xml"
MAX_AGE = 7 * 24 * 3600
"""Seconds a browser may keep an image, as a WordPress host's defaults for uploads allow."""

PALETTE = ("#cde8f6", "#f6e3cd", "#e3d9f6", "#d9f0dc", "#f6d9e3", "#f2efc9")
_SIZE = 300
_LINE_CHARS = 18
_MAX_LINES = 3


def placeholder_svg(product_id: int, name: str) -> bytes:
    """A 300x300 SVG with the product's colour and name (WordPress's ``&amp;`` undone)."""
    colour = PALETTE[product_id % len(PALETTE)]
    lines = textwrap.wrap(html.unescape(name), _LINE_CHARS)[:_MAX_LINES] or [str(product_id)]
    first_y = 220 - 16 * (len(lines) - 1)
    text = "".join(
        f'<tspan x="150" y="{first_y + 32 * n}">{html.escape(line)}</tspan>'
        for n, line in enumerate(lines)
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_SIZE}" height="{_SIZE}" '
        f'viewBox="0 0 {_SIZE} {_SIZE}">'
        f'<rect width="{_SIZE}" height="{_SIZE}" fill="{colour}"/>'
        '<circle cx="150" cy="110" r="56" fill="#ffffff" opacity=".7"/>'
        '<text font-family="sans-serif" font-size="24" text-anchor="middle" fill="#1f2328">'
        f"{text}</text></svg>"
    )
    return svg.encode("utf-8")


def image_response(product_id: int, name: str, if_none_match: str | None) -> Response:
    """The product's image, cacheable: an ``ETag`` of its bytes, and 304 when it still holds."""
    body = placeholder_svg(product_id, name)
    etag = f'"{hashlib.blake2b(body, digest_size=8).hexdigest()}"'
    headers = [
        ("Cache-Control", f"public, max-age={MAX_AGE}"),
        ("ETag", etag),
        ("X-Content-Type-Options", "nosniff"),
    ]
    wanted = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
    if etag in wanted or "*" in wanted:
        return Response(304, b"", headers, content_type=None)
    return Response(200, body, headers, content_type=SVG_TYPE)
