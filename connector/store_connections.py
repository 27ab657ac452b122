"""Connect your store, the WooCommerce way: no key is ever copied by hand.

1. :func:`start_connect` makes the URL of the member's own ``/wc-auth/v1/authorize`` page
   (a read/write key for the alliance, ``user_id`` = a signed single-use state).
2. The shop owner approves there; the store POSTs the new key to the app's callback, which
   calls :func:`complete_connect`: the state must be genuine, fresh and unused, the key must
   read **and** write the member's own store (the agreement's URL: a key for any other store
   fails here), then one webhook per topic is registered (each with its own secret) and the
   key and secrets are stored encrypted (``ALLIANCE_KEYS_SECRET``). The caller then runs the
   first sync.
3. :func:`disconnect` deletes those webhooks in the store and forgets the key.

Keys in the environment (``<CREDENTIALS_ENV>_KEY`` / ``_SECRET``) keep working and win:
:func:`open_connected_store` opens a store from them when set, else from the stored key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from alliance.agreement import Agreement
from alliance.agreement.model import Member
from alliance.errors import BadInputError, ConfigError
from alliance.services import store_connections as stored
from alliance.services.key_vault import KeyVault
from alliance.settings import Settings
from connector.connect import ca_trust, open_store
from connector.errors import StoreError
from connector.http import HttpPolicy
from connector.storefront import Storefront
from connector.woocommerce.authorize import (
    ConnectRefused,
    ConnectState,
    authorize_url,
    read_granted_key,
    read_state,
    sign_state,
)
from connector.woocommerce.store import WooCommerceStore
from connector.woocommerce.webhook_registry import (
    delivery_url,
    register_webhooks,
    unregister_webhooks,
)

log = logging.getLogger("alliance.connect")


@dataclass(frozen=True)
class Connected:
    member: str
    webhooks: int
    replaced: bool  # a connection existed and was replaced


@dataclass(frozen=True)
class Disconnected:
    member: str
    webhooks_deleted: int
    problem: str = ""  # the store could not be reached: its webhooks may remain


def _member(agreement: Agreement, member_id: str) -> Any:
    member = agreement.members.get(member_id)
    if member is None:
        known = ", ".join(sorted(agreement.members))
        raise BadInputError(
            f"{member_id!r} is not a member of {agreement.source}; members are: {known}"
        )
    return member


def start_connect(
    engine: Engine,
    agreement: Agreement,
    settings: Settings,
    member_id: str,
    app_url: str,
    *,
    return_url: str | None = None,
) -> str:
    """The URL to send the shop owner to: their store's page approving a key for the app."""
    member = _member(agreement, member_id)
    KeyVault(settings.keys_secret)  # refuse now, not after the owner approved
    if not app_url.lower().startswith("https://"):
        log.warning("the app URL %s is not https: a genuine store refuses its callback", app_url)
    nonce = stored.issue_state_nonce(engine, member.id, datetime.now(UTC))
    signed = sign_state(settings.require_secret(), ConnectState(member.id, nonce))
    return authorize_url(
        member.url, app_url, signed, return_url=return_url, rest_route=member.rest_route
    )


def complete_connect(
    engine: Engine,
    agreement: Agreement,
    settings: Settings,
    payload: Any,
    app_url: str,
    *,
    environ: Mapping[str, str] | None = None,
    policy: HttpPolicy | None = None,
) -> Connected:
    """Take the key a store POSTed to the callback (see the module's docstring).

    Raises :class:`ConnectRefused` for a forged, expired, replayed or unusable key (answer
    4xx: the store then deletes the key it made), :class:`ConfigError` when the alliance is
    not set up to keep keys, and the store's errors when it cannot be reached.
    """
    granted = read_granted_key(payload)
    state = read_state(settings.require_secret(), granted.state)
    member = agreement.members.get(state.member)
    if member is None:
        raise ConnectRefused(f"{state.member!r} is no longer a member of the agreement")
    vault = KeyVault(settings.keys_secret)
    if not stored.use_state_nonce(engine, state.nonce, member.id, datetime.now(UTC)):
        raise ConnectRefused(
            f"{member.id}: this connect state was used already (or never issued); start "
            "connecting again"
        )
    store = _store(member, member.url, granted.consumer_key, granted.consumer_secret,
                   environ, policy)  # fmt: skip
    try:
        access = store.check_access()
        if not access.can_read:
            raise ConnectRefused(
                f"{member.id}: the key sent to the alliance does not open {member.url} "
                f"({access.problem or 'refused'}); connect from that store"
            )
        if not access.can_write:
            raise ConnectRefused(
                f"{member.id}: the key is read-only, and the alliance needs to write (webhooks, "
                "gift-pack coupons, order notes); connect again and approve Read/Write"
            )
        previous = stored.load_connection(engine, vault, member.id)
        hooks = register_webhooks(store, delivery_url(app_url, member.id))
        connection = stored.StoreConnection(
            member=member.id,
            store_url=member.url,
            key_id=granted.key_id,
            key_permissions=granted.key_permissions,
            consumer_key=granted.consumer_key,
            consumer_secret=granted.consumer_secret,
            webhooks=tuple(stored.StoredWebhook(*hook) for hook in hooks),
            connected_at=datetime.now(UTC),
        )
        try:
            stored.save_connection(engine, vault, connection)
        except Exception:  # the store deletes the key on our error: leave no webhooks behind
            unregister_webhooks(store, [hook[0] for hook in hooks], quiet=True)
            raise
        if previous is not None:
            unregister_webhooks(store, [hook.id for hook in previous.webhooks], quiet=True)
    finally:
        store.close()
    log.info("%s: store connected, %d webhooks registered", member.id, len(hooks))
    return Connected(member.id, len(hooks), previous is not None)


def disconnect(
    engine: Engine,
    agreement: Agreement,
    settings: Settings,
    member_id: str,
    *,
    environ: Mapping[str, str] | None = None,
    policy: HttpPolicy | None = None,
) -> Disconnected:
    """Delete the member's webhooks in its store, then forget its stored key."""
    member = _member(agreement, member_id)
    connection = stored.load_connection(engine, KeyVault(settings.keys_secret), member.id)
    if connection is None:
        raise BadInputError(
            f"{member.id} is not connected through the alliance; nothing to disconnect (keys "
            f"in {member.key_variable} and {member.secret_variable} go by unsetting them)"
        )
    store = _store(member, connection.store_url, connection.consumer_key,
                   connection.consumer_secret, environ, policy)  # fmt: skip
    problem, deleted = "", 0
    try:
        deleted = unregister_webhooks(store, [hook.id for hook in connection.webhooks])
    except StoreError as exc:
        problem = str(exc)
    finally:
        store.close()
    stored.remove_connection(engine, member.id)
    return Disconnected(member.id, deleted, problem)


def connected_environ(
    engine: Engine,
    agreement: Agreement,
    settings: Settings,
    environ: Mapping[str, str] | None = None,
) -> Mapping[str, str]:
    """The environment with connected stores' keys beneath it (the environment wins)."""
    env = os.environ if environ is None else environ
    return stored.credentials_environ(engine, agreement, env, settings.keys_secret)


def open_connected_store(
    engine: Engine,
    agreement: Agreement,
    settings: Settings,
    member_id: str,
    *,
    environ: Mapping[str, str] | None = None,
    policy: HttpPolicy | None = None,
) -> Storefront:
    """:func:`connector.connect.open_store` with the member's stored key when the environment
    has none."""
    env = connected_environ(engine, agreement, settings, environ)
    return open_store(agreement.members[member_id], env, policy=policy)


def webhook_secret_for(
    engine: Engine, settings: Settings, member: str, webhook_id: str | None
) -> str:
    """The secret of the stored webhook a delivery names (``X-WC-Webhook-ID``), or "".

    The header is not signed; it only picks which secret to check the signature with.
    """
    if not webhook_id or not webhook_id.isdigit() or len(webhook_id) > 18:
        return ""
    if member not in stored.connected_members(engine):
        return ""
    try:
        connection = stored.load_connection(engine, KeyVault(settings.keys_secret), member)
    except ConfigError as exc:
        log.error("webhook for %s: %s", member, exc)
        return ""
    return "" if connection is None else connection.webhook_secret(int(webhook_id))


def _store(
    member: Member,
    url: str,
    key: str,
    secret: str,
    environ: Mapping[str, str] | None,
    policy: HttpPolicy | None,
) -> WooCommerceStore:
    """The member's store under a key it gave the alliance, trusting the CAs it names."""
    env = os.environ if environ is None else environ
    return WooCommerceStore(
        member.id,
        url,
        key,
        secret,
        rest_route=member.rest_route,
        verify=ca_trust(member, env),
        policy=policy,
    )
