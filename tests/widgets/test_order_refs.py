"""Signed order references: a thank-you page names its order with a tag only the shop and the
alliance can make; everything else is refused, whatever its spelling."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from widgets.order_refs import (
    REF_MAX,
    BadOrderRef,
    order_ref,
    order_ref_key,
    read_order_ref,
    sign_order_ref,
)

SECRET = "li-webhook-secret"
KEY = order_ref_key(SECRET)


def mirrored(secret: str, member: str, order_id: str) -> str:
    """The README's formula, written out as a shop's server would (the PHP, in Python)."""
    key = hmac.new(secret.encode(), b"alliance thankyou order ref", hashlib.sha256).digest()
    tag = hmac.new(key, f"{member}/{order_id}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(order_id.encode() + tag).decode().rstrip("=")


def test_a_reference_names_its_order_and_is_short() -> None:
    ref = order_ref(SECRET, "li", "1234")
    assert read_order_ref(KEY, "li", ref) == "1234"
    assert len(ref) == 27 and ref.isascii() and "=" not in ref
    assert len(order_ref(SECRET, "li", str(2**63))) <= 48 < REF_MAX


@given(
    order_id=st.integers(min_value=1, max_value=10**20 - 1), member=st.sampled_from(["li", "wang"])
)
def test_the_documented_formula_is_what_a_shop_mirrors(order_id: int, member: str) -> None:
    ref = mirrored(SECRET, member, str(order_id))
    assert ref == order_ref(SECRET, member, str(order_id))
    assert read_order_ref(KEY, member, ref) == str(order_id)


def tampered() -> list[str]:
    good = order_ref(SECRET, "li", "1234")
    changed_id = "N" + good[1:]  # "1234" is spelled "MTIz...": now it starts with "5"
    changed_tag = good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:]
    return [
        changed_id,
        changed_tag,
        good[:-1],
        good + "A",
        good + "=",
        good.replace("-", "+").replace("_", "/") + "+",  # the standard alphabet
        "",
        "1234",
        "A" * 600,
        " " + good,
    ]


@pytest.mark.parametrize("bad", tampered())
def test_a_tampered_or_malformed_reference_is_refused(bad: str) -> None:
    with pytest.raises(BadOrderRef):
        read_order_ref(KEY, "li", bad)


def test_a_reference_made_for_another_member_or_under_another_secret_is_refused() -> None:
    with pytest.raises(BadOrderRef):
        read_order_ref(KEY, "wang", order_ref(SECRET, "li", "1234"))  # li's, shown at wang's
    with pytest.raises(BadOrderRef):
        read_order_ref(KEY, "li", order_ref("wang-webhook-secret", "li", "1234"))
    with pytest.raises(BadOrderRef):
        read_order_ref(KEY, "li", order_ref(SECRET, "wang", "1234"))


def test_a_non_canonical_spelling_of_a_genuine_reference_is_refused() -> None:
    checked = 0
    for order_id in ("1", "12", "123", "1234", "99999"):
        good = order_ref(SECRET, "li", order_id)
        raw = base64.urlsafe_b64decode(good + "=" * (-len(good) % 4))
        if len(good) % 4 == 0:
            continue  # no unused bits in the last character
        checked += 1
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        for other in alphabet:
            spelled = good[:-1] + other
            if spelled == good:
                continue
            decoded = base64.urlsafe_b64decode(spelled + "=" * (-len(spelled) % 4))
            if decoded == raw:  # the same bytes, spelled another way
                with pytest.raises(BadOrderRef, match="canonical"):
                    read_order_ref(KEY, "li", spelled)
        with pytest.raises(BadOrderRef):
            read_order_ref(KEY, "li", good + "=" * (-len(good) % 4))  # padded
    assert checked >= 3


@pytest.mark.parametrize("order_id", ["", "0", "01234", "-5", "+5", "12a", "١٢٣", "1" * 21, " 12"])
def test_only_plain_positive_order_ids_are_signed_or_read(order_id: str) -> None:
    with pytest.raises(BadOrderRef):
        sign_order_ref(KEY, "li", order_id)
    body = order_id.encode()
    tag = hmac.new(KEY, b"li/" + body, hashlib.sha256).digest()[:16]
    forged_by_the_shop = base64.urlsafe_b64encode(body + tag).decode().rstrip("=")
    with pytest.raises(BadOrderRef):
        read_order_ref(KEY, "li", forged_by_the_shop)  # genuine tag, but no plain order id


def test_without_a_webhook_secret_nothing_can_be_signed_or_read() -> None:
    with pytest.raises(BadOrderRef):
        order_ref_key("")
    with pytest.raises(BadOrderRef):
        order_ref("", "li", "1234")
