"""A member of the agreement -> a connected :class:`~connector.storefront.Storefront`.

Keys come from the environment (``<CREDENTIALS_ENV>_KEY`` / ``_SECRET``), never from the
agreement file; a missing one is a :class:`~alliance.errors.ConfigError` naming the variable,
not its value.

The CAs an HTTPS store is checked against: the member's ``<CREDENTIALS_ENV>_CA_BUNDLE``, else
``REQUESTS_CA_BUNDLE``, else ``SSL_CERT_FILE`` (what every Python tool honours), else the
public CAs ``requests`` ships.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from alliance.agreement.model import Member
from alliance.errors import ConfigError
from connector.errors import MissingKeys
from connector.http import CaTrust, HttpPolicy
from connector.storefront import Storefront
from connector.woocommerce.store import WooCommerceStore


def open_store(
    member: Member,
    environ: Mapping[str, str] | None = None,
    *,
    policy: HttpPolicy | None = None,
) -> Storefront:
    env = os.environ if environ is None else environ
    missing = [v for v in (member.key_variable, member.secret_variable) if not env.get(v)]
    if missing:
        raise MissingKeys(member.id, missing)
    return WooCommerceStore(
        member.id,
        member.url,
        env[member.key_variable],
        env[member.secret_variable],
        rest_route=member.rest_route,
        verify=ca_trust(member, env),
        policy=policy,
        webhook_secret=env.get(member.webhook_secret_variable, ""),
    )


GLOBAL_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
"""Honoured in this order when a member names no bundle of its own."""


def ca_trust(member: Member, env: Mapping[str, str]) -> CaTrust:
    """The CAs the member's store is checked against; a named file that is missing is an error."""
    own = member.ca_bundle_variable
    if env.get(own):
        if not os.path.isfile(env[own]):
            raise ConfigError(
                f"{member.id}: {own} names a file that does not exist; "
                "point it at the PEM file of the CA that signed the store's certificate"
            )
        return CaTrust(env[own], own, own)
    if member.url.lower().startswith("https:"):
        for name in GLOBAL_CA_VARIABLES:
            if env.get(name):
                if not os.path.exists(env[name]):
                    raise ConfigError(
                        f"{member.id}: {name} names a file that does not exist; fix or unset "
                        f"it, or set {own} to the PEM file of the CA that signed the store's "
                        "certificate"
                    )
                return CaTrust(env[name], name, own)
    return CaTrust(True, "", own)
