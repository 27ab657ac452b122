"""The emails the sandbox store would send, kept in an outbox for tests and the demo to read.

A real store emails the customer when a note is added to their order with
``customer_note: true`` (``WC_Email_Customer_Note``: to the order's billing email, when it has
one; subject "Note added to your {site_title} order from {order_date}"). The sandbox sends no
mail: it records a :class:`SentEmail` (``SandboxState.sent_emails()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SITE_TITLE = "Sandbox store"
"""The sandbox's ``blogname``: the title of its home page and of its emails."""


@dataclass(frozen=True)
class SentEmail:
    """One email the store sent."""

    to: str
    subject: str
    heading: str
    body: str
    """The note itself: the text the customer reads under the heading."""
    order_id: int
    sent_at_gmt: str


def _order_date(local: str) -> str:
    """``wc_format_datetime`` with WordPress's default ``date_format`` (``F j, Y``)."""
    moment = datetime.fromisoformat(local)
    return f"{moment:%B} {moment.day}, {moment.year}"


def customer_note_email(order: Mapping[str, Any], note: str, sent_at_gmt: str) -> SentEmail | None:
    """The customer-note email for ``order``, or None when it has no billing email."""
    to = str((order.get("billing") or {}).get("email") or "").strip()
    if not to:
        return None
    created = str(order.get("date_created") or "")
    when = _order_date(created) if created else ""
    return SentEmail(
        to=to,
        subject=f"Note added to your {SITE_TITLE} order from {when}",
        heading="A note has been added to your order",
        body=note,
        order_id=int(order["id"]),
        sent_at_gmt=sent_at_gmt,
    )
