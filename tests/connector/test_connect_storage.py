"""What a connection leaves in the database: ciphertext only, readable with the right
ALLIANCE_KEYS_SECRET alone; connect states used once, and old ones cleared away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alliance.errors import ConfigError
from alliance.services.key_vault import KeyVault
from alliance.services.store_connections import (
    StoreConnection,
    StoredWebhook,
    credentials_environ,
    issue_state_nonce,
    load_connection,
    save_connection,
    use_state_nonce,
)
from tests.connector.connect_support import KEYS_SECRET, stored_text

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
KEY, SECRET = "ck_" + "a" * 40, "cs_" + "b" * 40


def connection(url: str = "https://wang.example") -> StoreConnection:
    return StoreConnection(
        member="wang",
        store_url=url,
        key_id=7,
        key_permissions="read_write",
        consumer_key=KEY,
        consumer_secret=SECRET,
        webhooks=(StoredWebhook(11, "order.updated", "hook-secret-eleven"),),
        connected_at=NOW,
    )


def test_keys_are_stored_encrypted_and_read_back_with_the_same_secret(engine) -> None:
    save_connection(engine, KeyVault(KEYS_SECRET), connection())

    stored = stored_text(engine)
    for plain in (KEY, SECRET, "hook-secret-eleven"):
        assert plain not in stored
    back = load_connection(engine, KeyVault(KEYS_SECRET), "wang")
    assert back is not None
    assert (back.consumer_key, back.consumer_secret) == (KEY, SECRET)
    assert back.webhook_secret(11) == "hook-secret-eleven"
    assert back.webhook_secret(12) == ""
    assert SECRET not in repr(back)


def test_another_keys_secret_cannot_read_them_and_says_what_to_do(engine) -> None:
    save_connection(engine, KeyVault(KEYS_SECRET), connection())

    with pytest.raises(ConfigError, match="connect the store again"):
        load_connection(engine, KeyVault("another-keys-secret-0123456789-abcdef"), "wang")


@pytest.mark.parametrize("secret", [None, "", "short"])
def test_a_missing_or_short_keys_secret_is_refused_with_how_to_make_one(secret) -> None:
    with pytest.raises(ConfigError, match="ALLIANCE_KEYS_SECRET"):
        KeyVault(secret)


def test_environment_keys_win_and_a_key_for_another_url_is_not_used(engine, agreement) -> None:
    save_connection(engine, KeyVault(KEYS_SECRET), connection())

    stored = credentials_environ(engine, agreement, {}, KEYS_SECRET)
    env = credentials_environ(engine, agreement, {"WANG_WC_KEY": "ck_env"}, KEYS_SECRET)
    save_connection(engine, KeyVault(KEYS_SECRET), connection("https://old.example"))
    moved = credentials_environ(engine, agreement, {}, KEYS_SECRET)

    assert (stored["WANG_WC_KEY"], stored["WANG_WC_SECRET"]) == (KEY, SECRET)
    assert (env["WANG_WC_KEY"], env["WANG_WC_SECRET"]) == ("ck_env", SECRET)
    assert "WANG_WC_KEY" not in moved


def test_a_state_is_good_once_for_its_member_and_old_ones_are_cleared(sqlite_engine) -> None:
    old = issue_state_nonce(sqlite_engine, "wang", NOW - timedelta(days=2))
    fresh = issue_state_nonce(sqlite_engine, "wang", NOW)

    assert not use_state_nonce(sqlite_engine, fresh, "li", NOW)  # another member's
    assert use_state_nonce(sqlite_engine, fresh, "wang", NOW)
    assert not use_state_nonce(sqlite_engine, fresh, "wang", NOW)  # replayed
    assert not use_state_nonce(sqlite_engine, old, "wang", NOW)  # cleared away
