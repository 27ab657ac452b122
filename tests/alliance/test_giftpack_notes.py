"""The gift pack's note: when it goes out, and what the customer reads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from alliance.agreement import DiscountType
from alliance.errors import ConfigError
from alliance.giftpack_notes import NoteLine, codes_in, gives, note_due, note_text
from alliance.settings import Settings
from tests.factories import utc

PLANNED = utc(2026, 12, 5, 2, 0)
WAIT = timedelta(minutes=60)


def due(**kw):
    base = {
        "created": ["a", "b", "c"],
        "pending": [],
        "delivered": [],
        "first_sent_at": None,
        "last_sent_at": None,
        "planned_at": PLANNED,
        "now": PLANNED + timedelta(minutes=1),
        "wait": WAIT,
    }
    return note_due(**(base | kw))


def test_the_note_goes_at_once_when_every_coupon_exists():
    note = due()
    assert (note.codes, note.late, note.more_follow) == (("a", "b", "c"), False, False)


def test_the_note_waits_for_a_partner_store_that_is_down_then_goes_without_it():
    assert due(created=["a", "b"], pending=["c"]) is None
    later = due(created=["a", "b"], pending=["c"], now=PLANNED + WAIT)
    assert (later.codes, later.late, later.more_follow) == (("a", "b"), False, True)


def test_the_late_coupon_follows_in_a_second_note_as_soon_as_it_exists():
    first = PLANNED + WAIT
    late = due(delivered=["a", "b"], first_sent_at=first, last_sent_at=first, now=first)
    assert (late.codes, late.late, late.more_follow) == (("c",), True, False)


def test_nothing_is_due_when_every_coupon_was_delivered_or_none_exists():
    assert due(delivered=["a", "b", "c"], first_sent_at=PLANNED) is None
    assert due(created=[], pending=["a"], now=PLANNED + 2 * WAIT) is None


def test_a_second_late_coupon_waits_again_after_the_late_note():
    sent = PLANNED + 2 * WAIT
    waiting = due(created=["a", "b"], pending=["c"], delivered=["a"], first_sent_at=PLANNED,
                  last_sent_at=sent, now=sent + timedelta(minutes=5))  # fmt: skip
    assert waiting is None


def test_what_a_coupon_gives_reads_in_the_alliance_currency_or_as_a_percentage():
    assert gives(DiscountType.FIXED_CART, Decimal("30"), "CNY") == "30.00 CNY off"
    assert gives(DiscountType.PERCENT, Decimal("15.0"), "CNY") == "15% off"
    assert gives(DiscountType.PERCENT, Decimal("100"), "CNY") == "100% off"
    assert gives(DiscountType.FIXED_CART, Decimal("20"), "CNY", minimum=Decimal("100")) == (
        "20.00 CNY off an order of 100.00 CNY or more"
    )


def test_the_note_lists_each_partner_code_expiry_and_link_in_the_alliance_timezone():
    lines = [
        NoteLine("Wang's Natural Baby Care", "Baby-wash trial set", "30.00 CNY off",
                 "RPA-AAAA-BBBB-CCCC", utc(2027, 2, 3, 17, 0), "https://go.example/r/x"),
        NoteLine("Zhao <Photo> & Co", "", "15% off", "RPA-DDDD-EEEE-FFFF", utc(2027, 2, 3, 1, 0)),
    ]  # fmt: skip
    text = note_text("Refined Parenting Alliance", "newborn gifts", lines, timezone="Asia/Shanghai")
    assert "Wang's Natural Baby Care: Baby-wash trial set: 30.00 CNY off" in text
    assert "Code RPA-AAAA-BBBB-CCCC, valid until 2027-02-04." in text  # 01:00 in Shanghai
    assert "https://go.example/r/x" in text
    assert "Zhao &lt;Photo&gt; &amp; Co: 15% off. Code RPA-DDDD-EEEE-FFFF" in text
    assert "follow" not in text
    more = note_text("A", "p", lines, timezone="UTC", more_follow=True)
    assert "follow in another note" in more
    late = note_text("A", "p", lines[:1], timezone="UTC", late=True)
    assert late.startswith("As promised, here are the rest")


def test_codes_are_found_in_a_note_whatever_their_case():
    assert codes_in("Code RPA-AAAA-BBBB-CCCC, valid", ["rpa-aaaa-bbbb-cccc", "rpa-x"]) == {
        "rpa-aaaa-bbbb-cccc"
    }


def test_the_wait_is_a_setting_of_an_hour_by_default():
    assert Settings.from_env({}).giftpack_note_wait_minutes == 60
    assert (
        Settings.from_env({"ALLIANCE_GIFTPACK_NOTE_WAIT_MINUTES": "5"}).giftpack_note_wait_minutes
        == 5
    )
    with pytest.raises(ConfigError, match="ALLIANCE_GIFTPACK_NOTE_WAIT_MINUTES must be a number"):
        Settings.from_env({"ALLIANCE_GIFTPACK_NOTE_WAIT_MINUTES": "soon"})
