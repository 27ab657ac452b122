"""The partner block: which products, in which order, in which language, safely escaped."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import UndefinedError
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from alliance.agreement import Agreement
from alliance.products import Product
from alliance.services.catalog import upsert_products
from alliance.settings import Settings
from alliance.storage.impressions import impressions_between
from connector.fixtures.products import woo_product
from connector.woocommerce.products import map_product
from tests.conftest import EXAMPLE, SECRET
from widgets import i18n
from widgets.app import create_app, flush_impressions
from widgets.impression_counter import impressions_of
from widgets.links import link_key, verify_link
from widgets.rendering import SHIPPED_TEMPLATES, make_environment
from widgets.rotation import ROTATION_SECONDS, choose_products
from widgets.shelves import Shelf, partner_deals, shelf_products

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TestClient on httpx

KEY = link_key(SECRET.encode())
SITES = {m: f"https://{m}.example" for m in ("li", "wang", "zhang", "zhao")}
HOSTILE_NAMES = ("<img src=x onerror=alert(1)>", '"><script>alert(1)</script>')


# --- helpers ----------------------------------------------------------------------------------


def product(member: str, id: int, **kwargs: Any) -> Product:
    """A product as the connector maps it from WooCommerce JSON on the member's own store."""
    kwargs.setdefault("site", SITES[member])
    return map_product(woo_product(id, **kwargs), member)


def seed(engine: Engine, *products: Product) -> None:
    with engine.begin() as conn:
        upsert_products(conn, list(products))


def seed_partners(engine: Engine, per_member: int = 4) -> None:
    """``per_member`` in-stock products for every member: ids 100*k + n."""
    items = []
    for k, member in enumerate(("li", "wang", "zhang", "zhao"), start=1):
        items += [
            product(member, 100 * k + n, name=f"{member} item {n}") for n in range(per_member)
        ]
    seed(engine, *items)


def make_app(engine: Engine, agreement: Agreement) -> Starlette:
    settings = Settings(config_path=EXAMPLE, database_url="sqlite://", secret=SECRET)
    return create_app(settings, agreement=agreement, engine=engine)


@pytest.fixture
def app(sqlite_engine: Engine, agreement: Agreement) -> Starlette:
    return make_app(sqlite_engine, agreement)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


class Cards(HTMLParser):
    """What a browser would build from the block: elements, attributes and link targets."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.names: list[str] = []
        self._in_name = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_name = ("class", "sa-card__name") in attrs

    def handle_data(self, data: str) -> None:
        if self._in_name:
            self.names.append(data)
            self._in_name = False

    def links(self) -> list[str]:
        return [a["href"] or "" for t, a in self.tags if t == "a"]

    def claims(self) -> list[Any]:
        return [verify_link(KEY, href.rsplit("/r/", 1)[1]) for href in self.links()]


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """The app on a real uvicorn server on 127.0.0.1, a free port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def shelf(partner: str, n: int, deal: str = "") -> Shelf:
    items = tuple(product(partner, 1000 + i, name=f"{partner} {i}") for i in range(n))
    return Shelf(partner, deal or f"deal-{partner}", items)


# --- choosing products (pure) -------------------------------------------------------------------


def test_only_partners_whose_deal_names_the_member_as_referrer_are_recommended(
    agreement: Agreement,
) -> None:
    assert partner_deals(agreement, "li") == {"wang": "li-wang", "zhao": "li-zhao"}
    assert partner_deals(agreement, "wang") == {"li": "wang-li", "zhang": "wang-zhang"}
    assert partner_deals(agreement, "zhao") == {"zhang": "zhang-zhao"}  # the swap, reversed
    assert partner_deals(agreement, "nobody") == {}


def test_out_of_stock_unpublished_and_off_store_products_are_not_on_the_shelf() -> None:
    kept = product("wang", 1, name="In stock")
    backorder = product("wang", 2, name="Backorder", stock_status="onbackorder")
    items = [
        kept,
        backorder,
        product("wang", 3, name="Sold out", stock_status="outofstock"),
        product("wang", 4, name="Draft", status="draft"),
        product("wang", 5, name="Elsewhere", site="https://evil.example"),
    ]
    assert shelf_products(items, SITES["wang"]) == (kept, backorder)


def test_cards_go_round_robin_across_partners_starting_where_the_rotation_says() -> None:
    shelves = [shelf("wang", 3), shelf("zhao", 3), shelf("zhang", 3)]
    picks = choose_products(shelves, 4, rotation=0)
    assert [p.product.member for p in picks] == ["wang", "zhang", "zhao", "wang"]
    picks = choose_products(shelves, 4, rotation=1)
    assert [p.product.member for p in picks] == ["zhang", "zhao", "wang", "zhang"]
    assert all(p.deal_id == f"deal-{p.product.member}" for p in picks)


def test_rotation_is_deterministic_and_fair_over_many_rotations() -> None:
    shelves = [shelf("wang", 5), shelf("zhao", 2), shelf("zhang", 4)]
    first = [choose_products(shelves, 4, r) for r in range(300)]
    assert first == [choose_products(shelves, 4, r) for r in range(300)]
    per_partner = Counter(p.product.member for picks in first for p in picks)
    assert per_partner == {"wang": 400, "zhao": 400, "zhang": 400}
    starts = Counter(picks[0].product.member for picks in first)
    assert starts == {"wang": 100, "zhao": 100, "zhang": 100}
    shown = Counter(
        p.product.product_id for picks in first for p in picks if p.product.member == "wang"
    )
    assert len(shown) == 5 and max(shown.values()) - min(shown.values()) <= 1  # every product


def test_a_short_shelf_leaves_its_turns_to_the_other_partners() -> None:
    picks = choose_products([shelf("wang", 1), shelf("zhao", 5)], 4, rotation=0)
    assert [p.product.member for p in picks] == ["wang", "zhao", "zhao", "zhao"]
    assert len({p.product.ref for p in picks}) == 4  # no product twice


def test_no_products_or_no_partners_choose_nothing() -> None:
    assert choose_products([], 4, 0) == []
    assert choose_products([shelf("wang", 0)], 4, 0) == []
    assert len(choose_products([shelf("wang", 2)], 6, 0)) == 2


# --- the route -----------------------------------------------------------------------------------


def test_the_block_shows_partner_products_linked_through_signed_tracked_urls(
    engine: Engine, agreement: Agreement
) -> None:
    seed_partners(engine)
    seed(engine, product("wang", 299, name="Sold out wash", stock_status="outofstock"))
    with TestClient(make_app(engine, agreement)) as client:
        response = client.get("/w/li/product", params={"count": 6})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    cards = Cards(response.text)
    assert len(cards.names) == 6
    assert {n.split(" item")[0] for n in cards.names} == {"wang", "zhao"}  # li's deals only
    assert "Sold out wash" not in response.text
    assert all(href.startswith("https://go.parenting.example/r/") for href in cards.links())
    for claim, name in zip(cards.claims(), cards.names, strict=True):
        assert (claim.source, claim.placement) == ("li", "product")
        assert claim.target == name.split(" ")[0]
        assert claim.deal_id == {"wang": "li-wang", "zhao": "li-zhao"}[claim.target]
    wang = [c.product_id for c in cards.claims() if c.target == "wang"]
    assert len(set(wang)) == 3 and set(wang) <= {"200", "201", "202", "203"}


def test_without_a_links_base_url_the_cards_link_to_the_service_itself(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    seed_partners(sqlite_engine)
    bare = replace(agreement, settings=replace(agreement.settings, links_base_url=None))
    with TestClient(make_app(sqlite_engine, bare), base_url="http://blocks.test") as client:
        links = Cards(client.get("/w/wang/cart").text).links()
    assert links and all(href.startswith("http://blocks.test/r/") for href in links)


@pytest.mark.parametrize(
    ("query", "cards", "css_class"),
    [
        ({}, 4, "sa-block--grid"),
        ({"variant": "grid", "count": "3"}, 3, "sa-block--grid"),
        ({"variant": "list"}, 3, "sa-block--list"),
        ({"variant": "list", "count": "5"}, 5, "sa-block--list"),
        ({"variant": "single"}, 1, "sa-block--single"),
    ],
)
def test_variants_set_the_layout_and_number_of_cards(
    client: TestClient, sqlite_engine: Engine, query: dict, cards: int, css_class: str
) -> None:
    seed_partners(sqlite_engine)
    response = client.get("/w/li/article", params=query)
    assert response.status_code == 200
    assert len(Cards(response.text).names) == cards
    assert f'class="sa-block {css_class}"' in response.text


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/w/nobody/product", 404),
        ("/w/li/sidebar", 404),
        ("/w/li/product?variant=carousel", 400),
        ("/w/li/product?count=7", 400),
        ("/w/li/product?count=2", 400),
        ("/w/li/product?count=four", 400),
    ],
)
def test_unknown_members_placements_and_bad_parameters_are_refused(
    client: TestClient, sqlite_engine: Engine, path: str, status: int
) -> None:
    seed_partners(sqlite_engine)
    response = client.get(path)
    assert response.status_code == status
    assert "sa-block" not in response.text


def test_a_member_whose_partners_have_nothing_in_stock_gets_an_empty_answer(
    client: TestClient, sqlite_engine: Engine
) -> None:
    seed(sqlite_engine, product("wang", 1, stock_status="outofstock"))
    response = client.get("/w/li/thankyou")
    assert response.status_code == 204
    assert response.content == b""


def test_rotation_is_fair_across_partners_over_many_requests(
    app: Starlette, sqlite_engine: Engine
) -> None:
    seed_partners(sqlite_engine, per_member=6)
    now = [1_800_000_000.0]
    app.state.clock = lambda: now[0]
    shown: Counter[str] = Counter()
    starts: Counter[str] = Counter()
    with TestClient(app) as client:
        for _ in range(40):
            claims = Cards(client.get("/w/li/product", params={"count": 3}).text).claims()
            shown.update(c.target for c in claims)
            starts[claims[0].target] += 1
            now[0] += ROTATION_SECONDS
    assert shown == {"wang": 60, "zhao": 60}
    assert starts == {"wang": 20, "zhao": 20}


def test_within_one_rotation_slot_the_block_does_not_change(
    app: Starlette, sqlite_engine: Engine
) -> None:
    seed_partners(sqlite_engine)
    app.state.clock = lambda: 1_800_000_000.0
    with TestClient(app) as client:
        first = client.get("/w/li/product")
        seed(sqlite_engine, product("wang", 250, name="Brand new"))  # next slot shows it
        again = client.get("/w/li/product")
    assert again.content == first.content


BROWSER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)
BROWSER_FETCH = {"User-Agent": BROWSER_AGENT, "Sec-Fetch-Dest": "empty", "Sec-Fetch-Mode": "cors"}
"""What a browser sends with ``embed.js``'s ``fetch``."""
EMBED_FOUR = {"count": "4", "embed": "1"}


def test_impressions_are_counted_in_memory_and_added_to_the_database_when_flushed(
    app: Starlette, sqlite_engine: Engine
) -> None:
    seed_partners(sqlite_engine)
    app.state.clock = lambda: 1_800_000_000.0  # 2027-01-15 UTC
    with TestClient(app, headers=BROWSER_FETCH) as client:
        for _ in range(3):
            assert client.get("/w/li/cart", params=EMBED_FOUR).status_code == 200
        etag = client.get("/w/li/cart", params=EMBED_FOUR).headers["etag"]
        revalidated = client.get("/w/li/cart", params=EMBED_FOUR, headers={"If-None-Match": etag})
        assert revalidated.status_code == 304
    day = "2027-01-15"  # 08:00 UTC, 16:00 in Asia/Shanghai (the agreement's days)
    counter = impressions_of(app.state)
    assert counter.drain() == {}  # the app flushed them when it stopped
    assert sum(counter.totals.values()) == 20
    with sqlite_engine.connect() as conn:
        stored = impressions_between(conn, day, day)
    assert stored == {(day, "li", "cart", "wang"): 10, (day, "li", "cart", "zhao"): 10}
    with TestClient(app, headers=BROWSER_FETCH) as client:  # a second run adds to the rows
        client.get("/w/li/cart", params=EMBED_FOUR)
        assert flush_impressions(app) == 4
    with sqlite_engine.connect() as conn:
        assert impressions_between(conn, day, day)[(day, "li", "cart", "wang")] == 12


# --- ETag and caching ----------------------------------------------------------------------------


def test_etag_and_cache_control_let_browsers_and_proxies_revalidate(
    client: TestClient, sqlite_engine: Engine
) -> None:
    seed_partners(sqlite_engine)
    first = client.get("/w/li/product")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=60"
    assert first.headers["vary"] == "Accept-Language"
    assert etag.startswith('"') and len(etag) == 34
    for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get("/w/li/product", headers={"If-None-Match": value})
        assert again.status_code == 304, value
        assert again.content == b""
        assert again.headers["etag"] == etag
    stale = client.get("/w/li/product", headers={"If-None-Match": '"0123"'})
    assert stale.status_code == 200 and stale.content == first.content
    chinese = client.get("/w/li/product", params={"lang": "zh"})
    assert chinese.headers["etag"] != etag


# --- languages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "headers", "chinese"),
    [
        ({}, {}, False),
        ({"lang": "zh"}, {}, True),
        ({"lang": "zh-CN"}, {"Accept-Language": "en"}, True),
        ({}, {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, True),
        ({}, {"Accept-Language": "fr-FR, en;q=0.5, zh;q=0.4"}, False),
        ({"lang": "en"}, {"Accept-Language": "zh-CN"}, False),
        ({"lang": "xx"}, {"Accept-Language": "zh-Hans"}, True),  # unknown lang: the header
        ({}, {"Accept-Language": "de, fr"}, False),  # nothing we have: English
    ],
)
def test_the_block_speaks_simplified_chinese_when_asked(
    client: TestClient, sqlite_engine: Engine, params: dict, headers: dict, chinese: bool
) -> None:
    seed(sqlite_engine, product("wang", 1, regular_price=Decimal("70.00")))
    text = client.get("/w/li/product", params=params, headers=headers).text
    if chinese:
        assert 'lang="zh-Hans"' in text
        assert "合作伙伴推荐" in text and "来自 Wang&#39;s Natural Baby Care" in text
        assert "原价" in text and "¥59.00" in text
        assert "Recommended by our partners" not in text
    else:
        assert 'lang="en"' in text
        assert "Recommended by our partners" in text and "from Wang&#39;s" in text
        assert "CN¥59.00" in text and "合作" not in text


def test_accept_language_is_read_by_quality_then_order() -> None:
    assert i18n.parse_accept_language("en;q=0.5, zh-CN, de;q=0, fr;q=0.8") == [
        "zh-CN", "fr", "en",
    ]  # fmt: skip
    assert i18n.parse_accept_language("*, ;q=x, en;q=abc") == []
    assert i18n.choose_locale(None, "x" * 5000 + ",zh") == "en"  # cut, not parsed forever


def test_every_message_of_the_templates_is_translated_and_the_block_speaks_it() -> None:
    po_file = i18n.po_path(i18n.SIMPLIFIED_CHINESE)
    with po_file.open("rb") as f:
        catalog = read_po(f)
    extracted = {
        message
        for _, _, message, _, _ in extract_from_dir(
            SHIPPED_TEMPLATES,
            method_map=[("**.html", "jinja2")],
            options_map={"**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}},
        )
    }
    assert extracted == {m.id for m in catalog if m.id}
    assert all(m.string and not m.fuzzy for m in catalog if m.id)
    chinese = i18n.translations(i18n.SIMPLIFIED_CHINESE)
    for message in catalog:
        if message.id and isinstance(message.id, str):
            assert chinese.gettext(message.id) == message.string != message.id


# --- escaping ------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_a_hostile_product_name_renders_as_text(
    client: TestClient, sqlite_engine: Engine, hostile: str
) -> None:
    seed(sqlite_engine, product("wang", 1, name=hostile))
    for query in ({}, {"frame": "1"}, {"variant": "single", "lang": "zh"}):
        text = client.get("/w/li/product", params=query).text
        cards = Cards(text)
        assert cards.names == [hostile]  # shown to the shopper exactly as named
        assert not any(t == "script" for t, _ in cards.tags)
        assert not any(k.startswith("on") for _, attrs in cards.tags for k in attrs)
        assert [a["alt"] for t, a in cards.tags if t == "img"] == [hostile]
        assert hostile not in text


def test_hostile_urls_never_reach_an_attribute_unescaped(
    client: TestClient, sqlite_engine: Engine
) -> None:
    image = 'https://wang.example/a.jpg?"><script>alert(1)</script>'
    seed(
        sqlite_engine,
        product("wang", 1, image=image),
        product("wang", 2, image="javascript:alert(1)"),  # dropped by the connector
    )
    text = client.get("/w/li/product").text
    cards = Cards(text)
    assert sorted(a["src"] or "" for t, a in cards.tags if t == "img") == [image]
    assert not any(t == "script" for t, _ in cards.tags)
    assert "javascript:" not in text


# --- templates ------------------------------------------------------------------------------


def test_a_shop_can_override_a_template_from_its_own_folder(
    sqlite_engine: Engine, agreement: Agreement, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "block.html").write_text(
        '<div class="my-shop">{% for card in block.cards %}'
        '<a href="{{ card.url }}">{{ card.name }}</a>{% endfor %}</div>',
        encoding="utf-8",
    )
    monkeypatch.setenv("ALLIANCE_TEMPLATE_DIR", str(tmp_path))
    seed(sqlite_engine, product("wang", 1, name=HOSTILE_NAMES[1]))
    with TestClient(make_app(sqlite_engine, agreement)) as client:
        plain = client.get("/w/li/product").text
        framed = client.get("/w/li/product", params={"frame": "1"}).text
    assert plain.startswith('<div class="my-shop"><a href="https://go.parenting.example/r/')
    assert "&#34;&gt;&lt;script&gt;" in plain  # overrides are autoescaped too
    assert '<div class="my-shop">' in framed and "<!doctype html>" in framed  # rest shipped


def test_the_environment_escapes_strings_and_fails_on_missing_variables(tmp_path: Path) -> None:
    environment = make_environment(tmp_path)
    assert environment.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    script = environment.from_string("<script>var x = {{ x|tojson }};</script>")
    rendered = script.render(x="</script><script>alert(1)</script>")
    assert "</script>" not in rendered.removesuffix("</script>")
    assert rendered.startswith('<script>var x = "\\u003c/script\\u003e\\u003cscript')
    with pytest.raises(UndefinedError):
        environment.from_string("{{ nope }}").render()
    assert environment.get_template("block.html") is environment.get_template("block.html")


@pytest.mark.parametrize("name", ["block.html", "block_iframe.html"])
def test_shipped_templates_never_mark_data_safe(name: str) -> None:
    source = (SHIPPED_TEMPLATES / name).read_text(encoding="utf-8")
    assert "|safe" not in source.replace(" ", "") and "autoescape false" not in source


def test_the_block_is_accessible_lazy_and_self_contained(
    client: TestClient, sqlite_engine: Engine
) -> None:
    seed_partners(sqlite_engine)
    text = client.get("/w/li/product").text
    cards = Cards(text)
    images = [a for t, a in cards.tags if t == "img"]
    assert images and all(a["alt"] and a["loading"] == "lazy" for a in images)
    assert all(a.get("tabindex") is None for t, a in cards.tags)  # links are naturally focusable
    section = next(a for t, a in cards.tags if t == "section")
    assert section["aria-labelledby"] == "sa-li-product-title"
    assert not [a for t, a in cards.tags if t in {"script", "iframe", "style"}]
    # one asset, the app's own stylesheet (tests/widgets/test_block_stylesheet.py)
    assert [a["rel"] for t, a in cards.tags if t == "link"] == ["stylesheet"]


def test_the_iframe_variant_is_a_whole_page_whose_links_leave_the_frame(
    client: TestClient, sqlite_engine: Engine
) -> None:
    seed_partners(sqlite_engine)
    response = client.get("/w/li/product", params={"frame": "1", "lang": "zh"})
    assert response.status_code == 200
    assert response.text.startswith('<!doctype html>\n<html lang="zh-Hans">')
    assert "<title>合作伙伴推荐</title>" in response.text
    assert all(a.get("target") == "_top" for t, a in Cards(response.text).tags if t == "a")
    assert "frame-ancestors" not in response.headers["content-security-policy"]
    plain = client.get("/w/li/product")
    assert 'target="_top"' not in plain.text
    assert "frame-ancestors 'none'" in plain.headers["content-security-policy"]


# --- a real server -------------------------------------------------------------------------------


def test_over_real_http_a_card_click_lands_on_the_partner_product_with_utm_values(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    seed(sqlite_engine, product("zhao", 401, name="Newborn shoot"))
    bare = replace(agreement, settings=replace(agreement.settings, links_base_url=None))
    with serving(make_app(sqlite_engine, bare)) as base, httpx.Client(base_url=base) as http:
        block = http.get("/w/li/thankyou", params={"variant": "single"})
        assert block.status_code == 200
        assert http.get("/w/li/thankyou?variant=single", headers={
            "If-None-Match": block.headers["etag"]}).status_code == 304  # fmt: skip
        (href,) = Cards(block.text).links()
        assert href.startswith(f"{base}/r/")
        landed = http.get(href, headers={"User-Agent": "Mozilla/5.0 (X11; Linux) Firefox/140.0"})
    assert landed.status_code == 302
    location = httpx.URL(landed.headers["location"])
    assert (location.host, location.path) == ("zhao.example", "/product/newborn-shoot/")
    assert location.params["utm_source"] == "alliance"
    assert location.params["utm_medium"] == "thankyou"
    assert location.params["utm_campaign"] == "li-zhao"
