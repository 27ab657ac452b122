"""HTTPS to a member's store: which CAs are trusted, and what a refused certificate says.

Every test talks TLS to a real sandbox store over a real socket; certificates come from
throw-away CAs (trustme), never from turning verification off.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from alliance.agreement import Agreement
from alliance.agreement.model import Member
from alliance.errors import FatalError, RetriableError
from alliance.services import sync_records as records
from alliance.settings import Settings
from connector.connect import open_store
from connector.errors import TlsFailed
from connector.fixtures.orders import woo_order
from connector.members import sync_one
from connector.sandbox.server import SandboxHandle, start_sandbox
from connector.sandbox.tls import SandboxTls, make_tls
from tests.conftest import SECRET

BASE = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
ORDERS = [woo_order(1001 + n, created=BASE, modified=BASE) for n in range(3)]


def tls_of(ca: trustme.CA, cert: trustme.LeafCert, folder: Path) -> SandboxTls:
    """A sandbox TLS setup serving ``cert``, with ``ca``'s PEM written to ``folder``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    path = folder / f"ca-{id(cert)}.pem"
    ca.cert_pem.write_to_path(str(path))
    return SandboxTls(context=context, ca_path=str(path))


@pytest.fixture
def store() -> Iterator[SandboxHandle]:
    with start_sandbox(orders=ORDERS, tls=True) as handle:
        yield handle


@pytest.fixture
def other_ca(tmp_path: Path) -> str:
    """The PEM of a CA that signed nothing the store serves."""
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def member_at(agreement: Agreement, url: str) -> Member:
    return dataclasses.replace(agreement.members["li"], url=url)


def keys(handle: SandboxHandle, **extra: str) -> dict[str, str]:
    return {
        "LI_WC_KEY": handle.key.consumer_key,
        "LI_WC_SECRET": handle.key.consumer_secret,
        **extra,
    }


def orders_total(agreement: Agreement, handle: SandboxHandle, environ: dict[str, str]) -> int:
    store = open_store(member_at(agreement, handle.url), environ)
    try:
        return store.list_orders(modified_after=None).total or 0
    finally:
        store.close()


def refusal(agreement: Agreement, handle: SandboxHandle, environ: dict[str, str]) -> TlsFailed:
    store = open_store(member_at(agreement, handle.url), environ)
    try:
        with pytest.raises(TlsFailed) as caught:
            store.list_orders(modified_after=None)
        assert store.requests_sent == 1  # one attempt: retrying cannot change a certificate
    finally:
        store.close()
    return caught.value


def test_an_unknown_ca_is_a_fatal_error_that_says_how_to_trust_the_store(agreement, store):
    error = refusal(agreement, store, keys(store))
    assert isinstance(error, FatalError) and not isinstance(error, RetriableError)
    assert error.kind == "tls"
    message = str(error)
    assert message.startswith("li: GET orders: the store's certificate is not trusted")
    assert "unable to get local issuer certificate" in message
    assert "LI_WC_CA_BUNDLE" in message and "full certificate chain" in message
    assert "down, slow or unreachable" not in message and "try again later" not in message


def test_the_members_own_ca_bundle_is_trusted(agreement, store):
    assert orders_total(agreement, store, keys(store, LI_WC_CA_BUNDLE=store.ca_path)) == 3


def test_requests_ca_bundle_is_honoured_when_the_member_has_no_bundle(agreement, store):
    assert orders_total(agreement, store, keys(store, REQUESTS_CA_BUNDLE=store.ca_path)) == 3


def test_ssl_cert_file_is_honoured_when_the_member_has_no_bundle(agreement, store):
    assert orders_total(agreement, store, keys(store, SSL_CERT_FILE=store.ca_path)) == 3


def test_the_members_bundle_wins_over_a_wrong_requests_ca_bundle(agreement, store, other_ca):
    both = keys(store, LI_WC_CA_BUNDLE=store.ca_path, REQUESTS_CA_BUNDLE=other_ca)
    assert orders_total(agreement, store, both) == 3
    error = refusal(agreement, store, keys(store, REQUESTS_CA_BUNDLE=other_ca))
    assert "checked against the CA bundle in REQUESTS_CA_BUNDLE" in str(error)
    assert "LI_WC_CA_BUNDLE" in str(error)


def test_a_global_bundle_that_does_not_exist_is_named(agreement, store, tmp_path):
    missing = str(tmp_path / "nowhere.pem")
    with pytest.raises(FatalError, match="REQUESTS_CA_BUNDLE names a file that does not exist"):
        open_store(member_at(agreement, store.url), keys(store, REQUESTS_CA_BUNDLE=missing))


def test_a_certificate_for_another_host_says_so(agreement, tmp_path):
    tls = make_tls(names=("shop.example",))
    with start_sandbox(orders=ORDERS, tls=tls) as handle:
        error = refusal(agreement, handle, keys(handle, LI_WC_CA_BUNDLE=handle.ca_path))
    message = str(error)
    assert "the store's certificate is for another host" in message
    assert "not valid for '127.0.0.1'" in message and "member's url" in message
    assert "LI_WC_CA_BUNDLE" not in message  # the CA is trusted: a bundle would not help


def test_an_expired_certificate_says_so(agreement, tmp_path):
    ca = trustme.CA()
    now = datetime.now(UTC).replace(tzinfo=None)
    cert = ca.issue_cert(
        "127.0.0.1", not_before=now - timedelta(days=400), not_after=now - timedelta(days=35)
    )
    with start_sandbox(orders=ORDERS, tls=tls_of(ca, cert, tmp_path)) as handle:
        error = refusal(agreement, handle, keys(handle, LI_WC_CA_BUNDLE=handle.ca_path))
    assert "the store's certificate has expired" in str(error) and "renew" in str(error)


def test_a_sync_refused_by_tls_makes_one_request_and_asks_for_attention(
    agreement, store, sqlite_engine
):
    settings = Settings.from_env({"ALLIANCE_SECRET": SECRET})
    moved = dataclasses.replace(agreement, members={**agreement.members})
    moved.members["li"] = member_at(agreement, store.url)
    report = sync_one(sqlite_engine, moved, settings, "li", environ=keys(store))
    assert isinstance(report.error, TlsFailed) and report.requests == 1
    with sqlite_engine.connect() as conn:
        state = records.load_state(conn, "li")
    assert state.needs_attention and state.last_error_kind == "tls"
    assert "LI_WC_CA_BUNDLE" in state.last_error
