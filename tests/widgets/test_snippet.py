"""``alliance widget``: the snippet a shop pastes, which really fills a block when served."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.cli.web_commands import COMMANDS, DEFAULT_BASE_URL, widget
from alliance.services.catalog import upsert_products
from tests.conftest import EXAMPLE, SECRET
from tests.widgets.test_app import Server
from tests.widgets.test_redirect import product, test_settings
from widgets.app import create_app
from widgets.order_refs import order_ref, order_ref_key, read_order_ref
from widgets.snippet import SnippetMode, snippet

BASE = "https://go.parenting.example"


class Tags(HTMLParser):
    """Every start tag of a snippet, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ALLIANCE_CONFIG", str(EXAMPLE))
    monkeypatch.delenv("ALLIANCE_SECRET", raising=False)  # a snippet needs no secret
    return CliRunner()


def test_the_default_snippet_is_a_placeholder_and_the_embed_script(env: CliRunner) -> None:
    result = env.invoke(widget, ["--member", "li", "--placement", "thankyou"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        '<div data-alliance-widget data-member="li" data-placement="thankyou"></div>'
        f'<script src="{BASE}/embed.js" async></script>'
    )
    assert "widget" in {c.name for c in COMMANDS}


def test_a_variant_is_passed_to_the_placeholder(env: CliRunner) -> None:
    result = env.invoke(widget, ["--member", "li", "--placement", "cart", "--variant", "list"])
    assert result.exit_code == 0, result.output
    ((_, div), (_, script)) = tags_of(result.output)
    assert div == {
        "data-alliance-widget": None,
        "data-member": "li",
        "data-placement": "cart",
        "data-variant": "list",
    }
    assert script == {"src": f"{BASE}/embed.js", "async": None}


def test_the_iframe_snippet_is_a_sandboxed_lazy_frame_of_the_block(env: CliRunner) -> None:
    result = env.invoke(widget, ["--member", "wang", "--placement", "product", "--mode", "iframe"])
    assert result.exit_code == 0, result.output
    ((tag, frame),) = tags_of(result.output)
    assert tag == "iframe"
    assert frame["src"] == f"{BASE}/w/wang/product?frame=1"
    assert frame["loading"] == "lazy" and frame["title"]
    sandbox = (frame["sandbox"] or "").split()
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    # sized by attributes, not a style attribute that a strict CSP would refuse
    assert (frame["width"], frame["height"], frame["frameborder"]) == ("100%", "420", "0")
    assert "style" not in frame


def test_the_html_mode_says_where_to_fetch_the_server_side_block(env: CliRunner) -> None:
    result = env.invoke(
        widget,
        ["--member", "li", "--placement", "article", "--variant", "single", "--mode", "html"],
    )
    assert result.exit_code == 0, result.output
    assert f"curl -fsS '{BASE}/w/li/article?variant=single'" in result.output
    assert "Custom HTML" in result.output


def test_without_a_links_base_url_the_snippet_points_at_the_local_server(
    env: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "alliance.toml"
    text = EXAMPLE.read_text(encoding="utf-8")
    config.write_text(text.replace('links_base_url = "https://go.parenting.example"', ""))
    monkeypatch.setenv("ALLIANCE_CONFIG", str(config))
    result = env.invoke(widget, ["--member", "li", "--placement", "thankyou"])
    assert result.exit_code == 0, result.output
    assert f'src="{DEFAULT_BASE_URL}/embed.js"' in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--member", "nobody", "--placement", "thankyou"], "'nobody' is not a member"),
        (["--member", "li", "--placement", "footer"], "Invalid value for '--placement'"),
        (["--member", "li", "--placement", "cart", "--variant", "carousel"], "'--variant'"),
        (["--member", "li", "--placement", "cart", "--mode", "popup"], "'--mode'"),
        (["--placement", "cart"], "Missing option '--member'"),
    ],
)
def test_an_unknown_member_placement_variant_or_mode_is_a_usage_error(
    env: CliRunner, arguments: list[str], message: str
) -> None:
    result = env.invoke(widget, arguments)
    assert result.exit_code == 2
    assert message in result.output
    assert "<div" not in result.output and "<iframe" not in result.output


def test_a_broken_agreement_is_reported_not_a_traceback(
    env: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "alliance.toml"
    config.write_text("[alliance]\nname = 1\n", encoding="utf-8")
    monkeypatch.setenv("ALLIANCE_CONFIG", str(config))
    result = env.invoke(widget, ["--member", "li", "--placement", "thankyou"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_hostile_values_cannot_break_out_of_the_snippet() -> None:
    hostile = '"><script>alert(1)</script>'
    for mode in SnippetMode:
        text = snippet(BASE, hostile, "cart", mode=mode)
        assert "<script>alert" not in text
    ((_, div), _) = tags_of(snippet(BASE, hostile, "cart"))
    assert div["data-member"] == hostile
    with pytest.raises(ValueError):
        snippet(BASE, "li", "cart", variant="carousel")


def test_the_printed_iframe_snippet_loads_a_block_from_a_real_server(
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
    with Server(app) as base:
        ((_, frame),) = tags_of(snippet(base, "li", "thankyou", mode=SnippetMode.IFRAME))
        page = httpx.get(frame["src"] or "", timeout=5)
        ((_, div), (_, script)) = tags_of(snippet(base, "li", "thankyou"))
        js = httpx.get(script["src"] or "", timeout=5)
    assert page.status_code == 200 and "Product 205" in page.text and "Product 302" in page.text
    assert f"{base}/r/" in page.text
    assert js.status_code == 200 and "data-alliance-widget" in js.text
    assert div["data-member"] == "li"
    assert SECRET not in page.text


# --- a thank-you page's order reference ---------------------------------------------------------

HOOK = "li-webhook-secret"


@pytest.fixture
def with_hook(env: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LI_WC_WEBHOOK_SECRET", HOOK)
    return env


def test_an_order_puts_its_signed_reference_on_the_thank_you_placeholder(
    with_hook: CliRunner,
) -> None:
    result = with_hook.invoke(
        widget, ["--member", "li", "--placement", "thankyou", "--order", "1234"]
    )
    assert result.exit_code == 0, result.output
    ((_, div), (_, script)) = tags_of(result.stdout)
    assert div == {
        "data-alliance-widget": None,
        "data-member": "li",
        "data-placement": "thankyou",
        "data-order": order_ref(HOOK, "li", "1234"),
    }
    assert read_order_ref(order_ref_key(HOOK), "li", div["data-order"] or "") == "1234"
    assert script == {"src": f"{BASE}/embed.js", "async": None}
    assert "LI_WC_WEBHOOK_SECRET" in result.stderr and HOOK not in result.output


def test_an_orders_iframe_and_html_snippets_carry_the_reference_in_the_block_url(
    with_hook: CliRunner,
) -> None:
    ref = order_ref(HOOK, "li", "1234")
    framed = with_hook.invoke(
        widget, ["--member", "li", "--placement", "thankyou", "--order", "1234", "--mode", "iframe"]
    )
    assert framed.exit_code == 0, framed.output
    ((_, frame),) = tags_of(framed.stdout)
    assert frame["src"] == f"{BASE}/w/li/thankyou?frame=1&order={ref}"
    html = with_hook.invoke(
        widget, ["--member", "li", "--placement", "thankyou", "--order", "1234", "--mode", "html"]
    )
    assert html.exit_code == 0, html.output
    assert f"curl -fsS '{BASE}/w/li/thankyou?order={ref}'" in html.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--placement", "cart", "--order", "1234"], "only for --placement thankyou"),
        (["--placement", "thankyou", "--order", "12a"], "not a plain order id"),
        (["--placement", "thankyou", "--order", "01234"], "not a plain order id"),
    ],
)
def test_an_order_is_only_for_the_thank_you_placement_and_a_plain_order_id(
    with_hook: CliRunner, arguments: list[str], message: str
) -> None:
    result = with_hook.invoke(widget, ["--member", "li", *arguments])
    assert result.exit_code == 2
    assert message in result.output and "<div" not in result.output


def test_an_order_reference_needs_the_members_webhook_secret(
    env: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LI_WC_WEBHOOK_SECRET", raising=False)
    result = env.invoke(widget, ["--member", "li", "--placement", "thankyou", "--order", "1234"])
    assert result.exit_code == 1
    assert "LI_WC_WEBHOOK_SECRET" in result.output and "<div" not in result.output
