"""One connection to a NATS server, and which failures mean "the server is unavailable".

nats-py can reconnect by itself, buffering what is published meanwhile. mqlab turns that
off (`allow_reconnect=False`): a publish must never sit in a client buffer for a server that
may not come back, or a 202 would not mean "the stream has it". A lost connection is
closed; whoever holds it (the app's breaker, the worker's process loop, the follower)
connects again, with capped backoff and one log line when lost and one when back, as for
RabbitMQ.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import socket
import weakref
from collections.abc import Callable
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client

from mqlab.amqp.settings import AmqpSettings

log = logging.getLogger(__name__)

ERR_STREAM_NAME_IN_USE = 10058  # a stream of that name exists with another configuration
ERR_INSUFFICIENT_STORAGE = 10047  # e.g. a file stream on a server with no disk store


class Lost(ConnectionError):
    """The connection to the NATS server closed, or it did not answer in time.

    A ConnectionError (an OSError): the RabbitMQ plumbing it is used with (the app's
    `Breaker`, `Shutdown.keep_alive`) treats it as an outage too."""


# What a NATS server that is down, restarting, hung or unreachable makes the client raise:
# every nats-py error (connection closed, no responders while JetStream starts, a timed-out
# request, an API error), a socket error, and our own timeouts.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    nats.errors.Error,
    OSError,
    asyncio.TimeoutError,
    concurrent.futures.TimeoutError,
    concurrent.futures.CancelledError,
)


def refused(error: BaseException) -> str | None:
    """Why no retry can help (a refused login, an unknown host, a stream that exists with
    other settings), or None: an outage, worth another try."""
    if isinstance(error, (nats.errors.AuthorizationError, nats.errors.InvalidUserCredentialsError)):
        return "login refused (wrong user, password or token?)"
    if isinstance(error, socket.gaierror):
        return "cannot resolve the host name"
    if isinstance(error, nats.js.errors.APIError):
        if error.err_code == ERR_STREAM_NAME_IN_USE:
            return (
                "a stream of that name exists with other settings (file or memory storage, "
                "retention): delete it, or use another --queue"
            )
        if error.err_code == ERR_INSUFFICIENT_STORAGE:
            return "the server has no room for the stream (a memory-only server? --transient)"
    return None


def servers(settings: AmqpSettings) -> list[str]:
    """The URLs of `settings.url`: one server, or several, comma-separated."""
    return [u.strip() for u in settings.url.split(",") if u.strip()] or [settings.url]


async def connect(
    settings: AmqpSettings,
    timeout: float | None = None,
    on_closed: Callable[[], None] | None = None,
    name: str = "mqlab",
) -> Client:
    """A connection to the server of `settings.url`, within `timeout` s (default
    `settings.timeout_s`), or one of UNAVAILABLE: the underlying error (refused, unknown
    host, refused login), not nats-py's "no servers" that hides it. `on_closed` runs on the
    event loop once the connection is closed, whoever closed it."""
    seen: list[BaseException] = []

    async def on_error(e: Exception) -> None:
        seen.append(e)  # nats-py reports here what it then hides behind NoServersError
        log.debug("nats: %r", e)

    async def closed() -> None:
        if on_closed is not None:
            on_closed()

    wait = settings.timeout_s if timeout is None else timeout
    nc = Client()
    try:
        await asyncio.wait_for(
            nc.connect(
                servers=servers(settings),
                name=name,
                allow_reconnect=False,  # a lost connection is closed: see the docstring
                connect_timeout=max(1, math.ceil(wait)),
                max_reconnect_attempts=1,  # each server of the list at most twice, then fail
                reconnect_time_wait=0,
                # A server that stopped answering (frozen, or a link gone silent): found out
                # within about two heartbeats, as pika's heartbeat does for RabbitMQ.
                ping_interval=max(1, settings.heartbeat_s // 2),
                max_outstanding_pings=2,
                error_cb=on_error,
                closed_cb=closed,
            ),
            max(wait, 0.1),
        )
    except nats.errors.NoServersError:
        await close_quietly(nc)
        if seen:
            raise seen[-1] from None
        raise
    except BaseException:
        await close_quietly(nc)
        raise
    _OPEN.setdefault(asyncio.get_running_loop(), weakref.WeakSet()).add(nc)
    return nc


# Every connection `connect` made, by event loop, for `close_all`: a connection whose caller
# stopped waiting for it (`Loop.run`'s timeout, as it came) was dropped still open.
_OPEN: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakSet[Client]] = (
    weakref.WeakKeyDictionary()
)


async def close_all() -> None:
    """Close every connection `connect` made on the running loop that is still open: the
    last thing before the loop stops, so that no socket outlives it."""
    for nc in list(_OPEN.pop(asyncio.get_running_loop(), ())):
        await close_quietly(nc)


def quiet_lost_connections(loop: asyncio.AbstractEventLoop) -> None:
    """nats-py's reading task ends with the socket's error when the server goes away (a
    reset connection), and nobody awaits it: asyncio would log "Task exception was never
    retrieved" with a traceback, for what is an outage our own lines report already."""

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), UNAVAILABLE):
            log.debug("nats: %s: %r", context.get("message"), context.get("exception"))
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


async def close_quietly(nc: Client, timeout: float = 1.0) -> None:
    """Close a connection that may be half gone already: at most `timeout` s, no error.

    Its socket is closed in any case: nats-py marks the client closed before it sends what
    is pending, so a close cut short by the timeout (a hung server with data pending) would
    leave the socket open for good, one more each time a worker gives up on a hung server."""
    if not nc.is_closed:
        try:
            await asyncio.wait_for(nc.close(), timeout)
        except (*UNAVAILABLE, asyncio.CancelledError):  # type: ignore[misc]  # a tuple, unpacked
            pass
    # nats-py's own writer (None before a connection); abort, not close: a close would wait
    # to send what the hung server does not read
    writer = getattr(getattr(nc, "_transport", None), "_io_writer", None)
    if isinstance(writer, asyncio.StreamWriter):
        writer.transport.abort()  # after a whole close: a no-op
