"""The dashboard's languages: the shared catalog in ``templates/i18n``, chosen per request.

The generic parts (matching ``Accept-Language``, compiling a ``.po``) live in
:mod:`alliance.languages`; here is only where the catalog is and how a request picks it: a
``lang`` query (the switch), then the ``alliance_lang`` cookie it leaves, then the browser's
``Accept-Language``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations
from starlette.requests import Request

import templates
from alliance.languages import (
    ENGLISH,
    LOCALES,
    SIMPLIFIED_CHINESE,
    choose_locale,
    compile_catalog,
    html_lang,
    match_locale,
)

CATALOG_DIR = Path(templates.__file__).resolve().parent / "i18n"
LANGUAGE_COOKIE = "alliance_lang"

__all__ = ["ENGLISH", "LOCALES", "SIMPLIFIED_CHINESE", "html_lang", "request_locale"]


@cache
def translations(locale: str) -> NullTranslations:
    return compile_catalog(CATALOG_DIR / locale / "LC_MESSAGES" / "messages.po", locale)


def request_locale(request: Request) -> tuple[str, bool]:
    """The request's locale, and whether it came from the switch (and should be remembered)."""
    asked = request.query_params.get("lang")
    if asked and match_locale(asked[:35]):
        return choose_locale(asked, None), True
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    return choose_locale(remembered, request.headers.get("accept-language")), False
