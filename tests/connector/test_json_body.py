"""A store's JSON: what orjson refuses only for a lone surrogate is read; nothing else is."""

from __future__ import annotations

import pytest

from connector.json_body import loads


def test_an_escaped_lone_surrogate_is_read_so_its_order_can_be_refused_by_name() -> None:
    assert loads(b'[{"id": 7, "name": "\\ud83dBaby wash"}]') == [
        {"id": 7, "name": "\ud83dBaby wash"}
    ]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"id": NaN, "name": "\\ud83d"}',  # NaN is not JSON, even beside a surrogate
        b'{"id": Infinity}',
        b'["\\ud83d"' + b"," + b"[" * 5000 + b"]" * 5000 + b"]",  # deeper than any store's
        b'{"id": 7',
        b"\xff\xfe{}",
    ],
    ids=["NaN", "Infinity", "deep", "truncated", "bad bytes"],
)
def test_what_is_not_json_is_a_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        loads(raw)
