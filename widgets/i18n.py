"""Languages of the partner block: English and Simplified Chinese, with Babel's gettext.

The catalog lives in ``templates/i18n``: ``messages.pot`` (extracted from the templates) and
``zh_Hans/LC_MESSAGES/messages.po`` (the translation). The ``.po`` is compiled in memory the
first time a process needs it (a few milliseconds), so no compiled ``.mo`` is shipped that could
fall out of step with its source or differ by the compiling tool's version. After changing a
template's text::

    pybabel extract -F templates/i18n/babel.cfg -o templates/i18n/messages.pot templates
    pybabel update -i templates/i18n/messages.pot -d templates/i18n -l zh_Hans

(``tests/widgets/test_blocks.py`` checks that every message of the templates is translated.)
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel import Locale
from babel.support import NullTranslations

from alliance.languages import (
    ACCEPT_LANGUAGE_MAX,
    DEFAULT_LOCALE,
    ENGLISH,
    LOCALES,
    SIMPLIFIED_CHINESE,
    choose_locale,
    compile_catalog,
    html_lang,
    match_locale,
    parse_accept_language,
)
from widgets.rendering import SHIPPED_TEMPLATES

__all__ = [
    "ACCEPT_LANGUAGE_MAX",
    "CATALOG_DIR",
    "DEFAULT_LOCALE",
    "DOMAIN",
    "ENGLISH",
    "LOCALES",
    "SIMPLIFIED_CHINESE",
    "babel_locale",
    "choose_locale",
    "html_lang",
    "match_locale",
    "parse_accept_language",
    "po_path",
    "translations",
]

CATALOG_DIR = SHIPPED_TEMPLATES / "i18n"
DOMAIN = "messages"


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog for ``locale``, compiled from its ``.po`` (English is the source language;
    :func:`alliance.languages.compile_catalog` does the work, shared with the dashboard)."""
    return compile_catalog(po_path(locale), locale, DOMAIN)


@cache
def babel_locale(locale: str) -> Locale:
    """Babel's locale data (number and currency formats) for ``locale``."""
    return Locale.parse(locale)


def po_path(locale: str) -> Path:
    return CATALOG_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
