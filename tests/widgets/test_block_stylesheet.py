"""The block's stylesheet: served by the app, so a shop whose CSP forbids inline styles can
allow it by origin; versioned, cached, scoped, and overridable like the templates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from alliance.agreement import Agreement
from tests.widgets.test_blocks import make_app, seed_partners
from widgets.rendering import SHIPPED_TEMPLATES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TestClient on httpx

LINKS_BASE = "https://go.parenting.example"


@pytest.fixture
def client(sqlite_engine: Engine, agreement: Agreement) -> Iterator[TestClient]:
    seed_partners(sqlite_engine)
    with TestClient(make_app(sqlite_engine, agreement)) as client:
        yield client


class Styles(HTMLParser):
    """Everything in a page that CSP's ``style-src`` judges: elements and attributes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.style_elements = 0
        self.style_attributes: list[str] = []
        self.stylesheets: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.style_elements += tag == "style"
        if "style" in found:
            self.style_attributes.append(f"{tag} style={found['style']!r}")
        if tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets.append(found.get("href") or "")


def rules_of(css: str) -> list[str]:
    """The selectors of every rule (comments left out; a rule inside ``@media`` counts)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media[^{]*\{", "", css)
    return [rule.split("{", 1)[0].strip() for rule in css.split("}") if rule.strip()]


def test_the_block_has_no_inline_style_and_links_the_apps_versioned_stylesheet(
    client: TestClient,
) -> None:
    fragment = Styles(client.get("/w/li/product").text)
    assert fragment.style_elements == 0 and fragment.style_attributes == []
    (href,) = fragment.stylesheets
    assert re.fullmatch(rf"{LINKS_BASE}/block\.css\?v=[0-9a-f]{{16}}", href), href
    framed = Styles(client.get("/w/li/product", params={"frame": "1"}).text)
    assert framed.style_elements == 0 and framed.style_attributes == []
    # the frame is a page of the app (/w/li/product): its stylesheet is its own, whatever host
    # and path prefix it is reached under
    assert framed.stylesheets == ["../.." + href.removeprefix(LINKS_BASE)]


def test_the_frame_allows_only_its_own_stylesheet_and_no_inline_style(client: TestClient) -> None:
    for query in ({"frame": "1"}, {}):
        policy = client.get("/w/li/product", params=query).headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["style-src"] == "'self'"
        assert "unsafe-inline" not in policy


def test_the_stylesheet_is_css_with_an_etag_and_cached_for_long_under_its_version(
    client: TestClient,
) -> None:
    (href,) = Styles(client.get("/w/li/product").text).stylesheets
    path = href.removeprefix(LINKS_BASE)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = response.headers["etag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert response.content == (SHIPPED_TEMPLATES / "block.css").read_bytes()
    for other in ("/block.css", "/block.css?v=0123456789abcdef"):
        unversioned = client.get(other)  # a pasted block of an older version still gets styled
        assert unversioned.content == response.content
        assert unversioned.headers["cache-control"] == "public, max-age=300"
        assert unversioned.headers["etag"] == etag


def test_every_rule_of_the_stylesheet_is_scoped_to_the_block_or_its_frame(
    client: TestClient,
) -> None:
    css = client.get("/block.css").text
    rules = rules_of(css)
    assert len(rules) > 20
    for selector in rules:
        for part in selector.split(","):
            assert part.strip().startswith((".sa-block", ".sa-frame")), selector
    assert ":focus-visible{outline:3px solid" in css
    assert "@import" not in css and "url(" not in css  # no further requests, anywhere


def test_a_shop_can_override_the_stylesheet_and_its_version_follows(
    sqlite_engine: Engine, agreement: Agreement, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_partners(sqlite_engine)
    with TestClient(make_app(sqlite_engine, agreement)) as client:
        (shipped,) = Styles(client.get("/w/li/product").text).stylesheets
    (tmp_path / "block.css").write_text(".sa-block{color:#123456}\n", encoding="utf-8")
    monkeypatch.setenv("ALLIANCE_TEMPLATE_DIR", str(tmp_path))
    with TestClient(make_app(sqlite_engine, agreement)) as client:
        (href,) = Styles(client.get("/w/li/product").text).stylesheets
        css = client.get(href.removeprefix(LINKS_BASE))
    assert href != shipped
    assert css.text == ".sa-block{color:#123456}\n"
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_a_card_without_an_image_keeps_the_shape_of_one_with_an_image(client: TestClient) -> None:
    css = client.get("/block.css").text
    assert ".sa-block .sa-card__image{display:block;width:100%;height:auto;aspect-ratio:1/1" in css
    assert ".sa-block .sa-card__image--none{" in css
