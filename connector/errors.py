"""What can go wrong talking to a member's store, as types the edges can act on.

Each error names the member and the endpoint (``GET orders``), says what to check, and never
carries a key, a secret, a signature or a full URL with its query string. Retriable ones
(rate limited, unavailable, a garbled answer) are retried by the HTTP policy and, once it gives
up, by the next scheduled sync; fatal ones (bad keys, forbidden, a refused certificate) need a
person.
"""

from __future__ import annotations

from typing import Any

from alliance.errors import AllianceError, ConfigError, FatalError, RetriableError


class StoreError(AllianceError):
    """A member's store answered with something we cannot use."""

    advice = "check the store"

    def __init__(
        self, member: str, endpoint: str, detail: str, *, status: int | None = None
    ) -> None:
        self.member = member
        self.endpoint = endpoint
        self.detail = detail
        self.status = status
        super().__init__(f"{member}: {endpoint}: {detail}; {self.advice}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable, so a fetch process can hand its failure to the syncing process."""
        return (type(self), (self.member, self.endpoint, self.detail), {"status": self.status})

    @property
    def kind(self) -> str:
        """A short stable name for status listings: ``auth_failed``, ``rate_limited``..."""
        return _KINDS[type(self)]


class AuthFailed(StoreError, FatalError):
    advice = (
        "check the member's consumer key and secret (WooCommerce > Settings > Advanced > "
        "REST API) and that the key has the permission this needs"
    )


class Forbidden(StoreError, FatalError):
    advice = "the key's WordPress user lacks the capability; use a shop manager or admin key"


class NotFound(StoreError):
    advice = (
        "check the member's store URL; a site with plain permalinks needs "
        "rest_route = true in the agreement file"
    )


class InvalidRequest(StoreError, FatalError):
    advice = "the store refused the request as malformed; this is a bug worth reporting"


class NotConfigured(StoreError, FatalError):
    advice = "then sync again"


class TlsFailed(StoreError, FatalError):
    """The store's certificate was refused (unknown CA, expired, another host's) or it does not
    speak HTTPS: a person has to change the trust or the store, so it is never retried."""

    advice = "then sync again"


class MissingKeys(ConfigError):
    """A member's REST key or secret is not set: no request to its store can be made."""

    def __init__(self, member: str, variables: list[str]) -> None:
        self.member = member
        self.variables = variables
        what = "no key configured" if len(variables) > 1 else f"{variables[0]} is not set"
        super().__init__(
            f"{member}: {what}: set {' and '.join(variables)} to the store's WooCommerce REST "
            "API consumer key and secret (WooCommerce > Settings > Advanced > REST API)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.member, self.variables))


class RateLimited(StoreError, RetriableError):
    advice = "the store's host is throttling us; the sync will try again later"


class StoreUnavailable(StoreError, RetriableError):
    advice = "the store is down, slow or unreachable; the sync will try again later"


class BadResponse(StoreError, RetriableError):
    advice = (
        "the store answered with something that is not the API's JSON (a captcha, maintenance "
        "or error page, or a cut-off answer); the sync will try again later"
    )


_KINDS: dict[type[StoreError], str] = {
    StoreError: "store_error",
    AuthFailed: "auth_failed",
    Forbidden: "forbidden",
    NotFound: "not_found",
    InvalidRequest: "invalid_request",
    NotConfigured: "config",
    TlsFailed: "tls",
    RateLimited: "rate_limited",
    StoreUnavailable: "unavailable",
    BadResponse: "bad_response",
}
