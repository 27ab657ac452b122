"""WooCommerce order JSON -> domain Order: facts kept exactly, people never."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from alliance.errors import OrderDataError
from alliance.orders import AttributionFields, Order, OrderLine, OrderStatus
from connector.fixtures.orders import PERSONAL_STRINGS, distinctive_customer, woo_order
from connector.woocommerce.fields import MAX_ID
from connector.woocommerce.mapping import describe_order, map_order, map_orders

SECRET = b"alliance-test-secret"
CREATED = datetime(2026, 12, 1, 2, 3, 4, tzinfo=UTC)


def mapped(raw: dict[str, Any]) -> Order:
    return map_order(raw, member="wang", secret=SECRET)


def refused(raw: Any, position: int | None = None) -> OrderDataError:
    with pytest.raises(OrderDataError) as caught:
        map_order(raw, member="wang", secret=SECRET, position=position)
    return caught.value


def strings_in(value: Any) -> list[str]:
    """Every string inside a mapped Order, however deeply nested."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [s for f in dataclasses.fields(value) for s in strings_in(getattr(value, f.name))]
    if isinstance(value, tuple | list):
        return [s for item in value for s in strings_in(item)]
    return []


def full_order(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "status": "completed",
        "created": CREATED,
        "lines": [(101, "Bodysuit", 2, Decimal("50.00")), (205, "Swaddle", 1, Decimal("100.00"))],
        "coupons": [
            ("GIFT-WANG30", Decimal(30)),
            ("Save10", Decimal(10)),
            ("gift-wang30", Decimal(5)),
        ],
        "refunds": [Decimal("20"), Decimal("5.50")],
        "tax_rate": Decimal("0.13"),
        "attribution": {
            "utm_source": "alliance",
            "utm_campaign": "li-to-wang",
            "utm_content": "c7",
        },
    }
    args.update(overrides)
    return woo_order(2001, **args)


def test_a_full_fixture_order_maps_to_exactly_the_expected_order() -> None:
    raw = full_order(customer={**distinctive_customer("X"), "email": "mei@example.com"})
    paid = datetime(2026, 12, 1, 2, 4, 4, tzinfo=UTC)
    expected = Order(
        member="wang",
        external_id="2001",
        number="2001",
        status=OrderStatus.COMPLETED,
        currency="CNY",
        created_at=CREATED,
        modified_at=datetime(2026, 12, 3, 2, 4, 4, tzinfo=UTC),
        paid_at=paid,
        items_subtotal=Decimal("200.00"),
        items_total=Decimal("155.00"),
        discount_total=Decimal("45.00"),
        shipping_total=Decimal("10.00"),
        tax_total=Decimal("21.46"),
        total=Decimal("186.46"),
        refunded_total=Decimal("25.50"),
        lines=(
            OrderLine("101", 2, Decimal("100.00"), Decimal("77.50"), "Bodysuit", "", "SKU-101"),
            OrderLine("205", 1, Decimal("100.00"), Decimal("77.50"), "Swaddle", "", "SKU-205"),
        ),
        coupon_codes=("gift-wang30", "save10"),
        attribution=AttributionFields("utm", "alliance", "", "li-to-wang", "c7"),
        customer_key=hmac.new(SECRET, b"mei@example.com", hashlib.sha256).hexdigest(),
        country="CN",
        state="CN10",
    )
    order = mapped(raw)
    assert order == expected
    assert order.created_at.utcoffset() is not None and order.created_at.utcoffset().seconds == 0
    assert all(isinstance(line.total, Decimal) for line in order.lines)


def test_the_mapped_order_contains_none_of_the_customers_personal_data() -> None:
    tag = "ZQXLEAK"
    customer = distinctive_customer(tag)
    order = mapped(full_order(customer=customer))
    texts = [repr(order), str(order), *strings_in(order)]
    for field_name in PERSONAL_STRINGS:
        marker = customer[field_name]
        assert tag in marker
        assert not any(marker in text for text in texts), field_name
    assert not any(tag in text for text in texts)
    assert not any(tag.lower() in text.lower() for text in texts)


def test_customer_key_is_the_hmac_of_the_normalised_email() -> None:
    expected = hmac.new(SECRET, b"mei@example.com", hashlib.sha256).hexdigest()
    keys = set()
    for email in ("  Mei@Example.COM ", "mei@example.com"):
        customer = {**distinctive_customer("K"), "email": email}
        keys.add(mapped(full_order(customer=customer)).customer_key)
    assert keys == {expected}


def test_an_order_without_an_email_has_an_empty_customer_key() -> None:
    raw = full_order()
    raw["billing"]["email"] = ""
    assert mapped(raw).customer_key == ""
    raw["billing"] = None
    assert mapped(raw).customer_key == ""


def test_negative_refund_strings_add_up_to_a_positive_refunded_total() -> None:
    raw = full_order()
    assert [r["total"] for r in raw["refunds"]] == ["-5.50", "-20.00"]
    assert mapped(raw).refunded_total == Decimal("25.50")
    raw["refunds"][0]["total"] = "5.50"  # a positive amount counts by its magnitude too
    assert mapped(raw).refunded_total == Decimal("25.50")


def test_a_cash_on_delivery_processing_order_has_no_paid_date() -> None:
    raw = woo_order(3001, cod=True)
    assert raw["status"] == "processing" and raw["date_paid_gmt"] is None
    order = mapped(raw)
    assert order.paid_at is None
    assert order.counts_as_sale
    assert order.sale_date == order.created_at


def test_coupon_codes_are_lowercased_stripped_and_deduplicated_in_order() -> None:
    raw = full_order()
    raw["coupon_lines"][1]["code"] = "  SAVE10 "
    assert mapped(raw).coupon_codes == ("gift-wang30", "save10")


def test_attribution_keeps_five_fields_and_reads_none_as_empty() -> None:
    raw = full_order(attribution={"utm_source": "alliance", "utm_medium": "(none)"})
    assert mapped(raw).attribution == AttributionFields(source_type="utm", utm_source="alliance")


def test_an_order_without_attribution_meta_has_empty_attribution() -> None:
    assert mapped(full_order(attribution=None)).attribution == AttributionFields()


def test_region_falls_back_to_the_shipping_address() -> None:
    raw = full_order()
    raw["billing"]["country"] = ""
    raw["shipping"].update(country="de", state="by")
    order = mapped(raw)
    assert (order.country, order.state) == ("DE", "BY")


def test_a_free_text_state_is_cut_to_a_short_code() -> None:
    raw = full_order()
    raw["billing"]["state"] = "Bavaria and beyond"
    assert mapped(raw).state == "BAVARIA"


def test_the_number_falls_back_to_the_id() -> None:
    raw = full_order()
    del raw["number"]
    assert mapped(raw).number == "2001"


@pytest.mark.parametrize("suffix", ["", "Z", "+00:00"])
def test_gmt_dates_become_aware_utc_datetimes(suffix: str) -> None:
    raw = full_order()
    raw["date_created_gmt"] = "2026-12-01T02:03:04" + suffix
    assert mapped(raw).created_at == CREATED


@pytest.mark.parametrize(
    "value",
    ["2026-12-01", "2026-12-01 02:03:04", "2026-12-01T02:03:04+08:00", "yesterday",
     "2026-13-45T00:00:00", "20261201T020304", 1764554584, ""],
)  # fmt: skip
def test_a_malformed_date_is_refused(value: object) -> None:
    raw = full_order()
    raw["date_modified_gmt"] = value
    assert refused(raw).field == "date_modified_gmt"


def _set(raw: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target: Any = raw
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key: Any = int(last) if last.isdigit() else last
    if value is KeyError:
        del target[key]
    else:
        target[key] = value


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        ("total", KeyError, "total", "missing"),
        ("total", None, "total", "missing"),
        ("total", "12,50", "total", "12.50"),
        ("total", "", "total", "12.50"),
        ("total", "1e3", "total", "12.50"),
        ("total", "-5.00", "total", "negative"),
        ("discount_total", "NaN", "discount_total", "12.50"),
        ("line_items.1.subtotal", None, "line_items[1].subtotal", "missing"),
        ("line_items.0.total", "9,90", "line_items[0].total", "12.50"),
        ("line_items.1.quantity", -1, "line_items[1].quantity", "negative quantity"),
        ("line_items.1.quantity", 1.5, "line_items[1].quantity", "whole number"),
        ("line_items.0", "a line", "line_items[0]", "expected an object"),
        ("status", "shipped", "status", 'unknown status text shaped like "aaaaaaa"'),
        ("status", None, "status", "unknown status"),
        ("currency", "cny", "currency", "3-letter"),
        ("date_modified_gmt", KeyError, "date_modified_gmt", "missing"),
        ("date_created_gmt", None, "date_created_gmt", "missing"),
        ("refunds.0.total", "-5,50", "refunds[0].total", "12.50"),
        ("coupon_lines.0.code", 5, "coupon_lines[0].code", "expected text"),
        ("line_items", KeyError, "line_items", "expected a list"),
        ("billing", "somewhere", "billing", "expected an object"),
        ("billing.email", ["a@b.c"], "billing.email", "expected text, got a list"),
    ],
)
def test_bad_input_is_refused_naming_the_order_and_the_field(
    path: str, value: Any, field: str, message: str
) -> None:
    raw = full_order()
    _set(raw, path, value)
    error = refused(raw)
    assert (error.order, error.field) == ("#2001 (id 2001)", field)
    assert message in error.message
    assert str(error).startswith(f"order #2001 (id 2001): {field}: ")


def test_an_order_without_a_usable_id_is_named_by_its_position() -> None:
    raw = full_order()
    raw["id"] = "2001"
    raw["number"] = "A-17"
    error = refused(raw, position=4)
    assert (error.order, error.field) == ("#A-17 (at index 4)", "id")
    assert refused([1, 2], position=7).order == "at index 7"
    assert refused("nope").field == "(whole order)"
    assert describe_order(None) == "(unidentified)"


def test_invalid_utf8_in_a_kept_string_is_refused_naming_the_field() -> None:
    raw = full_order()
    raw["line_items"][1]["name"] = "Swaddle \udcff\udc80"
    error = refused(raw)
    assert (error.field, error.message) == ("line_items[1].name", "invalid UTF-8")


def test_invalid_utf8_in_the_email_is_refused_without_quoting_it() -> None:
    raw = full_order(customer=distinctive_customer("SECRETMARK"))
    raw["billing"]["email"] = "SECRETMARK\udce9@example.com"
    error = refused(raw)
    assert (error.field, error.message) == ("billing.email", "invalid UTF-8")
    assert "SECRETMARK" not in str(error)


def test_invalid_utf8_in_fields_we_drop_does_not_matter() -> None:
    raw = full_order()
    raw["billing"]["first_name"] = "M\udcffei"
    raw["customer_note"] = "\udc80"
    assert mapped(raw).external_id == "2001"


def test_line_price_is_a_number_that_is_never_used_for_money() -> None:
    raw = full_order()
    assert isinstance(raw["line_items"][0]["price"], float)
    raw["line_items"][0]["price"] = "not money"
    assert mapped(raw).lines[0].total == Decimal("77.50")


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("<script>alert('x')</script>", "<script>alert('x')</script>"),
        ("Baby\x00 wrap\x1b[31m\r\n", "Baby wrap[31m"),
        ("\u202eevil\u200b name\ufeff", "evil name"),
        ("x" * 10_000, "x" * 200),
        ("   ", ""),
    ],
)
def test_hostile_product_names_are_kept_only_as_safe_trimmed_text(name: str, kept: str) -> None:
    raw = full_order()
    raw["line_items"][0]["name"] = name
    raw["line_items"][0]["sku"] = "S" * 5000
    line = mapped(raw).lines[0]
    assert line.name == kept
    assert line.sku == "S" * 100


def test_mapping_does_not_modify_its_input() -> None:
    raw = full_order()
    before = copy.deepcopy(raw)
    mapped(raw)
    assert raw == before


SECTION_2_FIELDS = (
    "id", "parent_id", "number", "order_key", "created_via", "version", "status", "currency",
    "date_created", "date_created_gmt", "date_modified", "date_modified_gmt", "date_paid",
    "date_paid_gmt", "date_completed", "date_completed_gmt", "discount_total", "discount_tax",
    "shipping_total", "shipping_tax", "cart_tax", "total", "total_tax", "prices_include_tax",
    "customer_id", "customer_ip_address", "customer_user_agent", "customer_note", "billing",
    "shipping", "payment_method", "payment_method_title", "transaction_id", "cart_hash",
    "payment_url", "is_editable", "needs_payment", "needs_processing", "meta_data", "line_items",
    "coupon_lines", "tax_lines", "shipping_lines", "fee_lines", "refunds",
)  # fmt: skip


def test_the_fixture_carries_every_field_the_orders_api_returns() -> None:
    raw = full_order()
    assert set(SECTION_2_FIELDS) <= set(raw)
    assert set(raw["line_items"][0]) >= {"id", "name", "product_id", "variation_id", "quantity",
        "tax_class", "subtotal", "subtotal_tax", "total", "total_tax", "taxes", "meta_data", "sku",
        "price", "image", "parent_name"}  # fmt: skip
    assert {"email", "phone"} <= set(raw["billing"]) and "phone" in raw["shipping"]
    keys = [m["key"] for m in raw["meta_data"] if m["key"].startswith("_wc_order_attribution_")]
    assert len(keys) == 17
    assert raw["date_created_gmt"] == "2026-12-01T02:03:04"
    assert raw["date_created"] == "2026-12-01T10:03:04"  # site-local, Asia/Shanghai


def test_fixtures_are_deterministic_given_their_arguments() -> None:
    assert woo_order(77, tax_rate=Decimal("0.09")) == woo_order(77, tax_rate=Decimal("0.09"))
    assert woo_order(77)["billing"] != woo_order(78)["billing"]


NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def mapped_at(raw: dict[str, Any], now: datetime = NOW) -> Order:
    return map_order(raw, member="wang", secret=SECRET, now=now)


def refused_at(raw: dict[str, Any], now: datetime = NOW) -> OrderDataError:
    with pytest.raises(OrderDataError) as caught:
        map_order(raw, member="wang", secret=SECRET, now=now)
    return caught.value


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("id", 2**63, "id"),
        ("id", 1180591620717411303424, "id"),
        ("line_items.0.quantity", 10**20, "line_items[0].quantity"),
        ("line_items.1.product_id", 2**64 + 5, "line_items[1].product_id"),
        ("line_items.1.variation_id", -(2**70), "line_items[1].variation_id"),
    ],
)
def test_whole_numbers_beyond_64_bits_are_refused_by_their_size_not_their_value(
    path: str, value: int, field: str
) -> None:
    raw = full_order()
    _set(raw, path, value)
    error = refused(raw)
    assert error.field == field and "out of range" in error.message
    assert "bits" in error.message and str(value) not in str(error)


@pytest.mark.parametrize("status", ["\x00", "paid\x1b[2J", "\ud800", "ok\u202e"])
def test_messages_about_a_bad_value_hold_only_printable_text(status: str) -> None:
    raw = full_order()
    raw["status"] = status
    error = refused(raw)
    assert str(error).isprintable() and status not in str(error)


@pytest.mark.parametrize("field", ["date_created_gmt", "date_modified_gmt", "date_paid_gmt"])
def test_a_date_more_than_a_day_after_now_is_refused_saying_what_to_check(field: str) -> None:
    raw = full_order()
    for name in ("date_created_gmt", "date_modified_gmt", "date_paid_gmt")[
        ("date_created_gmt", "date_modified_gmt", "date_paid_gmt").index(field) :
    ]:
        raw[name] = "2026-12-08T12:00:01"
    error = refused_at(raw)
    assert error.field == field
    assert error.message == (
        '"2026-12-08T12:00:01" is in the future (now is 2026-12-07T12:00:00 UTC); check the '
        "store's clock and its timezone setting (WordPress Settings > General), then correct the "
        "order's dates in the store"
    )


def test_a_date_up_to_a_day_ahead_is_store_clock_skew_and_accepted() -> None:
    raw = full_order()
    raw["date_modified_gmt"] = raw["date_paid_gmt"] = "2026-12-08T12:00:00"
    assert mapped_at(raw).modified_at == datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def test_a_completion_date_is_not_read_so_it_cannot_refuse_an_order() -> None:
    raw = full_order()
    raw["date_completed_gmt"] = "2099-01-01T00:00:00"
    assert mapped_at(raw).external_id == "2001"


def test_without_a_given_now_the_current_time_is_the_reference() -> None:
    raw = full_order()
    raw["date_created_gmt"] = "2099-01-01T00:00:00"
    assert refused(raw).field == "date_created_gmt"


@pytest.mark.parametrize(
    ("currency", "path", "value", "field", "says"),
    [
        ("CNY", "total", "217.905", "total", "has 3 decimal places; CNY has 2"),
        ("JPY", "total", "217.55", "total", "has 2 decimal places; JPY has 0"),
        ("JPY", "total", "217.50", "total", "has 1 decimal place; JPY has 0"),
        ("CNY", "line_items.1.total", "77.501", "line_items[1].total", "CNY has 2"),
        ("CNY", "refunds.1.total", "-5.555", "refunds[1].total", "CNY has 2"),
        ("CNY", "total", "100000000000000.01", "total", "is too large"),
        ("CNY", "line_items.0.subtotal", "99999999999999999", "line_items[0].subtotal", "large"),
    ],
)
def test_amounts_the_ledger_cannot_store_exactly_are_refused(
    currency: str, path: str, value: str, field: str, says: str
) -> None:
    raw = full_order()
    raw["currency"] = currency
    _set(raw, path, value)
    error = refused_at(raw)
    assert error.field == field and says in error.message
    assert value.strip("-") not in error.message


def test_trailing_zeros_beyond_the_minor_unit_are_exact_and_accepted() -> None:
    raw = full_order()
    raw["total"] = raw["total"] + "0"
    assert mapped_at(raw).total == Decimal(raw["total"])


# -- batches, limits and messages, exactly (mutation testing: issue 19) ------------------------


def _order(order_id: int, **overrides: Any) -> dict[str, Any]:
    return woo_order(order_id, status="completed", created=CREATED, **overrides)


def test_a_batch_records_the_source_digest_of_each_order_it_names() -> None:
    """The digest is what lets a re-delivered, unchanged order be skipped before mapping; an
    order the mapping has no digest for carries none (never another order's)."""
    page = [_order(1), _order(2001), _order(MAX_ID), _order(77), ["not", "an", "order"]]
    digests = {"1": "d-one", "2001": "d-2001", str(MAX_ID): "d-max", "None": "d-none"}
    first, second, largest, unnamed, broken = map_orders(
        page, member="wang", secret=SECRET, digests=digests, now=NOW
    )
    assert isinstance(first, Order) and first.source_digest == "d-one"
    assert isinstance(second, Order) and second.source_digest == "d-2001"
    assert isinstance(largest, Order) and largest.source_digest == "d-max"
    assert isinstance(unnamed, Order) and unnamed.source_digest == ""
    assert isinstance(broken, OrderDataError) and broken.order == "at index 4"
    plain = map_orders([_order(2001)], member="wang", secret=SECRET, now=NOW)
    assert [o.source_digest for o in plain] == [""]  # type: ignore[union-attr]


def test_a_batch_judges_dates_against_the_clock_it_is_given() -> None:
    """A replay of an old page with ``now`` in the past refuses what was then in the future,
    whatever today's date is."""
    then = CREATED - timedelta(days=2)
    (result,) = map_orders([_order(2001)], member="wang", secret=SECRET, now=then)
    assert isinstance(result, OrderDataError) and result.field == "date_created_gmt"
    assert "is in the future (now is 2026-11-29T02:03:04 UTC)" in result.message
    (today,) = map_orders([_order(2001)], member="wang", secret=SECRET)
    assert isinstance(today, Order)  # without a clock, the current time: December 2026 passed


TOO_LARGE = (
    "is too large: 100,000,000,000,000 or more, more than any order is worth; "
    "check the order's amounts in the store"
)
DECIMALS = (
    "has 3 decimal places; CNY has 2: set the store's number of decimals to match "
    "(WooCommerce > Settings > General > Currency options)"
)


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        ("total", "100000000000000.00", "total", TOO_LARGE),  # exactly the limit: refused
        ("total", "217.905", "total", DECIMALS),
        ("line_items.0.total", "50.005", "line_items[0].total", DECIMALS),
    ],
)
def test_an_amount_the_ledger_cannot_keep_is_refused_saying_what_to_fix(
    path: str, value: str, field: str, message: str
) -> None:
    raw = _order(2001)
    *parents, last = path.split(".")
    target: Any = raw
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    error = refused_at(raw)
    assert (error.field, error.message) == (field, message)


def test_just_below_the_limit_is_kept_exactly() -> None:
    raw = _order(2001)
    raw["total"] = "99999999999999.99"
    mapped = map_order(raw, member="wang", secret=SECRET, now=NOW)
    assert mapped.total == Decimal("99999999999999.99")


def test_parts_that_each_fit_but_not_their_sum_name_the_sum() -> None:
    """Two lines of 60 trillion each are storable; their 120 trillion is not."""
    raw = _order(2001, lines=[(101, "A", 1, Decimal("60000000000000")), (205, "B", 1, Decimal(1))])
    raw["line_items"][1]["total"] = raw["line_items"][1]["subtotal"] = "60000000000000.00"
    error = refused_at(raw)
    assert error.field == "line_items"
    assert error.message == f"the sum of every total {TOO_LARGE}"
