"""Tracked-link tokens: they round-trip, and nothing but a genuine token is ever accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac

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
    link_url,
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


# -- the wire format and every refusal, exactly ------------------------------------------------

GOLDEN_KEY = link_key(b"golden-secret-for-the-wire-format-test-01")


def _token(payload: bytes, key: bytes = KEY) -> str:
    """A token built from the README's spec, not from ``sign_link``: base64url without padding
    of payload and the first 16 bytes of HMAC-SHA256 over it."""
    tag = hmac.new(key, payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(payload + tag).rstrip(b"=").decode()


def test_links_already_sent_keep_working_the_wire_format_is_fixed() -> None:
    """Links sit in emails and articles for years: the key derivation, the layout (version
    byte, fields joined by \\x1f) and the 16-byte tag may never change silently."""
    key = hmac.new(
        b"golden-secret-for-the-wire-format-test-01", b"alliance/links/v1", hashlib.sha256
    ).digest()
    assert key == GOLDEN_KEY
    claim = LinkClaim("li", "wang", "205", "article", "li-wang")
    sent = "AWxpH3dhbmcfMjA1H2FydGljbGUfbGktd2FuZ9Aq2kTvTn-XWRMjGg2Tm64"
    assert sign_link(GOLDEN_KEY, claim) == sent
    assert _token(b"\x01li\x1fwang\x1f205\x1farticle\x1fli-wang", GOLDEN_KEY) == sent
    assert verify_link(GOLDEN_KEY, sent) == claim
    home = LinkClaim("zhao", "zhang", "", "thankyou", "zhang-zhao")
    spelled = _token(b"\x01zhao\x1fzhang\x1f\x1fthankyou\x1fzhang-zhao", GOLDEN_KEY)
    assert verify_link(GOLDEN_KEY, spelled) == home


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "empty link token"),
        (None, "empty link token"),
        (b"AAAA", "empty link token"),
        ("A" * (TOKEN_MAX + 1), "link token is too long"),
        ("A" * (TOKEN_MAX - 1) + "!", "link token is not base64url"),  # not too long yet
        ("AAAAA", "link token is not base64url"),
        ("AAAA=", "link token is not base64url"),
        ("AAB", "link token is not canonical base64url"),
        (_token(b"")[:22], "link token is truncated"),
        (_token(b"\x01"), "link token is truncated"),
        (_token(b"\x01l"), "link token does not name five fields"),
        (_token(b"\x01li\x1fwang\x1f205\x1farticle"), "link token does not name five fields"),
        (_token(b"\x01a\x1fb\x1fc\x1fd\x1fe\x1ff"), "link token does not name five fields"),
        (
            _token(b"\x02li\x1fwang\x1f205\x1farticle\x1fli-wang"),
            "link token has an unknown version",
        ),
        (
            _token(b"\x01li\x1fwang\x1f\xff\x1farticle\x1fli-wang"),
            "link token payload is not UTF-8",
        ),
        (
            _token(b"\x01li\x1fwang\x1f205\x1farticle\x1fli-wang", b"k" * 32),
            "link token signature does not match",
        ),
        (_token(b"\x01\x1fwang\x1f205\x1farticle\x1fli-wang"), "link source is empty"),
        (_token(b"\x01li\x1f\x1f205\x1farticle\x1fli-wang"), "link target is empty"),
        (_token(b"\x01li\x1fwang\x1f205\x1f\x1fli-wang"), "link placement is empty"),
        (_token(b"\x01li\x1fwang\x1f205\x1farticle\x1f"), "link deal_id is empty"),
        (
            _token(b"\x01li\x1fwang\x1f2\n5\x1farticle\x1fli-wang"),
            "link product_id holds control characters",
        ),
        (
            _token(b"\x01li\x1fwang\x1f205\x1f" + b"p" * 33 + b"\x1fli-wang"),
            "link placement is longer than 32 characters",
        ),
        (
            _token(b"\x01li\x1f" + b"w" * 65 + b"\x1f205\x1farticle\x1fli-wang"),
            "link target is longer than 64 characters",
        ),
    ],
)
def test_each_refused_token_says_why(token: object, message: str) -> None:
    with pytest.raises(BadLink) as refused:
        verify_link(KEY, token)  # type: ignore[arg-type]
    assert str(refused.value) == message


def test_fields_at_their_limits_are_accepted() -> None:
    claim = LinkClaim("s" * 64, "t" * 64, "9" * 64, "p" * 32, "d" * 64)
    assert verify_link(KEY, sign_link(KEY, claim)) == claim
    assert verify_link(KEY, _token(b"\x01li\x1fwang\x1f\x1fcart\x1fli-wang")).product_id == ""
    shortest = _token(b"\x01a\x1fb\x1f\x1fc\x1fd")  # 8 payload bytes: nothing truncated
    assert verify_link(KEY, shortest) == LinkClaim("a", "b", "", "c", "d")
    assert len(_token(b"\x01a")) <= TOKEN_MAX


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        (LinkClaim(7, "wang", "1", "cart", "d"), "link source must be text, not int"),  # type: ignore[arg-type]
        (LinkClaim("li", "wang", None, "cart", "d"), "link product_id must be text, not NoneType"),  # type: ignore[arg-type]
        (LinkClaim("li", "w" * 65, "1", "cart", "d"), "link target is longer than 64 characters"),
        (
            LinkClaim("li", "wang", "1", "c" * 33, "d"),
            "link placement is longer than 32 characters",
        ),
        (
            LinkClaim("li", "wang", "1", "cart", "d" * 65),
            "link deal_id is longer than 64 characters",
        ),
        (LinkClaim("li", "wa\tng", "1", "cart", "d"), "link target holds control characters"),
        (LinkClaim("li", "wang", "1", "cart", "d\x7f"), "link deal_id holds control characters"),
        (LinkClaim("li", "wang", "1", "", "d"), "link placement is empty"),
        (LinkClaim("", "wang", "1", "cart", "d"), "link source is empty"),
        (LinkClaim("li", "", "1", "cart", "d"), "link target is empty"),
        (LinkClaim("s" * 64, "wang", "1", "cart", ""), "link deal_id is empty"),  # 64 fits
        (LinkClaim("li", "wang", "", "cart", ""), "link deal_id is empty"),  # "" product: home
    ],
)
def test_each_claim_refused_when_signing_says_which_field_and_why(
    claim: LinkClaim, message: str
) -> None:
    with pytest.raises(BadLink) as refused:
        sign_link(KEY, claim)
    assert str(refused.value) == message


def test_link_url_joins_base_and_token_with_one_slash() -> None:
    assert link_url("https://alliance.example/", "TOKEN") == "https://alliance.example/r/TOKEN"
    assert link_url("https://alliance.example//", "T") == "https://alliance.example/r/T"
    assert link_url("http://127.0.0.1:8000", "T") == "http://127.0.0.1:8000/r/T"
    assert link_url("https://shop.example/go-X/", "T") == "https://shop.example/go-X/r/T"


def test_a_token_keeps_every_character_of_its_base64_up_to_the_last() -> None:
    """Only padding is dropped: a token whose last character happens to be X still verifies
    (product 1099 gives one)."""
    claim = LinkClaim("li", "wang", "1099", "article", "li-wang")
    token = sign_link(KEY, claim)
    assert token.endswith("X") and len(token) % 4 != 1
    assert verify_link(KEY, token) == claim
