"""A member of the agreement -> a connected :class:`~connector.storefront.Storefront`.

Keys come from the environment (``<CREDENTIALS_ENV>_KEY`` / ``_SECRET``), never from the
agreement file; a missing one is a :class:`~alliance.errors.ConfigError` naming the variable,
not its value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from alliance.agreement.model import Member
from alliance.errors import ConfigError
from connector.http import HttpPolicy
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
        raise ConfigError(
            f"{member.id}: set {' and '.join(missing)} to the store's WooCommerce REST API "
            "consumer key and secret (WooCommerce > Settings > Advanced > REST API)"
        )
    ca_bundle = env.get(member.ca_bundle_variable) or None
    if ca_bundle is not None and not os.path.isfile(ca_bundle):
        raise ConfigError(
            f"{member.id}: {member.ca_bundle_variable} names a file that does not exist; "
            "point it at the PEM file of the CA that signed the store's certificate"
        )
    return WooCommerceStore(
        member.id,
        member.url,
        env[member.key_variable],
        env[member.secret_variable],
        rest_route=member.rest_route,
        verify=ca_bundle or True,
        policy=policy,
        webhook_secret=env.get(member.webhook_secret_variable, ""),
    )
