"""The one Jinja environment of the web face: autoescaped, strict, overridable by a shop.

Templates are looked up in the shop's own folder first (``ALLIANCE_TEMPLATE_DIR``), then in
the shipped ``templates/`` package: first match wins, like WooCommerce theme overrides.
Autoescape is on for every template, strings included, and a missing variable fails loudly
(:class:`~jinja2.StrictUndefined`). Data reaches ``<script>`` only through ``|tojson``.

Translations come from :mod:`widgets.i18n`: ``{% trans %}`` blocks call the ``translations``
variable of the render context, so one environment (compiled once, cached) serves every
language.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

import templates

SHIPPED_TEMPLATES = Path(templates.__file__).resolve().parent
"""The templates that ship with the package; a shop's folder is searched before them."""

TEMPLATE_DIR_VARIABLE = "ALLIANCE_TEMPLATE_DIR"
"""Environment variable naming a shop's override folder (optional)."""

CACHE_SIZE = 400
"""Compiled templates kept in memory; more than the web face will ever have."""


@pass_context
def _gettext(context: Context, message: str) -> str:
    return context["translations"].gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return context["translations"].ngettext(singular, plural, n)


def override_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """The shop's template folder from ``ALLIANCE_TEMPLATE_DIR``, or None when unset."""
    value = (os.environ if env is None else env).get(TEMPLATE_DIR_VARIABLE, "").strip()
    return Path(value) if value else None


def make_environment(override: str | os.PathLike[str] | None = None) -> Environment:
    """The environment: ``override`` first (if given), then the shipped templates."""
    loaders = [FileSystemLoader(str(override))] if override else []
    loaders.append(FileSystemLoader(str(SHIPPED_TEMPLATES)))
    environment = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default_for_string=True, default=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,  # compiled once per process
        cache_size=CACHE_SIZE,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    return environment


def shared_environment(state: Any) -> Environment:
    """The app's one environment, made on first use and kept on ``app.state.jinja``."""
    environment = getattr(state, "jinja", None)
    if environment is None:
        environment = make_environment(override_dir())
        state.jinja = environment
    return environment
