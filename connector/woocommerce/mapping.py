"""WooCommerce REST v3 order JSON -> the domain :class:`~alliance.orders.Order`.

This is the data firewall's first wall: only order facts are copied out of the JSON, and the
customer survives only as ``customer_key`` (an HMAC of the email) plus country and state. Names,
emails, phones, addresses, IP addresses, user agents, notes and every other meta value are never
read into the result, so nothing later in the pipeline can store or log them.

Every problem becomes an :class:`~alliance.errors.OrderDataError` naming the order the way the
shop owner knows it (``#1234 (id 1234)``) and the JSON path of the field (``line_items[2].total``).
Error messages never quote a personal value. ``map_orders`` and ``read_orders_file`` keep going
after a bad order, so one broken order never blocks the others.

The code is deliberately straight-line: it runs once per imported order (100,000 in the
benchmark), so key sets, regexes and lookup tables are built once at import time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from alliance.errors import OrderDataError
from alliance.money import minor_digits, minor_exponent
from alliance.orders import NO_ATTRIBUTION, AttributionFields, Order, OrderLine, OrderStatus
from alliance.privacy import customer_key
from connector.woocommerce.fields import (
    _CONTROL,
    _SURROGATE_RE,
    _ZERO,
    MAX_ID,
    _date,
    _Invalid,
    _list,
    _money,
    _object,
    _text,
    _whole,
    describe_kind,
    out_of_range,
    shown_safely,
)
from connector.woocommerce.records import meta_value

MappedItem = Order | OrderDataError
"""What a batch mapping yields per input order: the order, or why it was refused."""

NAME_MAX = 200
"""Product names are kept for statements, trimmed so a hostile store cannot bloat storage."""

SKU_MAX = 100
NUMBER_MAX = 64
"""The order number as the shop shows it; the database column holds 64 characters."""

CODE_MAX = 200
ATTRIBUTION_MAX = 200
REGION_MAX = 8
"""Country and state are codes (``CN``, ``CN10``); anything longer is cut, never kept whole."""

MAX_AMOUNT = Decimal(10) ** 14
"""No order is worth this much: every amount stays exact as a signed 64-bit count of minor
units (4 decimal places at most), with room for sums."""

FUTURE_TOLERANCE = timedelta(days=1)
"""How far ahead of our clock a store's date may be: clock skew, never a wrong timezone."""

ATTRIBUTION_PREFIX = "_wc_order_attribution_"
_ATTRIBUTION_KEYS = {
    ATTRIBUTION_PREFIX + name: name
    for name in ("source_type", "utm_source", "utm_medium", "utm_campaign", "utm_content")
}
_STATUSES = {status.value: status for status in OrderStatus}
_STATUS_LIST = ", ".join(_STATUSES)
_WHOLE_ORDER = "(whole order)"
_CURRENCY_RE = re.compile("[A-Z]{3}")


def _map_line(line: object) -> OrderLine:
    """One ``line_items[]`` entry; fields are relative, the caller adds the index."""
    if type(line) is not dict and not isinstance(line, Mapping):
        raise _Invalid("", f"expected an object, got {describe_kind(line)}")
    get = line.get
    quantity = get("quantity")
    if type(quantity) is not int:
        raise _Invalid("quantity", f"expected a whole number, got {describe_kind(quantity)}")
    if quantity < 0:
        raise _Invalid("quantity", "negative quantity")
    if quantity > MAX_ID:
        raise _Invalid("quantity", out_of_range(quantity, 0))
    variation = get("variation_id")
    return OrderLine(
        product_id=str(_whole(get("product_id"), "product_id", 0)),
        quantity=quantity,
        subtotal=_money(get("subtotal"), "subtotal"),
        total=_money(get("total"), "total"),
        name=_text(get("name"), "name", NAME_MAX),
        variation_id=str(_whole(variation, "variation_id", 0)) if variation else "",
        sku=_text(get("sku"), "sku", SKU_MAX),
    )


def _attribution(meta: list[Any]) -> AttributionFields:
    """The five attribution values we use, from ``meta_data``; every other meta is ignored."""
    try:  # fast path: every entry is an object with a hashable "key"
        hits = [entry for entry in meta if entry["key"] in _ATTRIBUTION_KEYS]
    except (TypeError, KeyError, IndexError):  # odd entries: meta we do not read cannot hurt
        hits = [
            entry
            for entry in meta
            if isinstance(entry, Mapping)
            and type(entry.get("key")) is str
            and entry["key"] in _ATTRIBUTION_KEYS
        ]
    if not hits:
        return NO_ATTRIBUTION
    found: dict[str, str] = {}
    for entry in hits:
        name = _ATTRIBUTION_KEYS[entry["key"]]
        if name in found:
            continue  # WooCommerce's get_meta() also answers the first entry
        value = meta_value(entry.get("value"))  # typed records keep it raw until here
        if type(value) is int and -MAX_ID <= value <= MAX_ID:
            value = str(value)
        try:
            value = _text(value, "value", ATTRIBUTION_MAX)
        except _Invalid as exc:
            index = next(i for i, candidate in enumerate(meta) if candidate is entry)
            exc.field = f"meta_data[{index}].value"
            raise
        found[name] = "" if value == "(none)" else value
    return AttributionFields(**found)


def _map(
    raw: Mapping[str, Any], member: str, secret: bytes, source_digest: str, latest: datetime
) -> Order:
    get = raw.get
    external_id = str(_whole(get("id"), "id", 1))
    number = get("number")
    if type(number) is int and 0 <= number <= MAX_ID:
        number = str(number)
    number = _text(number, "number", NUMBER_MAX) or external_id

    status = get("status")
    status = _STATUSES.get(status) if type(status) is str else None
    if status is None:
        value = get("status")
        raise _Invalid(
            "status", f"unknown status {shown_safely(value)}; expected one of {_STATUS_LIST}"
        )
    currency = get("currency")
    if type(currency) is not str or _CURRENCY_RE.fullmatch(currency) is None:
        raise _Invalid("currency", "expected a 3-letter ISO code such as CNY")

    created_at = _date(get("date_created_gmt"), "date_created_gmt")
    if created_at > latest:
        raise _Invalid("date_created_gmt", _in_future(created_at, latest))
    modified_at = _date(get("date_modified_gmt"), "date_modified_gmt")
    if modified_at > latest:
        raise _Invalid("date_modified_gmt", _in_future(modified_at, latest))
    paid = get("date_paid_gmt")
    paid_at = _date(paid, "date_paid_gmt") if paid else None
    if paid_at is not None and paid_at > latest:
        raise _Invalid("date_paid_gmt", _in_future(paid_at, latest))
    total = _money(get("total"), "total")
    discount_total = _money(get("discount_total"), "discount_total")
    shipping_total = _money(get("shipping_total"), "shipping_total")
    tax_total = _money(get("total_tax"), "total_tax")

    items = get("line_items")
    if type(items) is not list:
        raise _Invalid("line_items", f"expected a list, got {describe_kind(items)}")
    lines = []
    items_subtotal = items_total = _ZERO
    for index, item in enumerate(items):
        try:
            line = _map_line(item)
        except _Invalid as exc:
            exc.field = f"line_items[{index}]" + (f".{exc.field}" if exc.field else "")
            raise
        lines.append(line)
        items_subtotal += line.subtotal
        items_total += line.total

    refunds: list[Decimal] = []
    for index, refund in enumerate(_list(get("refunds"), "refunds")):
        if type(refund) is not dict and not isinstance(refund, Mapping):
            raise _Invalid(f"refunds[{index}]", f"expected an object, got {describe_kind(refund)}")
        amount = refund.get("total")
        if type(amount) is str and amount[:1] == "-":
            amount = amount[1:]  # WooCommerce lists refunds as negative strings: "-10.00"
        elif type(amount) in (int, Decimal) and amount < 0:
            amount = -amount
        refunds.append(_money(amount, f"refunds[{index}].total"))
    refunded_total = sum(refunds, _ZERO)
    _storable(currency, total, lines, items_subtotal, items_total, refunds, refunded_total)

    codes: list[str] = []
    for index, coupon in enumerate(_list(get("coupon_lines"), "coupon_lines")):
        if type(coupon) is not dict and not isinstance(coupon, Mapping):
            raise _Invalid(
                f"coupon_lines[{index}]", f"expected an object, got {describe_kind(coupon)}"
            )
        code = _text(coupon.get("code"), f"coupon_lines[{index}].code", CODE_MAX).lower()
        if code and code not in codes:
            codes.append(code)

    attribution = _attribution(_list(get("meta_data"), "meta_data"))

    billing = _object(get("billing"), "billing")
    shipping = _object(get("shipping"), "shipping")
    key = ""
    if billing:
        email = billing.get("email")
        if email:
            if type(email) is not str:
                raise _Invalid("billing.email", f"expected text, got {describe_kind(email)}")
            if not email.isprintable() and _SURROGATE_RE.search(email) is not None:
                raise _Invalid("billing.email", "invalid UTF-8")
            key = customer_key(secret, email)
    region, where = billing, "billing"
    if not (billing and billing.get("country")) and shipping and shipping.get("country"):
        region, where = shipping, "shipping"
    country = state = ""
    if region:
        country = _text(region.get("country"), f"{where}.country", 64).upper()[:REGION_MAX]
        state = _text(region.get("state"), f"{where}.state", 64).upper()[:REGION_MAX]

    return Order(
        member=member,
        external_id=external_id,
        number=number,
        status=status,
        currency=currency,
        created_at=created_at,
        modified_at=modified_at,
        paid_at=paid_at,
        items_subtotal=items_subtotal,
        items_total=items_total,
        discount_total=discount_total,
        shipping_total=shipping_total,
        tax_total=tax_total,
        total=total,
        refunded_total=refunded_total,
        lines=tuple(lines),
        coupon_codes=tuple(codes),
        attribution=attribution,
        customer_key=key,
        source_digest=source_digest,
        country=country.strip(),
        state=state.strip(),
    )


def _in_future(moment: datetime, latest: datetime) -> str:
    now = latest - FUTURE_TOLERANCE
    return (
        f'"{moment:%Y-%m-%dT%H:%M:%S}" is in the future (now is {now:%Y-%m-%dT%H:%M:%S} UTC); '
        "check the store's clock and its timezone setting (WordPress Settings > General), "
        "then correct the order's dates in the store"
    )


def _storable(
    currency: str,
    total: Decimal,
    lines: list[OrderLine],
    items_subtotal: Decimal,
    items_total: Decimal,
    refunds: list[Decimal],
    refunded_total: Decimal,
) -> None:
    """Refuse amounts the ledger cannot keep exactly as minor units (a sum names its parts)."""
    unit = minor_exponent(currency)
    if (  # the usual case, in one go: this runs for every order
        total < MAX_AMOUNT > items_subtotal
        and items_total < MAX_AMOUNT > refunded_total
        and total == total.quantize(unit)
        and items_total == items_total.quantize(unit)
        and refunded_total == refunded_total.quantize(unit)
    ):
        return
    why = _unstorable(total, currency, unit)
    if why:
        raise _Invalid("total", why)
    for amount, key, quantum in ((items_total, "total", unit), (items_subtotal, "subtotal", None)):
        why = _unstorable(amount, currency, quantum)
        if why:
            parts = [getattr(line, key) for line in lines]
            raise _culprit("line_items", key, parts, why, currency, quantum)
    why = _unstorable(refunded_total, currency, unit)
    if why:
        raise _culprit("refunds", "total", refunds, why, currency, unit)


def _unstorable(amount: Decimal, currency: str, quantum: Decimal | None) -> str:
    """Why ``amount`` cannot be kept exactly ("" when it can); ``quantum`` None: any decimals."""
    if amount >= MAX_AMOUNT:
        return (
            f"is too large: {MAX_AMOUNT:,} or more, more than any order is worth; "
            "check the order's amounts in the store"
        )
    if quantum is None or amount == amount.quantize(quantum):  # below MAX_AMOUNT: exact
        return ""
    places, digits = -amount.normalize().as_tuple().exponent, minor_digits(currency)
    return (
        f"has {places} decimal place{'s' * (places != 1)}; {currency} has {digits}: set the "
        "store's number of decimals to match (WooCommerce > Settings > General > Currency "
        "options)"
    )


def _culprit(
    name: str, key: str, parts: list[Decimal], why: str, currency: str, quantum: Decimal | None
) -> _Invalid:
    """The first part that cannot be kept, else the sum of them all."""
    for index, amount in enumerate(parts):
        own = _unstorable(amount, currency, quantum)
        if own:
            return _Invalid(f"{name}[{index}].{key}", own)
    return _Invalid(name, f"the sum of every {key} {why}")


def describe_order(raw: object, position: int | None = None) -> str:
    """Name an order as its shop knows it: ``#1234 (id 1234)``, else its position in the list.

    Tolerates any input, since it is used to report orders that could not be mapped.
    """
    parts: list[str] = []
    order_id = None
    if isinstance(raw, Mapping):
        candidate = raw.get("id")
        if type(candidate) is int and 0 < candidate <= MAX_ID:
            order_id = candidate
        number = raw.get("number")
        if type(number) is int and 0 <= number <= MAX_ID:
            number = str(number)
        if type(number) is str and _SURROGATE_RE.search(number) is None:
            number = number.translate(_CONTROL).strip()[:40]
        else:
            number = ""
        number = number or (str(order_id) if order_id else "")
        if number:
            parts.append(f"#{number}")
        if order_id:
            parts.append(f"(id {order_id})")
    if order_id is None and position is not None:
        parts.append(f"(at index {position})" if parts else f"at index {position}")
    return " ".join(parts) or "(unidentified)"


def map_order(
    raw: Mapping[str, Any],
    *,
    member: str,
    secret: bytes,
    position: int | None = None,
    source_digest: str = "",
    now: datetime | None = None,
) -> Order:
    """Map one ``/wc/v3/orders`` object to an :class:`Order`, keeping nothing personal.

    ``position`` (0-based index in the caller's list) names the order in errors when it has no
    usable id. A date more than :data:`FUTURE_TOLERANCE` after ``now`` (default: the current
    time) is refused. Raises :class:`OrderDataError` and nothing else, whatever ``raw`` holds.
    """
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise OrderDataError(
            describe_order(raw, position),
            _WHOLE_ORDER,
            f"expected an object, got {describe_kind(raw)}",
        )
    latest = (now or datetime.now(UTC)) + FUTURE_TOLERANCE
    try:
        return _map(raw, member, secret, source_digest, latest)
    except _Invalid as exc:
        candidate = raw.get("id")
        external_id = str(candidate) if type(candidate) is int and candidate > 0 else None
        raise OrderDataError(
            describe_order(raw, position), exc.field, exc.message, external_id=external_id
        ) from None


def map_orders(
    raw_list: Iterable[Any],
    *,
    member: str,
    secret: bytes,
    digests: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[MappedItem]:
    """Map a list of orders (an API page or a file): good ones as Orders, bad ones as errors.

    ``digests`` (external id -> source digest) is recorded on the orders it names; ``now``
    is as for :func:`map_order`.
    """
    now = now or datetime.now(UTC)
    results: list[MappedItem] = []
    append = results.append
    for position, raw in enumerate(raw_list):
        order_id = raw.get("id") if digests and type(raw) is dict else None
        usable = type(order_id) is int and 0 < order_id <= MAX_ID
        digest = digests.get(str(order_id), "") if digests and usable else ""
        try:
            append(
                map_order(
                    raw,
                    member=member,
                    secret=secret,
                    position=position,
                    source_digest=digest,
                    now=now,
                )
            )
        except OrderDataError as exc:
            append(exc)
    return results
