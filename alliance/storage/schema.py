"""The database schema, once. Alembic migrations in ``migrations/`` create exactly this.

Money is stored as integers of the unit's minor unit (fen for CNY, whole credits for swaps)
so sums are exact in SQLite and PostgreSQL alike; the domain converts to ``Decimal``.
Nothing personal is stored: ``customer_key`` is a keyed hash, region is country and state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, stored naive UTC everywhere."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, write SQLAlchemy's own text format in one step (the ledger's hot path)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
            # "YYYY-MM-DD HH:MM:SS.ffffff", exactly SQLAlchemy's SQLite DATETIME storage format
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return to_text


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    }
)

orders = Table(
    "orders",
    metadata,
    Column("member", String(64), primary_key=True),
    Column("external_id", String(64), primary_key=True),
    Column("number", String(64), nullable=False),
    Column("revision", String(48), nullable=False),
    Column("source_digest", String(32), nullable=False),  # keyed hash of the last document seen
    Column("status", String(24), nullable=False),
    Column("sale_at", UTCDateTime, nullable=False),  # paid date, else created date
    Column("items_total_minor", BigInteger, nullable=False),  # items after discount, no tax
    Column("total_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),
    Column("customer_key", String(64), nullable=False),  # HMAC of the email, never the email
    Column("country", String(8), nullable=False),
    Column("state", String(8), nullable=False),
    Column("referrer", String(64)),  # the partner the order is attributed to, if any
    Column("facts", Text, nullable=False),  # JSON: the rest of the order's non-personal facts
    Column("booked_at", UTCDateTime, nullable=False),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("source", String(8), nullable=False),
    Column("source_ref", String(140), nullable=False),
    Column("revision", String(48), nullable=False),
    Column("deal_id", String(64), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("payer", String(64), nullable=False),
    Column("payee", String(64), nullable=False),
    Column("unit", String(8), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("base_minor", BigInteger),
    Column("period", String(7), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("agreement_version", String(32), nullable=False),
    Column("label", String(140), nullable=False),
    Column("booked_at", UTCDateTime, nullable=False),
    Index(None, "source_ref"),
    Index(None, "period"),
)

periods = Table(
    "periods",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("closed_at", UTCDateTime, nullable=False),
)

clicks = Table(
    "clicks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source_member", String(64), nullable=False),
    Column("target_member", String(64), nullable=False),
    Column("deal_id", String(64), nullable=False),
    Column("product_id", String(64), nullable=False),
    Column("placement", String(32), nullable=False),
    Column("clicked_at", UTCDateTime, nullable=False),
    Column("visitor_key", String(64), nullable=False),
    Column("agent_class", String(16), nullable=False),
    Column("valid", Boolean, nullable=False),
    Column("invalid_reason", String(64), nullable=False),
    Index(None, "visitor_key", "clicked_at"),  # duplicate and rate checks per visitor
)

gift_coupons = Table(
    "gift_coupons",
    metadata,
    Column("member", String(64), primary_key=True),  # the store the code is valid in
    Column("code", String(64), primary_key=True),  # lowercased
    Column("promotion_id", String(64), nullable=False),
    Column("trigger_ref", String(140), nullable=False),  # the qualifying order
    Column("created_at", UTCDateTime, nullable=False),  # when the alliance planned it
    Column("expires_at", UTCDateTime, nullable=False),
    # pending | created | failed | revoked (alliance.giftpacks.CouponState); rows written
    # before gift packs were issued by the alliance itself are coupons that exist
    Column("state", String(12), nullable=False, server_default="created"),
    Column("coupon_id", BigInteger),  # the store's id, once it is known to exist
    Column("store_created_at", UTCDateTime),  # when the store was seen to hold it
    Column("discount_type", String(16), nullable=False, server_default=""),
    Column("amount", String(32), nullable=False, server_default=""),  # decimal text
    Column("minimum_amount", String(32), nullable=False, server_default=""),  # "" for none
    Column("individual_use", Boolean, nullable=False, server_default=false()),
    Column("exclude_sale_items", Boolean, nullable=False, server_default=false()),
    Column("product_skus", Text, nullable=False, server_default="[]"),  # JSON list
    Column("label", String(200), nullable=False, server_default=""),
    Column("description", String(500), nullable=False, server_default=""),
    Column("error", String(500), nullable=False, server_default=""),  # why failed or pending
    Column("updated_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("usage_count", BigInteger),  # as the store said when the pack was revoked
    Index(None, "promotion_id", "trigger_ref"),
)

gift_packs = Table(
    "gift_packs",
    metadata,
    Column("promotion_id", String(64), primary_key=True),
    Column("trigger_ref", String(140), primary_key=True),  # member/external_id of the order
    Column("trigger_member", String(64), nullable=False),
    Column("trigger_order_id", String(64), nullable=False),  # the store's id
    Column("trigger_order_number", String(64), nullable=False),
    Column("sale_at", UTCDateTime, nullable=False),  # the trigger order's sale date
    Column("qualified_at", UTCDateTime, nullable=False),  # planned: coupons expire from here
    Column("issued_at", UTCDateTime),  # every coupon settled and the customer told
    # issuing | issued | revoking | revoked (alliance.giftpacks.PackStatus)
    Column("status", String(12), nullable=False),
    Column("agreement_version", String(32), nullable=False),
    Column("note_intent_at", UTCDateTime),  # a note was about to be posted (crash check)
    Column("note_intent_codes", Text, nullable=False, server_default="[]"),
    Column("first_note_at", UTCDateTime),
    Column("first_note_codes", Text, nullable=False, server_default="[]"),  # JSON list
    Column("late_note_at", UTCDateTime),  # the newest late note
    Column("late_note_codes", Text, nullable=False, server_default="[]"),  # every late one
    Column("revoked_at", UTCDateTime),
    Column("revoke_reason", String(200), nullable=False, server_default=""),
    Column("problem", String(500), nullable=False, server_default=""),  # what needs a person
    Column("lease_token", String(32)),  # the issuer working on it now, until lease_until
    Column("lease_until", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "status", "trigger_member"),
)

agreement_versions = Table(
    "agreement_versions",
    metadata,
    Column("version", String(32), primary_key=True),
    Column("source", String(500), nullable=False),
    Column("content", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("member", String(64), primary_key=True),
    Column("orders_bookmark", UTCDateTime),  # newest date_modified_gmt booked, never moves back
    Column("trash_bookmark", UTCDateTime),  # trashed orders are listed only when asked for
    Column("products_bookmark", UTCDateTime),
    Column("last_attempt_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_error", String(500), nullable=False, default=""),
    Column("last_error_kind", String(32), nullable=False, default=""),
    Column("needs_attention", Boolean, nullable=False, default=False),  # keys, permissions
    Column("ignores_modified_after", Boolean, nullable=False, default=False),
    Column("store_orders_total", BigInteger),  # X-WP-Total seen at the last sync
    Column("fence", BigInteger),  # newest worker lock token that wrote; older ones are refused
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("member", String(64), primary_key=True),
    Column("external_id", String(64), primary_key=True),
    Column("date_modified", String(32), nullable=False),  # of the refused revision, as sent
    Column("reason", String(500), nullable=False),  # field and problem; never a personal value
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("member", String(64), primary_key=True),
    Column("product_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("permalink", String(500), nullable=False),
    Column("price", String(32), nullable=False),  # display only, as the store's decimal text
    Column("regular_price", String(32), nullable=False),
    Column("on_sale", Boolean, nullable=False),
    Column("image_url", String(500), nullable=False),
    Column("image_alt", String(200), nullable=False),
    Column("stock_status", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("categories", Text, nullable=False),  # JSON list of slugs
    Column("category_names", Text, nullable=False),  # JSON list of names
    Column("modified_at", UTCDateTime, nullable=False),
    Column("sku", String(100), nullable=False, server_default=""),  # gift-pack rewards name it
    Index(None, "member", "stock_status"),
)

impressions = Table(
    "impressions",
    metadata,
    Column("day", String(10), primary_key=True),  # the alliance timezone's date
    Column("source_member", String(64), primary_key=True),  # whose page showed the block
    Column("placement", String(32), primary_key=True),
    Column("partner", String(64), primary_key=True),  # whose product card was shown
    Column("cards", BigInteger, nullable=False),
    Column("flushed_at", UTCDateTime),  # when cards were last added (migration 0011)
)


# -- settlement (migration 0007) ----------------------------------------------------------
# Every table below is written once per row and never changed: the database refuses UPDATE
# and DELETE on them (triggers of migration 0007), so a settlement, a payment, a dispute and
# the audit log stay as they were recorded. What changes later is a new row.

settlements = Table(
    "settlements",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("currency", String(8), nullable=False),
    Column("settled_at", UTCDateTime, nullable=False),
    Column("as_of", UTCDateTime, nullable=False),  # when line statuses were judged
    Column("settled_by", String(200), nullable=False),
    Column("command", String(500), nullable=False),
    Column("forced", Boolean, nullable=False),  # --force: pending lines were settled too
    Column("due_on", String(10), nullable=False),  # YYYY-MM-DD in the alliance's timezone
    Column("entries", BigInteger, nullable=False),  # ledger entries in the period
    Column("agreement_version", String(32), nullable=False),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", String(32), primary_key=True),  # alliance.settlement.transfer_id
    Column("period", String(7), nullable=False),
    Column("payer", String(64), nullable=False),
    Column("payee", String(64), nullable=False),
    Column("unit", String(8), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("due_on", String(10), nullable=False),
    Index(None, "period"),
)

transfer_payments = Table(
    "transfer_payments",
    metadata,
    Column("transfer_id", String(32), primary_key=True),  # one payment per transfer
    Column("paid_at", UTCDateTime, nullable=False),  # when it was recorded
    Column("reference", String(500), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("command", String(500), nullable=False),
)

swap_balances = Table(
    "swap_balances",
    metadata,
    Column("period", String(7), primary_key=True),  # the settlement that carried it
    Column("member_a", String(64), primary_key=True),  # member_a < member_b
    Column("member_b", String(64), primary_key=True),
    Column("brought_forward", BigInteger, nullable=False),  # credits; > 0: member_a owes b
    Column("change", BigInteger, nullable=False),
    Column("carried_forward", BigInteger, nullable=False),
)

disputes = Table(
    "disputes",
    metadata,
    Column("id", String(16), primary_key=True),  # alliance.disputes.dispute_id: one per line
    Column("entry_id", String(32), nullable=False),
    Column("source_ref", String(140), nullable=False),  # the line it holds: these five
    Column("deal_id", String(64), nullable=False),
    Column("payer", String(64), nullable=False),
    Column("payee", String(64), nullable=False),
    Column("unit", String(8), nullable=False),
    Column("period", String(7), nullable=False),  # the entry's
    Column("reason", String(500), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("command", String(500), nullable=False),
)

dispute_resolutions = Table(
    "dispute_resolutions",
    metadata,
    Column("dispute_id", String(16), primary_key=True),  # resolved once
    Column("outcome", String(12), nullable=False),  # accepted | rejected
    Column("note", String(500), nullable=False),
    Column("resolved_at", UTCDateTime, nullable=False),
    Column("resolved_by", String(200), nullable=False),
    Column("command", String(500), nullable=False),
)

settlement_holds = Table(
    "settlement_holds",
    metadata,
    Column("period", String(7), primary_key=True),  # the settlement that left the line out
    Column("entry_id", String(32), primary_key=True),
    Column("dispute_id", String(16), nullable=False),
)

settlement_releases = Table(
    "settlement_releases",
    metadata,
    Column("entry_id", String(32), primary_key=True),  # held once, its dispute rejected
    Column("period", String(7), nullable=False),  # the settlement that paid it at last
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),  # append order
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("command", String(500), nullable=False),
    Column("action", String(32), nullable=False),  # alliance.audit.AuditAction
    Column("subject", String(140), nullable=False),  # the period, transfer or dispute
    Column("details", Text, nullable=False),  # JSON object of strings
    Index(None, "at"),
)

APPEND_ONLY = (
    "settlements", "transfers", "transfer_payments", "swap_balances", "disputes",
    "dispute_resolutions", "settlement_holds", "settlement_releases", "audit_log",
)  # fmt: skip
"""Tables whose rows are never updated or deleted (triggers of migration 0007 refuse it)."""


# -- the dashboard (migration 0008) -------------------------------------------------------
# Sign-in tokens are kept only as the SHA-256 of the token (which is random, 256 bits): a
# copy of the database signs nobody in. The rollups are what the dashboard's pages read
# instead of the ledger; alliance.storage.dashboard_rollups refreshes them from watermarks.

dashboard_tokens = Table(
    "dashboard_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),  # sha256 hex of the token
    Column("role", String(8), nullable=False),  # member | admin
    Column("member", String(64), nullable=False),  # "" for the admin
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Index(None, "member"),
)

dashboard_watermarks = Table(
    "dashboard_watermarks",
    metadata,
    Column("source", String(16), primary_key=True),  # orders | ledger | clicks
    Column("mark", UTCDateTime, nullable=False),  # rows before this are in the rollups
)

dashboard_customers = Table(
    "dashboard_customers",
    metadata,
    Column("member", String(64), primary_key=True),
    Column("customer_key", String(64), primary_key=True),  # the keyed hash, never an email
    Column("first_sale_at", UTCDateTime, nullable=False),  # the customer's first order here
    Column("first_referrer", String(64)),  # the partner that brought that first order
)

dashboard_pair_days = Table(
    "dashboard_pair_days",
    metadata,
    Column("day", String(10), primary_key=True),  # in the alliance's timezone
    Column("source_member", String(64), primary_key=True),  # who sent (the referrer)
    Column("target_member", String(64), primary_key=True),  # who got (the seller)
    Column("measure", String(16), primary_key=True),  # clicks | orders | revenue | commission
    Column("value", BigInteger, nullable=False),  # a count, or minor units
    Index(None, "target_member", "day"),
    Index(None, "source_member", "day"),
)

dashboard_member_months = Table(
    "dashboard_member_months",
    metadata,
    Column("member", String(64), primary_key=True),
    Column("period", String(7), primary_key=True),  # YYYY-MM in the alliance's timezone
    Column("measure", String(24), primary_key=True),  # alliance.dashboard_figures.Measure
    Column("value", BigInteger, nullable=False),
    Index(None, "period"),
)

Index("ix_clicks_target_member_clicked_at", clicks.c.target_member, clicks.c.clicked_at)
Index("ix_orders_booked_at", orders.c.booked_at)  # what changed since the watermark
Index("ix_orders_member_sale_at", orders.c.member, orders.c.sale_at)  # a member's months
Index("ix_orders_member_customer_key", orders.c.member, orders.c.customer_key)  # first orders
Index("ix_ledger_entries_booked_at", ledger_entries.c.booked_at)

# -- store connections (migration 0009) ----------------------------------------------------
# Stores connected the WooCommerce way (/wc-auth/v1/authorize). Keys and webhook secrets are
# Fernet tokens (alliance.services.key_vault), never plain text.

store_connections = Table(
    "store_connections",
    metadata,
    Column("member", String(64), primary_key=True),
    Column("store_url", String(500), nullable=False),  # the agreement's url when connected
    Column("key_id", BigInteger, nullable=False),  # WooCommerce's id of the key (not secret)
    Column("key_permissions", String(16), nullable=False),  # read_write
    Column("consumer_key", Text, nullable=False),  # encrypted
    Column("consumer_secret", Text, nullable=False),  # encrypted
    Column("webhooks", Text, nullable=False),  # encrypted JSON: [{"id", "topic", "secret"}]
    Column("connected_at", UTCDateTime, nullable=False),
)

connect_states = Table(
    "connect_states",
    metadata,
    Column("nonce", String(32), primary_key=True),  # of the signed state sent to the store
    Column("member", String(64), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),  # set once: a replayed state is refused
)


# -- group profiles (migration 0010, issue 16) ----------------------------------------------
# The coarse facts a profile needs that the order snapshot does not already hold: which
# categories the basket touched (resolved from the synced catalog when the order was booked)
# and its value band. Region, customer_key, status and sale date stay in ``orders``.

order_profiles = Table(
    "order_profiles",
    metadata,
    Column("member", String(64), primary_key=True),
    Column("external_id", String(64), primary_key=True),
    Column("categories", String(500), nullable=False),  # sorted category slugs, space-separated
    Column("value_band", String(16), nullable=False),  # alliance.profiles.VALUE_BANDS
)
Index(  # a member's customers over a window, read from the index alone (overlap, profiles)
    "ix_orders_member_customer_sales",
    orders.c.member,
    orders.c.customer_key,
    orders.c.sale_at,
    orders.c.status,
)
