"""Connections to Redis for the app, the workers and the lab, and which failures mean "Redis
is unavailable".

Every client is built by `connect`: a pool whose every wait is bounded (connect and each
answer: `settings.timeout_s`, unless told otherwise) and that never retries a command by
itself. redis-py would, ten times by default: an XADD retried after an answer that did not
come in time is a second job, and ten retries with backoff make an outage look like a hang.
Whoever calls decides what a failure means (a 503, a reconnection, a lost status event).
"""

from __future__ import annotations

import socket
from typing import Any

import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from mqlab.amqp.settings import AmqpSettings

GROUP = "workers"  # the consumer group every worker of a queue belongs to


class Lost(OSError):
    """Redis is there, but what this client relied on is gone: the consumer group (a restart
    without persistence), or the jobs a worker held (another worker took them over). Like an
    outage, it ends `consume`, and the worker starts again on a new connection."""


class RedisUnavailable(OSError):
    """A Redis error as an OSError: what `mqlab.amqp.publisher.Breaker` retries on."""


# What a Redis that is down, restarting, loading its data, hung or unreachable raises
# (AuthenticationError and BusyLoadingError are ConnectionErrors; `refused` tells which of
# them no retry can help). A ResponseError is not here: Redis answered, and said no.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,  # Lost, RedisUnavailable, and what a socket raises
)


def connect(
    settings: AmqpSettings, timeout: float | None = None, health_check_s: int = 0
) -> redis.Redis:
    """A client for `settings.url` (redis://host:port/db) whose connect and each answer take
    at most `timeout` seconds (default `settings.timeout_s`). Thread-safe: each command borrows
    a connection of the pool, which opens one when none is idle. `health_check_s`: a connection
    idle that long is PINGed before its next command (for long-lived connections: a socket
    that died silently is found before a command is lost in it). `close()` closes the pool."""
    wait = settings.timeout_s if timeout is None else timeout
    options: dict[str, Any] = {
        "socket_timeout": wait,
        "socket_connect_timeout": wait,
        "retry": Retry(NoBackoff(), 0),  # never again by itself: see the module's docstring
        "health_check_interval": health_check_s,
    }
    pool = redis.ConnectionPool.from_url(settings.url, **options)
    return redis.Redis.from_pool(pool)


def refused(error: BaseException) -> str | None:
    """Why no retry can help (a wrong password, an unknown host), or None: an outage."""
    if isinstance(
        error, (redis.exceptions.AuthenticationError, redis.exceptions.NoPermissionError)
    ):
        return "login refused (wrong user or password?)"
    if isinstance(error, redis.exceptions.AuthorizationError):
        return "access refused (the user may not run these commands)"
    cause = error.__cause__ or error.__context__
    if isinstance(error, socket.gaierror) or isinstance(cause, socket.gaierror):
        return "cannot resolve the host name"
    return None


def other_type(error: BaseException) -> str | None:
    """Redis's words when the queue's key holds something else than a stream (WRONGTYPE):
    no retry helps, so the worker stops with one line. Else None."""
    if isinstance(error, redis.exceptions.ResponseError) and str(error).startswith("WRONGTYPE"):
        return "the key holds another type than a stream"
    return None


def group_gone(error: redis.exceptions.ResponseError) -> bool:
    """Redis answered NOGROUP: the stream or its consumer group no longer exists."""
    return str(error).startswith("NOGROUP")


def stream_id(entry_id: bytes | str) -> tuple[int, int]:
    """A stream entry id ("1712345678901-3": milliseconds, a sequence) as a pair to compare."""
    text = entry_id.decode("ascii") if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def text(value: Any) -> str:
    """A value Redis returned (bytes: this client does not decode) as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
