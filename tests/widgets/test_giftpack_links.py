"""Gift-pack links (the note's and the thank-you block's): ``/r/<token>`` naming a promotion
leads from its trigger member to one of its reward members' stores, on a real server; the
click is recorded and judged like any other and earns nothing; anything else is a 404."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.cli.promotion_commands import gift_links
from alliance.clicks import Click
from alliance.commission import click_targets
from tests.conftest import SECRET
from tests.factories import utc
from tests.widgets.test_app import Server
from tests.widgets.test_redirect import BROWSER, entries, rows, test_settings, token
from widgets.app import create_app
from widgets.links import GIFT_PACK_PLACEMENT, LINK_PLACEMENTS, PLACEMENTS
from widgets.visitors import DUPLICATE, RATE_LIMITED

PROMOTION = "newborn-gift-pack"  # li's promotion in the example: gifts at wang, zhang and zhao


def gift_token(source: str, target: str, promotion: str = PROMOTION, product: str = "") -> str:
    return token(source, target, product, promotion, GIFT_PACK_PLACEMENT)


def without_reward(agreement: Agreement, member: str) -> Agreement:
    """The example agreement after ``member``'s reward left the promotion."""
    (promotion,) = agreement.promotions
    rewards = tuple(r for r in promotion.rewards if r.member != member)
    return dataclasses.replace(
        agreement, promotions=(dataclasses.replace(promotion, rewards=rewards),)
    )


@pytest.fixture
def served(engine: Engine, agreement: Agreement) -> Iterator[httpx.Client]:
    app = create_app(test_settings(), agreement=without_reward(agreement, "zhang"), engine=engine)
    with Server(app) as base, httpx.Client(base_url=base, headers={"user-agent": BROWSER}) as http:
        yield http


def test_the_notes_gift_pack_link_lands_on_the_partners_store_with_the_promotion_as_campaign(
    served: httpx.Client, engine: Engine, agreement: Agreement
) -> None:
    link = gift_links(agreement, SECRET.encode())
    assert link is not None
    url = urlsplit(link("li", "wang", PROMOTION))
    answer = served.get(url.path)  # the note's URL, asked of this server
    assert answer.status_code == 302
    assert answer.headers["cache-control"] == "no-store"
    landing = urlsplit(answer.headers["location"])
    assert (landing.scheme, landing.netloc, landing.path) == ("https", "wang.example", "")
    (click,) = rows(engine)
    assert parse_qs(landing.query) == {
        "utm_source": ["alliance"],
        "utm_medium": ["giftpack"],
        "utm_campaign": [PROMOTION],
        "utm_content": [click["id"]],
    }
    assert (click["source_member"], click["target_member"], click["deal_id"]) == (
        "li",
        "wang",
        PROMOTION,
    )
    assert (click["placement"], click["product_id"], click["agent_class"]) == (
        "giftpack",
        "",
        "browser",
    )
    assert click["valid"] and click["invalid_reason"] == ""
    assert entries(engine) == 0  # a promotion pays for redeemed coupons, never for clicks


def test_a_click_on_a_promotion_id_pays_nothing(agreement: Agreement) -> None:
    click = Click("c" * 32, "li", "wang", PROMOTION, utc(2026, 12, 6), placement="giftpack")
    assert click.valid and click_targets(click, agreement) == []


@pytest.mark.parametrize("target", ["wang", "zhao"])
def test_every_reward_member_of_the_promotion_can_be_linked(
    served: httpx.Client, engine: Engine, target: str
) -> None:
    answer = served.get(f"/r/{gift_token('li', target)}")
    assert answer.status_code == 302
    assert urlsplit(answer.headers["location"]).netloc == f"{target}.example"
    assert [r["target_member"] for r in rows(engine)] == [target]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(gift_token("li", "wang", "spring-pack"), id="promotion-not-agreed"),
        pytest.param(gift_token("li", "zhang"), id="target-without-a-reward"),
        pytest.param(gift_token("li", "li"), id="target-is-the-trigger"),
        pytest.param(gift_token("wang", "zhao"), id="source-not-the-trigger"),
        pytest.param(gift_token("mallory", "wang"), id="source-not-a-member"),
        pytest.param(token("li", "wang", "", PROMOTION, "thankyou"), id="promotion-not-giftpack"),
        pytest.param(gift_token("li", "wang", "li-wang"), id="deal-as-a-gift-pack"),
    ],
)
def test_a_gift_pack_link_outside_the_agreed_promotion_is_a_404_recording_nothing(
    served: httpx.Client, engine: Engine, bad: str
) -> None:
    answer = served.get(f"/r/{bad}")
    assert answer.status_code == 404
    assert "location" not in answer.headers
    assert "This link does not work" in answer.text
    assert rows(engine) == []


def test_gift_pack_clicks_are_judged_like_any_other(served: httpx.Client, engine: Engine) -> None:
    link = f"/r/{gift_token('li', 'wang')}"
    for _ in range(3):
        assert served.get(link).status_code == 302
    for _ in range(8):
        assert served.get(f"/r/{gift_token('li', 'zhao')}").status_code == 302
    ordered = sorted(rows(engine), key=lambda r: (r["clicked_at"], r["id"]))
    verdicts = [(r["target_member"], r["valid"], r["invalid_reason"]) for r in ordered]
    assert verdicts[:3] == [
        ("wang", True, ""),
        ("wang", False, DUPLICATE),
        ("wang", False, DUPLICATE),
    ]
    assert verdicts[3] == ("zhao", True, "")  # one visitor, one valid click per partner a day
    assert verdicts[-1] == ("zhao", False, RATE_LIMITED)  # the 11th click within a minute


def test_the_gift_pack_placement_travels_in_links_but_is_no_block() -> None:
    assert GIFT_PACK_PLACEMENT == "giftpack"
    assert GIFT_PACK_PLACEMENT in LINK_PLACEMENTS and GIFT_PACK_PLACEMENT not in PLACEMENTS
