"""The snippet's options are one list: what ``embed.js`` reads, the ``alliance widget`` flags
and the README's table all come from (or are checked against) ``SNIPPET_OPTIONS``; each flag
really reaches the block, in every mode, the language included."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.cli.web_commands import widget
from alliance.services.catalog import upsert_products
from tests.conftest import EXAMPLE
from tests.widgets.test_app import Server
from tests.widgets.test_redirect import product, test_settings
from tests.widgets.test_snippet import BASE, tags_of
from widgets.app import create_app
from widgets.rendering import SHIPPED_TEMPLATES
from widgets.snippet import SNIPPET_OPTIONS, SnippetMode, options_table, snippet

README = Path(__file__).resolve().parents[2] / "README.md"
EMBED = (SHIPPED_TEMPLATES / "embed.js").read_text(encoding="utf-8")
OWN_MARKERS = {"data-alliance-widget", "data-alliance-filled"}
"""The placeholder's marker and the script's own note that it filled it: not options."""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ALLIANCE_CONFIG", str(EXAMPLE))
    return CliRunner()


def test_embed_js_reads_exactly_the_listed_attributes_and_passes_each_query_option_on() -> None:
    read = set(re.findall(r"getAttribute\(\"(data-[a-z-]+)\"\)", EMBED)) - OWN_MARKERS
    assert read == {option.attribute for option in SNIPPET_OPTIONS}
    for option in SNIPPET_OPTIONS:
        if option.query:
            assert f'"&{option.query}=" + encodeURIComponent(' in EMBED, option.query
    assert "data-alliance-widget" in EMBED


def test_alliance_widget_has_a_flag_for_every_option_and_no_other() -> None:
    flags = {opt for param in widget.params for opt in param.opts}
    assert flags - {"--help"} == {option.flag for option in SNIPPET_OPTIONS}


def test_the_readme_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- snippet-options:[^>]*-->\n(.*?)\n<!-- /snippet-options -->", text, re.S
    )
    assert found, "README.md lost its snippet options table"
    assert found.group(1) == options_table(), (
        "README.md's snippet options differ from widgets/snippet.py: paste the output of "
        "`python -c 'from widgets.snippet import options_table; print(options_table())'`"
    )
    assert "--count" in found.group(1) and "data-height" in found.group(1)


def test_every_flag_reaches_the_script_placeholder(env: CliRunner) -> None:
    args = ["--member", "li", "--placement", "cart", "--variant", "list", "--count", "5"]
    args += ["--lang", "zh-Hans", "--height", "600", "--title", "Partner picks"]
    result = env.invoke(widget, args)
    assert result.exit_code == 0, result.output
    ((_, div), _) = tags_of(result.output)
    assert {name: div[name] for name in div if name.startswith("data-") and div[name]} == {
        "data-member": "li",
        "data-placement": "cart",
        "data-variant": "list",
        "data-count": "5",
        "data-lang": "zh-Hans",
        "data-height": "600",
        "data-title": "Partner picks",
    }


def test_the_iframe_snippet_carries_the_language_count_height_and_title(env: CliRunner) -> None:
    args = ["--member", "li", "--placement", "product", "--mode", "iframe", "--count", "3"]
    result = env.invoke(widget, [*args, "--lang", "zh-Hans", "--height", "500", "--title", "T"])
    assert result.exit_code == 0, result.output
    ((tag, frame),) = tags_of(result.output)
    assert tag == "iframe" and (frame["height"], frame["title"]) == ("500", "T")
    query = parse_qs(urlsplit(frame["src"] or "").query)
    assert query == {"frame": ["1"], "count": ["3"], "lang": ["zh-Hans"]}
    assert "note:" not in result.output
    bare = env.invoke(widget, args)  # no --lang: the command says what the frame will speak
    assert "cannot read your page's language" in bare.output
    assert "--lang (en or zh-Hans)" in bare.output


def test_html_mode_fetches_the_block_with_count_and_language(env: CliRunner) -> None:
    args = ["--member", "li", "--placement", "article", "--mode", "html", "--count", "6"]
    result = env.invoke(widget, [*args, "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert f"curl -fsS '{BASE}/w/li/article?count=6&lang=en'" in result.output


@pytest.mark.parametrize(
    ("flag", "value"), [("--count", "7"), ("--count", "2"), ("--lang", "fr"), ("--height", "0")]
)
def test_a_value_the_block_does_not_take_is_a_usage_error(
    env: CliRunner,
    flag: str,
    value: str,
) -> None:
    result = env.invoke(widget, ["--member", "li", "--placement", "cart", flag, value])
    assert result.exit_code == 2 and flag in result.output


def test_a_chinese_iframe_snippet_gets_a_chinese_block_whatever_the_browser_asks(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    with sqlite_engine.begin() as conn:
        upsert_products(
            conn,
            [
                product("wang", "205", "https://wang.example/p/wash"),
                product("zhao", "301", "https://zhao.example/shoot"),
                product("zhao", "302", "https://zhao.example/album"),
            ],
        )
    local = dataclasses.replace(
        agreement, settings=dataclasses.replace(agreement.settings, links_base_url=None)
    )
    app = create_app(test_settings(), agreement=local, engine=sqlite_engine)
    english = {"Accept-Language": "en-US,en;q=0.9"}
    with Server(app) as base:
        chinese = snippet(base, "li", "product", mode=SnippetMode.IFRAME, lang="zh-Hans", count=3)
        ((_, frame),) = tags_of(chinese)
        page = httpx.get(frame["src"] or "", headers=english, timeout=5)
        ((_, plain),) = tags_of(snippet(base, "li", "product", mode=SnippetMode.IFRAME))
        default = httpx.get(plain["src"] or "", headers=english, timeout=5)
    assert page.status_code == 200 and '<html lang="zh-Hans">' in page.text
    assert "合作伙伴推荐" in page.text and page.text.count('class="sa-card"') == 3
    assert '<html lang="en">' in default.text
