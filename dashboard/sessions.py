"""Signed session cookies, CSRF tokens and the throttle on failed sign-ins.

The session cookie holds the digest of the token that signed in (so revoking the token ends
the session at its next request) and the session's CSRF token, signed with a key derived from
the alliance secret (itsdangerous); it is HttpOnly, SameSite=Lax, Secure over HTTPS, and
expires after :data:`SESSION_SECONDS`. Before sign-in the form's CSRF token is a signed cookie
of its own, compared with the form's hidden field (double submit).

Failed sign-ins are counted per client address in this process: :data:`FAILED_LIMIT` in
:data:`FAILED_WINDOW_SECONDS`, then 429 until the oldest failure leaves the window. With
several web processes each counts its own, so an address gets at most that many tries per
process; a shared counter (Redis) would make it exact.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "alliance_dashboard"
CSRF_COOKIE = "alliance_dashboard_csrf"
SESSION_SECONDS = 12 * 3600
CSRF_SECONDS = 3600
FAILED_LIMIT = 5
FAILED_WINDOW_SECONDS = 300.0


@dataclass(frozen=True)
class Session:
    digest: str  # of the sign-in token
    csrf: str


class Signer:
    """Signs and reads the dashboard's cookies with a key derived from the alliance secret."""

    def __init__(self, secret: bytes) -> None:
        key = hmac.new(secret, b"alliance dashboard cookies", hashlib.sha256).hexdigest()
        self._sessions = URLSafeTimedSerializer(key, salt="dashboard-session")
        self._csrf = URLSafeTimedSerializer(key, salt="dashboard-csrf")

    def session(self, request: Request) -> Session | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data: Any = self._sessions.loads(raw, max_age=SESSION_SECONDS)
            return Session(str(data["d"]), str(data["c"]))
        except (BadSignature, KeyError, TypeError):
            return None

    def start_session(self, request: Request, response: Response, digest: str) -> Session:
        session = Session(digest, secrets.token_urlsafe(24))
        value = self._sessions.dumps({"d": session.digest, "c": session.csrf})
        _set_cookie(request, response, SESSION_COOKIE, value, SESSION_SECONDS)
        response.delete_cookie(CSRF_COOKIE, path=cookie_path(request))
        return session

    def end_session(self, request: Request, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path=cookie_path(request))

    @staticmethod
    def new_form_token() -> str:
        return secrets.token_urlsafe(24)

    def set_form_token(self, request: Request, response: Response, token: str) -> None:
        """The sign-in form's CSRF token, as a signed cookie the form's POST must match."""
        _set_cookie(request, response, CSRF_COOKIE, self._csrf.dumps(token), CSRF_SECONDS)

    def form_csrf_matches(self, request: Request, sent: str) -> bool:
        raw = request.cookies.get(CSRF_COOKIE)
        if not raw or not sent:
            return False
        try:
            expected = str(self._csrf.loads(raw, max_age=CSRF_SECONDS))
        except BadSignature:
            return False
        return hmac.compare_digest(expected, sent)


def session_csrf_matches(session: Session, sent: str) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf, sent)


def cookie_path(request: Request) -> str:
    """The dashboard's own path (where it is mounted): its cookies go nowhere else."""
    return request.scope.get("root_path") or "/"


def _set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path=cookie_path(request),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


class FailedSignIns:
    """Failed sign-ins per address in a sliding window (this process only; see the module)."""

    def __init__(
        self, limit: int = FAILED_LIMIT, window: float = FAILED_WINDOW_SECONDS, clock: Any = None
    ) -> None:
        self.limit, self.window = limit, window
        self._clock = clock or time.monotonic
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str) -> deque[float]:
        now = self._clock()
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def wait_seconds(self, address: str) -> int:
        """0 when the address may try; else how long until it may."""
        with self._lock:
            failures = self._recent(address)
            if len(failures) < self.limit:
                if not failures:
                    self._failures.pop(address, None)
                return 0
            return max(1, int(failures[0] + self.window - self._clock()) + 1)

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address).append(self._clock())
            if len(self._failures) > 100_000:  # a flood of addresses: forget the quiet ones
                for key in [k for k, v in self._failures.items() if len(v) < 2][:50_000]:
                    del self._failures[key]

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)
