"""The snippet a shop pastes into its pages to show a partner block (``alliance widget``).

Three ways in, one block behind them (:mod:`widgets.blocks`):

- ``script`` (the default): a placeholder ``<div data-alliance-widget ...>`` and ``embed.js``,
  which fills every placeholder on the page;
- ``iframe``: the block as a page of its own in a sandboxed ``<iframe>``, for pages that run
  no third-party scripts;
- ``html``: no snippet to paste, but where to fetch the server-side HTML of the block, for
  stores that paste plain HTML (WordPress "Custom HTML" block).

Every value is HTML-escaped (attributes) or percent-encoded (URLs), so a member id can never
break out of the snippet.

On a thank-you page, ``order`` (a signed reference, :mod:`widgets.order_refs`) makes the block
show that order's gift pack: ``data-order`` on the placeholder, ``order=`` in a block URL.
"""

from __future__ import annotations

from enum import Enum
from html import escape
from urllib.parse import quote, urlencode

from widgets.blocks import IFRAME_HEIGHTS, Variant

IFRAME_SANDBOX = (
    "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
)
"""The same sandbox ``embed.js`` gives its frames: links open, scripts of the frame never run."""

IFRAME_TITLE = "Recommended by our partners"
"""The frame's accessible name (screen readers announce it)."""


class SnippetMode(str, Enum):
    SCRIPT = "script"
    IFRAME = "iframe"
    HTML = "html"


def _attr(value: str) -> str:
    return escape(value, quote=True)


def block_url(
    base: str, member: str, placement: str, variant: str | None = None, **extra: str
) -> str:
    """``<base>/w/<member>/<placement>`` with ``variant`` and ``extra`` as its query string."""
    query = {**({"variant": variant} if variant else {}), **extra}
    path = f"{base.rstrip('/')}/w/{quote(member, safe='')}/{quote(placement, safe='')}"
    return f"{path}?{urlencode(query)}" if query else path


def script_snippet(
    base: str, member: str, placement: str, variant: str | None = None, order: str | None = None
) -> str:
    """The placeholder ``<div>`` and the ``embed.js`` tag (loaded ``async``)."""
    variant_attr = f' data-variant="{_attr(variant)}"' if variant else ""
    order_attr = f' data-order="{_attr(order)}"' if order else ""
    return (
        f'<div data-alliance-widget data-member="{_attr(member)}" '
        f'data-placement="{_attr(placement)}"{variant_attr}{order_attr}></div>'
        f'<script src="{_attr(base.rstrip("/") + "/embed.js")}" async></script>'
    )


def iframe_snippet(
    base: str, member: str, placement: str, variant: str | None = None, order: str | None = None
) -> str:
    """A sandboxed, lazily loaded ``<iframe>`` of the block, sized for its variant.

    Sized and unbordered by attributes, not ``style=``, which a CSP without ``'unsafe-inline'``
    refuses.
    """
    height = IFRAME_HEIGHTS[variant or Variant.GRID.value]
    src = block_url(
        base, member, placement, variant, frame="1", **({"order": order} if order else {})
    )
    return (
        f'<iframe src="{_attr(src)}" title="{_attr(IFRAME_TITLE)}" loading="lazy" '
        f'sandbox="{IFRAME_SANDBOX}" width="100%" height="{height}" frameborder="0"></iframe>'
    )


def html_instructions(
    base: str, member: str, placement: str, variant: str | None = None, order: str | None = None
) -> str:
    """How to fetch the block's server-side HTML, to paste where scripts are not allowed."""
    url = block_url(base, member, placement, variant, **({"order": order} if order else {}))
    return "\n".join(
        (
            "The block as plain HTML (no script; it links its stylesheet from the alliance, so",
            "a Content-Security-Policy must allow that origin in style-src), for a WordPress",
            '"Custom HTML" block or any page that takes pasted HTML. Fetch it:',
            "",
            f"  curl -fsS '{url}'",
            "",
            "and paste what it prints. Pasted HTML is a snapshot: the products do not rotate",
            "and sold-out products stay until you fetch it again; prefer --mode script.",
        )
    )


def snippet(
    base: str,
    member: str,
    placement: str,
    *,
    variant: str | None = None,
    mode: SnippetMode = SnippetMode.SCRIPT,
    order: str | None = None,
) -> str:
    """What ``alliance widget`` prints for ``mode``; ``order``: an order reference."""
    if variant is not None:
        variant = Variant(variant).value  # ValueError on a variant the block does not have
    make = {
        SnippetMode.SCRIPT: script_snippet,
        SnippetMode.IFRAME: iframe_snippet,
        SnippetMode.HTML: html_instructions,
    }[SnippetMode(mode)]
    return make(base, member, placement, variant, order)
