"""The data firewall's one keyed hash: customers are counted, never identified."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import lru_cache


def normalise_email(email: str) -> str:
    """Case-fold and trim an email so one person always gets one key."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


@lru_cache(maxsize=8)
def _keyed(secret: bytes) -> hmac.HMAC:
    """An HMAC already keyed with the secret: copying it skips re-keying for every order."""
    return hmac.new(secret, digestmod=hashlib.sha256)


def customer_key(secret: bytes, email: str | None) -> str:
    """HMAC-SHA256 of the normalised email under the alliance secret; ``""`` without email."""
    if not email or not email.strip():
        return ""
    mac = _keyed(secret).copy()
    mac.update(normalise_email(email).encode())
    return mac.hexdigest()
