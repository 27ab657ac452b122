"""The thank-you block shows the order's gift pack, through a signed order reference, over real
HTTP: the codes for a genuine reference, and for anything else the normal block, byte for byte
and header for header; never in a shared cache."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from alliance.agreement import Agreement, DiscountType
from alliance.giftpacks import CouponState, PackStatus, gift_code_key
from alliance.orders import OrderStatus
from alliance.services import giftpacks as packs
from alliance.services.booking import book_orders
from tests.conftest import SECRET
from tests.factories import make_order, utc
from tests.widgets.test_app import Server
from tests.widgets.test_blocks import Cards, seed_partners
from tests.widgets.test_redirect import BROWSER, test_settings
from widgets.app import create_app
from widgets.links import LinkClaim
from widgets.order_refs import order_ref

PROMOTION = "newborn-gift-pack"
LI_HOOK, WANG_HOOK = "li-webhook-secret", "wang-webhook-secret"
ENVIRON = {"LI_WC_WEBHOOK_SECRET": LI_HOOK, "WANG_WC_WEBHOOK_SECRET": WANG_HOOK}
PLANNED = utc(2026, 12, 6, 1, 0)  # coupons expire 60 days later: 2027-02-04 (Shanghai)
CLOCK = 1_800_000_000.0  # one rotation slot for every request of a test
TTL = timedelta(minutes=5)
HOSTILE = '"><script>alert(1)</script>'

ISSUED, PREPARING, UNPLANNED, UNDER, CANCELLED = "1001", "1002", "1003", "1004", "1005"
"""Li's orders: a pack with codes; a pack still pending; one that qualifies but has no pack yet;
one under the threshold; one whose pack is being revoked."""


def li(order_id: str, items: str = "320.00", **kw: object):
    return make_order("li", order_id, items=items, created=utc(2026, 12, 5, 2, 0), **kw)


def seed_gift_packs(engine: Engine, agreement: Agreement) -> dict[str, str]:
    """Li's orders and their packs; returns the display code of each coupon of ISSUED."""
    seed_partners(engine)
    orders = [li(ISSUED), li(PREPARING), li(UNPLANNED), li(UNDER, "100.00"), li(CANCELLED)]
    book_orders(engine, agreement, orders)
    key = gift_code_key(SECRET.encode())
    with engine.begin() as conn:
        planned = packs.plan_packs(
            conn, agreement, key, PLANNED, order_ids=[ISSUED, PREPARING, CANCELLED]
        )
        assert len(planned.new) == 3
    book_orders(engine, agreement, [li(CANCELLED, status=OrderStatus.CANCELLED)])
    with engine.begin() as conn:
        assert len(packs.mark_revocations(conn, PLANNED)) == 1
        token = packs.new_lease_token()
        held = {p.trigger_order_id: p for p in packs.claim_packs(conn, token, PLANNED, TTL)}
        issued = held[ISSUED]
        updates = [
            packs.CouponUpdate(issued.key, c.member, c.code, CouponState.CREATED, coupon_id=n)
            for n, c in enumerate(issued.coupons, start=1)
            if c.member != "zhang"  # zhang's store is down: its coupon is still pending
        ]
        assert packs.record_coupons(conn, token, updates, PLANNED) == []
        packs.release(conn, token)
    with engine.connect() as conn:
        stored = packs.pack(conn, issued.key)
        assert stored is not None and stored.status is PackStatus.ISSUING
        return {c.member: c.plan.code for c in stored.coupons}


def app_for(engine: Engine, agreement: Agreement) -> Starlette:
    app = create_app(test_settings(), agreement=agreement, engine=engine, environ=ENVIRON)
    app.state.clock = lambda: CLOCK
    return app


@pytest.fixture
def codes(sqlite_engine: Engine, agreement: Agreement) -> dict[str, str]:
    return seed_gift_packs(sqlite_engine, agreement)


@pytest.fixture
def http(
    sqlite_engine: Engine, agreement: Agreement, codes: dict[str, str]
) -> Iterator[httpx.Client]:
    with Server(app_for(sqlite_engine, agreement)) as base, httpx.Client(base_url=base) as client:
        client.headers["user-agent"] = BROWSER
        yield client


def ref(order_id: str, member: str = "li", secret: str = LI_HOOK) -> str:
    return order_ref(secret, member, order_id)


def gift_section(text: str) -> str:
    """The block's gift pack, up to the partner cards' title."""
    start = text.index('class="sa-gifts"')
    return text[start : text.index('id="sa-li-thankyou-title"', start)]


def test_a_genuine_reference_shows_the_orders_gift_pack_above_the_partner_cards(
    http: httpx.Client, codes: dict[str, str]
) -> None:
    answer = http.get("/w/li/thankyou", params={"order": ref(ISSUED)})
    assert answer.status_code == 200
    text = answer.text
    assert text.index("Your gift pack") < text.index("Recommended by our partners")
    gifts = gift_section(text)
    for member, shop, gives in (
        ("wang", "Wang&#39;s Natural Baby Care", "Baby-wash trial set: CN¥30.00 off"),
        ("zhao", "Zhao Newborn Photography", "Newborn photo shoot: 15% off"),
    ):
        assert codes[member] in gifts and shop in gifts and gives in gifts
    assert gifts.count("Valid until Feb 4, 2027") == 2
    assert codes["zhang"] not in text  # not created yet: no code to show
    assert "Zhang&#39;s Early-Learning Toys" in gifts and "Toy trial voucher" in gifts
    assert gifts.count("On its way") == 1
    assert "being prepared" not in gifts
    claims = Cards(gifts).claims()
    assert claims == [
        LinkClaim("li", "wang", "", "giftpack", PROMOTION),
        LinkClaim("li", "zhao", "", "giftpack", PROMOTION),
    ]
    assert len(Cards(text).claims()) > 2  # the partner cards are still there
    assert answer.headers["cache-control"] == "private, no-store"
    assert "etag" not in answer.headers
    assert answer.headers["vary"] == "Accept-Language"
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_a_gift_link_of_the_block_lands_on_the_partners_store(http: httpx.Client) -> None:
    text = http.get("/w/li/thankyou", params={"order": ref(ISSUED)}).text
    link = Cards(gift_section(text)).links()[1]
    landed = http.get(urlsplit(link).path)  # links_base_url names the alliance's public host
    assert landed.status_code == 302
    location = urlsplit(landed.headers["location"])
    assert location.netloc == "zhao.example"
    query = parse_qs(location.query)
    assert (query["utm_medium"], query["utm_campaign"]) == (["giftpack"], [PROMOTION])


@pytest.mark.parametrize("order_id", [PREPARING, UNPLANNED])
def test_a_pack_not_yet_issued_says_it_is_being_prepared(
    http: httpx.Client, codes: dict[str, str], order_id: str
) -> None:
    answer = http.get("/w/li/thankyou", params={"order": ref(order_id)})
    gifts = gift_section(answer.text)
    assert "Your gift pack is being prepared" in gifts
    assert not any(code in answer.text for code in codes.values())
    assert answer.headers["cache-control"] == "private, no-store"


def same_answer(a: httpx.Response, b: httpx.Response) -> None:
    assert (a.status_code, a.content) == (b.status_code, b.content)
    assert {k: v for k, v in a.headers.items() if k != "date"} == {
        k: v for k, v in b.headers.items() if k != "date"
    }


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def respelled(good: str) -> str:
    """``good`` with its last character's unused low bits set: the same bytes, non-canonical."""
    value = ALPHABET.index(good[-1])
    unused = (1 << {2: 4, 3: 2}[len(good) % 4]) - 1
    return good[:-1] + ALPHABET[value | unused]


def bad_references() -> list[str]:
    good = ref(ISSUED)
    return [
        good[:-3] + ("A" if good[-3] != "A" else "B") + good[-2:],  # tampered
        ref(ISSUED, "wang", WANG_HOOK),  # wang's reference to its own order 1001
        ref(ISSUED, "li", WANG_HOOK),  # li's order id, signed with another member's secret
        respelled(good),  # non-canonical
        good + "=",
        ISSUED,
        "",
        "x" * 2000,
    ]


@pytest.mark.parametrize("bad", bad_references())
def test_without_a_genuine_reference_the_block_is_the_normal_one_header_for_header(
    http: httpx.Client, bad: str
) -> None:
    normal = http.get("/w/li/thankyou")
    assert normal.headers["cache-control"] == "public, max-age=60" and normal.headers["etag"]
    answer = http.get("/w/li/thankyou", params={"order": bad})
    same_answer(answer, normal)
    assert "Your gift pack" not in answer.text


def test_the_non_canonical_spelling_really_names_the_same_bytes() -> None:
    good = ref(ISSUED)
    spelled = respelled(good)
    padding = "=" * (-len(good) % 4)
    assert spelled != good
    assert base64.urlsafe_b64decode(good + padding) == base64.urlsafe_b64decode(spelled + padding)


def test_a_reference_shown_at_another_member_is_the_normal_block_there(http: httpx.Client) -> None:
    same_answer(http.get("/w/wang/thankyou", params={"order": ref(ISSUED)}),
                http.get("/w/wang/thankyou"))  # fmt: skip


def test_the_gift_pack_shows_only_on_the_thankyou_placement(http: httpx.Client) -> None:
    for placement in ("product", "cart", "article"):
        same_answer(
            http.get(f"/w/li/{placement}", params={"order": ref(ISSUED)}),
            http.get(f"/w/li/{placement}"),
        )


@pytest.mark.parametrize("order_id", [UNDER, CANCELLED, "424242"])
def test_a_genuine_reference_without_a_standing_pack_is_the_normal_block_kept_private(
    http: httpx.Client, order_id: str
) -> None:
    normal = http.get("/w/li/thankyou")
    answer = http.get("/w/li/thankyou", params={"order": ref(order_id)})
    assert (answer.status_code, answer.content) == (200, normal.content)
    assert answer.headers["cache-control"] == "private, no-store"
    assert "etag" not in answer.headers


def test_the_gift_pack_speaks_simplified_chinese_when_asked(
    http: httpx.Client, codes: dict[str, str]
) -> None:
    answer = http.get("/w/li/thankyou", params={"order": ref(ISSUED), "lang": "zh"})
    gifts = gift_section(answer.text)
    assert 'lang="zh-Hans"' in answer.text
    assert "您的礼包" in gifts and "Your gift pack" not in gifts
    assert "优惠 ¥30.00" in gifts and "优惠 15%" in gifts
    assert gifts.count("有效期至 2027年2月4日") == 2
    assert "即将送达" in gifts and codes["wang"] in gifts
    chinese = http.get(
        "/w/li/thankyou", params={"order": ref(PREPARING)}, headers={"Accept-Language": "zh-CN"}
    )
    assert "您的礼包正在准备中" in chinese.text


def test_the_framed_block_shows_the_gift_pack_with_links_that_leave_the_frame(
    http: httpx.Client, codes: dict[str, str]
) -> None:
    answer = http.get("/w/li/thankyou", params={"order": ref(ISSUED), "frame": "1"})
    assert answer.text.startswith("<!doctype html>")
    gifts = gift_section(answer.text)
    assert codes["zhao"] in gifts
    targets = [a.get("target") for tag, a in Cards(gifts).tags if tag == "a"]
    assert targets == ["_top", "_top"]
    assert answer.headers["cache-control"] == "private, no-store"


def test_shop_names_and_labels_are_escaped_in_the_gift_pack(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    (promotion,) = agreement.promotions
    rewards = tuple(dataclasses.replace(r, label=HOSTILE) for r in promotion.rewards)
    hostile = dataclasses.replace(
        agreement,
        members={**agreement.members,
                 "wang": dataclasses.replace(agreement.members["wang"], name=HOSTILE)},
        promotions=(dataclasses.replace(promotion, rewards=rewards),),
    )  # fmt: skip
    seed_gift_packs(sqlite_engine, hostile)
    with Server(app_for(sqlite_engine, hostile)) as base:
        text = httpx.get(f"{base}/w/li/thankyou", params={"order": ref(ISSUED)}).text
    gifts = gift_section(text)
    assert "<script>" not in text
    assert gifts.count("&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # names, labels


def test_a_product_coupon_with_a_minimum_says_so_and_a_partner_that_left_is_not_shown(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    (promotion,) = agreement.promotions
    rewards = tuple(
        dataclasses.replace(
            r, discount_type=DiscountType.FIXED_PRODUCT, minimum_amount=Decimal(100)
        )
        if r.member == "wang"
        else r
        for r in promotion.rewards
    )
    planned = dataclasses.replace(
        agreement, promotions=(dataclasses.replace(promotion, rewards=rewards),)
    )
    codes = seed_gift_packs(sqlite_engine, planned)
    left = tuple(r for r in rewards if r.member != "zhao")  # zhao left the promotion since
    served = dataclasses.replace(
        planned, promotions=(dataclasses.replace(promotion, rewards=left),)
    )
    with Server(app_for(sqlite_engine, served)) as base:
        text = httpx.get(f"{base}/w/li/thankyou", params={"order": ref(ISSUED)}).text
    gifts = gift_section(text)
    assert (
        "Baby-wash trial set: CN¥30.00 off each eligible product on an order of CN¥100.00 or more"
        in gifts
    )
    assert codes["wang"] in gifts and codes["zhao"] not in gifts
    assert "Zhao Newborn Photography" not in gifts


def test_on_either_database_the_pack_is_read_for_the_genuine_reference_only(
    engine: Engine, agreement: Agreement
) -> None:
    codes = seed_gift_packs(engine, agreement)
    with Server(app_for(engine, agreement)) as base, httpx.Client(base_url=base) as client:
        shown = client.get("/w/li/thankyou", params={"order": ref(ISSUED)})
        preparing = client.get("/w/li/thankyou", params={"order": ref(UNPLANNED)})
        foreign = client.get("/w/li/thankyou", params={"order": ref(ISSUED, "li", WANG_HOOK)})
    assert codes["wang"] in shown.text and codes["zhao"] in shown.text
    assert "being prepared" in preparing.text
    assert "Your gift pack" not in foreign.text
    assert foreign.headers["cache-control"] == "public, max-age=60"
