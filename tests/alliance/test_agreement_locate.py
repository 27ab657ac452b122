"""LineLocator: the line of every key, table and array element of alliance.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from alliance.agreement.locate import LineLocator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "alliance.toml"


@pytest.fixture
def example() -> LineLocator:
    return LineLocator(EXAMPLE.read_text(encoding="utf-8"))


def test_table_headers_and_their_keys_have_their_own_lines(example: LineLocator) -> None:
    assert example.line_of(("alliance",)) == 6
    assert example.line_of(("alliance", "timezone")) == 9
    assert example.line_of(("members", "li")) == 16
    assert example.line_of(("members", "li", "url")) == 20


def test_a_key_in_the_third_deal_is_found_in_that_deal(example: LineLocator) -> None:
    assert example.line_of(("deals", 2)) == 69
    assert example.line_of(("deals", 2, "amount")) == 74
    assert example.line_of(("deals", 1, "rate")) == 65


def test_a_sub_table_belongs_to_the_latest_array_of_tables_element(
    example: LineLocator,
) -> None:
    assert example.line_of(("deals", 4, "referral_coupons")) == 91
    assert example.line_of(("deals", 4, "referral_coupons", "zhang")) == 93
    assert example.line_of(("deals", 4, "referral_coupons", "zhang", 0)) == 93


def test_elements_of_a_multiline_array_of_inline_tables_have_their_lines(
    example: LineLocator,
) -> None:
    assert example.line_of(("promotions", 0, "rewards")) == 104
    assert example.line_of(("promotions", 0, "rewards", 0)) == 105
    assert example.line_of(("promotions", 0, "rewards", 1, "amount")) == 106
    assert example.line_of(("promotions", 0, "rewards", 2, "label")) == 107


def test_keys_inside_an_inline_table_are_located(example: LineLocator) -> None:
    assert example.line_of(("promotions", 0, "trigger", "member")) == 98
    assert example.line_of(("promotions", 0, "trigger", "min_order_total")) == 98


def test_an_unknown_path_falls_back_to_its_nearest_known_ancestor(example: LineLocator) -> None:
    assert example.line_of(("deals", 3, "rate")) == 77
    assert example.line_of(("members", "li", "nothing", 4)) == 16
    assert example.line_of(("promotions", 0, "rewards", 7, "member")) == 104


def test_a_path_nothing_is_known_about_is_on_line_one(example: LineLocator) -> None:
    assert example.line_of(("nowhere",)) == 1
    assert example.line_of(()) == 1
    assert LineLocator("").line_of(("alliance", "name")) == 1


def test_hashes_and_braces_inside_strings_are_not_read_as_comments_or_tables() -> None:
    text = (
        "[a]\nx = \"not # a comment { [b] }\"\ny = 'also [c] # literal'\n"
        'z = { k = "}", j = "#" }\nw = 1\n'
    )
    locator = LineLocator(text)
    assert locator.line_of(("a", "w")) == 5
    assert locator.line_of(("a", "z", "j")) == 4
    assert locator.line_of(("b",)) == 1


def test_multiline_strings_do_not_hide_the_keys_after_them() -> None:
    text = 'a = """\nline [x]\nk = 1 "\\""""\nb = \'\'\'\n{ c = 2 }\n\'\'\'\nd = 3\n'
    locator = LineLocator(text)
    assert locator.line_of(("b",)) == 4
    assert locator.line_of(("d",)) == 7
    assert locator.line_of(("k",)) == 1


def test_quoted_and_dotted_keys_are_located_under_their_parts() -> None:
    locator = LineLocator('[members."odd shop"]\nsite.url = "x"\n"quoted\\tkey" = 1\n')
    assert locator.line_of(("members", "odd shop")) == 1
    assert locator.line_of(("members", "odd shop", "site", "url")) == 2
    assert locator.line_of(("members", "odd shop", "quoted\tkey")) == 3


def test_each_array_of_tables_element_and_nested_array_restarts_its_count() -> None:
    text = "[[d]]\nid = 1\n[[d.x]]\nv = 1\n[[d.x]]\nv = 2\n[[d]]\nid = 2\n[[d.x]]\nv = 3\n"
    locator = LineLocator(text)
    assert locator.line_of(("d", 0, "x", 1, "v")) == 6
    assert locator.line_of(("d", 1, "id")) == 8
    assert locator.line_of(("d", 1, "x", 0, "v")) == 10


def test_a_multiline_array_with_comments_counts_elements_after_the_comments() -> None:
    text = 'r = [\n  # first\n  { m = "a" },  # one\n\n  { m = "b", n = [1,\n 2] },\n]\nz = 1\n'
    locator = LineLocator(text)
    assert locator.line_of(("r", 0, "m")) == 3
    assert locator.line_of(("r", 1, "n", 1)) == 6
    assert locator.line_of(("z",)) == 8


def test_garbage_text_never_raises() -> None:
    for text in ("[", "[[", "= = =", '"', "a = [{", "a = '''", "\x00", "[a.\n]]", "a.=1"):
        assert LineLocator(text).line_of(("a", 0, "b")) >= 1
