"""Joint promotions (gift packs): which orders earn one, its codes, its coupons, revocation.

A promotion's trigger order (at ``trigger.member``, paid, items after discount at or above
``min_order_total``, sold between ``starts`` and ``ends`` in the alliance's timezone, not fully
refunded) earns the customer a *gift pack*: one single-use coupon per reward member, created in
that member's own store. Everything here is pure: the services decide what to store, the
connector what to send.

Codes are deterministic, so a crash between creating a coupon in one store and recording it
converges: the next run derives the same code, finds it in the store and checks it matches.
A code is HMAC-SHA256 (under a key derived from ``ALLIANCE_SECRET`` for gift codes only) over
the promotion, the trigger order and the reward member, written in a readable alphabet (no
``0``/``O``, ``1``/``I``/``L``) as ``RPA-7KQ4-M2XA-9RTB``: 12 characters of 31, 59 bits.
WooCommerce stores codes lowercased; compare them with :func:`stored_code`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from zoneinfo import ZoneInfo

from alliance.agreement import Agreement, DiscountType, Promotion, Reward
from alliance.orders import Order, OrderStatus

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""Digits and capitals without the look-alikes 0/O and 1/I/L: read aloud or typed, no doubt."""

CODE_LENGTH = 12
"""Characters after the prefix, written in groups of :data:`CODE_GROUP`."""

CODE_GROUP = 4

CODE_BITS = math.floor(CODE_LENGTH * math.log2(len(CODE_ALPHABET)))
"""59: guessing one live code among a million issued takes about 2**39 tries."""

DEFAULT_PREFIX = "AL"
"""The code prefix of an alliance whose name gives no initials (no ASCII letters)."""

PREFIX_MAX = 4

DESCRIPTION_MAX = 500
"""Characters of a coupon's description (the store's admin shows it; never the customer)."""

_CONTEXT = b"alliance/gift-codes/v1"
_SEPARATOR = "\x1f"
_WORD_RE = re.compile(r"[^A-Za-z0-9]+")

REVOKING_STATUSES = frozenset(
    {OrderStatus.CANCELLED, OrderStatus.FAILED, OrderStatus.REFUNDED, OrderStatus.TRASH}
)
"""A trigger order in one of these no longer earns its pack: unused coupons are expired."""


class PackStatus(str, Enum):
    """Where a gift pack is in its life."""

    ISSUING = "issuing"  # coupons still to create, or the note still to send
    ISSUED = "issued"  # every coupon created (or failed for good) and the customer told
    REVOKING = "revoking"  # the trigger order was cancelled or refunded: unused coupons to expire
    REVOKED = "revoked"  # every coupon expired, kept (used) or never created

    @property
    def open(self) -> bool:
        """Work remains for the issuer."""
        return self in (PackStatus.ISSUING, PackStatus.REVOKING)


class CouponState(str, Enum):
    """One gift coupon in one partner's store."""

    PENDING = "pending"  # planned; not known to exist in the store yet
    CREATED = "created"  # the store holds it, as planned
    FAILED = "failed"  # the store refused it, or it cannot be made; needs a person
    REVOKED = "revoked"  # expired in the store unused (or never created) after a revocation


# -- codes --------------------------------------------------------------------------------


def gift_code_key(secret: bytes) -> bytes:
    """The key for gift codes only: HMAC(secret, "alliance/gift-codes/v1")."""
    return hmac.new(secret, _CONTEXT, hashlib.sha256).digest()


def alliance_prefix(name: str) -> str:
    """Initials of the alliance's name (``Refined Parenting Alliance`` -> ``RPA``), at most
    :data:`PREFIX_MAX`; :data:`DEFAULT_PREFIX` when fewer than two words give one."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()  # Ü -> U
    words = (word for word in _WORD_RE.split(plain) if word)
    initials = "".join(w[0] for w in words if w[0].isascii() and w[0].isalpha()).upper()
    return initials[:PREFIX_MAX] if len(initials) >= 2 else DEFAULT_PREFIX


def gift_code(key: bytes, promotion_id: str, trigger_ref: str, member: str, prefix: str) -> str:
    """The pack's code at ``member``: ``PREFIX-XXXX-XXXX-XXXX``, the same on every call."""
    message = _SEPARATOR.join((promotion_id, trigger_ref, member)).encode("utf-8")
    number = int.from_bytes(hmac.digest(key, message, "sha256"), "big")
    base = len(CODE_ALPHABET)
    chars = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, base)
        chars.append(CODE_ALPHABET[digit])
    body = "".join(chars)
    groups = [body[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP)]
    return "-".join((prefix, *groups))


def stored_code(code: str) -> str:
    """How stores and the database hold a code: trimmed and lowercased."""
    return code.strip().lower()


def display_code(code: str) -> str:
    """How customers read a code: capitals (the store's lowercase copy works the same)."""
    return code.strip().upper()


# -- which orders earn a pack --------------------------------------------------------------


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def promotion_window(promotion: Promotion, timezone: str) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC: ``starts`` 00:00 to the day after ``ends``, alliance time."""
    zone = _zone(timezone)
    start = datetime.combine(promotion.starts, time(0), zone)
    end = datetime.combine(promotion.ends + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def why_not_qualifying(order: Order, promotion: Promotion, timezone: str) -> str | None:
    """Why ``order`` does not earn ``promotion``'s pack, in words; None when it does.

    The sale date is the paid date, else the created date (cash on delivery), as periods use.
    Items after discount are compared before refunds: a partial refund later does not undo a
    pack (see :func:`revocation_reason`), and one before the pack is planned does not either.
    """
    if order.member != promotion.trigger_member:
        return f"it is an order at {order.member}, not at {promotion.trigger_member}"
    if not order.counts_as_sale:
        return f"its status is {order.status.value}, not processing or completed"
    if order.fully_refunded:
        return "it was refunded in full"
    if order.items_total < promotion.min_order_total:
        return f"its items come to {order.items_total}, under {promotion.min_order_total}"
    start, end = promotion_window(promotion, timezone)
    if not start <= order.sale_date < end:
        return f"it was sold outside {promotion.starts} to {promotion.ends}"
    return None


def qualifies(order: Order, promotion: Promotion, timezone: str) -> bool:
    """The order earns the promotion's gift pack (see :func:`why_not_qualifying`)."""
    return why_not_qualifying(order, promotion, timezone) is None


def revocation_reason(order: Order) -> str | None:
    """Why a pack earned by ``order`` must be revoked now, or None while it stands.

    Cancelled, failed, refunded (in full) or trashed. A partial refund that takes the order
    under the threshold does not revoke: the customer kept most of the order, and a gift
    already delivered is not taken back for a returned item.
    """
    if order.status in REVOKING_STATUSES:
        return f"the trigger order is {order.status.value}"
    if order.fully_refunded:
        return "the trigger order was refunded in full"
    return None


# -- the coupons of a pack ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CouponPlan:
    """One coupon of a pack, exactly as it must exist in ``member``'s store."""

    member: str
    code: str  # as customers read it: RPA-7KQ4-M2XA-9RTB (the store keeps it lowercased)
    discount_type: DiscountType
    amount: Decimal  # money in the alliance currency, or a percentage for percent coupons
    expires_at: datetime  # UTC
    label: str = ""
    description: str = ""
    minimum_amount: Decimal | None = None
    individual_use: bool = False
    exclude_sale_items: bool = False
    product_skus: tuple[str, ...] = ()
    usage_limit: int = 1
    usage_limit_per_user: int = 1

    @property
    def key(self) -> str:
        """The code as the store and the database hold it."""
        return stored_code(self.code)


def coupon_description(agreement: Agreement, promotion: Promotion) -> str:
    """Names the alliance, the promotion and the trigger member's shop; never the customer."""
    trigger = agreement.members.get(promotion.trigger_member)
    shop = trigger.name if trigger is not None else promotion.trigger_member
    what = f" ({promotion.description})" if promotion.description else ""
    text = (
        f"{agreement.settings.name} gift pack {promotion.id}{what}: a gift for a customer of "
        f"{shop}. Single use; created by the alliance."
    )
    return text[:DESCRIPTION_MAX]


def plan_coupon(
    agreement: Agreement,
    promotion: Promotion,
    reward: Reward,
    trigger_ref: str,
    issued_at: datetime,
    key: bytes,
) -> CouponPlan:
    """The coupon ``reward`` gives for the trigger order ``trigger_ref`` issued at
    ``issued_at``: single use, once per customer, no email restriction (that would carry the
    customer's address to another shop), expiring ``coupon_valid_days`` later."""
    prefix = alliance_prefix(agreement.settings.name)
    return CouponPlan(
        member=reward.member,
        code=gift_code(key, promotion.id, trigger_ref, reward.member, prefix),
        discount_type=reward.discount_type,
        amount=reward.amount,
        expires_at=issued_at + timedelta(days=promotion.coupon_valid_days),
        label=reward.label,
        description=coupon_description(agreement, promotion),
        minimum_amount=reward.minimum_amount,
        individual_use=reward.individual_use,
        exclude_sale_items=reward.exclude_sale_items,
        product_skus=reward.products,
    )


def plan_pack(
    agreement: Agreement, promotion: Promotion, trigger_ref: str, issued_at: datetime, key: bytes
) -> list[CouponPlan]:
    """One coupon per reward, in the agreement's order."""
    return [
        plan_coupon(agreement, promotion, reward, trigger_ref, issued_at, key)
        for reward in promotion.rewards
    ]
