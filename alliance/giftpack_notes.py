"""The gift pack's delivery: when the customer-facing order note goes out, and its words.

The note is added to the trigger order in the trigger member's own store with
``customer_note: true``, so WooCommerce mails it to the customer through the shop's own mail:
no customer data leaves the shop. It lists each partner, what the coupon gives, the code, its
expiry and a tracked link to the partner's store.

It waits until every coupon of the pack exists, at most :data:`DEFAULT_NOTE_WAIT` (the
``ALLIANCE_GIFTPACK_NOTE_WAIT_MINUTES`` setting) after the pack was planned; then it goes out
with the coupons that exist and says the rest follow, and a second (late) note lists them once
they exist. Names and labels come from the agreement; they are HTML-escaped because
WooCommerce mails notes as HTML.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from alliance.agreement import DiscountType
from alliance.money import format_amount
from alliance.periods import local_date

DEFAULT_NOTE_WAIT = timedelta(minutes=60)
"""How long the note waits for a partner store that is down before it goes without it."""


@dataclass(frozen=True, slots=True)
class NoteLine:
    """One partner's gift, as the customer reads it."""

    shop: str  # the partner's shop name, from the agreement
    label: str  # the reward's label ("Baby-wash trial set"), may be ""
    gives: str  # "30.00 CNY off", "15% off"
    code: str  # as customers read it (capitals)
    expires_at: datetime  # UTC
    link: str | None = None  # a tracked link to the partner's store


@dataclass(frozen=True, slots=True)
class NoteDue:
    """A note to send now: which coupons (stored codes) it lists, and which kind it is."""

    codes: tuple[str, ...]
    late: bool  # a second note, after the first went without some partners
    more_follow: bool  # some coupons do not exist yet: say they follow


def gives(discount_type: DiscountType, amount: Decimal, currency: str, *,
          minimum: Decimal | None = None) -> str:  # fmt: skip
    """What a coupon gives, in the alliance currency or as a percentage."""
    if discount_type is DiscountType.PERCENT:
        text = f"{format(amount.normalize(), 'f')}% off"
    else:
        text = f"{format_amount(amount, currency)} {currency} off"
        if discount_type is DiscountType.FIXED_PRODUCT:
            text += " each eligible product"
    if minimum is not None and minimum > 0:
        text += f" an order of {format_amount(minimum, currency)} {currency} or more"
    return text


def note_due(
    *,
    created: Sequence[str],
    pending: Collection[str],
    delivered: Collection[str],
    first_sent_at: datetime | None,
    last_sent_at: datetime | None,
    planned_at: datetime,
    now: datetime,
    wait: timedelta = DEFAULT_NOTE_WAIT,
) -> NoteDue | None:
    """Whether a note is due now, and what it lists.

    ``created``: codes that exist in their stores, in the pack's order; ``pending``: codes not
    known to exist yet (a store down, a refusal that may pass); ``delivered``: codes a note
    already listed. The first note waits for every pending coupon, at most ``wait`` after the
    pack was planned; a late note waits the same way after the note before it, or goes as
    soon as nothing is pending any more.
    """
    undelivered = tuple(code for code in created if code not in delivered)
    if not undelivered:
        return None
    since = planned_at if first_sent_at is None else (last_sent_at or first_sent_at)
    if pending and now < since + wait:
        return None
    return NoteDue(undelivered, late=first_sent_at is not None, more_follow=bool(pending))


def note_text(
    alliance: str,
    promotion: str,
    lines: Sequence[NoteLine],
    *,
    timezone: str,
    late: bool = False,
    more_follow: bool = False,
) -> str:
    """The note's text: plain lines with a little HTML-safe punctuation, no personal data."""
    esc = _escape
    if late:
        opening = (
            f"As promised, here are the rest of your partner gifts from {esc(alliance)} "
            f"({esc(promotion)}):"
        )
    else:
        opening = (
            f"Thank you for your order! It earned you a gift pack from {esc(alliance)} "
            f"({esc(promotion)}), one gift at each of our partner shops:"
        )
    parts = [opening, ""]
    for line in lines:
        what = f"{esc(line.label)}: {esc(line.gives)}" if line.label else esc(line.gives)
        entry = (
            f"- {esc(line.shop)}: {what}. Code {esc(line.code)}, "
            f"valid until {local_date(line.expires_at, timezone)}."
        )
        if line.link:
            entry += f" {esc(line.link)}"
        parts.append(entry)
    parts += ["", "Each code works once, in that shop only."]
    if more_follow:
        parts.append(
            "More gifts from our partners follow in another note as soon as they are ready."
        )
    return "\n".join(parts)


def codes_in(text: str, codes: Collection[str]) -> set[str]:
    """Which of ``codes`` (stored, lowercase) a note's text lists, whatever its case."""
    folded = text.lower()
    return {code for code in codes if code in folded}


def _escape(text: str) -> str:
    return html.escape(text, quote=False)
