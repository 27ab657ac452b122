"""Languages of the partner block: English and Simplified Chinese, with Babel's gettext.

The catalog lives in ``templates/i18n``: ``messages.pot`` (extracted from the templates),
``zh_Hans/LC_MESSAGES/messages.po`` (the translation) and its compiled ``messages.mo``.
Regenerate them with::

    pybabel extract -F templates/i18n/babel.cfg -o templates/i18n/messages.pot templates
    pybabel update -i templates/i18n/messages.pot -d templates/i18n -l zh_Hans
    pybabel compile -d templates/i18n

(``tests/widgets/test_blocks.py`` checks that the shipped ``.mo`` equals a fresh compile.)
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel import Locale
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
    """The compiled catalog for ``locale`` (English is the source language: no catalog)."""
    if locale == ENGLISH:
        return NullTranslations()
    if locale not in LOCALES:
        raise ValueError(f"no translations for {locale!r}; we have {', '.join(LOCALES)}")
    catalog = Translations.load(str(CATALOG_DIR), [locale], DOMAIN)
    if not isinstance(catalog, Translations):  # Babel returns NullTranslations when missing
        raise FileNotFoundError(f"{mo_path(locale)} is missing: run pybabel compile")
    return catalog


@cache
def babel_locale(locale: str) -> Locale:
    """Babel's locale data (number and currency formats) for ``locale``."""
    return Locale.parse(locale)


def po_path(locale: str) -> Path:
    return CATALOG_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    return CATALOG_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
