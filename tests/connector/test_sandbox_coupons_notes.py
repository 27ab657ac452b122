"""The customer note that tells a shopper their gift code: written, listed, emailed, refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import woocommerce

from connector.sandbox.auth import generate_key
from connector.sandbox.mail import SentEmail
from connector.sandbox.server import SandboxHandle, start_sandbox
from tests.connector.sandbox_fixtures import FakeClock, https_session, store_orders


@pytest.fixture
def store() -> Iterator[SandboxHandle]:
    with start_sandbox(orders=store_orders(), clock=FakeClock()) as handle:
        yield handle


@pytest.fixture
def client(store: SandboxHandle) -> woocommerce.API:
    key = store.key
    return woocommerce.API(store.url, key.consumer_key, key.consumer_secret, timeout=10)


def test_a_customer_note_is_written_by_woocommerce_listed_first_and_emailed(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    client.post("orders/1002/notes", {"note": "Packed."})
    added = client.post(
        "orders/1002/notes", {"note": "Your gift code from Wang: GIFT-7", "customer_note": True}
    )
    assert added.status_code == 201
    note = added.json()
    assert (note["author"], note["customer_note"], note["note"]) == (
        "WooCommerce",
        True,
        "Your gift code from Wang: GIFT-7",
    )
    assert (note["date_created_gmt"], note["date_created"]) == (
        "2026-11-20T12:00:00",
        "2026-11-20T20:00:00",
    )
    listed = client.get("orders/1002/notes").json()
    assert [n["note"] for n in listed] == ["Your gift code from Wang: GIFT-7", "Packed."]
    only = client.get("orders/1002/notes", params={"type": "customer"}).json()
    assert [n["id"] for n in only] == [note["id"]]
    internal = client.get("orders/1002/notes", params={"type": "internal"}).json()
    assert [n["note"] for n in internal] == ["Packed."]
    email = store.state.order(1002)["billing"]["email"]
    assert store.state.sent_emails() == [
        SentEmail(
            to=email,
            subject="Note added to your Sandbox store order from November 2, 2026",
            heading="A note has been added to your order",
            body="Your gift code from Wang: GIFT-7",
            order_id=1002,
            sent_at_gmt="2026-11-20T12:00:00",
        )
    ]
    assert store.state.sent_emails(to=email.upper()) == store.state.sent_emails()
    by_user = client.post("orders/1002/notes", {"note": "Hi", "added_by_user": True}).json()
    assert by_user["author"] == "Sandbox Admin"  # the key's own user, only when asked


def test_a_note_on_an_order_without_a_billing_email_sends_no_mail(
    store: SandboxHandle, client: woocommerce.API
) -> None:
    store.state.modify_order(1001, billing={"email": ""})
    assert (
        client.post("orders/1001/notes", {"note": "Hi", "customer_note": True}).status_code == 201
    )
    assert store.state.sent_emails() == []


def test_notes_on_an_unknown_order_are_404(store: SandboxHandle, client: woocommerce.API) -> None:
    invalid = {
        "code": "woocommerce_rest_order_invalid_id",
        "message": "Invalid order ID.",
        "data": {"status": 404},
    }
    written = client.post("orders/424242/notes", {"note": "Hi", "customer_note": True})
    assert (written.status_code, written.json()) == (404, invalid)
    assert client.get("orders/424242/notes").json() == invalid
    assert client.get("orders/1002/notes", params={"type": "all"}).status_code == 400


def test_a_read_only_key_cannot_add_a_note() -> None:
    reader = generate_key("read")
    with start_sandbox(orders=store_orders(), tls=True, keys=[reader]) as handle:
        session = https_session(handle)
        answer = session.post(
            f"{handle.api_root}/orders/1002/notes", json={"note": "Hi", "customer_note": True}
        )
        assert answer.status_code == 401
        assert answer.json()["message"] == "The API key provided does not have write permissions."
        assert handle.state.notes(1002) == [] and handle.state.sent_emails() == []
        assert session.get(f"{handle.api_root}/orders/1002/notes").json() == []
