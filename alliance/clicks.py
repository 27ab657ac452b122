"""A recorded click on a tracked link: the evidence that starts the commission loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Click:
    id: str  # travels to the seller's store as utm_content
    source_member: str  # whose page the link was on (the referrer)
    target_member: str  # whose product it points to (the seller)
    deal_id: str  # travels as utm_campaign
    clicked_at: datetime  # UTC, aware
    product_id: str = ""
    placement: str = ""
    visitor_key: str = ""  # a keyed hash, never a raw IP address
    agent_class: str = ""  # "browser", "bot", ...
    valid: bool = True  # for per-click deals: only valid clicks are paid
    invalid_reason: str = ""
