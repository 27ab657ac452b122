"""Finding credentials written into the agreement file, and where they belong instead.

The agreement file is meant to be shared among members and kept in version control, so it must
never hold a WooCommerce key or any other secret. This module recognises secret-looking keys and
values (:func:`looks_secret`, :func:`is_secret_key`), walks the whole file reporting each one
(:func:`find_secrets`), and names the environment variable the secret should move to, all
without ever echoing the secret itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from alliance.agreement.locate import Path

ENV_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_WOO_KEY = re.compile(r"(?<![A-Za-z0-9])c[ks]_[A-Za-z0-9]{20,}")
_SECRET_WORDS = ("secret", "password", "token")


class SecretReport(Protocol):
    """Where found secrets are reported (``alliance.agreement.fields.Report`` is one)."""

    def secret(self, path: Path, variable: str) -> None: ...


def looks_secret(text: str) -> bool:
    """True when text contains something shaped like a WooCommerce key (``ck_``/``cs_``)."""
    return bool(_WOO_KEY.search(text))


def is_secret_key(name: str) -> bool:
    """Key names that can only hold a credential (``consumer_secret``, ``api_key``...)."""
    lowered = name.lower()
    if lowered == "credentials_env":
        return False
    return (
        any(word in lowered for word in _SECRET_WORDS)
        or lowered == "key"
        or lowered.endswith(("_key", "-key"))
        or looks_secret(name)
    )


def default_credentials_env(member_id: str) -> str:
    """``li`` -> ``LI_WC``: the variable prefix used when a member names none."""
    return re.sub(r"[^A-Z0-9_]", "_", member_id.upper()) + "_WC"


def find_secrets(report: SecretReport, data: Mapping[str, Any], envs: Mapping[str, str]) -> None:
    """Report every credential written into the file, wherever it is."""
    _walk(report, data, (), envs)


def _walk(report: SecretReport, value: object, path: Path, envs: Mapping[str, str]) -> None:
    if isinstance(value, dict):
        # Member ids and swap coupon stores are names of shops, not of settings.
        ids_here = path == ("members",) or (
            len(path) == 3 and path[0] == "deals" and path[2] == "referral_coupons"
        )
        for key, item in value.items():
            child = (*path, key)
            if looks_secret(key) or (not ids_here and is_secret_key(key)):
                report.secret(child, _variable(child, item, envs))
            else:
                _walk(report, item, child, envs)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(report, item, (*path, index), envs)
    elif isinstance(value, str) and looks_secret(value):
        report.secret(path, _variable(path, value, envs))


def _variable(path: Path, value: object, envs: Mapping[str, str]) -> str:
    """The environment variable the secret belongs in, without ever reading the secret."""
    prefix = "<CREDENTIALS_ENV>"
    if len(path) > 1 and path[0] == "members" and isinstance(path[1], str) and path[1] in envs:
        prefix = envs[path[1]]
    match = _WOO_KEY.search(value) if isinstance(value, str) else None
    if match:
        return prefix + ("_SECRET" if match.group().startswith("cs_") else "_KEY")
    name = str(path[-1]).lower()
    return prefix + ("_KEY" if name.endswith("key") and "secret" not in name else "_SECRET")
