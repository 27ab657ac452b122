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

:data:`SNIPPET_OPTIONS` is the one list of what a snippet can say: the placeholder's
``data-*`` attributes (read by ``embed.js``), the ``alliance widget`` flags that write them and
the block URL's parameters. The README's table is :func:`options_table`, and
``tests/widgets/test_snippet_options.py`` checks all four agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from html import escape
from urllib.parse import quote, urlencode

from widgets.blocks import DEFAULT_CARDS, IFRAME_HEIGHTS, MAX_CARDS, MIN_CARDS, Variant
from widgets.links import PLACEMENTS

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


LANGUAGES = ("en", "zh-Hans")
"""What ``--lang`` takes: the block's languages as HTML names them."""


@dataclass(frozen=True, slots=True)
class SnippetOption:
    """One thing a snippet can say, under each of its names."""

    attribute: str
    """On the placeholder ``<div data-alliance-widget>``, read by ``embed.js``."""
    flag: str
    """The ``alliance widget`` option that writes it."""
    query: str | None
    """The block URL's parameter it becomes; None: the URL's path, or the frame's own."""
    meaning: str
    in_path: bool = False
    """Part of the block URL's path (``/w/<member>/<placement>``) rather than its query."""


def _defaults(values: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in values.items())


SNIPPET_OPTIONS = (
    SnippetOption(
        "data-member", "--member", None, "required: the member whose page shows the block", True
    ),
    SnippetOption(
        "data-placement",
        "--placement",
        None,
        "required: " + ", ".join(f"`{p}`" for p in PLACEMENTS),
        True,
    ),
    SnippetOption(
        "data-variant",
        "--variant",
        "variant",
        ", ".join(f"`{v.value}`" for v in Variant) + " (default `grid`)",
    ),
    SnippetOption(
        "data-count",
        "--count",
        "count",
        f"cards shown, {MIN_CARDS} to {MAX_CARDS} (default: "
        f"{_defaults({v.value: n for v, n in DEFAULT_CARDS.items() if v is not Variant.SINGLE})}"
        "; `single` always shows 1)",
    ),
    SnippetOption(
        "data-lang",
        "--lang",
        "lang",
        " or ".join(f"`{lang}`" for lang in LANGUAGES) + " (default: the page's `<html lang>` "
        "in script mode, else the visitor's browser language)",
    ),
    SnippetOption(
        "data-mode",
        "--mode",
        None,
        "`iframe`: the block in a sandboxed frame (`--mode` also takes `script`, the default, "
        "and `html`: how to fetch the block as plain HTML)",
    ),
    SnippetOption(
        "data-height",
        "--height",
        None,
        f"iframe mode: the frame's height in pixels (default: {_defaults(IFRAME_HEIGHTS)})",
    ),
    SnippetOption(
        "data-title",
        "--title",
        None,
        f'iframe mode: the frame\'s accessible name (default: "{IFRAME_TITLE}")',
    ),
    SnippetOption(
        "data-order",
        "--order",
        "order",
        "`thankyou` only: the order's signed reference, so the block shows its gift pack "
        "(`--order` takes the order id and signs it)",
    ),
)
"""Every snippet option, in the README's order."""


def options_table() -> str:
    """The README's "Snippet options" table (Markdown), from :data:`SNIPPET_OPTIONS`."""
    rows = [
        "| placeholder attribute | `alliance widget` | block URL | what it does |",
        "|---|---|---|---|",
    ]
    for option in SNIPPET_OPTIONS:
        query = f"`{option.query}=`" if option.query else "path" if option.in_path else "-"
        rows.append(f"| `{option.attribute}` | `{option.flag}` | {query} | {option.meaning} |")
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class Choices:
    """The optional values of a snippet (None: the block's default)."""

    variant: str | None = None
    count: int | None = None
    lang: str | None = None
    height: int | None = None
    title: str | None = None
    order: str | None = None

    def query(self) -> dict[str, str]:
        """The block URL's parameters these make (the variant apart: it goes first)."""
        values = {"count": self.count, "lang": self.lang, "order": self.order}
        return {name: str(value) for name, value in values.items() if value is not None}

    def attributes(self) -> str:
        """`` data-variant="list" data-count="4"...``: every value given, escaped."""
        values = {
            "data-variant": self.variant,
            "data-count": self.count,
            "data-lang": self.lang,
            "data-height": self.height,
            "data-title": self.title,
            "data-order": self.order,
        }
        return "".join(
            f' {name}="{_attr(str(value))}"' for name, value in values.items() if value is not None
        )


def _attr(value: str) -> str:
    return escape(value, quote=True)


def block_url(
    base: str, member: str, placement: str, variant: str | None = None, **extra: str
) -> str:
    """``<base>/w/<member>/<placement>`` with ``variant`` and ``extra`` as its query string."""
    query = {**({"variant": variant} if variant else {}), **extra}
    path = f"{base.rstrip('/')}/w/{quote(member, safe='')}/{quote(placement, safe='')}"
    return f"{path}?{urlencode(query)}" if query else path


def script_snippet(base: str, member: str, placement: str, choices: Choices) -> str:
    """The placeholder ``<div>`` and the ``embed.js`` tag (loaded ``async``)."""
    return (
        f'<div data-alliance-widget data-member="{_attr(member)}" '
        f'data-placement="{_attr(placement)}"{choices.attributes()}></div>'
        f'<script src="{_attr(base.rstrip("/") + "/embed.js")}" async></script>'
    )


def iframe_snippet(base: str, member: str, placement: str, choices: Choices) -> str:
    """A sandboxed, lazily loaded ``<iframe>`` of the block, sized for its variant, in the
    language asked for (else the visitor's browser's).

    Sized and unbordered by attributes, not ``style=``, which a CSP without ``'unsafe-inline'``
    refuses.
    """
    height = choices.height or IFRAME_HEIGHTS[choices.variant or Variant.GRID.value]
    src = block_url(base, member, placement, choices.variant, frame="1", **choices.query())
    title = choices.title or IFRAME_TITLE
    return (
        f'<iframe src="{_attr(src)}" title="{_attr(title)}" loading="lazy" '
        f'sandbox="{IFRAME_SANDBOX}" width="100%" height="{height}" frameborder="0"></iframe>'
    )


def html_instructions(base: str, member: str, placement: str, choices: Choices) -> str:
    """How to fetch the block's server-side HTML, to paste where scripts are not allowed."""
    url = block_url(base, member, placement, choices.variant, **choices.query())
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
    count: int | None = None,
    lang: str | None = None,
    height: int | None = None,
    title: str | None = None,
) -> str:
    """What ``alliance widget`` prints for ``mode``; ``order``: an order reference. Raises
    ``ValueError`` on a variant, count or language the block does not have."""
    if variant is not None:
        variant = Variant(variant).value  # ValueError on a variant the block does not have
    if count is not None and not MIN_CARDS <= count <= MAX_CARDS:
        raise ValueError(f"count must be from {MIN_CARDS} to {MAX_CARDS}")
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}")
    choices = Choices(variant, count, lang, height, title, order)
    make = {
        SnippetMode.SCRIPT: script_snippet,
        SnippetMode.IFRAME: iframe_snippet,
        SnippetMode.HTML: html_instructions,
    }[SnippetMode(mode)]
    return make(base, member, placement, choices)
