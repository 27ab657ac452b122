"""The agreement as values: what the members signed, in black and white.

Built by :mod:`alliance.agreement.parse` from ``alliance.toml``; never mutated. Every ledger
entry records :attr:`Agreement.version`, the hash of the rules it was computed under.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum


class DealKind(str, Enum):
    """How a seller rewards a referrer."""

    PERCENT = "percent"  # a share of the referred order's base
    PER_CLICK = "per_click"  # a fixed amount per valid click
    PER_ORDER = "per_order"  # a fixed referral fee per referred order
    SWAP = "swap"  # no money: one promotion credit per referred order, both directions

    @property
    def pays_per_order(self) -> bool:
        """Deals whose amount comes from an order (as opposed to from clicks)."""
        return self is not DealKind.PER_CLICK


class Base(str, Enum):
    """What a percentage is taken of. Tax and shipping are excluded unless the deal says so."""

    ITEMS_AFTER_DISCOUNT = "items_after_discount"
    ITEMS_BEFORE_DISCOUNT = "items_before_discount"
    ORDER_TOTAL = "order_total"  # includes tax and shipping


class SettlementPeriod(str, Enum):
    MONTHLY = "monthly"


class DiscountType(str, Enum):
    """WooCommerce coupon discount types."""

    PERCENT = "percent"
    FIXED_CART = "fixed_cart"
    FIXED_PRODUCT = "fixed_product"


@dataclass(frozen=True)
class AllianceSettings:
    name: str
    currency: str
    timezone: str
    attribution_window_days: int = 30
    holdback_days: int = 14
    settlement_period: SettlementPeriod = SettlementPeriod.MONTHLY
    min_group_size: int = 10
    links_base_url: str | None = None
    payment_due_days: int = 10  # a settlement's transfers are due this many days after it
    settlement_day: int = 0  # day of the next month the worker settles; 0: end + holdback_days
    free_rider_ratio: Decimal = Decimal(3)  # the dashboard flags receiving > this x giving


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    url: str
    store: str = "woocommerce"
    credentials_env: str = ""
    categories: tuple[str, ...] = ()
    description: str = ""
    rest_route: bool = False  # plain-permalink site: reach the API as /?rest_route=/wc/v3/...

    @property
    def key_variable(self) -> str:
        return f"{self.credentials_env}_KEY"

    @property
    def secret_variable(self) -> str:
        return f"{self.credentials_env}_SECRET"

    @property
    def ca_bundle_variable(self) -> str:
        """Optional: a CA bundle file for a store whose certificate a private CA signed."""
        return f"{self.credentials_env}_CA_BUNDLE"

    @property
    def webhook_secret_variable(self) -> str:
        return f"{self.credentials_env}_WEBHOOK_SECRET"


@dataclass(frozen=True)
class DealLeg:
    """One direction of a deal: ``seller`` pays (or owes a credit to) ``referrer``.

    Directional deals have one leg; a swap has two, one per direction.
    """

    deal_id: str
    kind: DealKind
    referrer: str
    seller: str
    referral_coupons: tuple[str, ...] = ()  # lowercased codes that live in the seller's store


@dataclass(frozen=True)
class Deal:
    id: str
    kind: DealKind
    legs: tuple[DealLeg, ...]
    rate: Decimal | None = None  # percent deals: a fraction, 10% -> Decimal("0.10")
    amount: Decimal | None = None  # per_click and per_order deals: money per click / order
    credits: int = 1  # swap deals: credits per referred order
    base: Base = Base.ITEMS_AFTER_DISCOUNT
    click_window_hours: int = 24  # per_click: a repeat click by one visitor inside it is invalid
    description: str = ""

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(sorted({m for leg in self.legs for m in (leg.referrer, leg.seller)}))


@dataclass(frozen=True)
class Reward:
    """One partner's gift in a promotion: a single-use coupon in ``member``'s store."""

    member: str
    discount_type: DiscountType
    amount: Decimal
    label: str = ""
    minimum_amount: Decimal | None = None  # the redeeming order's least spend, if any
    individual_use: bool = False  # True: the coupon cannot be combined with other coupons
    exclude_sale_items: bool = False
    products: tuple[str, ...] = ()  # SKUs in the member's store the coupon is limited to


@dataclass(frozen=True)
class Promotion:
    """A joint gift pack: a qualifying order at ``trigger_member`` earns coupons at partners."""

    id: str
    trigger_member: str
    min_order_total: Decimal
    starts: date
    ends: date
    coupon_valid_days: int
    rewards: tuple[Reward, ...]
    redemption_rate: Decimal  # the trigger member's share of a redeemed order, as a fraction
    redemption_base: Base = Base.ITEMS_AFTER_DISCOUNT
    description: str = ""


@dataclass(frozen=True)
class Agreement:
    settings: AllianceSettings
    members: dict[str, Member]
    deals: tuple[Deal, ...]
    promotions: tuple[Promotion, ...] = ()
    version: str = ""  # content hash of the rules (comments and layout do not change it)
    source: str = ""  # the file it came from, for messages
    _legs_by_pair: dict[tuple[str, str], tuple[DealLeg, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        pairs: dict[tuple[str, str], list[DealLeg]] = {}
        for deal in self.deals:
            for leg in deal.legs:
                pairs.setdefault((leg.referrer, leg.seller), []).append(leg)
        self._legs_by_pair.update({k: tuple(v) for k, v in pairs.items()})

    @property
    def currency(self) -> str:
        return self.settings.currency

    def deal(self, deal_id: str) -> Deal:
        for deal in self.deals:
            if deal.id == deal_id:
                return deal
        raise KeyError(deal_id)

    def promotion(self, promotion_id: str) -> Promotion:
        for promotion in self.promotions:
            if promotion.id == promotion_id:
                return promotion
        raise KeyError(promotion_id)

    def legs_between(self, referrer: str, seller: str) -> tuple[DealLeg, ...]:
        """Every deal leg in which ``seller`` rewards ``referrer``."""
        return self._legs_by_pair.get((referrer, seller), ())

    def referral_coupon_index(self) -> dict[tuple[str, str], DealLeg]:
        """``(seller, lowercased code) -> leg``: which referral coupon belongs to which deal."""
        index: dict[tuple[str, str], DealLeg] = {}
        for deal in self.deals:
            for leg in deal.legs:
                for code in leg.referral_coupons:
                    index[(leg.seller, code)] = leg
        return index
