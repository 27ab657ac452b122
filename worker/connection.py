"""The alliance's Redis: opened from ``ALLIANCE_REDIS_URL``, checked, and its failures told in
words that name the server (never its password) and say what to do.

Redis-py raises ``ValueError`` for a URL it cannot parse and ``redis.exceptions.ConnectionError``
the first time a server cannot be reached; both become errors of the project's tree here, where
Redis is first used, so every edge (the CLI, the webhook route) can answer them without a
traceback: :class:`RedisUnavailable` is retriable (Redis may be back soon), and
:class:`RedisMisconfigured` needs a person to fix the URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis
from redis.connection import SSLConnection, UnixDomainSocketConnection
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    ReadOnlyError,
    RedisError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from alliance.errors import ConfigError, RetriableError

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for Redis to accept a connection, unless the URL says otherwise: a
firewalled host fails in seconds, not after the system's TCP timeout of minutes."""

FIX = (
    "fix ALLIANCE_REDIS_URL (e.g. redis://127.0.0.1:6379/0), or unset it to run everything in "
    "one process with `alliance run`, without Redis"
)

_PORT = re.compile(r"(?P<host>\[[^\]]*\]|[^:/?#\[]*):(?P<port>[^/?#]*)")
_PASSWORD_PARAMETER = re.compile(r"(?i)([?&]password=)[^&#]*")


class RedisUnavailable(RetriableError):
    """Redis could not be reached now (down, restarting, a network fault): try again later."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        super().__init__(f"cannot reach Redis at {where} ({reason}); start Redis there, or {FIX}")


class RedisMisconfigured(ConfigError):
    """``ALLIANCE_REDIS_URL`` is not a Redis URL, or its server refuses it (password, DB)."""


def redacted(url: str) -> str:
    """``url`` fit for messages and logs: passwords masked as ``***``.

    ``user:password@`` keeps the user; user-info without a colon is masked whole (it may be a
    password written without its colon). A port that is not a number is masked too (it may be
    a password written where the port goes), and so is a ``password=`` query parameter.
    """
    scheme, separator, rest = url.partition("://")
    scheme, rest = (scheme + separator, rest) if separator else ("", url)
    userinfo, at, address = rest.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        rest = ("***" if not colon or "/" in user else f"{user}:***") + "@" + address
    host_at = len(rest) - len(address) if at else 0
    port = _PORT.match(rest, host_at)
    if port is not None and port["port"] and not port["port"].isdigit():
        rest = rest[: port.start("port")] + "***" + rest[port.end("port") :]
    return _PASSWORD_PARAMETER.sub(r"\1***", scheme + rest)


def client(url: str) -> Redis:
    """A Redis client for ``url``; nothing is sent yet. Raises :class:`RedisMisconfigured`."""
    try:
        return Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT)
    except ValueError as exc:
        raise RedisMisconfigured(
            f"ALLIANCE_REDIS_URL ({redacted(url)}) is not a Redis URL: {_shape(exc)}; {FIX}"
        ) from None


def connect(url: str) -> Redis:
    """A Redis client for ``url`` whose server answered a ping: every later failure is rare."""
    redis = client(url)
    with reached(redis):
        redis.ping()
    return redis


def where(redis: Redis) -> str:
    """The server a client talks to, as a URL without its password."""
    pool = redis.connection_pool
    options = pool.connection_kwargs
    user = options.get("username") or ""
    auth = f"{user}:***@" if options.get("password") else (f"{user}@" if user else "")
    if issubclass(pool.connection_class, UnixDomainSocketConnection):
        return f"unix://{auth}{options.get('path', '')}?db={options.get('db', 0)}"
    scheme = "rediss" if issubclass(pool.connection_class, SSLConnection) else "redis"
    host = options.get("host", "localhost")
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{auth}{host}:{options.get('port', 6379)}/{options.get('db', 0)}"


@contextmanager
def reached(redis: Redis) -> Iterator[None]:
    """Turn Redis's connection failures inside the block into the project's errors."""
    try:
        yield
    except (AuthenticationError, AuthorizationError) as exc:  # retrying will not help
        raise _refused(redis, exc) from None
    except (RedisConnectionError, RedisTimeoutError, ReadOnlyError) as exc:  # a failover too
        raise RedisUnavailable(where(redis), _reason(exc)) from None
    except ResponseError as exc:
        if _during_setup(exc):
            raise _refused(redis, exc) from None
        raise


def _refused(redis: Redis, exc: RedisError) -> RedisMisconfigured:
    return RedisMisconfigured(
        f"Redis at {where(redis)} refuses the connection ALLIANCE_REDIS_URL describes "
        f"({_reason(exc)}): check its user, password and database number; {FIX}"
    )


def _during_setup(exc: ResponseError) -> bool:
    """Errors of the commands a connection sends first (AUTH, SELECT): the URL is wrong."""
    text = str(exc).lower()
    return any(word in text for word in ("auth", "password", "db index", "noperm"))


def _reason(exc: BaseException) -> str:
    """Redis-py's own words, which name the host and port but never a password."""
    return str(exc).strip().rstrip(".") or type(exc).__name__


def _shape(exc: ValueError) -> str:
    """What is wrong with the URL, without quoting a part of it (it may hold a password)."""
    text = str(exc)
    if "scheme" in text:
        return "it must start with redis://, rediss:// or unix://"
    if "Port" in text or "port" in text:
        return "its port is not a number"
    if "IPv6" in text:
        return "its host is a malformed IPv6 address"
    if "Invalid value for" in text:
        return text.split(" in connection URL")[0].replace("Invalid value for", "bad value for")
    return "redis-py cannot parse it"
