"""Which language a reader gets: English or Simplified Chinese, from ``lang`` or
``Accept-Language``, and a gettext catalog compiled in memory from its ``.po``.

The generic part of the web face's languages, kept below the wings so that any of them (the
dashboard, the partner blocks) can use it without importing another. The ``.po`` is compiled
the first time a process asks (a few milliseconds): no compiled ``.mo`` is shipped that could
fall out of step with its source.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

ENGLISH = "en"
SIMPLIFIED_CHINESE = "zh_Hans"
DEFAULT_LOCALE = ENGLISH
"""Used when neither ``lang`` nor ``Accept-Language`` names a language we have."""

LOCALES = (ENGLISH, SIMPLIFIED_CHINESE)

_HTML_LANG = {ENGLISH: "en", SIMPLIFIED_CHINESE: "zh-Hans"}

ACCEPT_LANGUAGE_MAX = 500
"""Longer ``Accept-Language`` headers are cut: no browser sends more."""


def match_locale(tag: str) -> str | None:
    """Our locale for one language tag (``zh``, ``zh-CN``, ``zh-Hans``, ``en-GB``), or None.
    Every Chinese tag gets Simplified Chinese, the only Chinese we ship."""
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
    """The BCP 47 tag for an HTML ``lang`` attribute (and for the language switch)."""
    return _HTML_LANG[locale]


def compile_catalog(po_file: Path, locale: str, domain: str = "messages") -> NullTranslations:
    """The translations of ``po_file``, compiled in memory (fuzzy entries left out, as
    ``pybabel compile`` does); English, the source language, needs none."""
    if locale == ENGLISH:
        return NullTranslations()
    if locale not in LOCALES:
        raise ValueError(f"no translations for {locale!r}; we have {', '.join(LOCALES)}")
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=locale, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=domain)
