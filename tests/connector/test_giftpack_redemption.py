"""A gift-pack coupon redeemed at a partner: the order is the promotion's, the trigger member is
paid the redemption rate, a refund reverses it, and statements cite the promotion
(on SQLite and PostgreSQL, through the real sync)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select

from alliance.giftpacks import gift_code, gift_code_key
from alliance.periods import period_of
from alliance.services.booking import book_orders
from alliance.services.reporting import member_statement
from alliance.storage import repository as repo
from alliance.storage.schema import gift_coupons, orders
from tests.connector.giftpack_support import KEY, gift_alliance
from tests.factories import make_order


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def net(engine: Engine, ref: str) -> dict:
    with engine.connect() as conn:
        return {k: v for k, v in repo.booked_for(conn, [ref]).get(ref, {}).items() if v}


def test_a_redeemed_gift_coupon_pays_the_trigger_member_and_a_refund_reverses_it(
    tmp_path: Path, engine: Engine
) -> None:
    with gift_alliance(tmp_path, database_url=url_of(engine)) as alliance:
        alliance.issue()
        code = gift_code(gift_code_key(KEY), "newborn-gift-pack", "li/1001", "wang", "RPA")
        order = alliance.stores["wang"].state.checkout(
            {
                "line_items": [{"product_id": 501, "quantity": 2}],  # 2 x 59.00
                "coupon_lines": [{"code": code.lower()}],
                "billing": {"email": "mother@example.com", "country": "CN"},
            }
        )
        alliance.sync("wang")
        ref = f"wang/{order['id']}"
        assert net(engine, ref) == {("newborn-gift-pack", "wang", "li", "CNY"): Decimal("4.40")}
        with engine.connect() as conn:
            row = conn.execute(select(orders).where(orders.c.external_id == str(order["id"]))).one()
        assert row.referrer == "li" and '"gift_coupon"' in row.facts  # it beats any click

        paid = datetime.fromisoformat(order["date_paid_gmt"]).replace(tzinfo=UTC)
        period = period_of(paid, alliance.agreement.settings.timezone)
        now = datetime.now(UTC)
        statement = member_statement(engine, alliance.agreement, "li", period, as_of=now)
        (line,) = [ln for ln in statement.lines if ln.deal == "newborn-gift-pack"]
        assert (line.amount, line.counterparty) == (Decimal("4.40"), "wang")

        alliance.stores["wang"].state.update_order(order["id"], {"status": "refunded"})
        alliance.sync("wang")
        assert net(engine, ref) == {}
        after = member_statement(engine, alliance.agreement, "li", period, as_of=now)
        cited = [ln for ln in after.lines if ln.deal == "newborn-gift-pack"]
        assert len(cited) == 2 and sum(ln.amount for ln in cited) == 0


def test_a_failed_gift_coupon_is_the_stores_own_and_earns_the_promotion_nothing(
    engine: Engine, agreement
) -> None:
    at = datetime(2026, 12, 5, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            gift_coupons.insert(),
            [
                {"member": "wang", "code": code, "promotion_id": "newborn-gift-pack",
                 "trigger_ref": "li/1", "created_at": at, "expires_at": at, "state": state}
                for code, state in (("rpa-ours", "created"), ("rpa-theirs", "failed"))
            ],
        )  # fmt: skip
    book_orders(engine, agreement, [make_order("wang", "8", coupons=("RPA-THEIRS",))])
    book_orders(engine, agreement, [make_order("wang", "9", coupons=("RPA-OURS",))])
    assert net(engine, "wang/8") == {}
    assert net(engine, "wang/9") == {("newborn-gift-pack", "wang", "li", "CNY"): Decimal("5.00")}
