"""The web app on real sockets: webhooks, health, the CLI, and the loop from a click to a
booked commission."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from alliance.agreement import Agreement
from alliance.cli.web_commands import COMMANDS, link
from alliance.services.catalog import upsert_products
from alliance.storage.database import open_database
from alliance.storage.schema import clicks, ledger_entries, orders
from connector.connect import open_store
from connector.fixtures.orders import woo_order
from connector.sandbox.server import SandboxHandle, start_sandbox
from connector.sync import sync_member
from connector.woocommerce.webhooks import signature
from tests.conftest import EXAMPLE, SECRET
from tests.widgets.test_redirect import BROWSER, product, test_settings, token
from widgets.app import create_app
from widgets.links import link_key, verify_link
from widgets.webhook_route import MAX_BODY

HOOK_SECRET = "wang-webhook-secret"


def with_store(agreement: Agreement, member: str, url: str) -> Agreement:
    """The example agreement with ``member``'s store at ``url`` (a sandbox)."""
    moved = dataclasses.replace(agreement.members[member], url=url)
    return dataclasses.replace(agreement, members={**agreement.members, member: moved})


def env_for(handle: SandboxHandle) -> dict[str, str]:
    return {
        "WANG_WC_KEY": handle.key.consumer_key,
        "WANG_WC_SECRET": handle.key.consumer_secret,
        "WANG_WC_WEBHOOK_SECRET": HOOK_SECRET,
    }


class Server:
    """A real uvicorn server for ``app`` on 127.0.0.1, any free port, in a thread."""

    def __init__(self, app: Starlette) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def wang_store() -> Iterator[SandboxHandle]:
    with start_sandbox() as handle:
        yield handle


@pytest.fixture
def moved(agreement: Agreement, wang_store: SandboxHandle) -> Agreement:
    return with_store(agreement, "wang", wang_store.url)


def delivery(
    order_id: int, secret: str = HOOK_SECRET, topic: str = "order.updated"
) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"id": order_id, "total": "99999.00"}).encode()
    return {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Signature": signature(body, secret),
        "X-WC-Webhook-Delivery-ID": "7",
        "Content-Type": "application/json",
    }, body


def test_a_signed_order_delivery_is_processed_inline_without_redis(
    sqlite_engine: Engine, moved: Agreement, wang_store: SandboxHandle
) -> None:
    moment = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    wang_store.state.add_orders(
        [
            woo_order(
                6001, created=moment, modified=moment, coupons=[("LI-FRIENDS", Decimal("5.00"))]
            )
        ]
    )
    app = create_app(
        test_settings(), agreement=moved, engine=sqlite_engine, environ=env_for(wang_store)
    )
    with TestClient(app) as client:
        headers, body = delivery(6001)
        answer = client.post("/webhooks/woocommerce/wang", content=body, headers=headers)
        assert answer.status_code == 200 and answer.json() == {"status": "processed"}
        bad_headers, bad_body = delivery(6001, secret="not-the-secret")
        refused = client.post("/webhooks/woocommerce/wang", content=bad_body, headers=bad_headers)
        assert refused.status_code == 401 and "signature" in refused.json()["error"]
        ping = client.post(
            "/webhooks/woocommerce/wang",
            content=b"webhook_id=12",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert ping.status_code == 200
        assert client.post("/webhooks/woocommerce/mallory", content=body).status_code == 404
        big = client.post(
            "/webhooks/woocommerce/wang", content=b"x" * (MAX_BODY + 1), headers=headers
        )
        assert big.status_code == 413
        assert client.get("/webhooks/woocommerce/wang").status_code == 405
    with sqlite_engine.connect() as conn:
        (stored,) = conn.execute(select(orders)).mappings()
        (entry,) = conn.execute(select(ledger_entries)).mappings()
    assert (stored["member"], stored["external_id"]) == ("wang", "6001")
    assert entry["deal_id"] == "li-wang"  # the referral coupon, fetched back from the store


def post(app: Starlette, headers: dict[str, str], body: bytes) -> httpx.Response:
    with TestClient(app) as client:
        return client.post("/webhooks/woocommerce/wang", content=body, headers=headers)


def test_an_order_delivery_the_alliance_cannot_act_on_is_accepted_and_logged(
    sqlite_engine: Engine, moved: Agreement, wang_store: SandboxHandle, caplog
) -> None:
    """WooCommerce disables a webhook after repeated failures, and retrying fixes no keys."""
    no_keys = {"WANG_WC_WEBHOOK_SECRET": HOOK_SECRET}
    bad_keys = {**env_for(wang_store), "WANG_WC_SECRET": "cs_not_the_secret"}
    for environ, logged in ((no_keys, "WANG_WC_KEY"), (bad_keys, "consumer key")):
        app = create_app(test_settings(), agreement=moved, engine=sqlite_engine, environ=environ)
        answer = post(app, *delivery(6001))
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "not processed"
        assert "WANG_WC" not in answer.text and "cs_not_the_secret" not in answer.text
        assert logged in caplog.text and "Traceback" not in caplog.text
    assert "cs_not_the_secret" not in caplog.text


def test_a_delivery_for_an_order_the_store_no_longer_has_is_accepted_with_nothing_to_do(
    sqlite_engine: Engine, moved: Agreement, wang_store: SandboxHandle, caplog
) -> None:
    app = create_app(
        test_settings(), agreement=moved, engine=sqlite_engine, environ=env_for(wang_store)
    )
    answer = post(app, *delivery(6099))
    assert answer.status_code == 200 and answer.json() == {"status": "nothing to book"}
    assert "permalinks" not in answer.text and "permalinks" not in caplog.text
    assert "6099" in caplog.text and "Traceback" not in caplog.text


def test_a_deleted_delivery_reverses_an_order_the_store_deleted_for_good(
    sqlite_engine: Engine, moved: Agreement, wang_store: SandboxHandle
) -> None:
    moment = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    coupon = [("LI-FRIENDS", Decimal("5.00"))]
    wang_store.state.add_orders([woo_order(6001, created=moment, modified=moment, coupons=coupon)])
    app = create_app(
        test_settings(), agreement=moved, engine=sqlite_engine, environ=env_for(wang_store)
    )
    assert post(app, *delivery(6001)).json() == {"status": "processed"}
    wang_store.state.delete_order(6001, force=True)
    answer = post(app, *delivery(6001, topic="order.deleted"))
    assert answer.status_code == 200 and answer.json() == {"status": "processed"}
    with sqlite_engine.connect() as conn:
        amounts = conn.execute(select(ledger_entries.c.amount_minor)).scalars().all()
    assert len(amounts) == 2 and sum(amounts) == 0


def test_an_order_delivery_while_the_store_is_throttled_answers_503_for_a_retry(
    sqlite_engine: Engine, moved: Agreement
) -> None:
    with start_sandbox(faults="429:600") as throttled:  # Retry-After too long to wait out
        app = create_app(
            test_settings(),
            agreement=with_store(moved, "wang", throttled.url),
            engine=sqlite_engine,
            environ=env_for(throttled),
        )
        answer = post(app, *delivery(6001))
    assert answer.status_code == 503 and "error" in answer.json()


def test_a_delivery_when_the_database_is_down_answers_503(
    moved: Agreement, wang_store: SandboxHandle, tmp_path
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'no-such-directory' / 'alliance.db'}")
    app = create_app(test_settings(), agreement=moved, engine=engine, environ=env_for(wang_store))
    wang_store.state.add_orders([woo_order(6001)])
    answer = post(app, *delivery(6001))
    assert answer.status_code == 503 and "error" in answer.json()


def test_a_signed_delivery_that_names_no_order_is_accepted_and_a_forged_one_refused(
    sqlite_engine: Engine, moved: Agreement, caplog
) -> None:
    app = create_app(
        test_settings(),
        agreement=moved,
        engine=sqlite_engine,
        environ={"WANG_WC_WEBHOOK_SECRET": HOOK_SECRET},
    )
    body = b'{"id": "not a number"}'
    headers = {"X-WC-Webhook-Topic": "order.updated", "Content-Type": "application/json"}
    signed = post(app, {**headers, "X-WC-Webhook-Signature": signature(body, HOOK_SECRET)}, body)
    assert signed.status_code == 200 and signed.json()["status"] == "ignored"
    assert "no positive whole-number id" in caplog.text
    forged = post(app, {**headers, "X-WC-Webhook-Signature": signature(body, "guess")}, body)
    assert forged.status_code == 401


def test_the_app_serves_links_and_health_on_a_real_uvicorn_server(
    sqlite_engine: Engine, agreement: Agreement
) -> None:
    with sqlite_engine.begin() as conn:
        upsert_products(conn, [product("wang", "205", "https://wang.example/p/wash")])
    app = create_app(test_settings(), agreement=agreement, engine=sqlite_engine)
    with Server(app) as base, httpx.Client(base_url=base, headers={"user-agent": BROWSER}) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        answer = http.get(f"/r/{token('li', 'wang', '205', 'li-wang')}")
        assert answer.status_code == 302
        assert answer.headers["location"].startswith("https://wang.example/p/wash?utm_source=")
        assert http.get("/r/garbage").status_code == 404
    with sqlite_engine.connect() as conn:
        (click,) = conn.execute(select(clicks)).mappings()
    assert click["visitor_key"] and "127.0.0.1" not in click["visitor_key"]


def test_a_click_then_an_order_carrying_its_utm_values_is_booked_under_the_deal(
    sqlite_engine: Engine, moved: Agreement, wang_store: SandboxHandle
) -> None:
    """The loop: a tracked link, a purchase at the partner's sandbox store, a sync, a booking."""
    with sqlite_engine.begin() as conn:
        upsert_products(conn, [product("wang", "205", f"{wang_store.url}/product/wash/")])
    app = create_app(test_settings(), agreement=moved, engine=sqlite_engine)
    with Server(app) as base, httpx.Client(base_url=base, headers={"user-agent": BROWSER}) as http:
        answer = http.get(f"/r/{token('li', 'wang', '205', 'li-wang', 'article')}")
    assert answer.status_code == 302
    landing = urlsplit(answer.headers["location"])
    assert f"{landing.scheme}://{landing.netloc}" == wang_store.url
    utm = {k: v[0] for k, v in parse_qs(landing.query).items()}
    bought = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    wang_store.state.add_orders([woo_order(7001, created=bought, modified=bought, attribution=utm)])
    report = sync_member(
        sqlite_engine,
        moved,
        open_store(moved.members["wang"], env_for(wang_store)),
        secret=SECRET.encode(),
    )
    assert report.error is None
    with sqlite_engine.connect() as conn:
        (order,) = conn.execute(select(orders)).mappings()
        booked = list(conn.execute(select(ledger_entries)).mappings())
    assert order["external_id"] == "7001"
    assert {(e["deal_id"], e["payer"], e["payee"]) for e in booked} == {("li-wang", "wang", "li")}
    assert order["referrer"] == "li"
    assert utm["utm_content"] in order["facts"]  # the evidence: the recorded click's id


@pytest.fixture
def wang_catalogue(tmp_path, monkeypatch) -> str:
    """A ledger whose synced catalogue holds Wang's product 205, as the environment's."""
    url = f"sqlite:///{tmp_path / 'alliance.db'}"
    engine = open_database(url)
    with engine.begin() as conn:
        upsert_products(conn, [product("wang", "205", "https://wang.example/p/205")])
    engine.dispose()
    monkeypatch.setenv("ALLIANCE_DATABASE_URL", url)
    return url


def test_link_prints_a_tracked_url_for_a_deal_between_the_members(
    monkeypatch, wang_catalogue
) -> None:
    monkeypatch.setenv("ALLIANCE_SECRET", SECRET)
    monkeypatch.setenv("ALLIANCE_CONFIG", str(EXAMPLE))
    runner = CliRunner()
    result = runner.invoke(link, ["--from", "li", "--to", "wang", "--product", "205"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("https://go.parenting.example/r/")
    claim = verify_link(link_key(SECRET.encode()), url.rsplit("/", 1)[1])
    assert (claim.source, claim.target, claim.product_id, claim.placement, claim.deal_id) == (
        "li",
        "wang",
        "205",
        "article",
        "li-wang",
    )
    refused = runner.invoke(link, ["--from", "li", "--to", "zhang", "--product", "1"])
    assert refused.exit_code == 1 and "no deal lets li refer customers to zhang" in refused.output
    unknown = runner.invoke(link, ["--from", "li", "--to", "nobody", "--product", "1"])
    assert unknown.exit_code == 2 and "not a member" in unknown.output
    monkeypatch.delenv("ALLIANCE_SECRET")
    secretless = runner.invoke(link, ["--from", "li", "--to", "wang", "--product", "205"])
    assert secretless.exit_code == 1 and "ALLIANCE_SECRET" in secretless.output
    assert {c.name for c in COMMANDS} == {"serve", "link", "widget"}


def test_link_to_a_product_the_partner_does_not_sell_is_refused_unless_allowed(
    monkeypatch, wang_catalogue
) -> None:
    monkeypatch.setenv("ALLIANCE_SECRET", SECRET)
    monkeypatch.setenv("ALLIANCE_CONFIG", str(EXAMPLE))
    runner = CliRunner()
    refused = runner.invoke(link, ["--from", "li", "--to", "wang", "--product", "999"])
    assert refused.exit_code == 1 and "/r/" not in refused.output
    assert "product '999' is not in wang's catalogue" in refused.output
    assert "1 products, e.g. 205 (Product 205)" in refused.output
    assert "--allow-unknown" in refused.output
    allowed = runner.invoke(
        link, ["--from", "li", "--to", "wang", "--product", "999", "--allow-unknown"]
    )
    assert allowed.exit_code == 0 and allowed.output.startswith("https://go.parenting.example/r/")
    claim = verify_link(link_key(SECRET.encode()), allowed.output.strip().rsplit("/", 1)[1])
    assert claim.product_id == "999"


def test_a_link_without_links_base_url_warns_that_it_works_only_here(
    monkeypatch, wang_catalogue, tmp_path
) -> None:
    local = tmp_path / "alliance.toml"
    text = EXAMPLE.read_text(encoding="utf-8")
    local.write_text(text.replace('links_base_url = "https://go.parenting.example"\n', ""))
    monkeypatch.setenv("ALLIANCE_SECRET", SECRET)
    monkeypatch.setenv("ALLIANCE_CONFIG", str(local))
    result = CliRunner().invoke(link, ["--from", "li", "--to", "wang", "--product", "205"])
    assert result.exit_code == 0
    assert result.stdout.startswith("http://127.0.0.1:8000/r/")
    assert "warning: links_base_url is not set" in result.stderr
    assert "works only on this machine" in result.stderr


def test_a_server_process_freezes_what_is_alive_and_collects_young_objects_less_often():
    import gc

    from widgets.app import GC_THRESHOLDS, tune_collector

    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 1000  # modules, templates, the agreement...
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
