"""``alliance sandbox order``: a shopper's checkout at a sandbox store, and the whole loop from
a tracked link to a statement line without a real shop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from click.testing import CliRunner, Result
from sqlalchemy import select

from alliance.cli import main
from alliance.settings import Settings
from alliance.storage.database import open_database
from alliance.storage.schema import clicks
from connector.fixtures.orders import ATTRIBUTION_FIELDS
from connector.sandbox.checkout import CHECKOUT_PATH, SHOPPER_AGENT, attribution_of
from connector.sandbox.seed import generate_products
from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.conftest import EXAMPLE, SECRET
from tests.widgets.test_app import Server
from widgets.app import create_app
from widgets.visitors import BROWSER, agent_class

COUPON = {"code": "LI-FRIENDS", "amount": "10", "discount_type": "fixed_cart"}


@pytest.fixture
def store() -> Iterator[SandboxHandle]:
    with start_sandbox(products=generate_products(), coupons=[COUPON]) as handle:
        yield handle


def order(store: SandboxHandle, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        main, ["sandbox", "order", "--store", store.url, *args], env=env, catch_exceptions=False
    )


def test_an_order_with_a_coupon_is_a_shopper_checkout_with_attribution_meta(store):
    landing = (
        f"{store.url}/product/bodysuit/?utm_source=alliance&utm_campaign=li-wang&utm_content=c1"
    )
    result = order(store, "--product", "101", "--quantity", "2", "--coupon", "li-friends",
                   "--click", landing)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 x Organic cotton bodysuit, 3-pack; total 108.00 CNY" in result.output
    assert "utm_source=alliance" in result.output and "utm_content=c1" in result.output
    (doc,) = [store.state.order_store.get(i) for i in store.state.order_store.ids()]
    assert doc["created_via"] == "store-api" and doc["status"] == "processing"
    assert doc["date_paid_gmt"] and doc["coupon_lines"][0]["code"] == "li-friends"
    meta = {m["key"]: m["value"] for m in doc["meta_data"]}
    attribution = {k: meta[f"_wc_order_attribution_{k}"] for k in ATTRIBUTION_FIELDS}
    assert attribution["source_type"] == "utm" and attribution["session_entry"] == landing
    assert attribution["utm_campaign"] == "li-wang" and attribution["utm_medium"] == ""
    assert doc["billing"]["email"]  # a made-up guest, as a checkout always has one
    assert store.state.find_coupon("LI-FRIENDS")["usage_count"] == 1


def test_without_a_click_the_order_is_a_type_in_visit():
    values = attribution_of("http://shop.test/", {})
    assert values["source_type"] == "typein" and values["utm_source"] == ""
    assert agent_class(SHOPPER_AGENT) == BROWSER  # a followed click counts as a shopper's


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--product", "999"], "Product ID provided is invalid."),
        (["--product", "108"], '"Newborn photo session" to the cart because the product is out'),
        (["--product", "101", "--coupon", "nope"], 'Coupon "nope" does not exist!'),
        (["--product", "101", "--click", "http://127.0.0.1:9/r/x"], "run `alliance serve` there"),
        (["--product", "101", "--click", "https://elsewhere.example/p/?utm_source=alliance"],
         "a click counts only at the store it was sent to"),
    ],
    ids=["unknown product", "out of stock", "unknown coupon", "link server down", "other store"],
)  # fmt: skip
def test_a_refused_checkout_says_why_and_makes_no_order(store, args, says):
    result = order(store, *args)
    assert result.exit_code == 1 and says in result.output, result.output
    assert "Traceback" not in result.output
    assert store.state.order_store.ids() == []  # a checkout validates before it makes an order


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[1, 2]", "rest_invalid_json"),
        (b"{not json", "rest_invalid_json"),
        (b'{"line_items": []}', "woocommerce_rest_cart_empty"),
        (
            b'{"line_items": [{"product_id": 101, "quantity": 0}]}',
            "woocommerce_rest_invalid_quantity",
        ),
        (b'{"line_items": [{"product_id": "101"}]}', "woocommerce_rest_invalid_product_id"),
        (b'{"line_items": [{"product_id": 101}], "coupons": "li-friends"}', "rest_invalid_param"),
        (b'{"line_items": [{"product_id": 101}], "status": "refunded"}', "rest_invalid_param"),
    ],
)
def test_a_malformed_checkout_is_a_400_with_a_reason_and_no_order(store, body, code):
    answer = requests.post(store.url + CHECKOUT_PATH, data=body, timeout=5)
    assert (answer.status_code, answer.json()["code"]) == (400, code)
    assert store.state.order_store.ids() == []


def test_a_store_that_is_not_a_sandbox_or_is_down_is_named(store):
    answer = requests.get(store.url + CHECKOUT_PATH, timeout=5)
    assert answer.status_code == 405 and answer.headers["Allow"] == "POST"
    with start_sandbox() as other:
        url = other.url
    gone = CliRunner().invoke(main, ["sandbox", "order", "--store", url, "--product", "101"])
    assert gone.exit_code == 1 and f"cannot reach the store at {url}" in gone.output
    with Server(
        create_app(Settings(config_path=EXAMPLE, database_url="sqlite://", secret=SECRET))
    ) as app:
        wrong = CliRunner().invoke(main, ["sandbox", "order", "--store", app, "--product", "101"])
    assert wrong.exit_code == 1 and "has no sandbox checkout (HTTP 404)" in wrong.output


@pytest.mark.slow
def test_a_click_from_alliance_link_then_an_order_shows_on_the_referrers_statement(
    tmp_path: Path, store: SandboxHandle
):
    """The loop a newcomer tries: link, click, order, sync, statement; no real shop."""
    config = tmp_path / "alliance.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace('url = "https://wang.example"',
                                                      f'url = "{store.url}"')  # fmt: skip
    config.write_text(text, encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'alliance.db'}"
    env = {
        "ALLIANCE_CONFIG": str(config),
        "ALLIANCE_DATABASE_URL": database,
        "ALLIANCE_SECRET": SECRET,
        "ALLIANCE_REDIS_URL": "",
        "WANG_WC_KEY": store.key.consumer_key,
        "WANG_WC_SECRET": store.key.consumer_secret,
    }
    runner = CliRunner()
    first = runner.invoke(main, ["sync", "--member", "wang"], env=env)
    assert first.exit_code == 0, first.output  # the partner's products, for the link's target
    engine = open_database(database)
    settings = Settings(config_path=config, database_url=database, secret=SECRET)
    try:
        with Server(create_app(settings, engine=engine)) as app:
            config.write_text(text.replace("https://go.parenting.example", app), encoding="utf-8")
            link = runner.invoke(main, ["link", "--from", "li", "--to", "wang", "--product", "104"],
                                 env=env)  # fmt: skip
            assert link.exit_code == 0 and link.output.startswith(f"{app}/r/"), link.output
            bought = order(store, "--product", "104", "--click", link.output.strip(), env=env)
            assert bought.exit_code == 0, bought.output
        with engine.connect() as conn:
            (click,) = conn.execute(select(clicks)).mappings()
        assert click["valid"] and click["agent_class"] == BROWSER  # counted as a shopper's
    finally:
        engine.dispose()
    assert "utm_source=alliance" in bought.output and "utm_campaign=li-wang" in bought.output
    synced = runner.invoke(main, ["sync", "--member", "wang"], env=env)
    assert synced.exit_code == 0, synced.output
    period = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    shown = runner.invoke(
        main, ["statement", "--member", "li", "--period", period, "--format", "json"], env=env
    )
    assert shown.exit_code == 0, shown.output
    (line,) = json.loads(shown.output)["lines"]
    assert (line["deal"], line["counterparty"], line["reason"]) == ("li-wang", "wang", "sale")
    assert line["base"] == "68.00" and line["amount"] == "6.80"  # 10% of the baby wash
