"""The agreement file (``alliance.toml``): parse, validate, and the values it becomes."""

from alliance.agreement.model import (
    Agreement,
    AllianceSettings,
    Base,
    Deal,
    DealKind,
    DealLeg,
    DiscountType,
    Member,
    Promotion,
    Reward,
    SettlementPeriod,
)

__all__ = [
    "Agreement",
    "AllianceSettings",
    "Base",
    "Deal",
    "DealKind",
    "DealLeg",
    "DiscountType",
    "Member",
    "Promotion",
    "Reward",
    "SettlementPeriod",
]
