"""Store API keys encrypted at rest: Fernet under a key derived from ``ALLIANCE_KEYS_SECRET``.

A store connected through the app ("connect your store") hands the alliance a consumer key and
secret, and each webhook gets a secret of its own. They must be kept (the next sync needs them)
but never readable from the database alone: a copy of the database, a backup or a stray
``SELECT`` shows only Fernet tokens (AES-128-CBC with HMAC-SHA256, from ``cryptography``).
The Fernet key is derived with HKDF-SHA256 from a secret of its own, ``ALLIANCE_KEYS_SECRET``,
kept apart from ``ALLIANCE_SECRET`` so that one leaking does not open the other; losing it
means connecting the stores again, nothing more.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from alliance.errors import ConfigError

MIN_KEYS_SECRET_LENGTH = 32
"""Characters of ``ALLIANCE_KEYS_SECRET`` below which it would be guessable."""

_SALT = b"shop-alliance store keys"
_INFO = b"fernet key v1"

HOW = (
    "set ALLIANCE_KEYS_SECRET to a random value of at least 32 characters, e.g. the output of\n"
    '  python -c "import secrets; print(secrets.token_urlsafe(32))"\n'
    "and keep it on every machine of the alliance: it decrypts the connected stores' keys"
)


class KeyVault:
    """Encrypts and decrypts short secrets (API keys, webhook secrets) for the database."""

    def __init__(self, keys_secret: str | None) -> None:
        if not keys_secret:
            raise ConfigError(f"ALLIANCE_KEYS_SECRET is not set; connected stores need it: {HOW}")
        if len(keys_secret) < MIN_KEYS_SECRET_LENGTH:
            raise ConfigError(
                f"ALLIANCE_KEYS_SECRET is too short ({len(keys_secret)} characters, at least "
                f"{MIN_KEYS_SECRET_LENGTH} needed): {HOW}"
            )
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
            keys_secret.encode("utf-8")
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def __repr__(self) -> str:  # never the key
        return "KeyVault()"

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plain text; a token from another ``ALLIANCE_KEYS_SECRET`` is a ConfigError."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            raise ConfigError(
                "a connected store's key cannot be decrypted: ALLIANCE_KEYS_SECRET is not the "
                "one it was stored with; set the original, or connect the store again "
                "(alliance members connect MEMBER)"
            ) from None
