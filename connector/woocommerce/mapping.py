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
from datetime import datetime
from decimal import Decimal
from typing import Any

from alliance.errors import OrderDataError
from alliance.money import parse_money
from alliance.orders import NO_ATTRIBUTION, AttributionFields, Order, OrderLine, OrderStatus
from alliance.privacy import customer_key

MappedItem = Order | OrderDataError
"""What a batch mapping yields per input order: the order, or why it was refused."""

NAME_MAX = 200
"""Product names are kept for statements, trimmed so a hostile store cannot bloat storage."""

SKU_MAX = 100
NUMBER_MAX = 100
CODE_MAX = 200
ATTRIBUTION_MAX = 200
REGION_MAX = 8
"""Country and state are codes (``CN``, ``CN10``); anything longer is cut, never kept whole."""

MAX_ID = 2**63 - 1
"""Ids must fit a signed 64-bit database column."""

ATTRIBUTION_PREFIX = "_wc_order_attribution_"
_ATTRIBUTION_KEYS = {
    ATTRIBUTION_PREFIX + name: name
    for name in ("source_type", "utm_source", "utm_medium", "utm_campaign", "utm_content")
}
_STATUSES = {status.value: status for status in OrderStatus}
_STATUS_LIST = ", ".join(_STATUSES)
_DATE_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|\+00:00)?", re.ASCII)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_CONTROL = dict.fromkeys(
    [
        *range(0x00, 0x20),  # C0 controls, including tab and newline
        *range(0x7F, 0xA0),  # DEL and C1 controls
        *range(0x200B, 0x2010),  # zero-width spaces and joiners, LRM/RLM
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2066, 0x206A),  # bidi isolates
        0xFEFF,  # byte-order mark
    ]
)
_MONEY_MAX_CHARS = 24
_MONEY_CACHE: dict[str, Decimal] = {}
_MONEY_CACHE_SIZE = 4096
_MONEY_HINT = 'expected a decimal amount such as "12.50"'
_ZERO = Decimal(0)
_WHOLE_ORDER = "(whole order)"
_CURRENCY_RE = re.compile("[A-Z]{3}")
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "true/false"),
    ((int, float, Decimal), "a number"),
    (str, "text"),
    (Mapping, "an object"),
    ((list, tuple), "a list"),
)


class _Invalid(Exception):
    """Internal: one field is wrong; ``map_order`` adds the order's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message


def describe_kind(value: object) -> str:
    """Describe a JSON value's type without quoting it (it may be personal data)."""
    for types, name in _KINDS:
        if isinstance(value, types):
            return name
    return "null" if value is None else type(value).__name__


def _text(value: object, field: str, limit: int) -> str:
    """Text we keep: null is ``""``; invalid UTF-8 is refused; control and bidi characters
    are dropped; the rest is trimmed to ``limit`` characters."""
    if type(value) is not str:
        if value is None:
            return ""
        raise _Invalid(field, f"expected text, got {describe_kind(value)}")
    if not value.isprintable():
        if _SURROGATE_RE.search(value) is not None:
            raise _Invalid(field, "invalid UTF-8")
        value = value.translate(_CONTROL)
    value = value.strip()
    if len(value) > limit:
        value = value[:limit].rstrip()
    return value


def _money(value: object, field: str) -> Decimal:
    """A non-negative amount through ``parse_money``; common strings are cached (immutable)."""
    if type(value) is str:
        amount = _MONEY_CACHE.get(value)
        if amount is None:
            if len(value) > _MONEY_MAX_CHARS or not value.isascii():
                raise _Invalid(field, f"{_MONEY_HINT}, got {len(value)} characters of other text")
            try:
                amount = parse_money(value)
            except ValueError as exc:
                raise _Invalid(field, str(exc)) from None
            if len(_MONEY_CACHE) >= _MONEY_CACHE_SIZE:
                _MONEY_CACHE.clear()
            _MONEY_CACHE[value] = amount
    elif value is None:
        raise _Invalid(field, f"missing or null; {_MONEY_HINT}")
    else:
        amount = _number_money(value, field)
    if amount < _ZERO:
        raise _Invalid(field, f"must not be negative, got {value!r}")
    return amount


def _number_money(value: object, field: str) -> Decimal:
    """Plain JSON numbers are tolerated (hand-made files); exponents and huge values are not."""
    kind = type(value)
    if kind is Decimal:
        parts = value.as_tuple()  # type: ignore[union-attr]
        sane = value.is_finite() and -12 <= parts.exponent <= 0 and len(parts.digits) <= 20  # type: ignore
    elif kind is int:
        sane = abs(value) < 10**18  # type: ignore[arg-type]
    else:
        sane = kind is float
    if not sane:
        raise _Invalid(field, f"{_MONEY_HINT}, got {describe_kind(value)}")
    try:
        return parse_money(value)
    except ValueError as exc:
        raise _Invalid(field, str(exc)) from None


def _date(value: object, field: str) -> datetime:
    """A ``*_gmt`` date: ``YYYY-MM-DDTHH:MM:SS`` (optionally ``Z``/``+00:00``) -> aware UTC."""
    if type(value) is not str or _DATE_RE.fullmatch(value) is None:
        if value is None:
            raise _Invalid(field, "missing or null")
        shown = repr(value) if type(value) is str and len(value) <= 40 else describe_kind(value)
        raise _Invalid(field, f'expected a UTC date such as "2026-11-25T13:45:32", got {shown}')
    try:
        return datetime.fromisoformat(value[:19] + "+00:00")  # tzinfo is datetime.UTC
    except ValueError:
        raise _Invalid(field, f"not a real date: {value!r}") from None


def _whole(value: object, field: str, minimum: int) -> int:
    """A JSON integer within ``minimum..MAX_ID`` (true/false and 2.0 are refused)."""
    if type(value) is not int:
        if value is None:
            raise _Invalid(field, "missing or null; expected a whole number")
        raise _Invalid(field, f"expected a whole number, got {describe_kind(value)}")
    if value < minimum or value > MAX_ID:
        raise _Invalid(field, f"out of range: {value}")
    return value


def _list(value: object, field: str) -> list[Any]:
    """An optional JSON list: null or missing is empty."""
    if type(value) is list:
        return value
    if value is None:
        return []
    raise _Invalid(field, f"expected a list, got {describe_kind(value)}")


def _object(value: object, field: str) -> Mapping[str, Any] | None:
    if value is None or type(value) is dict or isinstance(value, Mapping):
        return value  # type: ignore[return-value]
    raise _Invalid(field, f"expected an object, got {describe_kind(value)}")


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
        value = entry.get("value")
        if type(value) is int:
            value = str(value)
        try:
            value = _text(value, "value", ATTRIBUTION_MAX)
        except _Invalid as exc:
            index = next(i for i, candidate in enumerate(meta) if candidate is entry)
            exc.field = f"meta_data[{index}].value"
            raise
        found[name] = "" if value == "(none)" else value
    return AttributionFields(**found)


def _map(raw: Mapping[str, Any], member: str, secret: bytes, source_digest: str) -> Order:
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
        shown = repr(value) if type(value) is str and len(value) <= 40 else describe_kind(value)
        raise _Invalid("status", f"unknown status {shown}; expected one of {_STATUS_LIST}")
    currency = get("currency")
    if type(currency) is not str or _CURRENCY_RE.fullmatch(currency) is None:
        raise _Invalid("currency", "expected a 3-letter ISO code such as CNY")

    created_at = _date(get("date_created_gmt"), "date_created_gmt")
    modified_at = _date(get("date_modified_gmt"), "date_modified_gmt")
    paid = get("date_paid_gmt")
    paid_at = _date(paid, "date_paid_gmt") if paid else None
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

    refunded_total = _ZERO
    for index, refund in enumerate(_list(get("refunds"), "refunds")):
        if type(refund) is not dict and not isinstance(refund, Mapping):
            raise _Invalid(f"refunds[{index}]", f"expected an object, got {describe_kind(refund)}")
        amount = refund.get("total")
        if type(amount) is str and amount[:1] == "-":
            amount = amount[1:]  # WooCommerce lists refunds as negative strings: "-10.00"
        elif type(amount) in (int, Decimal) and amount < 0:
            amount = -amount
        refunded_total += _money(amount, f"refunds[{index}].total")

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
) -> Order:
    """Map one ``/wc/v3/orders`` object to an :class:`Order`, keeping nothing personal.

    ``position`` (0-based index in the caller's list) names the order in errors when it has no
    usable id. Raises :class:`OrderDataError` and nothing else, whatever ``raw`` holds.
    """
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise OrderDataError(
            describe_order(raw, position),
            _WHOLE_ORDER,
            f"expected an object, got {describe_kind(raw)}",
        )
    try:
        return _map(raw, member, secret, source_digest)
    except _Invalid as exc:
        raise OrderDataError(describe_order(raw, position), exc.field, exc.message) from None


def map_orders(
    raw_list: Iterable[Any],
    *,
    member: str,
    secret: bytes,
    digests: Mapping[str, str] | None = None,
) -> list[MappedItem]:
    """Map a list of orders (an API page or a file): good ones as Orders, bad ones as errors.

    ``digests`` (external id -> source digest) is recorded on the orders it names.
    """
    results: list[MappedItem] = []
    append = results.append
    for position, raw in enumerate(raw_list):
        digest = digests.get(str(raw.get("id")), "") if digests and type(raw) is dict else ""
        try:
            append(
                map_order(
                    raw, member=member, secret=secret, position=position, source_digest=digest
                )
            )
        except OrderDataError as exc:
            append(exc)
    return results
