"""``GET /r/{token}``: verified links redirect to the partner's own store with UTM values,
after the click is recorded; anything else gets the 404 page and records nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from alliance.agreement import Agreement
from alliance.products import Product, StockStatus
from alliance.services.catalog import upsert_products
from alliance.settings import Settings
from alliance.storage.schema import clicks, ledger_entries
from tests.conftest import EXAMPLE, SECRET
from widgets.app import create_app
from widgets.links import LinkClaim, link_key, sign_link
from widgets.redirect import ClickIds, merge_utm, same_store
from widgets.visitors import visitor_key, visitor_key_secret

KEY = link_key(SECRET.encode())
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
VISITOR_IP = "203.0.113.77"


def product(member: str, product_id: str, permalink: str, status: str = "publish") -> Product:
    return Product(
        member=member,
        product_id=product_id,
        name=f"Product {product_id}",
        permalink=permalink,
        price=None,
        regular_price=None,
        on_sale=False,
        image_url="",
        image_alt="",
        stock_status=StockStatus.IN_STOCK,
        categories=(),
        category_names=(),
        status=status,
        modified_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


def token(source: str, target: str, product_id: str, deal: str, placement: str = "article") -> str:
    return sign_link(KEY, LinkClaim(source, target, product_id, placement, deal))


def test_settings() -> Settings:
    return Settings(config_path=EXAMPLE, database_url="sqlite://", secret=SECRET)


test_settings.__test__ = False  # a helper, not a test


def rows(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(clicks)).mappings()]


def entries(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()


@pytest.fixture
def client(engine: Engine, agreement: Agreement) -> Iterator[TestClient]:
    with engine.begin() as conn:
        upsert_products(
            conn,
            [
                product("wang", "205", "https://wang.example/p/wash?color=blue&utm_source=x#top"),
                product("wang", "206", "https://wang.example/p/draft", status="draft"),
                product("wang", "666", "https://evil.example/phish"),
                product("wang", "667", "https://wang.example.evil.example/phish"),
                product("wang", "668", "https://WANG.example:8443/p/other-port"),
                product("zhao", "301", "https://zhao.example/shoot"),
                product("wang", "207", "https://wang.example/产品/婴儿洗衣液?size=大"),
            ],
        )
    app = create_app(test_settings(), agreement=agreement, engine=engine)
    with TestClient(app, follow_redirects=False, client=(VISITOR_IP, 40000)) as test_client:
        test_client.headers["user-agent"] = BROWSER
        yield test_client


def test_a_link_redirects_to_the_product_with_utm_values_merged(client, engine) -> None:
    answer = client.get(f"/r/{token('li', 'wang', '205', 'li-wang', 'thankyou')}")
    assert answer.status_code == 302
    assert answer.headers["cache-control"] == "no-store"
    location = urlsplit(answer.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "wang.example", "/p/wash")
    assert location.fragment == "top"
    query = parse_qs(location.query)
    stored = rows(engine)
    assert len(stored) == 1
    assert query == {
        "color": ["blue"],
        "utm_source": ["alliance"],
        "utm_medium": ["thankyou"],
        "utm_campaign": ["li-wang"],
        "utm_content": [stored[0]["id"]],
    }
    click = stored[0]
    assert (click["source_member"], click["target_member"], click["deal_id"]) == (
        "li",
        "wang",
        "li-wang",
    )
    assert (click["product_id"], click["placement"], click["agent_class"]) == (
        "205",
        "thankyou",
        "browser",
    )
    assert click["valid"] and click["invalid_reason"] == ""


def test_the_raw_ip_address_is_never_stored(client, engine) -> None:
    assert client.get(f"/r/{token('li', 'wang', '205', 'li-wang')}").status_code == 302
    (click,) = rows(engine)
    assert len(click["visitor_key"]) == 32 and VISITOR_IP not in click["visitor_key"]
    assert not any(VISITOR_IP in str(value) for value in click.values())
    assert not any(BROWSER in str(value) for value in click.values())


def test_a_product_page_with_chinese_characters_is_sent_percent_encoded(client, engine):
    answer = client.get(f"/r/{token('li', 'wang', '207', 'li-wang')}")
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.isascii()
    assert location.startswith(
        "https://wang.example/%E4%BA%A7%E5%93%81/%E5%A9%B4%E5%84%BF%E6%B4%97%E8%A1%A3%E6%B6%B2"
        "?size=%E5%A4%A7&utm_source=alliance&utm_medium=article&utm_campaign=li-wang"
    )
    assert len(rows(engine)) == 1


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_a_tracked_link_only_answers_get_and_head(client, engine, method) -> None:
    answer = client.request(method, f"/r/{token('li', 'wang', '205', 'li-wang')}")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"
    assert "location" not in answer.headers and rows(engine) == []
    assert answer.content == b"" and answer.headers["content-length"] == "0"


def test_head_answers_like_get_with_no_body_and_records_no_click(client, engine) -> None:
    link = f"/r/{token('li', 'wang', '205', 'li-wang', 'thankyou')}"
    head = client.head(link)
    assert rows(engine) == [] and entries(engine) == 0
    got = client.get(link)
    assert len(rows(engine)) == 1
    assert (head.status_code, head.content) == (302, b"")
    assert head.headers.keys() == got.headers.keys()
    assert head.headers["cache-control"] == got.headers["cache-control"] == "no-store"
    head_id = parse_qs(urlsplit(head.headers["location"]).query)["utm_content"][0]
    stored_id = rows(engine)[0]["id"]
    assert head.headers["location"].replace(head_id, stored_id) == got.headers["location"]
    assert len(head_id) == 32 and head_id != stored_id  # shaped like a click id, never stored
    missing = client.head("/r/not-a-token")
    assert (missing.status_code, missing.content) == (404, b"")
    assert (
        missing.headers["content-length"] == client.get("/r/not-a-token").headers["content-length"]
    )
    assert len(rows(engine)) == 1


def test_every_click_gets_its_own_id(client, engine) -> None:
    link = f"/r/{token('li', 'wang', '205', 'li-wang')}"
    places = {client.get(link).headers["location"] for _ in range(3)}
    assert len(places) == 3 and len(rows(engine)) == 3


@pytest.mark.parametrize("product_id", ["999", "206", ""])
def test_an_unknown_or_unpublished_product_leads_to_the_store_home_page(
    client, engine, product_id
) -> None:
    answer = client.get(f"/r/{token('li', 'wang', product_id, 'li-wang')}")
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert location.netloc == "wang.example" and location.path == ""
    assert parse_qs(location.query)["utm_campaign"] == ["li-wang"]
    assert len(rows(engine)) == 1


@pytest.mark.parametrize("product_id", ["666", "667", "668"])
def test_a_product_url_off_the_members_own_store_is_never_a_redirect(
    client, engine, product_id
) -> None:
    answer = client.get(f"/r/{token('li', 'wang', product_id, 'li-wang')}")
    assert answer.status_code == 404
    assert "location" not in answer.headers
    assert rows(engine) == []


def bad_tokens() -> list[str]:
    good = token("li", "wang", "205", "li-wang")
    flipped = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
    return [
        flipped,
        good[:-1],
        good + "A",
        "not-a-token",
        "A" * 600,
        token("li", "wang", "205", "no-such-deal"),  # genuine signature, unknown deal
        token("li", "zhao", "301", "li-wang"),  # a real deal, but not between these two
        token("mallory", "wang", "205", "li-wang"),  # not a member
        sign_link(link_key(b"k" * 40), LinkClaim("li", "wang", "205", "article", "li-wang")),
    ]


@pytest.mark.parametrize("bad", bad_tokens())
def test_a_bad_token_gets_the_404_page_and_records_nothing(client, engine, bad) -> None:
    answer = client.get(f"/r/{bad}")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "This link does not work" in answer.text
    assert "location" not in answer.headers
    assert rows(engine) == []


GIFT_PACK = "newborn-gift-pack"  # li's promotion: gifts at wang, zhang and zhao


@pytest.mark.parametrize("target", ["wang", "zhang", "zhao"])
def test_a_gift_pack_link_leads_from_the_trigger_to_a_reward_members_home_page(
    client, engine, target
) -> None:
    answer = client.get(f"/r/{token('li', target, '', GIFT_PACK, 'giftpack')}")
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert (location.netloc, location.path) == (f"{target}.example", "")
    (click,) = rows(engine)
    assert parse_qs(location.query) == {
        "utm_source": ["alliance"],
        "utm_medium": ["giftpack"],
        "utm_campaign": [GIFT_PACK],
        "utm_content": [click["id"]],
    }
    assert (click["source_member"], click["target_member"], click["deal_id"]) == (
        "li",
        target,
        GIFT_PACK,
    )
    assert click["placement"] == "giftpack" and click["valid"]
    assert entries(engine) == 0


@pytest.mark.parametrize(
    ("source", "target", "deal", "placement"),
    [
        ("li", "wang", "spring-pack", "giftpack"),  # not a promotion of the agreement
        ("li", "li", GIFT_PACK, "giftpack"),  # the trigger itself
        ("wang", "zhao", GIFT_PACK, "giftpack"),  # not the trigger member
        ("zhao", "li", GIFT_PACK, "giftpack"),  # backwards
        ("li", "wang", GIFT_PACK, "thankyou"),  # a promotion is no deal
        ("li", "wang", "li-wang", "giftpack"),  # a deal is no promotion
    ],
)
def test_a_gift_pack_link_outside_its_promotion_is_a_404(
    client, engine, source, target, deal, placement
) -> None:
    answer = client.get(f"/r/{token(source, target, '', deal, placement)}")
    assert answer.status_code == 404 and "location" not in answer.headers
    assert rows(engine) == []


def test_per_click_deals_pay_one_valid_click_per_visitor_and_window(client, engine) -> None:
    link = f"/r/{token('li', 'zhao', '301', 'li-zhao')}"
    assert client.get(link).status_code == 302
    assert client.get(link).status_code == 302  # the same visitor again: still redirected
    by_order = sorted(rows(engine), key=lambda r: r["clicked_at"])
    assert [(r["valid"], r["invalid_reason"]) for r in by_order] == [
        (True, ""),
        (False, "duplicate"),
    ]
    assert entries(engine) == 1  # only the valid click is booked
    other = client.get(link, headers={"user-agent": BROWSER + " Edg/126"})
    assert other.status_code == 302
    assert entries(engine) == 2  # another visitor (another agent string) is paid


@pytest.mark.parametrize(
    "agent",
    [
        "curl/8.5.0",
        "python-requests/2.32",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/126.0 Safari/537.36",
        "",
    ],
)
def test_bots_are_redirected_but_their_clicks_are_not_paid(client, engine, agent) -> None:
    answer = client.get(
        f"/r/{token('li', 'zhao', '301', 'li-zhao')}", headers={"user-agent": agent}
    )
    assert answer.status_code == 302
    (click,) = rows(engine)
    assert (click["agent_class"], click["valid"], click["invalid_reason"]) == ("bot", False, "bot")
    assert entries(engine) == 0


def test_a_visitor_clicking_too_fast_is_rate_limited(client, engine) -> None:
    browse = f"/r/{token('li', 'wang', '205', 'li-wang')}"  # a percent deal: clicks count too
    for _ in range(10):
        assert client.get(browse).status_code == 302
    assert client.get(f"/r/{token('li', 'zhao', '301', 'li-zhao')}").status_code == 302
    per_click = [r for r in rows(engine) if r["deal_id"] == "li-zhao"]
    assert [(r["valid"], r["invalid_reason"]) for r in per_click] == [(False, "rate-limited")]
    assert entries(engine) == 0


def test_clicks_on_deals_paid_per_order_are_judged_alike_and_earn_nothing(client, engine):
    link = f"/r/{token('li', 'wang', '205', 'li-wang')}"  # a percent deal
    for agent in (BROWSER, BROWSER, "curl/8"):
        assert client.get(link, headers={"user-agent": agent}).status_code == 302
    assert sorted((r["valid"], r["invalid_reason"]) for r in rows(engine)) == [
        (False, "bot"),
        (False, "duplicate"),
        (True, ""),
    ]
    assert entries(engine) == 0  # the order, not the click, is what such a deal pays for


def test_utm_merge_replaces_every_utm_value_and_keeps_the_rest_byte_for_byte() -> None:
    merged = merge_utm(
        "https://s.example/p?a=1&UTM_Source=old&b=x%2Fy&utm_term=t&c#frag",
        placement="cart",
        deal_id="li-wang",
        click_id="c1",
    )
    assert merged == (
        "https://s.example/p?a=1&b=x%2Fy&c&utm_source=alliance&utm_medium=cart"
        "&utm_campaign=li-wang&utm_content=c1#frag"
    )
    assert merge_utm("https://s.example", placement="p", deal_id="d", click_id="c") == (
        "https://s.example?utm_source=alliance&utm_medium=p&utm_campaign=d&utm_content=c"
    )


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://wang.example/p", True),
        ("http://WANG.EXAMPLE./p", True),
        ("https://evil.example/p", False),
        ("https://wang.example.evil.example/p", False),
        ("https://wang.example@evil.example/p", False),
        ("javascript://wang.example/%0aalert(1)", False),
        ("//wang.example/p", False),
        ("https://wang.example:444/p", False),
        ("https://wang.example\\@evil.example/", False),
    ],
)
def test_only_the_members_own_store_host_is_a_destination(url: str, ok: bool) -> None:
    assert same_store(url, "https://wang.example") is ok


@given(
    path=st.text(alphabet="abc/-_.~%", max_size=20),
    query=st.text(alphabet="abc=&%+_utmUTM", max_size=30),
    values=st.lists(st.text(max_size=20), min_size=3, max_size=3),
)
def test_utm_values_can_never_move_a_redirect_off_the_store(path, query, values) -> None:
    store = "https://wang.example"
    url = f"{store}/{path}?{query}"
    if not same_store(url, store):
        return
    placement, deal_id, click_id = values
    merged = merge_utm(url, placement=placement, deal_id=deal_id, click_id=click_id)
    assert same_store(merged, store)
    parsed = parse_qs(urlsplit(merged).query, keep_blank_values=True)
    assert parsed["utm_medium"][-1] == placement and parsed["utm_campaign"][-1] == deal_id
    assert parsed["utm_content"][-1] == click_id


def test_click_ids_are_unguessable_and_sort_by_time() -> None:
    now = [1_764_000_000.0]
    ids = ClickIds(ids_per_read=4, clock=lambda: now[0])
    first = [ids() for _ in range(10)]  # the same millisecond: the random part differs
    now[0] += 0.002
    later = ids()
    assert len(set(first)) == 10
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in [*first, later])
    assert all(i[:12] == first[0][:12] for i in first)  # 48 bits of milliseconds
    assert max(first) < later  # the key index grows at its right edge


def test_a_click_that_cannot_be_stored_gets_a_500_and_no_redirect(
    sqlite_engine: Engine, agreement: Agreement, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite_engine.begin() as conn:  # the disk refuses every click from now on
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON clicks "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    app = create_app(test_settings(), agreement=agreement, engine=sqlite_engine)
    with TestClient(app, follow_redirects=False) as test_client:
        answer = test_client.get(
            f"/r/{token('li', 'wang', '205', 'li-wang')}", headers={"user-agent": BROWSER}
        )
        assert test_client.get("/healthz").status_code == 200  # the app goes on serving
    assert answer.status_code == 500
    assert "location" not in answer.headers and answer.headers["cache-control"] == "no-store"
    assert answer.text == (
        "<!doctype html><title>Please try again</title><p>This link could not be followed "
        "just now. Please go back and try again in a moment.</p>"
    )
    assert rows(sqlite_engine) == [] and entries(sqlite_engine) == 0
    assert "a tracked link could not be recorded; the visitor got a 500" in caplog.text


def test_a_product_id_is_looked_up_in_the_target_members_catalogue_only(client, engine) -> None:
    """Product ids are per store: zhao's product 301 is no page of wang's, so a link to wang's
    301 (which wang does not have) leads to wang's home page, not off to zhao's store."""
    answer = client.get(f"/r/{token('li', 'wang', '301', 'li-wang')}")
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert (location.netloc, location.path) == ("wang.example", "")


def test_a_click_id_starts_with_the_milliseconds_of_its_clock() -> None:
    ids = ClickIds(clock=lambda: 1_764_000_000.5)
    assert ids()[:12] == f"{1_764_000_000_500:012x}"
    assert ClickIds(clock=lambda: 2**48 / 1000 + 0.001)()[:12] == "000000000001"  # wraps


def test_every_utm_value_is_percent_encoded_slashes_included() -> None:
    """A slash left raw in a value would be harmless in a query, but the rule is simpler and
    safer: no character of ours is left unencoded, so none can shape the URL."""
    url = merge_utm("https://wang.example/p", placement="a/b", deal_id="c/d", click_id="e/f")
    assert url == (
        "https://wang.example/p?utm_source=alliance&utm_medium=a%2Fb"
        "&utm_campaign=c%2Fd&utm_content=e%2Ff"
    )


def test_each_product_has_its_own_page_remembered_for_a_minute(client, engine) -> None:
    """Pages are looked up once per product and kept for URL_CACHE_SECONDS: two products in a
    row each lead to their own page, and a page changed in the catalogue takes effect on the
    next sync's minute, not on every click."""

    def path_of(product_id: str) -> str:
        answer = client.get(f"/r/{token('li', 'wang', product_id, 'li-wang')}")
        return urlsplit(answer.headers["location"]).path

    assert path_of("205") == "/p/wash"
    assert path_of("207") == "/%E4%BA%A7%E5%93%81/%E5%A9%B4%E5%84%BF%E6%B4%97%E8%A1%A3%E6%B6%B2"
    with engine.begin() as conn:
        upsert_products(conn, [product("wang", "205", "https://wang.example/p/renamed")])
    assert path_of("205") == "/p/wash"  # remembered


def test_the_page_memory_is_bounded_and_starts_afresh_when_full(
    client, engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most URL_CACHE_SIZE pages are remembered; the next one clears them all, so a page
    changed in the catalogue is read again once the memory was full."""
    import widgets.redirect as redirect

    monkeypatch.setattr(redirect, "URL_CACHE_SIZE", 2)

    def path_of(product_id: str) -> str:
        answer = client.get(f"/r/{token('li', 'wang', product_id, 'li-wang')}")
        return urlsplit(answer.headers["location"]).path

    assert path_of("205") == "/p/wash"
    with engine.begin() as conn:
        upsert_products(conn, [product("wang", "205", "https://wang.example/p/renamed")])
    path_of("207")  # two pages remembered: the memory is full
    assert path_of("205") == "/p/wash"
    path_of("206")  # a third page: the memory starts afresh, with it alone
    assert path_of("205") == "/p/renamed"


def test_a_websocket_to_a_tracked_link_is_no_click(client, engine) -> None:
    """Only HTTP requests are clicks: a websocket opened on a link's path goes to the app,
    which has no websocket there, and nothing is recorded."""
    link = f"/r/{token('li', 'wang', '205', 'li-wang')}"
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(link):
        pass
    assert rows(engine) == []


def test_a_visitor_is_known_by_the_keyed_hash_of_address_and_browser(client, engine) -> None:
    """Per-click deals pay one click per visitor: the visitor is the keyed hash of the
    address the request came from and its user agent (none sent: the empty one)."""
    link = f"/r/{token('li', 'wang', '205', 'li-wang')}"
    assert client.get(link).status_code == 302
    del client.headers["user-agent"]
    assert client.get(link).status_code == 302
    stored = sorted(rows(engine), key=lambda r: r["clicked_at"])
    secret = visitor_key_secret(SECRET.encode())
    day = stored[0]["clicked_at"].astimezone(UTC).date()
    assert [r["visitor_key"] for r in stored] == [
        visitor_key(secret, VISITOR_IP, BROWSER, day),
        visitor_key(secret, VISITOR_IP, "", day),
    ]


def test_a_redirect_has_no_body_and_a_bare_utm_key_is_dropped_too(client) -> None:
    answer = client.get(f"/r/{token('li', 'wang', '205', 'li-wang')}")
    assert answer.status_code == 302
    assert answer.content == b"" and answer.headers["content-length"] == "0"
    url = merge_utm(
        "https://wang.example/p?utm_term&a=1", placement="cart", deal_id="d", click_id="c"
    )
    assert url == (
        "https://wang.example/p?a=1&utm_source=alliance&utm_medium=cart&utm_campaign=d"
        "&utm_content=c"
    )
