"""Properties: whatever a person does to alliance.toml, the parser answers with problems.

Random text and random edits of the example (a line deleted, duplicated, or given another
value) never raise anything but AgreementError, every problem points at a real line, and a
secret pasted anywhere is never echoed back.
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alliance.agreement.locate import LineLocator
from alliance.agreement.parse import agreement_summary, parse_agreement
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


# -- generated TOML documents ---------------------------------------------------------------

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return (
        '"'
        + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in escaped)
        + '"'
    )


def _toml_key(key: str) -> str:
    return key if _BARE.fullmatch(key) else _toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return "[" + ", ".join(_toml_value(item) for item in value) + "]"


def toml_document(data: dict[str, Any]) -> str:
    """TOML text for ``data``: plain keys, then [tables], then [[arrays of tables]]."""
    plain, tables, arrays = [], [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append(f"[{_toml_key(key)}]")
            tables += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for table in value:
                arrays.append(f"[[{_toml_key(key)}]]")
                arrays += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
        else:
            plain.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return "\n".join([*plain, *tables, *arrays]) + "\n"


MISTAKES = [
    "9" * 27 + ".00",
    "10.00001%",
    "10%",
    "15.00",
    "Li\u202eShop",
    "Li\x07",
    "LI_WC",
    "WANG_WC",
    "https://LI.example/",
    "https://li.example:99999",
    "li",
    "wang",
    "percent",
    "fixed_cart",
    SECRET,
]
toml_scalars = st.one_of(
    st.text(max_size=16),
    st.sampled_from(MISTAKES),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.times(),
)
toml_keys = st.text(max_size=8) | st.sampled_from(
    ["name", "url", "credentials_env", "amount", "rate", "pay", "id", "members", "label"]
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(toml_keys, children, max_size=3)
    ),
    max_leaves=10,
)
EXAMPLE_DATA = tomllib.loads(EXAMPLE_TEXT)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict | list):
        for key, child in value.items() if isinstance(value, dict) else enumerate(value):
            found += _paths(child, (*path, key))
    return found


EXAMPLE_PATHS = _paths(EXAMPLE_DATA)


def check_command(text: str) -> None:
    """What ``alliance check`` does: parse, then summarise; only AgreementError may escape."""
    try:
        agreement = parse_agreement(text, "alliance.toml")
    except AgreementError as error:
        check(text)  # the problems' own properties
        assert all(str(problem).isprintable() for problem in error.problems)
        return
    assert agreement_summary(agreement).startswith(agreement.settings.name)


@common
@given(st.dictionaries(toml_keys, toml_values, max_size=5))
def test_any_generated_toml_document_passes_check_or_reports_problems(
    data: dict[str, Any],
) -> None:
    check_command(toml_document(data))


@common
@given(
    st.lists(
        st.tuples(st.sampled_from(EXAMPLE_PATHS), toml_values, st.booleans()),
        min_size=1,
        max_size=4,
    )
)
@example([(("deals", 2, "amount"), "9" * 27 + ".00", False)])  # summary.py's InvalidOperation
@example([(("members", "zhao", "url"), "https://ZHANG.example/", False)])
@example([(("alliance", "holdback_days"), 2**63 - 1, False)])
def test_any_generated_edit_of_the_example_passes_check_or_reports_problems(
    edits: list[tuple[tuple[Any, ...], Any, bool]],
) -> None:
    data = copy.deepcopy(EXAMPLE_DATA)
    for path, value, delete in edits:
        target: Any = data
        try:
            for part in path[:-1]:
                target = target[part]
            if delete and isinstance(target, dict):
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced the way there
    check_command(toml_document(data))


def test_the_generated_example_is_the_example() -> None:
    text = toml_document(EXAMPLE_DATA)
    assert tomllib.loads(text) == EXAMPLE_DATA
    assert parse_agreement(text).version == parse_agreement(EXAMPLE_TEXT).version
