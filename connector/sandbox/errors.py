"""The sandbox store's one error type: a WooCommerce REST error, raised anywhere, answered once.

Every kind of document (orders, coupons, products) and the request validation raise it, and the
server turns it into the JSON body and status WooCommerce sends; it lives apart so each of those
modules can raise it without importing the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any


class RestError(Exception):
    """An answer WooCommerce gives as ``{"code", "message", "data": {"status", ...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        data: Mapping[str, Any] | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.data = dict(data or {})
        self.headers = tuple(headers)

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "data": {"status": self.status, **self.data},
        }


def invalid_id(kind: str) -> RestError:
    return RestError(404, f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.")


def decimal_param(value: Any, field: str) -> Decimal:
    """A money parameter as Decimal, or WordPress's "is not a number" error naming ``field``."""
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise RestError(
            400,
            "rest_invalid_param",
            f"Invalid parameter(s): {field}",
            {"params": {field: f"{field} is not a number."}},
        ) from None
