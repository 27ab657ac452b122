"""Tracked-link tokens: they round-trip, and nothing but a genuine token is ever accepted."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance.errors import BadInputError
from tests.conftest import SECRET
from widgets.links import (
    FIELD_MAX,
    PLACEMENTS,
    TOKEN_MAX,
    BadLink,
    LinkClaim,
    link_key,
    sign_link,
    verify_link,
)

KEY = link_key(SECRET.encode())
TEXT = st.text(
    st.characters(categories=("L", "N", "P", "S")),
    min_size=1,
    max_size=20,
)
CLAIMS = st.builds(
    LinkClaim,
    source=TEXT,
    target=TEXT,
    product_id=st.one_of(st.just(""), st.integers(1, 10**12).map(str)),
    placement=st.sampled_from(PLACEMENTS),
    deal_id=TEXT,
)


def test_the_link_key_is_derived_and_not_the_secret_itself() -> None:
    assert SECRET.encode() != KEY and len(KEY) == 32
    assert link_key(b"another-secret-that-is-long-enough-000000") != KEY


def test_a_token_is_short_url_safe_and_carries_a_128_bit_tag() -> None:
    token = sign_link(KEY, LinkClaim("li", "wang", "205", "article", "li-wang"))
    assert len(token) < 80
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16 + 1


@given(CLAIMS)
def test_every_claim_round_trips(claim: LinkClaim) -> None:
    assert verify_link(KEY, sign_link(KEY, claim)) == claim


@settings(max_examples=60)
@given(CLAIMS, st.data())
def test_any_single_character_change_is_refused(claim: LinkClaim, data: st.DataObject) -> None:
    token = sign_link(KEY, claim)
    position = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.~+/ "
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[position]))
    tampered = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(BadLink):
        verify_link(KEY, tampered)


@settings(max_examples=60)
@given(CLAIMS, st.data())
def test_any_single_byte_change_in_the_decoded_token_is_refused(
    claim: LinkClaim, data: st.DataObject
) -> None:
    token = sign_link(KEY, claim)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(BadLink):
        verify_link(KEY, base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())


@given(CLAIMS)
def test_truncated_and_extended_tokens_are_refused(claim: LinkClaim) -> None:
    token = sign_link(KEY, claim)
    for cut in (1, 2, 3, 4, 22, len(token) - 1):
        with pytest.raises(BadLink):
            verify_link(KEY, token[:-cut])
    with pytest.raises(BadLink):
        verify_link(KEY, token + "A")


@given(st.text(max_size=700))
def test_arbitrary_strings_never_crash_the_verifier(text: str) -> None:
    with pytest.raises(BadLink):
        verify_link(KEY, text)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = sign_link(link_key(b"x" * 40), LinkClaim("li", "wang", "205", "cart", "li-wang"))
    with pytest.raises(BadLink, match="signature"):
        verify_link(KEY, token)


def test_oversize_and_non_text_tokens_are_refused_as_bad_input() -> None:
    with pytest.raises(BadInputError, match="too long"):
        verify_link(KEY, "A" * (TOKEN_MAX + 1))
    with pytest.raises(BadLink):
        verify_link(KEY, None)  # type: ignore[arg-type]


def test_claims_that_would_not_fit_a_click_are_refused_when_signing() -> None:
    with pytest.raises(BadLink, match="longer"):
        sign_link(KEY, LinkClaim("li", "wang", "1" * (FIELD_MAX + 1), "article", "li-wang"))
    with pytest.raises(BadLink, match="control"):
        sign_link(KEY, LinkClaim("li\x1fzhao", "wang", "1", "article", "li-wang"))
    with pytest.raises(BadLink, match="empty"):
        sign_link(KEY, LinkClaim("li", "wang", "1", "article", ""))


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _same_bytes_spellings(token: str) -> list[str]:
    """Other spellings of ``token`` that decode to the very same bytes: its last character
    carries unused low bits (2 of them when the length is 2 mod 4, 4 when it is 3 mod 4)."""
    unused = {2: 4, 3: 2}[len(token) % 4]
    value = ALPHABET.index(token[-1])
    return [
        token[:-1] + ALPHABET[value ^ flip] for flip in range(1, 1 << unused) if value ^ flip < 64
    ]


@pytest.mark.parametrize("product_id", ["", "7", "77", "777"])
def test_only_the_canonical_form_of_a_token_is_accepted(product_id: str) -> None:
    """Two spellings of one token would let one shopper's click be counted as two visitors'
    links (and bypass anything keyed by the token's text): only the canonical one passes."""
    claim = LinkClaim("li", "wang", product_id, "article", "li-wang")
    token = sign_link(KEY, claim)
    if len(token) % 4 == 0:
        token = sign_link(KEY, LinkClaim("li", "wang", product_id, "article", "li-wang-x"))
    assert verify_link(KEY, token).source == "li"
    others = _same_bytes_spellings(token)
    assert others
    for other in others:
        padded = other + "=" * (-len(other) % 4)
        assert base64.urlsafe_b64decode(padded) == base64.urlsafe_b64decode(
            token + "=" * (-len(token) % 4)
        )  # the same bytes, signature and all
        with pytest.raises(BadLink, match="canonical"):
            verify_link(KEY, other)
