"""Visitor keys and user-agent classes: what a click stores instead of who clicked."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from widgets.visitors import BOT, BROWSER, UNKNOWN, agent_class, visitor_key

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME, BROWSER),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15", BROWSER),
        ("Opera/9.80 (Windows NT 6.1) Presto/2.12.388 Version/12.16", BROWSER),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", BOT),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", BOT),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0)", BOT),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/126.0", BOT),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", BOT),
        ("curl/8.5.0", BOT),
        ("python-requests/2.32.3", BOT),
        ("Wget/1.21.4", BOT),
        ("Slackbot-LinkExpanding 1.0", BOT),
        ("Mozilla/5.0 (compatible; YandexBot/3.0)", BOT),
        ("", BOT),
        ("   ", BOT),
        (None, BOT),
        ("SomeShopApp/3.1 (Android 14)", UNKNOWN),
        ("Mozilla/5.0 (Linux; Android 14; Robotics-Tab) AppleWebKit/537.36", BROWSER),
    ],
)
def test_user_agents_are_classed_as_a_shop_owner_would_expect(user_agent, expected) -> None:
    assert agent_class(user_agent) == expected


@given(st.sampled_from(["Googlebot/2.1", "CURL/8.0", "Python-urllib/3.11", "HEADLESS"]))
def test_robot_words_are_found_whatever_their_case(word: str) -> None:
    assert agent_class(f"Mozilla/5.0 (compatible; {word})") == BOT
    assert agent_class(f"Mozilla/5.0 (compatible; {word.swapcase()})") == BOT


def test_visitor_keys_rotate_daily_and_never_hold_the_address() -> None:
    key = b"k" * 32
    today = visitor_key(key, "203.0.113.9", CHROME, date(2026, 12, 2))
    assert today == visitor_key(key, "203.0.113.9", CHROME, date(2026, 12, 2))
    assert today != visitor_key(key, "203.0.113.9", CHROME, date(2026, 12, 3))
    assert today != visitor_key(key, "203.0.113.10", CHROME, date(2026, 12, 2))
    assert "203.0.113.9" not in today and len(today) == 32
