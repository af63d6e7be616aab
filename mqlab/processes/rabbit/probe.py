"""Ask a RabbitMQ what it is and what it holds, within a timeout, and say why when it cannot.

Why a module of its own: finding a broker, waiting for a private node and `mqlab broker
status` all need the same short answer ("3.10.8", or "login refused") from one bounded
connection attempt. Nothing here declares, purges or changes anything on a broker: the
queue depths come from passive declares, which never create a queue.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import pika
import pika.exceptions

from mqlab.errors import NoBroker
from mqlab.processes.rabbit.urls import split_urls

# pika logs every failed connection attempt at ERROR level. Probing for a broker
# is expected to fail sometimes, and without any handler Python's "last resort"
# handler would print those records to stderr. A NullHandler stops that; records
# still propagate to the root logger if the application configures logging.
logging.getLogger("pika").addHandler(logging.NullHandler())

GET_A_BROKER = (
    "start one with `docker compose up -d` (uses the docker-compose.yml in the mqlab "
    "project), install the rabbitmq-server package (mqlab then starts a private node), "
    "or point mqlab at a broker with --amqp-url / MQLAB_AMQP_URL"
)


class BrokerUnavailable(NoBroker):
    """No usable RabbitMQ: the message says why, in one line, and how to get one.

    An `errors.NoBroker`: the CLI shows it as one line and exits 3. (A private node
    that fails to start adds the tail of its log after that line.)
    """


def parameters(url: str, timeout: float) -> list[Any]:
    """pika parameters for one attempt per URL of `url` (a list: the nodes of a cluster, in
    order), each wait of each attempt bounded by `timeout`."""
    out = []
    for one in split_urls(url):
        params = pika.URLParameters(one)
        params.socket_timeout = timeout
        params.stack_timeout = timeout
        params.blocked_connection_timeout = timeout
        params.connection_attempts = 1
        params.retry_delay = 0.1
        out.append(params)
    return out


def describe(exc: BaseException, timeout: float) -> str:
    """A short reason for a failed connection (pika's own text is long and nested).

    The reason never contains the URL, so it can be shown next to a masked one.
    """
    text = f"{type(exc).__name__} {exc!r}"
    if "Authentication" in text:
        return "login refused (wrong user or password?)"
    if "AccessDenied" in text or "ACCESS_REFUSED" in text:
        return "access refused (virtual host or permissions)"
    if "Refused" in text or "refused" in text:
        return "connection refused"
    if "gaierror" in text or "Name or service" in text or "resolve" in text:
        return "cannot resolve the host name"
    if "Timeout" in text or "timed out" in text or "timeout" in text:
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ValueError):
        return "not a valid AMQP URL"
    if "IncompatibleProtocol" in text or "StreamLost" in text:
        return "something answers there, but it does not speak AMQP 0-9-1"
    return type(exc).__name__


def close(conn: Any) -> None:
    """Close a connection or channel if it is open; a broker already gone is no error."""
    with contextlib.suppress(Exception):
        if conn.is_open:
            conn.close()


def probe_url(url: str, timeout: float = 2.0) -> tuple[str | None, str]:
    """(server version, "") if a RabbitMQ answers at `url` (a list: at one of its URLs, each
    tried within `timeout`), else (None, reason: the last URL's)."""
    try:
        conn = pika.BlockingConnection(parameters(url, timeout))
    except Exception as exc:  # any failure means: nothing usable answers there
        return None, describe(exc, timeout)
    try:
        props = getattr(conn._impl, "server_properties", None) or {}
        raw = props.get("version", b"")
        version = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        return (version or "unknown"), ""
    finally:
        close(conn)


def server_version(url: str, timeout: float = 2.0) -> str | None:
    """The RabbitMQ version answering at `url` (e.g. "3.10.8"), or None.

    One blocking connection with socket, blocked-connection and stack timeouts of
    `timeout` and a single attempt, so it returns within about `timeout` seconds.
    None covers everything that is not a usable broker: nothing listening, no
    answer, not AMQP, refused login, a malformed URL.
    """
    return probe_url(url, timeout)[0]


def queue_depth(url: str, queue: str, timeout: float = 2.0) -> int | None:
    """Messages ready in `queue` (passive declare), or None.

    None if the queue does not exist or the broker does not answer. A passive
    declare never creates the queue.
    """
    return queue_depths(url, [queue], timeout)[queue]


def queue_depths(url: str, queues: list[str], timeout: float = 2.0) -> dict[str, int | None]:
    """`queue_depth` for several queues over one connection.

    A failed passive declare (404) closes its channel, so every queue gets a
    channel of its own.
    """
    depths: dict[str, int | None] = dict.fromkeys(queues)
    try:
        conn = pika.BlockingConnection(parameters(url, timeout))
    except Exception:  # the broker does not answer: all unknown
        return depths
    try:
        for name in queues:
            if not name:
                continue
            try:
                channel = conn.channel()
                ok = channel.queue_declare(queue=name, passive=True)
                depths[name] = int(ok.method.message_count)
                close(channel)
            except pika.exceptions.ChannelClosedByBroker:
                continue  # 404 NOT_FOUND (or 403): no such queue for us
            except Exception:  # connection lost: the rest stay None
                break
    finally:
        close(conn)
    return depths
