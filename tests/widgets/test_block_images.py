"""Product images in the partner block: only from the partner's own store, never mixed content.

A visitor's browser fetches every image the block names, so an image on another host would tell
that host who saw the block. Cards whose image is refused show a neutral placeholder instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from alliance.agreement import Agreement
from tests.widgets.test_blocks import Cards, make_app, product, seed
from widgets.shelves import shown_image

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TestClient on httpx

STORE = "https://wang.example"
UPLOADS = "https://wang.example/wp-content/uploads"


@pytest.fixture
def client(sqlite_engine: Engine, agreement: Agreement) -> Iterator[TestClient]:
    with TestClient(make_app(sqlite_engine, agreement)) as client:
        yield client


@pytest.mark.parametrize(
    "image",
    [
        "http://evil.example/i.png",
        "https://evil.example/i.png",
        "//evil.example/x.png",
        "//wang.example/x.png",  # no scheme: the page's own would be used
        "/wp-content/uploads/x.png",
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)//https://wang.example/x.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "https://wang.example@evil.example/x.png",
        "https://evil.example@wang.example/x.png",  # credentials, even on the store's host
        "https://wang.example:pw@wang.example/x.png",
        "https://evil.example\\@wang.example/x.png",  # browsers read \ as /: host evil.example
        "https://wang.example\\.evil.example/x.png",
        "https://wang.example.evil.example/x.png",
        "https://evilwang.example/x.png",
        "https://sub.wang.example/x.png",
        "https://wаng.example/x.png",  # Cyrillic a
        "https://xn--wng-6cd.example/x.png",  # the same lookalike, as punycode
        "https://wang.example:8443/x.png",
        "https://wang.example:0/x.png",
        "https://wang.example:99999/x.png",
        "https://wang.example%2eevil.example/x.png",
        "https://wang.example\t/x.png",
        "https://wang.exa mple/x.png",
        "https:\\\\wang.example/x.png",
        "ftp://wang.example/x.png",
        "https://[::1]/x.png",
        "https://127.0.0.1/x.png",
        "",
        "https://wang.example/" + "a" * 3000,
    ],
)
def test_an_image_anywhere_but_the_partners_own_store_is_refused(image: str) -> None:
    assert shown_image(image, STORE, secure=True) == ""
    assert shown_image(image, STORE, secure=False) == ""


@pytest.mark.parametrize(
    ("image", "shown"),
    [
        (f"{UPLOADS}/a.jpg", f"{UPLOADS}/a.jpg"),
        ("https://WANG.Example/A.jpg", "https://wang.example/A.jpg"),  # hosts have no case
        ("https://wang.example./a.jpg", "https://wang.example/a.jpg"),
        ("https://wang.example:443/a.jpg", "https://wang.example/a.jpg"),
        ("https://wang.example/a.jpg?w=300&h=300", "https://wang.example/a.jpg?w=300&h=300"),
        ("HTTPS://wang.example/a.jpg", "https://wang.example/a.jpg"),
        ("https://ｗａｎｇ.example/a.jpg", "https://wang.example/a.jpg"),  # what browsers fetch
        # the store is on https, so its own http image is fetched over https (as browsers do)
        ("http://wang.example/a.jpg", "https://wang.example/a.jpg"),
        ("http://wang.example:80/a.jpg", "https://wang.example/a.jpg"),
    ],
)  # fmt: skip
def test_an_image_on_the_partners_own_store_is_shown_as_browsers_would_fetch_it(
    image: str, shown: str
) -> None:
    assert shown_image(image, STORE, secure=True) == shown


def test_an_http_image_is_shown_only_on_an_http_block_unless_the_store_serves_https() -> None:
    plain = "http://wang.example"
    assert shown_image("http://wang.example/a.jpg", plain, secure=True) == ""
    assert shown_image("http://wang.example/a.jpg", plain, secure=False) == (
        "http://wang.example/a.jpg"
    )
    assert shown_image("https://wang.example/a.jpg", plain, secure=True) == (
        "https://wang.example/a.jpg"
    )
    assert shown_image("http://wang.example:8080/a.jpg", plain, secure=False) == ""


def test_a_store_on_a_port_of_its_own_shows_images_on_that_port_only() -> None:
    store = "http://127.0.0.1:8001"
    assert shown_image("http://127.0.0.1:8001/i.svg", store, secure=False) == (
        "http://127.0.0.1:8001/i.svg"
    )
    assert shown_image("http://127.0.0.1:8002/i.svg", store, secure=False) == ""
    assert shown_image("http://127.0.0.1/i.svg", store, secure=False) == ""
    assert shown_image("http://localhost:8001/i.svg", store, secure=False) == ""
    assert shown_image("http://127.0.0.1:8001/i.svg", store, secure=True) == ""
    assert shown_image("https://wang.example/i.png", "https://wang.example:8443", secure=True) == ""
    assert shown_image("http://[::1]:8001/i.svg", "http://[::1]:8001", secure=False) == (
        "http://[::1]:8001/i.svg"
    )


def test_a_store_with_an_international_name_matches_its_punycode_and_is_fetched_by_it() -> None:
    store = "https://宝宝.example"
    ascii_host = "https://xn--pbta.example"
    assert shown_image(f"{ascii_host}/a.jpg", store, secure=True) == f"{ascii_host}/a.jpg"
    assert shown_image("https://宝宝.example/a.jpg", store, secure=True) == f"{ascii_host}/a.jpg"
    assert shown_image("https://宝贝.example/a.jpg", store, secure=True) == ""


def test_a_store_url_that_is_not_a_web_url_shows_no_images() -> None:
    for store in ("", "wang.example", "javascript:alert(1)", "https://u@wang.example"):
        assert shown_image("https://wang.example/a.jpg", store, secure=True) == ""


# --- in the block --------------------------------------------------------------------------------


def test_cards_whose_image_is_refused_show_a_placeholder_and_name_no_other_host(
    client: TestClient, sqlite_engine: Engine
) -> None:
    seed(
        sqlite_engine,
        product("wang", 1, name="Own image"),  # https://wang.example/wp-content/uploads/...
        product("wang", 2, name="Tracker", image="https://evil.example/i.png"),
        product("wang", 3, name="Relative", image="//evil.example/x.png"),
        product("wang", 4, name="Userinfo", image="https://wang.example@evil.example/x.png"),
        product("wang", 5, name="Mixed", image="http://zhao.example/x.png"),
        product("zhao", 6, name="No image", image=None),
    )
    for query in ({"count": 6}, {"count": 6, "frame": "1"}):
        response = client.get("/w/li/product", params=query)
        cards = Cards(response.text)
        assert len(cards.names) == 6
        images = [a["src"] for t, a in cards.tags if t == "img"]
        placeholders = [
            (t, a) for t, a in cards.tags if "sa-card__image--none" in (a.get("class") or "")
        ]
        assert images == [f"{UPLOADS}/2026/10/own-image.jpg"]
        assert len(placeholders) == 5
        assert all(t == "span" and a["aria-hidden"] == "true" for t, a in placeholders)
        assert "evil.example" not in response.text
        assert "http://zhao.example" not in response.text


def test_an_http_image_of_an_https_store_is_upgraded_in_the_block(
    client: TestClient, sqlite_engine: Engine
) -> None:
    seed(sqlite_engine, product("wang", 1, image="http://wang.example/wp-content/uploads/a.jpg"))
    cards = Cards(client.get("/w/li/product").text)
    assert [a["src"] for t, a in cards.tags if t == "img"] == [f"{UPLOADS}/a.jpg"]
