"""AMQP settings shared by the broker-mode app and its workers: where, how long to wait,
and which failures mean "the broker is unavailable".

`url` may name several nodes of one cluster, comma-separated: every connection tries them
in turn (`parameters`) and takes the first that answers, so a client whose node went away
reconnects to another.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import unquote, urlsplit

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.adapters.utils.connection_workflow import AMQPConnectorException

ROUTING_KEY = "signup.welcome"  # as in the course notes


EXCHANGE = "mqlab"


QUEUE = "mqlab.signup.welcome"


# classic: the queue lives on one node (its home). quorum: replicated to the nodes of a
# cluster by Raft, always durable; it takes a publish once a majority has it on disk.
QueueType = Literal["classic", "quorum"]
QUEUE_TYPES: tuple[QueueType, ...] = get_args(QueueType)
# Which broker carries the queue. The settings below are the queue's, whatever the broker:
# rabbitmq reads them here (mqlab.amqp), redis in mqlab.redis_streams (Redis Streams), nats
# in mqlab.jetstream (NATS JetStream), each with its own URL scheme in `url`.
BrokerKind = Literal["rabbitmq", "redis", "nats"]
BROKERS: tuple[BrokerKind, ...] = get_args(BrokerKind)


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AmqpSettings:
    url: str = "amqp://guest:guest@localhost:5672/%2F"
    exchange: str = EXCHANGE
    queue: str = QUEUE
    routing_key: str = ROUTING_KEY
    prefetch: int = 1
    confirm: bool = True  # publisher confirms: answer 202 only once the broker has the job
    durable: bool = True  # durable queue + persistent messages: they survive a broker restart
    auto_ack: bool = False  # manual acks: a job is forgotten only after the mail was sent
    heartbeat_s: int = 30
    timeout_s: float = 5.0
    publish_timeout_s: float = 3.0  # the app: confirmed (202) or 503 within this, connect included
    reconnect_max_s: float = 10.0  # the longest wait between two reconnection attempts
    max_retries: int = 5  # transient failures: retries after the first try, then <queue>.dead
    retry_delay_ms: float = 1000.0  # the first backoff; it doubles with every retry
    max_redeliveries: int = 5  # a job its workers never settled (crashed): then <queue>.dead
    queue_type: QueueType = "classic"
    broker: BrokerKind = "rabbitmq"  # redis: url redis://..., nats: url nats://...


def retry_queue(queue: str) -> str:
    """Where a job waits out its backoff before it returns to `queue`."""
    return f"{queue}.retry"


def dead_letter_queue(queue: str) -> str:
    """Where jobs that no retry can help end up (read it to count dead-lettered jobs)."""
    return f"{queue}.dead"


def status_exchange(settings: AmqpSettings) -> str:
    """The fanout exchange the jobs' state changes go to (scenarios/status.py)."""
    return f"{settings.exchange}.status"


def status_stream(settings: AmqpSettings) -> str:
    """The stream queue that keeps those state changes, for an app that (re)starts."""
    return f"{settings.queue}.status"


# Where the next connection starts in a list of URLs: a random node per process, then the
# next one, so that the connections of many workers and app threads spread over a cluster.
_turn = itertools.count(random.randrange(1 << 16))

# A comma followed by a scheme starts the next URL of a list (as `rabbit.urls.split_urls`).
_NEXT_URL = re.compile(r",(?=amqps?://)")


def urls(settings: AmqpSettings) -> list[str]:
    """The URLs of `settings.url`: one, or the nodes of a cluster."""
    return [u.strip() for u in _NEXT_URL.split(settings.url) if u.strip()] or [settings.url]


def in_turn(settings: AmqpSettings) -> list[str]:
    """`urls(settings)`, starting at the next node each time (the order then wraps around)."""
    every = urls(settings)
    start = next(_turn) % len(every)
    return every[start:] + every[:start]


def parameters(
    settings: AmqpSettings, timeout: float | None = None, name: str | None = None
) -> list[pika.URLParameters]:
    """pika parameters for one attempt at each URL of `settings.url`, to hand to
    `pika.BlockingConnection`, which tries them in order and takes the first that answers.
    A list starts at the next node each time (the order then wraps around). `timeout`
    bounds the socket and the handshake of each attempt (default `settings.timeout_s`);
    `name`: the connection's name in the broker's connection list."""
    wait = settings.timeout_s if timeout is None else timeout
    out = []
    for url in in_turn(settings):
        params = pika.URLParameters(url)
        params.heartbeat = settings.heartbeat_s
        params.blocked_connection_timeout = settings.timeout_s
        params.socket_timeout = wait
        params.stack_timeout = wait
        params.connection_attempts = 1
        params.retry_delay = 0.0  # another node next, at once; a waiting loop is the caller's
        if name is not None:
            params.client_properties = {"connection_name": name}
        out.append(params)
    return out


class DeadlinePassed(Exception):
    """The broker did not answer in time, and the connection was dropped (see `deadline`)."""


class Blocked(Exception):
    """The broker blocks publishers: a memory or disk alarm."""


# What a broker that is down, hung, blocked or unreachable raises. pika's connection workflow
# raises exceptions of its own (a handshake that timed out is AMQPConnectorStackTimeout),
# which are not AMQPErrors.
UNAVAILABLE: tuple[type[Exception], ...] = (
    pika.exceptions.AMQPError,
    AMQPConnectorException,
    DeadlinePassed,
    OSError,
)


@contextlib.contextmanager
def deadline(connection: BlockingConnection, seconds: float) -> Iterator[None]:
    """Every blocking call on `connection` inside the block ends within `seconds`: then the
    connection is dropped, without the closing handshake a hung broker would never answer,
    and the call raises DeadlinePassed.

    pika bounds a handshake (stack_timeout) and a blocked connection, but not an RPC or a
    publisher confirm: a frozen broker held them until it resumed. This is a timer on pika's
    own I/O loop (BlockingConnection keeps its asynchronous connection in `_impl`), which
    ends the stream the way pika's heartbeat checker does."""
    core: Any = connection._impl
    late = DeadlinePassed(f"no answer from the broker within {seconds:.1f} s")
    timer = core.ioloop.call_later(max(seconds, 0.0), lambda: core._terminate_stream(late))
    try:
        yield
    finally:
        core.ioloop.remove_timeout(timer)


class Cancels:
    """Whether the broker cancelled the consumers of `channel` and kept the channel open: a
    queue deleted, or its node lost in a cluster. pika raises nothing then, and a loop that
    waits for deliveries would wait for good; `check()` raises ChannelClosed once it
    happened, so the caller reconnects as after a lost connection. `what` names the
    consumer in that error's line."""

    def __init__(self, channel: BlockingChannel, what: str) -> None:
        self.what = what
        self.cancelled = False
        channel.add_on_cancel_callback(self._on_cancel)

    def _on_cancel(self, _frame: object) -> None:
        self.cancelled = True

    def check(self) -> None:
        if self.cancelled:
            raise pika.exceptions.ChannelClosed(0, f"the broker cancelled {self.what}")


def close_quietly(connection: BlockingConnection, timeout: float = 1.0) -> None:
    """Close a connection that may already be half gone, or whose broker hangs: at most
    `timeout` seconds, and there is nobody to tell."""
    if connection.is_open:
        with contextlib.suppress(*UNAVAILABLE), deadline(connection, timeout):
            connection.close()


def describe(error: BaseException, url: str) -> str:
    """One line for a log: the error's type and text, the passwords of `url` (one URL, or a
    list) masked."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    passwords = {urlsplit(one).password for one in [url, *_NEXT_URL.split(url)]}
    for secret in {p for pw in passwords for p in (pw, unquote(pw or ""))} - {None, ""}:
        text = text.replace(str(secret), "****")
    return " ".join(text.split())[:300]


def reconnect_delay(attempt: int, cap_s: float, base_s: float = 0.1) -> float:
    """Capped exponential backoff with full jitter: a random wait up to base * 2^attempt, at
    most `cap_s`, so that many clients that lost the same broker do not return in step."""
    return random.uniform(0.0, min(cap_s, base_s * 2 ** min(attempt, 30)))


class Outage:
    """A client's view of its broker: one line when it is lost, one when it is back, and the
    capped, jittered wait (`reconnect_delay`) before each next attempt in between. `lost_line`
    takes the error (%s), `back_line` the seconds it was away (%.1f); both go to `log`."""

    def __init__(
        self,
        url: str,
        cap_s: float,
        log: logging.Logger,
        lost_line: str = "lost the broker (%s); reconnecting in the background",
        back_line: str = "back on the broker after %.1f s",
    ) -> None:
        self.url, self.cap_s, self.log = url, cap_s, log
        self.lost_line, self.back_line = lost_line, back_line
        self.connected_once = False
        self.lost_at: float | None = None  # when it was lost (time.time()); None: connected
        self._since: float | None = None
        self._attempt = 0

    def lost(self, error: BaseException) -> float:
        """Seconds to wait before the next attempt."""
        if self._since is None:
            self._since = time.monotonic()
            self.lost_at = time.time()
            self._attempt = 0
            self.log.warning(self.lost_line, describe(error, self.url))
        else:
            self._attempt += 1
        return reconnect_delay(self._attempt, self.cap_s)

    def back(self) -> None:
        self.connected_once = True
        if self._since is not None:
            self.log.info(self.back_line, time.monotonic() - self._since)
            self._since = self.lost_at = None


# Job states (an app's follower, a worker's connection for them): the longest wait between
# two attempts to reach the broker again.
STATUS_RECONNECT_MAX_S = 1.0


def status_outage(
    settings: AmqpSettings, log: logging.Logger, broker: str = "the broker"
) -> Outage:
    """The `Outage` of an app's status follower (RabbitMQ, Redis, NATS): its lines say the
    status events lost `broker` and follow the log again once it is back. It tries at least
    every STATUS_RECONNECT_MAX_S: while it is away its users may read an older state, and
    with the 10 s cap of the others it came back up to 4.7 s after a broker away 1.8 s (once
    only after the users were asked); it is one connection per app."""
    return Outage(
        settings.url,
        min(settings.reconnect_max_s, STATUS_RECONNECT_MAX_S),
        log,
        lost_line=f"status events: lost {broker} (%s); following again later",
        back_line="status events: back after %.1f s",
    )


def quiet_pika_logs() -> None:
    """For the app and worker processes: pika logs every failed connection attempt several
    times over, with tracebacks, and aiormq (the app's publisher) each late confirm and blocked
    connection. Our own one-line warnings say what failed (password masked)."""
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    logging.getLogger("aiormq").setLevel(logging.CRITICAL)


def private_settings(
    url: str, durable: bool = True, queue_type: QueueType = "classic"
) -> AmqpSettings:
    """An exchange and a queue of their own (`*.run-<tag>`) for one run, test or measurement.

    Nothing else publishes to them or consumes from them: on the shared `mqlab` exchange,
    every queue bound with `signup.welcome` would get a copy of every job, so a run would
    leak jobs into a person's demo queue (and the other way round).
    `delete_run_objects` removes them afterwards.
    """
    tag = uuid.uuid4().hex[:8]
    return AmqpSettings(
        url=url,
        exchange=f"{EXCHANGE}.run-{tag}",
        queue=f"{QUEUE}.run-{tag}",
        durable=durable,
        queue_type=queue_type,
    )
