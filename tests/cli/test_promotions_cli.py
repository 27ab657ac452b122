"""``alliance promotions issue`` and the SKU check of ``alliance check``, against sandbox stores."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from alliance.cli import main
from alliance.giftpacks import gift_code, gift_code_key
from connector.fixtures.products import woo_product
from connector.sandbox.server import start_sandbox
from tests.conftest import SECRET
from tests.connector.giftpack_support import LINKS, PRODUCTS, SALE, agreement_text, li_orders
from widgets.links import LinkClaim, link_key, verify_link

Run = Callable[..., Result]


def catalog(member: str) -> list[dict[str, Any]]:
    return [woo_product(p, name=n, price=c, modified=SALE) for p, n, c in PRODUCTS[member]]


def wang_sample(text: str) -> str:
    old = '{ member = "wang",  discount_type = "fixed_cart", amount = "30.00"'
    return text.replace(old, old[:-1] + '", products = ["SKU-501", "SKU-404"]')


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    with (
        start_sandbox(orders=li_orders()) as li,
        start_sandbox(products=catalog("wang")) as wang,
        start_sandbox(products=catalog("zhang")) as zhang,
        start_sandbox(products=catalog("zhao")) as zhao,
    ):
        stores = {"li": li, "wang": wang, "zhang": zhang, "zhao": zhao}
        env = {
            "ALLIANCE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "ALLIANCE_SECRET": SECRET,
            "ALLIANCE_CONFIG": str(tmp_path / "alliance.toml"),
            "ALLIANCE_HTTP_ATTEMPTS": "1",
        }
        for member, handle in stores.items():
            env[f"{member.upper()}_WC_KEY"] = handle.key.consumer_key
            env[f"{member.upper()}_WC_SECRET"] = handle.key.consumer_secret

        def invoke(*args: str, edit: Callable[[str], str] | None = None, **extra: str) -> Result:
            (tmp_path / "alliance.toml").write_text(agreement_text(stores, edit), "utf-8")
            return CliRunner().invoke(main, list(args), env={**env, **extra})

        invoke.stores = stores  # type: ignore[attr-defined]
        yield invoke


def test_issue_serves_every_qualifying_order_once_with_signed_links(run: Run) -> None:
    assert run("sync").exit_code == 0
    first = run("promotions", "issue")
    assert first.exit_code == 0, first.output
    assert "newborn-gift-pack li#1001: issued, created at wang, zhang, zhao, note sent" in (
        first.output
    )
    assert "2 new pack(s), 2 issued, 0 still open, 0 revoked; 5 request(s)" in first.output
    second = run("promotions", "issue", "--promotion", "newborn-gift-pack")
    assert second.exit_code == 0
    assert "No gift packs to issue: every qualifying order is served." in second.output

    notes = run.stores["li"].state.notes(1001)  # type: ignore[attr-defined]
    (note,) = [n["note"] for n in notes if n["customer_note"]]
    tokens = re.findall(re.escape(LINKS) + r"/r/([A-Za-z0-9_-]+)", note)
    claims = [verify_link(link_key(SECRET.encode()), token) for token in tokens]
    assert claims == [
        LinkClaim("li", partner, "", "giftpack", "newborn-gift-pack")
        for partner in ("wang", "zhang", "zhao")
    ]


def test_a_partner_without_keys_needs_attention_and_exits_1(run: Run) -> None:
    run("sync", "--member", "li")
    result = run("promotions", "issue", ZHAO_WC_KEY="")
    assert result.exit_code == 1
    assert "pending: zhao (zhao: ZHAO_WC_KEY is not set" in result.output
    assert "needs attention" in result.output


def test_an_unknown_promotion_is_refused_with_the_known_ones(run: Run) -> None:
    result = run("promotions", "issue", "--promotion", "spring-pack")
    assert result.exit_code == 1
    assert "promotion 'spring-pack' is not in" in result.output
    assert "its promotions: newborn-gift-pack" in result.output


def test_check_reports_a_reward_sku_the_synced_catalog_lacks(run: Run, tmp_path: Path) -> None:
    before = run("check", edit=wang_sample)  # no database yet: nothing to check against
    assert before.exit_code == 0 and "The agreement is valid." in before.output
    assert run("sync", "--member", "wang", edit=wang_sample).exit_code == 0
    after = run("check", edit=wang_sample)
    assert after.exit_code == 1
    config = tmp_path / "alliance.toml"
    assert (
        f'{config}:105: promotions[0].rewards[0].products[1]: SKU "SKU-404" is not in wang\'s '
        "synced products" in after.output
    )
    assert "SKU-501" not in after.output.split("version")[-1]
    assert "1 problem(s) against the synced catalogs." in after.output


def test_report_prints_the_figures_as_a_table_csv_and_json(run: Run) -> None:
    assert run("sync").exit_code == 0
    assert run("promotions", "issue").exit_code == 0
    code = gift_code(gift_code_key(SECRET.encode()), "newborn-gift-pack", "li/1001", "wang", "RPA")
    run.stores["wang"].state.checkout(  # type: ignore[attr-defined]
        {
            "line_items": [{"product_id": 501, "quantity": 2}],  # 118.00 - 30.00 = 88.00
            "coupon_lines": [{"code": code.lower()}],
            "billing": {"email": "mother@example.com"},
        }
    )
    assert run("sync", "--member", "wang").exit_code == 0

    table = run("promotions", "report")
    assert table.exit_code == 0, table.output
    assert "Gift packs of newborn-gift-pack: Spend 300 on Li's baby clothes" in table.output
    assert "packs: 2 (2 issued, 0 revoked)" in table.output
    rows = {line.split()[0]: line.split()[1:] for line in table.output.splitlines() if line}
    #                      created pending failed expired redeemed rate revenue discount commission
    assert rows["wang"] == ["2", "0", "0", "0", "1", "50.0%", "88.00", "30.00", "4.40"]
    assert rows["zhao"] == ["2", "0", "0", "0", "0", "0.0%", "0.00", "0.00", "0.00"]
    assert rows["total"] == ["6", "0", "0", "0", "1", "16.7%", "88.00", "30.00", "4.40"]

    data = json.loads(run("promotions", "report", "--format", "json").output)
    (promotion,) = data["promotions"]
    assert promotion["packs"]["issued"] == 2
    assert promotion["totals"]["commission"] == "4.40"
    assert promotion["partners"][0]["redemption_rate"] == "0.5000"

    lines = run("promotions", "report", "--format", "csv", "--promotion", "newborn-gift-pack")
    parsed = list(csv.DictReader(io.StringIO(lines.output)))
    assert [r["partner"] for r in parsed] == ["wang", "zhang", "zhao", "total"]
    assert parsed[-1]["packs"] == "2" and parsed[0]["revenue"] == "88.00"

    unknown = run("promotions", "report", "--promotion", "spring-pack")
    assert unknown.exit_code == 1
    assert "promotion 'spring-pack' is not in" in unknown.output
