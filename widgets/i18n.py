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

import io
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from widgets.rendering import SHIPPED_TEMPLATES

CATALOG_DIR = SHIPPED_TEMPLATES / "i18n"
DOMAIN = "messages"

ENGLISH = "en"
SIMPLIFIED_CHINESE = "zh_Hans"
DEFAULT_LOCALE = ENGLISH
"""Used when neither ``lang`` nor ``Accept-Language`` names a language we have."""

LOCALES = (ENGLISH, SIMPLIFIED_CHINESE)

_HTML_LANG = {ENGLISH: "en", SIMPLIFIED_CHINESE: "zh-Hans"}

ACCEPT_LANGUAGE_MAX = 500
"""Longer ``Accept-Language`` headers are cut: no browser sends more."""


def match_locale(tag: str) -> str | None:
    """Our locale for one language tag (``zh``, ``zh-CN``, ``zh_Hans``, ``en-GB``), or None.

    Every Chinese tag gets Simplified Chinese: it is the only Chinese we ship, and a reader of
    Traditional Chinese reads it more easily than English.
    """
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    if primary == "zh":
        return SIMPLIFIED_CHINESE
    if primary == "en":
        return ENGLISH
    return None


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an ``Accept-Language`` header, most wanted first (``q=0`` dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header[:ACCEPT_LANGUAGE_MAX].split(",")):
        tag, _, params = item.partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if 0 < quality <= 1:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def choose_locale(lang: str | None, accept_language: str | None) -> str:
    """``lang`` if we have it, else the best ``Accept-Language`` match, else English."""
    if lang:
        chosen = match_locale(lang[:35])
        if chosen:
            return chosen
    for tag in parse_accept_language(accept_language or ""):
        chosen = match_locale(tag)
        if chosen:
            return chosen
    return DEFAULT_LOCALE


def html_lang(locale: str) -> str:
    """The BCP 47 tag for an HTML ``lang`` attribute."""
    return _HTML_LANG[locale]


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog for ``locale``, compiled from its ``.po`` (English is the source language)."""
    if locale == ENGLISH:
        return NullTranslations()
    if locale not in LOCALES:
        raise ValueError(f"no translations for {locale!r}; we have {', '.join(LOCALES)}")
    with po_path(locale).open("rb") as source:
        catalog = read_po(source, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as pybabel compile does
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@cache
def babel_locale(locale: str) -> Locale:
    """Babel's locale data (number and currency formats) for ``locale``."""
    return Locale.parse(locale)


def po_path(locale: str) -> Path:
    return CATALOG_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
