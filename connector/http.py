"""One HTTP policy for every call to a member's store: pooled, timed out, retried, typed.

Shop hosts throttle with 429 and ``Retry-After``, answer 502/503/504 under load, and sometimes
serve a captcha page with status 200 or 202 instead of JSON (reference/woocommerce.md section 6).
So every call goes through :meth:`StoreClient.call`:

- one pooled ``requests.Session`` per member (the official client opens a new connection, and
  a new TLS handshake, per call);
- connect and read timeouts;
- retries with exponential backoff and full jitter on 429/502/503/504, connection errors and
  garbled answers, never on other 4xx, honouring ``Retry-After`` (tenacity does the retrying);
- the request is *rebuilt* for every attempt, so an OAuth signature gets a fresh nonce (a real
  store refuses a nonce it has seen in the last 15 minutes);
- every failure becomes a :mod:`connector.errors` type naming the member and the endpoint; a
  refused certificate says why (unknown CA, expired, another host's) and which CAs it was
  checked against, and is never retried: only a person can change it.

Nothing here logs or reports a URL: only ``METHOD endpoint``, so keys and signatures in query
strings never reach a log line or an error message.
"""

from __future__ import annotations

import logging
import random
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from alliance.report import printable
from connector import json_body
from connector.errors import (
    AuthFailed,
    BadResponse,
    Forbidden,
    InvalidRequest,
    NotFound,
    RateLimited,
    StoreError,
    StoreUnavailable,
    TlsFailed,
)

log = logging.getLogger("alliance.connector")

_SECRET_PARAMS = re.compile(
    r"((?:consumer_key|consumer_secret|oauth_[a-z_]+)=)[^&\s\"']*", re.IGNORECASE
)


class RedactSecrets(logging.Filter):
    """Scrub keys and signatures from query strings in log records (urllib3 logs each URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_PARAMS.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(RedactSecrets())

RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""Statuses that mean "not now": hosts and proxies under load, throttling WAFs."""


@dataclass(frozen=True)
class HttpPolicy:
    """How patient we are with a store. The defaults suit shared hosting."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    attempts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    """A longer ``Retry-After`` is not waited out in the call; the next sync tries again."""
    pool_size: int = 4


@dataclass(frozen=True)
class CaTrust:
    """The CAs a store's certificate must chain to, and where that choice came from.

    ``verify`` is what ``requests`` gets; the names are only for messages, so a refused
    certificate says which bundle refused it and which variable would fix it.
    """

    verify: bool | str = True
    """``True``: the public CAs ``requests`` ships (certifi); else a PEM file or directory."""
    source: str = ""
    """The variable that named ``verify`` (``LI_WC_CA_BUNDLE``, ``REQUESTS_CA_BUNDLE``...)."""
    member_variable: str = ""
    """The member's own CA bundle variable, the fix a refusal suggests."""

    def checked_against(self) -> str:
        if self.source:
            return f"the CA bundle in {self.source} ({self.verify})"
        return "the standard public CAs"


@dataclass(frozen=True)
class Reply:
    """A store's successful JSON answer."""

    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    data: Any
    size: int
    raw: bytes = b""

    def header_int(self, name: str) -> int | None:
        value = self.headers.get(name)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None


class _Retry(Exception):
    """An attempt failed in a way that may pass; carries the typed error and a minimum wait."""

    def __init__(self, error: StoreError, wait: float = 0.0) -> None:
        self.error = error
        self.wait = wait


class StoreClient:
    """One member's connection pool and the retry policy around it."""

    def __init__(
        self,
        member: str,
        *,
        policy: HttpPolicy | None = None,
        verify: bool | str | CaTrust = True,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "shop-alliance",
    ) -> None:
        self.member = member
        self.policy = policy or HttpPolicy()
        self.trust = verify if isinstance(verify, CaTrust) else CaTrust(verify)
        self.requests_sent = 0
        self._sleep = sleep
        self._random = random.Random()
        self.session = requests.Session()
        # REQUESTS_CA_BUNDLE would override Session.verify (reference section 9), even a
        # member's own bundle; we pass verify= with every request instead (connector.connect
        # honours REQUESTS_CA_BUNDLE and SSL_CERT_FILE below the member's bundle), and ignore
        # proxy and netrc settings too.
        self.session.trust_env = False
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=1, pool_maxsize=self.policy.pool_size, max_retries=0
        )
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})

    @property
    def verify(self) -> bool | str:
        return self.trust.verify

    def close(self) -> None:
        self.session.close()

    def call(self, endpoint: str, build: Callable[[], requests.Request]) -> Reply:
        """Send ``build()`` under the policy; ``endpoint`` (``GET orders``) names it in errors."""
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            sleep=self._sleep,
            before_sleep=lambda state: self._log_retry(endpoint, state),
            reraise=True,
        )
        try:
            return retrying(self._attempt, endpoint, build)
        except _Retry as failure:
            raise failure.error from None

    def _wait(self, state: RetryCallState) -> float:
        """Full-jitter exponential backoff, but never shorter than the store's Retry-After."""
        ceiling = min(
            self.policy.backoff_max, self.policy.backoff_initial * 2 ** (state.attempt_number - 1)
        )
        backoff = self._random.uniform(0, ceiling)
        failure = state.outcome.exception() if state.outcome else None
        floor = failure.wait if isinstance(failure, _Retry) else 0.0
        return max(backoff, floor)

    def _log_retry(self, endpoint: str, state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        reason = failure.error.detail if isinstance(failure, _Retry) else repr(failure)
        log.warning(
            "%s: %s: %s; retrying in %.1f s (attempt %d of %d)",
            self.member,
            endpoint,
            reason,
            state.upcoming_sleep,
            state.attempt_number + 1,
            self.policy.attempts,
        )

    def _attempt(self, endpoint: str, build: Callable[[], requests.Request]) -> Reply:
        prepared = self.session.prepare_request(build())
        self.requests_sent += 1
        try:
            response = self.session.send(
                prepared,
                timeout=(self.policy.connect_timeout, self.policy.read_timeout),
                verify=self.verify,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            host = requests.utils.urlparse(prepared.url).hostname or ""
            raise self._tls_failure(endpoint, exc, host) from None
        except requests.exceptions.Timeout:
            raise _Retry(self._error(StoreUnavailable, endpoint, "timed out")) from None
        except requests.exceptions.ChunkedEncodingError:
            raise _Retry(self._error(BadResponse, endpoint, "the answer was cut off")) from None
        except requests.exceptions.ConnectionError as exc:
            raise _Retry(
                self._error(StoreUnavailable, endpoint, f"cannot connect ({_reason(exc)})")
            ) from None
        return self._reply(endpoint, response)

    def _error(self, kind: type[StoreError], endpoint: str, detail: str, status: int | None = None):
        return kind(self.member, endpoint, detail, status=status)

    def _tls_failure(self, endpoint: str, exc: BaseException, host: str) -> Exception:
        """What the TLS error says went wrong, and who can fix it; only a broken-off handshake
        is worth another attempt."""
        cause = _ssl_cause(exc)
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = _certificate_refused(cause, self.trust, host)
        elif getattr(cause, "reason", None) == "WRONG_VERSION_NUMBER":
            detail = (
                "the address does not answer HTTPS (wrong version number); check the scheme "
                "(http:// or https://) and the port of the member's url"
            )
        else:
            reason = f"the TLS handshake broke off ({_reason(exc)})"
            return _Retry(self._error(StoreUnavailable, endpoint, reason))
        return self._error(TlsFailed, endpoint, detail)

    def _reply(self, endpoint: str, response: requests.Response) -> Reply:
        status = response.status_code
        if status in RETRY_STATUSES:
            if status == 429:
                wait = _retry_after(response.headers.get("Retry-After"))
                error = self._error(RateLimited, endpoint, "429 Too Many Requests", status)
                if wait > self.policy.retry_after_max:
                    raise error
                raise _Retry(error, wait)
            raise _Retry(
                self._error(StoreUnavailable, endpoint, f"HTTP {status} from the store", status)
            )
        if 300 <= status < 400:
            target = requests.utils.urlparse(response.headers.get("Location", ""))
            raise self._error(
                BadResponse,
                endpoint,
                f"the store redirects to {target.scheme}://{target.netloc} (HTTP {status}); "
                "use that address as the member's url",
                status,
            )
        if status >= 400:
            raise self._error(_ERROR_TYPES.get(status, _default_type(status)), endpoint,
                              _store_message(response), status)  # fmt: skip
        content_type = response.headers.get("Content-Type", "")
        if "json" not in content_type:
            kind = "an HTML page" if "html" in content_type else f"{content_type or 'no'} content"
            raise _Retry(
                self._error(
                    BadResponse, endpoint, f"got {kind} with status {status}, not JSON", status
                )
            )
        try:
            data = json_body.loads(response.content)
        except ValueError:
            raise _Retry(
                self._error(BadResponse, endpoint, "the JSON answer is truncated or broken", status)
            ) from None
        return Reply(status, response.headers, data, len(response.content), response.content)


_ERROR_TYPES: dict[int, type[StoreError]] = {
    401: AuthFailed,
    403: Forbidden,
    404: NotFound,
    500: StoreUnavailable,
}


def _default_type(status: int) -> type[StoreError]:
    return StoreUnavailable if status >= 500 else InvalidRequest


def _store_message(response: requests.Response) -> str:
    """The store's own ``{"code", "message"}``, trimmed and made printable."""
    try:
        body = json_body.loads(response.content)
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    code = printable(str(body.get("code", "")))[:80]
    message = printable(str(body.get("message", "")))[:200]
    return f"HTTP {response.status_code} {code}: {message}".rstrip(": ")


def _retry_after(value: str | None) -> float:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date); 0 if absent or odd."""
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return 0.0


_CERT_NOT_YET_VALID = 9
_CERT_HAS_EXPIRED = 10
_HOST_MISMATCH = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH


def _certificate_refused(cause: ssl.SSLCertVerificationError, trust: CaTrust, host: str) -> str:
    """Why a certificate was refused and what fixes it, in the words of OpenSSL's verdict."""
    said = printable(str(cause.verify_message or cause.reason or "verification failed"))[:160]
    if cause.verify_code == _CERT_HAS_EXPIRED:
        return (
            "the store's certificate has expired; the shop must renew it (its web host or "
            "certificate provider does), and if it looks current, check this machine's clock"
        )
    if cause.verify_code == _CERT_NOT_YET_VALID:
        return "the store's certificate is not valid yet; check this machine's clock"
    if cause.verify_code in _HOST_MISMATCH:
        return (
            f"the store's certificate is for another host ({said.rstrip('.')}); use the host "
            f"name the certificate is for in the member's url, or have the store serve a "
            f"certificate for {printable(host)}"
        )
    variable = trust.member_variable or "the member's <CREDENTIALS_ENV>_CA_BUNDLE"
    return (
        f"the store's certificate is not trusted ({said}; checked against "
        f"{trust.checked_against()}); set {variable} to the PEM file of the CA that signed "
        "the store's certificate, or have the store serve its full certificate chain"
    )


def _ssl_cause(exc: BaseException) -> BaseException | None:
    """The :class:`ssl.SSLError` inside requests' and urllib3's wrappers, if there is one."""
    cause: BaseException | None = exc
    for _ in range(8):
        if cause is None or isinstance(cause, ssl.SSLError):
            return cause
        inner = getattr(cause, "reason", None)
        if not isinstance(inner, BaseException):
            nested = [a for a in getattr(cause, "args", ()) if isinstance(a, BaseException)]
            inner = nested[-1] if nested else None
        cause = inner
    return None


def _reason(exc: BaseException) -> str:
    """The innermost cause of a connection error, without the URL requests puts in messages."""
    cause = exc
    for _ in range(6):
        inner = getattr(cause, "reason", None)
        if isinstance(inner, BaseException):
            cause = inner
            continue
        nested = [a for a in getattr(cause, "args", ()) if isinstance(a, BaseException)]
        if not nested:
            break
        cause = nested[-1]
    name = type(cause).__name__
    text = str(cause).rsplit(": ", 1)[-1].strip()
    return printable(f"{name}: {text}"[:160] if text and text != name else name)
