"""Properties: whatever a person does to alliance.toml, the parser answers with problems.

Random text and random edits of the example (a line deleted, duplicated, or given another
value) never raise anything but AgreementError, every problem points at a real line, and a
secret pasted anywhere is never echoed back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alliance.agreement.locate import LineLocator
from alliance.agreement.parse import parse_agreement
from alliance.errors import AgreementError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "alliance.toml"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
EXAMPLE_LINES = EXAMPLE_TEXT.splitlines(keepends=True)
SECRET = "cs_" + "5e6f7a8b9c0d" * 3

VALUES = [
    '""',
    '"x"',
    '"110%"',
    '"10"',
    '"-5%"',
    '"15.001"',
    '"li"',
    '"Asia/Nowhere"',
    "0",
    "-1",
    "99999",
    "0.1",
    "true",
    "[]",
    '["li", "li"]',
    "{}",
    '{ member = "li" }',
    "2026-01-01",
    "2026-01-01T00:00:00",
    f'"{SECRET}"',
]

common = settings(
    max_examples=150,
    deadline=None,
    database=None,  # keep the work tree clean: no .hypothesis directory
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture
def example_path() -> Path:
    return EXAMPLE


def check(text: str) -> None:
    """Parse; only AgreementError may escape, and its lines must exist."""
    try:
        parse_agreement(text, "alliance.toml")
    except AgreementError as error:
        assert error.problems
        last = len(text.splitlines()) + 1
        for problem in error.problems:
            assert 1 <= problem.line <= last, str(problem)
            assert problem.file == "alliance.toml"
            assert problem.key and problem.message
        assert SECRET not in str(error)
        assert SECRET[3:23] not in str(error)


def test_the_example_used_by_the_properties_is_valid(example_path: Path) -> None:
    assert parse_agreement(example_path.read_text(encoding="utf-8")).deals


@common
@given(st.text())
def test_random_text_only_ever_raises_agreement_error(text: str) -> None:
    check(text)


@common
@given(st.text(alphabet="[]{}=#\"'\n ,.abc123-_%"))
def test_random_toml_like_text_only_ever_raises_agreement_error(text: str) -> None:
    check(text)
    assert LineLocator(text).line_of(("a", 0, "b")) >= 1


@common
@given(st.integers(min_value=0, max_value=len(EXAMPLE_LINES) - 1))
def test_deleting_any_line_of_the_example_is_reported_or_accepted(index: int) -> None:
    check("".join(EXAMPLE_LINES[:index] + EXAMPLE_LINES[index + 1 :]))


@common
@given(st.integers(min_value=0, max_value=len(EXAMPLE_LINES) - 1))
def test_duplicating_any_line_of_the_example_is_reported_or_accepted(index: int) -> None:
    check("".join(EXAMPLE_LINES[: index + 1] + EXAMPLE_LINES[index:]))


@common
@given(
    st.integers(min_value=0, max_value=len(EXAMPLE_LINES) - 1),
    st.sampled_from(VALUES) | st.text(max_size=12).map(repr),
)
def test_replacing_any_value_of_the_example_is_reported_or_accepted(index: int, value: str) -> None:
    line = EXAMPLE_LINES[index]
    if "=" not in line:
        return
    key = line.split("=", 1)[0]
    lines = [*EXAMPLE_LINES[:index], f"{key}= {value}\n", *EXAMPLE_LINES[index + 1 :]]
    check("".join(lines))


@common
@given(
    st.lists(st.integers(min_value=0, max_value=len(EXAMPLE_LINES) - 1), min_size=1, max_size=4),
    st.lists(st.sampled_from(VALUES), min_size=1, max_size=4),
)
def test_several_edits_at_once_are_reported_together(indexes: list[int], values: list[str]) -> None:
    lines = list(EXAMPLE_LINES)
    for index, value in zip(indexes, values, strict=False):
        if "=" in lines[index] and "[" not in lines[index].split("=", 1)[0]:
            lines[index] = lines[index].split("=", 1)[0] + f"= {value}\n"
    check("".join(lines))


@common
@given(
    st.integers(min_value=0, max_value=len(EXAMPLE_LINES)),
    st.sampled_from(["consumer_secret", "api_key", "notes", "token", "key"]),
)
def test_a_secret_pasted_on_any_line_is_never_echoed(index: int, name: str) -> None:
    lines = [*EXAMPLE_LINES[:index], f'{name} = "{SECRET}"\n', *EXAMPLE_LINES[index:]]
    check("".join(lines))
