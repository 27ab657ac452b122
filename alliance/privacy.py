"""The data firewall's one keyed hash: customers are counted, never identified."""

from __future__ import annotations

import hmac
import unicodedata


def normalise_email(email: str) -> str:
    """Case-fold and trim an email so one person always gets one key."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


def customer_key(secret: bytes, email: str | None) -> str:
    """HMAC-SHA256 of the normalised email under the alliance secret; ``""`` without email."""
    if not email or not email.strip():
        return ""
    return hmac.digest(secret, normalise_email(email).encode(), "sha256").hex()
