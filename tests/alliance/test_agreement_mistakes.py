"""Agreements that are surely a mistake: absurd amounts and nesting, invisible characters in
names, two members sharing keys or a store, rates finer than anyone can pay. Each is one
``FILE:LINE: key: message`` saying what is wrong and how to fix it, never a traceback."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from alliance.agreement.parse import agreement_summary, parse_agreement
from alliance.errors import AgreementError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "alliance.toml"
TEXT = EXAMPLE.read_text(encoding="utf-8")


def edit(old: str, new: str, text: str = TEXT) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def problems(text: str) -> list[str]:
    with pytest.raises(AgreementError) as info:
        parse_agreement(text, "alliance.toml")
    return [str(problem) for problem in info.value.problems]


def only_problem(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# -- sizes the parser used to crash on -------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "key", "line"),
    [
        ('amount = "15.00"', "deals[2].amount", 74),
        ('amount = "0.50"', "deals[3].amount", 82),
        ('min_order_total = "300.00"', "promotions[0].trigger.min_order_total", 98),
        ('amount = "30.00"', "promotions[0].rewards[0].amount", 105),
    ],
)
def test_an_amount_of_27_digits_is_refused_with_its_line(old: str, key: str, line: int) -> None:
    huge = "9" * 27 + ".00"
    problem = only_problem(edit(old, old.split("=")[0] + f'= "{huge}"'))
    assert problem.startswith(f"alliance.toml:{line}: {key}: ")
    assert "too large" in problem and "1000000000000" in problem


def test_an_amount_just_under_the_limit_is_summarised() -> None:
    agreement = parse_agreement(edit('amount = "15.00"', 'amount = "999999999999.99"'))
    assert "999999999999.99 CNY per referred order" in agreement_summary(agreement)


def test_a_table_header_nested_a_thousand_deep_is_one_problem_on_its_line() -> None:
    header = "[" + ".".join(["a"] * 1000) + "]\n"
    text = TEXT + "\n" + header + "b = 1\n"
    line = text.count("\n", 0, text.index(header)) + 1
    found = problems(text)
    deep = [p for p in found if "levels deep" in p]
    assert deep == [
        f"alliance.toml:{line}: a.a.a...: is nested 1000 levels deep; an agreement needs at "
        "most 8, so this is surely a mistake: remove it or flatten it"
    ]


def test_deeply_nested_arrays_are_reported_on_the_line_where_they_start() -> None:
    text = TEXT + "\nnotes = " + "[" * 1000 + "]" * 1000 + "\n"
    line = text.count("\n", 0, text.index("notes")) + 1
    assert only_problem(text).startswith(f"alliance.toml:{line}: <file>: is nested too deeply")


def test_a_value_nested_deep_inside_a_known_table_is_reported_once() -> None:
    text = edit("[alliance]\n", "[alliance]\nx = " + "{ y = " * 50 + "1" + " }" * 50 + "\n")
    found = problems(text)
    assert any("alliance.x.y..." in p and "levels deep" in p for p in found), found


# -- invisible characters in what people read -------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "line", "char"),
    [
        (
            'name = "Li\'s Organic Baby Clothes"',
            'name = "Li\'s Organic\\u0007 Baby Clothes"',
            "members.li.name",
            17,
            "U+0007 (a control character) at character 13",
        ),
        (
            'name = "Refined Parenting Alliance"',
            'name = "Refined \\u202eParenting Alliance"',
            "alliance.name",
            7,
            "U+202E (a bidi override) at character 9",
        ),
        (
            'description = "Natural baby toiletries"',
            'description = "Natural baby\\u0000 toiletries"',
            "members.wang.description",
            26,
            "U+0000",
        ),
        (
            'label = "Toy trial voucher"',
            'label = "Toy trial\\nvoucher"',
            "promotions[0].rewards[1].label",
            106,
            "U+000A",
        ),
        (
            'categories = ["photography", "services"]',
            'categories = ["photography", "serv\\u2028ices"]',
            "members.zhao.categories[1]",
            46,
            "U+2028",
        ),
        (
            'description = "You promote me this time, I promote you next time"',
            'description = "You promote me\\u001b[2J"',
            "deals[4].description",
            87,
            "U+001B",
        ),
    ],
)
def test_invisible_characters_in_names_and_descriptions_are_refused(
    old: str, new: str, key: str, line: int, char: str
) -> None:
    problem = only_problem(edit(old, new))
    assert problem.startswith(f"alliance.toml:{line}: {key}: ")
    assert char in problem and "remove it" in problem
    assert problem.isprintable()


def test_line_breaks_and_tabs_are_fine_in_a_description() -> None:
    text = edit(
        'description = "Natural baby toiletries"', 'description = """Natural\n\tbaby toiletries"""'
    )
    assert parse_agreement(text).members["wang"].description == "Natural\n\tbaby toiletries"


def test_an_emoji_joined_with_a_zero_width_joiner_is_a_name_not_a_mistake() -> None:
    text = edit('name = "Zhao Newborn Photography"', 'name = "Zhao \U0001f469\u200d\U0001f37c"')
    assert parse_agreement(text).members["zhao"].name == "Zhao \U0001f469\u200d\U0001f37c"


# -- two members, one store or one key -------------------------------------------------------


def test_two_members_sharing_a_credentials_env_are_refused_at_the_second() -> None:
    problem = only_problem(edit('credentials_env = "WANG_WC"', 'credentials_env = "LI_WC"'))
    assert problem == (
        'alliance.toml:29: members.wang.credentials_env: "LI_WC" is also the credentials_env '
        "of members.li; each member reads its own keys: give wang its own, such as "
        'credentials_env = "WANG_WC"'
    )


def test_two_member_ids_whose_default_credentials_env_is_the_same_are_refused() -> None:
    text = edit('[members.zhao]\n', '[members.li_x]\nname = "X"\nurl = "https://x.example"\n\n'
                '[members.li-x]\n', TEXT)  # fmt: skip
    text = edit('credentials_env = "ZHAO_WC"\n', "", text)
    found = problems(text)
    assert any(
        p.startswith("alliance.toml:44: members.li-x: ")
        and "keys from LI_X_WC_KEY and LI_X_WC_SECRET, as does members.li_x" in p
        and "write credentials_env" in p
        for p in found
    ), found


@pytest.mark.parametrize(
    "url",
    [
        "https://li.example",
        "https://LI.Example/",
        "HTTPS://li.example:443",
        "https://li.example/?lang=zh",
        "https://user@li.example#top",
    ],
)
def test_two_members_with_the_same_store_address_are_refused(url: str) -> None:
    problem = only_problem(edit('url = "https://wang.example"', f'url = "{url}"'))
    assert problem.startswith("alliance.toml:28: members.wang.url: ")
    assert 'is the store of members.li ("https://li.example")' in problem
    assert "each member has its own store" in problem


@pytest.mark.parametrize(
    "url",
    [
        "http://li.example",
        "https://li.example:8443",
        "https://li.example/shop",
        "https://www.li.example",
    ],
)
def test_another_scheme_port_path_or_host_is_another_store(url: str) -> None:
    assert parse_agreement(edit('url = "https://wang.example"', f'url = "{url}"'))


# -- precision nobody can pay ----------------------------------------------------------------


def test_a_rate_with_more_than_four_decimal_places_is_refused() -> None:
    problem = only_problem(edit('rate = "10%"', 'rate = "10.00001%"'))
    assert problem == (
        'alliance.toml:56: deals[0].rate: rate "10.00001%" has 5 decimal places; write at most '
        '4, such as "10%" (commission is rounded to the currency\'s minor unit anyway)'
    )


def test_a_rate_with_four_decimal_places_is_fine() -> None:
    agreement = parse_agreement(edit('rate = "10%"', 'rate = "10.1234%"'))
    assert agreement.deal("li-wang").rate == Decimal("0.101234")


def test_a_redemption_rate_and_a_percent_discount_follow_the_same_rule() -> None:
    text = edit('redemption_rate = "5%"', 'redemption_rate = "5.123456%"')
    text = edit('amount = "15",', 'amount = "15.00001",', text)
    found = problems(text)
    assert [p.split(": ")[1] for p in found] == [
        "promotions[0].redemption_rate",
        "promotions[0].rewards[2].amount",
    ]
    assert all("write at most 4" in p for p in found)


def test_an_amount_finer_than_the_currency_is_still_refused() -> None:
    problem = only_problem(edit('amount = "0.50"', 'amount = "0.505"'))
    assert "has more decimal places than the currency allows; write at most 2" in problem


def test_a_number_of_five_thousand_digits_is_reported_on_its_line() -> None:
    problem = only_problem(edit("holdback_days = 14", "holdback_days = " + "9" * 5000))
    assert problem == (
        "alliance.toml:13: <file>: holds a number thousands of digits long; write one that fits "
        "in 64 bits"
    )


def test_a_hexadecimal_number_beyond_64_bits_is_refused_by_its_size() -> None:
    problem = only_problem(edit("holdback_days = 14", "holdback_days = 0x" + "f" * 4000))
    assert problem == (
        "alliance.toml:13: alliance.holdback_days: is a whole number of 16000 bits; TOML numbers "
        "fit in 64 bits, and no term of an agreement comes near"
    )


def test_unprintable_characters_in_keys_and_values_are_escaped_in_messages() -> None:
    text = edit('settlement_period = "monthly"', 'settlement_period = "\\u009b2J"\n"k\\u202e" = 1')
    found = problems(text)
    assert all(p.isprintable() for p in found)
    assert any('"\\u009b2J" is not supported' in p for p in found)
    assert any('unknown key "k\\u202e"' in p for p in found)


def test_a_member_id_with_a_control_character_is_spelled_out_where_members_are_listed() -> None:
    """Found by hypothesis: the list of members in "use one of ..." printed the id raw."""
    found = problems(edit("[members.wang]", '[members."\\u001f"]'))
    assert all(p.isprintable() for p in found), found
    listed = next(p for p in found if 'referrer "wang" is not a member' in p)
    assert 'use one of "\\u001f", li, zhang, zhao' in listed
