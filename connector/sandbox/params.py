"""Request parameters as WordPress reads them, and which of them are safe to repeat.

WordPress validates every REST parameter against its schema and reports all the bad ones in
one ``rest_invalid_param`` error; clients (and the connector's error handling) depend on that
exact shape, so :class:`Params` reproduces it. The query arrives PHP-style (``a[]=1``), and
secrets in it must never reach a log or a ``Link`` header.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from connector.sandbox.errors import RestError
from connector.sandbox.seed import parse_woo_date

_SECRET_PARAMS = re.compile(r"^(consumer_key|consumer_secret|oauth_.*)$")


def without_secrets(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Query pairs minus keys, secrets and OAuth signatures: safe to log or echo in links."""
    return [(k, v) for k, v in pairs if not _SECRET_PARAMS.match(k)]


def params_from_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style query parameters: ``a[]=1&a[]=2`` and ``a[0]=1`` become lists."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        base, bracket, _ = key.partition("[")
        if bracket:
            current = result.get(base)
            result[base] = [*current, value] if isinstance(current, list) else [value]
        else:
            result[key] = value
    return result


def _series(values: Iterable[str]) -> str:
    """WordPress's ``%l``: ``a, b, and c``."""
    items = list(values)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + ", and " + items[-1]


class Params:
    """Reads request parameters and collects every invalid one, as WordPress reports them."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.problems: dict[str, tuple[str, str]] = {}

    def _fail(self, name: str, code: str, message: str) -> None:
        self.problems.setdefault(name, (code, message))

    def check(self) -> None:
        if self.problems:
            names = ", ".join(self.problems)
            raise RestError(
                400,
                "rest_invalid_param",
                f"Invalid parameter(s): {names}",
                {
                    "params": {n: m for n, (_, m) in self.problems.items()},
                    "details": {
                        n: {"code": c, "message": m, "data": None}
                        for n, (c, m) in self.problems.items()
                    },
                },
            )

    def text(self, name: str, default: str = "") -> str:
        value = self.values.get(name, default)
        return value[-1] if isinstance(value, list) and value else str(value)

    def integer(
        self, name: str, default: int | None, low: int | None = None, high: int | None = None
    ) -> int | None:
        if name not in self.values:
            return default
        raw = self.text(name).strip()
        if not re.fullmatch(r"[+-]?\d+", raw):
            self._fail(name, "rest_invalid_type", f"{name} is not of type integer.")
            return default
        value = int(raw)
        if low is not None and high is not None and not low <= value <= high:
            message = f"{name} must be between {low} (inclusive) and {high} (inclusive)"
            self._fail(name, "rest_out_of_bounds", message)
        elif low is not None and value < low:
            self._fail(name, "rest_out_of_bounds", f"{name} must be greater than or equal to {low}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        if name not in self.values:
            return default
        value = self.values[name]
        if isinstance(value, bool):
            return value
        raw = self.text(name).strip().lower()
        if raw in ("true", "1"):
            return True
        if raw in ("false", "0", ""):
            return False
        self._fail(name, "rest_invalid_type", f"{name} is not of type boolean.")
        return default

    def string(self, name: str, *, nullable: bool = False) -> None:
        """A ``string`` (or ``["null", "string"]``) argument: a present value must be text."""
        if name not in self.values:
            return
        value = self.values[name]
        if isinstance(value, str) or (nullable and value is None):
            return
        kinds = "null,string" if nullable else "string"
        self._fail(name, "rest_invalid_type", f"{name} is not of type {kinds}.")

    def strings(self, name: str) -> list[str]:
        """An ``array`` of ``string`` schema argument (a list, or a comma-separated text)."""
        value = self.values.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            return self.items(name)
        for n, item in enumerate(value):
            if not isinstance(item, str):
                self._fail(name, "rest_invalid_type", f"{name}[{n}] is not of type string.")
        return [item for item in value if isinstance(item, str)]

    def items(self, name: str) -> list[str]:
        """An array parameter: ``a[]=x&a[]=y`` or ``a=x,y``."""
        value = self.values.get(name)
        if value is None:
            return []
        raw = value if isinstance(value, list) else re.split(r"[,\s]+", str(value))
        return [str(v).strip() for v in raw if str(v).strip()]

    def ids(self, name: str) -> list[int]:
        result = []
        for n, item in enumerate(self.items(name)):
            if re.fullmatch(r"\d+", item):
                result.append(int(item))
            else:
                self._fail(name, "rest_invalid_type", f"{name}[{n}] is not of type integer.")
        return result

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        if name not in self.values:
            return default
        value = self.text(name)
        if value not in allowed:
            self._fail(name, "rest_not_in_enum", f"{name} is not one of {_series(allowed)}.")
            return default
        return value

    def choices(self, name: str, allowed: tuple[str, ...]) -> list[str]:
        chosen = self.items(name)
        for n, item in enumerate(chosen):
            if item not in allowed:
                message = f"{name}[{n}] is not one of {_series(allowed)}."
                self._fail(name, "rest_not_in_enum", message)
        return chosen

    def date(self, name: str) -> str | None:
        if name not in self.values:
            return None
        moment = parse_woo_date(self.text(name))
        if moment is None:
            self._fail(name, "rest_invalid_date", "Invalid date.")
            return None
        return moment.strftime("%Y-%m-%dT%H:%M:%S")


def shape_for(params: Params) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """``_fields`` and ``include_meta``/``exclude_meta`` trimming, only when asked for."""
    fields = params.items("_fields")
    include_meta = set(params.items("include_meta"))
    exclude_meta = set(params.items("exclude_meta"))
    if not (fields or include_meta or exclude_meta):
        return None
    top = [f.split(".")[0] for f in fields]

    def shape(doc: dict[str, Any]) -> dict[str, Any]:
        result = {k: v for k, v in doc.items() if k in top} if top else dict(doc)
        if "meta_data" in result and (include_meta or exclude_meta):
            result["meta_data"] = [
                m
                for m in result["meta_data"]
                if (not include_meta or m.get("key") in include_meta)
                and m.get("key") not in exclude_meta
            ]
        return result

    return shape
