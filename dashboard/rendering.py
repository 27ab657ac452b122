"""The dashboard's Jinja environment: autoescaped, strict, overridable by a shop.

Templates are looked up in the shop's folder first (``ALLIANCE_TEMPLATE_DIR``), then in the
shipped ``templates/``. ``{% trans %}`` and ``_()`` call the render context's
``translations``, so one compiled environment serves both languages. Charts are drawn by the
templates' own SVG macros from geometry computed in :mod:`alliance.dashboard_figures`.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

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
from alliance.dashboard_figures import percent_text
from alliance.money import format_amount

SHIPPED_TEMPLATES = Path(templates.__file__).resolve().parent
TEMPLATE_DIR_VARIABLE = "ALLIANCE_TEMPLATE_DIR"


@pass_context
def _gettext(context: Context, message: str, **variables: object) -> str:
    text = context["translations"].gettext(message)
    return text % variables if variables else text


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int, **variables: object) -> str:
    text = context["translations"].ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def _money(amount: Decimal | None, unit: str) -> str:
    return "-" if amount is None else format_amount(amount, unit)


def make_environment(override: str | None = None) -> Environment:
    override = override if override is not None else os.environ.get(TEMPLATE_DIR_VARIABLE, "")
    loaders = [FileSystemLoader(override)] if override.strip() else []
    loaders.append(FileSystemLoader(str(SHIPPED_TEMPLATES)))
    environment = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default_for_string=True, default=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.filters["money"] = _money
    environment.filters["percent"] = percent_text
    return environment
