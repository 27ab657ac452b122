"""The data firewall, end to end: personal data in the store never reaches storage or logs.

Orders full of distinctive personal data (names, emails, phones, addresses, IP addresses,
user agents, customer notes, in billing, shipping, meta and attribution) are synced from a real
sandbox store over HTTP; then every byte of the SQLite files, every row of every PostgreSQL
table and every captured log line is searched for each of those strings.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from alliance.privacy import customer_key
from connector.fixtures.orders import PERSONAL_STRINGS, distinctive_customer, woo_order
from connector.http import HttpPolicy, StoreClient
from connector.sandbox.server import start_sandbox
from connector.sync import sync_member
from connector.woocommerce.store import WooCommerceStore
from tests.conftest import SECRET

BASE = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
TAGS = [f"Qx{n}Leak" for n in range(12)]
UTM = {"source_type": "utm", "utm_source": "alliance", "utm_medium": "article",
       "utm_campaign": "li-wang", "utm_content": "click-1"}  # fmt: skip


def leaky_orders() -> list[dict]:
    result = []
    for n, tag in enumerate(TAGS):
        moment = BASE + timedelta(minutes=n)
        result.append(
            woo_order(
                9001 + n,
                status="completed" if n % 2 else "processing",
                created=moment,
                modified=moment,
                customer=distinctive_customer(tag),
                attribution=UTM,  # the attribution meta carries the user agent too
                coupons=[("LI-FRIENDS", Decimal("5.00"))] if n % 3 == 0 else [],
            )
        )
    result[5]["line_items"][0]["total"] = f"{TAGS[5]}-first"  # quarantined, reason stored
    return result


def personal_strings() -> list[str]:
    strings = []
    for tag in TAGS:
        customer = distinctive_customer(tag)
        strings += [customer[field] for field in PERSONAL_STRINGS]
        strings.append(tag)
    return strings


def sync_leaky_store(engine: Engine, agreement, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # everything, including urllib3's request lines
    with start_sandbox(orders=leaky_orders()) as handle:
        handle.faults.set("503@next=1,mutate:1@next=1")  # a retry and a change mid-sync
        client = StoreClient("wang", policy=HttpPolicy(attempts=3), sleep=lambda _s: None)
        store = WooCommerceStore(
            "wang", handle.url, handle.key.consumer_key, handle.key.consumer_secret, client=client
        )
        report = sync_member(engine, agreement, store, secret=SECRET.encode())
        assert report.ok and report.quarantined == 1
        assert report.orders_fetched >= len(TAGS)
    logging.getLogger("alliance.test").info("report: %r", report)  # reports are safe to log


def assert_the_sync_logged(caplog) -> None:
    """The search below means something only if the code under test did log: its quarantine
    warning (which names the bad field) and urllib3's request lines, not this test's line."""
    ours = [r.getMessage() for r in caplog.records if r.name != "alliance.test"]
    assert any("quarantined" in line and "line_items[0].total" in line for line in ours)
    assert any("/wp-json/wc/v3/orders" in line for line in ours)


def assert_no_personal_data(haystack: str, where: str) -> None:
    leaks = [s for s in personal_strings() if s in haystack]
    assert not leaks, f"personal data in {where}: {leaks[:5]}"


def test_sqlite_file_and_logs_hold_no_personal_data(
    sqlite_engine, agreement, caplog, tmp_path: Path
) -> None:
    sync_leaky_store(sqlite_engine, agreement, caplog)
    with sqlite_engine.connect() as conn:  # the customer is there only as a keyed hash
        keys = {row[0] for row in conn.execute(text("SELECT customer_key FROM orders"))}
        profiles = conn.execute(text("SELECT count(*) FROM order_profiles")).scalar_one()
    assert profiles >= len(TAGS) - 1  # group profiles (issue 16) were written, and searched
    assert customer_key(SECRET.encode(), distinctive_customer(TAGS[0])["email"]) in keys
    sqlite_engine.dispose()
    files = sorted(tmp_path.glob("alliance.db*"))
    assert files and files[0].stat().st_size > 0
    for path in files:  # the database, its WAL and shared memory
        assert_no_personal_data(path.read_bytes().decode("latin-1"), path.name)
    assert_the_sync_logged(caplog)
    assert_no_personal_data(caplog.text, "the logs")


@pytest.mark.postgres
def test_postgresql_tables_and_logs_hold_no_personal_data(postgres_engine, agreement, caplog):
    sync_leaky_store(postgres_engine, agreement, caplog)
    with postgres_engine.connect() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        dump = []
        for table in tables:
            rows = conn.execute(text(f'SELECT row_to_json(t)::text FROM "{table}" t')).scalars()
            dump += list(rows)
    assert len(dump) > len(TAGS)  # orders, ledger entries, sync state, quarantine...
    assert any('"value_band"' in row for row in dump)  # group profiles (issue 16) too
    assert_no_personal_data("\n".join(dump), "PostgreSQL")
    assert_the_sync_logged(caplog)
    assert_no_personal_data(caplog.text, "the logs")


def test_keys_and_signatures_never_reach_the_logs(caplog) -> None:
    """urllib3 logs every request line at DEBUG; the query string's secrets are scrubbed."""
    caplog.set_level(logging.DEBUG)
    with start_sandbox(orders=leaky_orders()[:2], tls=True) as handle:
        client = StoreClient("li", verify=handle.ca_path, sleep=lambda _s: None)
        store = WooCommerceStore(
            "li",
            handle.url,
            handle.key.consumer_key,
            handle.key.consumer_secret,
            query_string_auth=True,
            client=client,
        )
        assert store.list_orders(modified_after=None).total == 2
    with start_sandbox(orders=leaky_orders()[:2]) as handle:  # OAuth over plain HTTP
        client = StoreClient("li", sleep=lambda _s: None)
        store = WooCommerceStore(
            "li", handle.url, handle.key.consumer_key, handle.key.consumer_secret, client=client
        )
        assert store.list_orders(modified_after=None).total == 2
        signatures = [q for *_, q, _s in handle.state.request_log]
    assert "/wp-json/wc/v3/orders" in caplog.text  # urllib3 did log the requests
    assert "consumer_secret" not in caplog.text or "consumer_secret=***" in caplog.text
    assert handle.key.consumer_secret not in caplog.text
    assert "oauth_signature=" not in caplog.text.replace("oauth_signature=***", "")
    assert signatures  # the sandbox's own request log keeps no secrets either
    assert all("oauth_signature" not in q and "consumer_secret" not in q for q in signatures)


def test_a_profile_keeps_the_region_as_country_and_state_only() -> None:
    """Group profiles (issue 16) read the region from the order: never city, postcode, street."""
    from connector.woocommerce.mapping import map_order

    customer = distinctive_customer("Qz9Leak")
    raw = woo_order(77, customer=customer, created=BASE)
    order = map_order(raw, member="li", secret=SECRET.encode(), now=BASE)
    kept = repr(order)
    assert (order.country, order.state) == ("CN", "CN10")
    for field in ("city", "postcode", "address_1", "address_2", "first_name", "email"):
        assert customer[field] not in kept
