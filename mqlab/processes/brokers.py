"""Which broker carries broker mode: RabbitMQ (the course's), Redis Streams or NATS JetStream.

The lesson is the same on each (202 only once the broker holds the job, a worker acks only
after the mail was sent); the mechanism differs, and each has its own lesson files:
`scenarios/broker.py` + `worker.py` (RabbitMQ), `broker_redis.py` + `worker_redis.py`,
`broker_nats.py` + `worker_nats.py`. This module is the one place that picks between them,
by `AmqpSettings.broker`; everything is imported when asked for, so an app or a worker loads
one broker's client only.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mqlab.amqp.settings import BROKERS, AmqpSettings, BrokerKind, Outage
from mqlab.errors import BadInput

if TYPE_CHECKING:
    from mqlab.amqp.consumer import Shutdown
    from mqlab.job.answer import LoopSignup, Signup
    from mqlab.job.ledger import ProcessedJobs
    from mqlab.job.mailjob import MailJob
    from mqlab.job.status import Board, Event

SCHEMES: dict[str, BrokerKind] = {
    "amqp": "rabbitmq",
    "amqps": "rabbitmq",
    "redis": "redis",
    "rediss": "redis",
    "nats": "nats",
    "tls": "nats",
}
NAMES = {"rabbitmq": "RabbitMQ", "redis": "Redis Streams", "nats": "NATS JetStream"}
# Where a person's own server listens, for `serve` and `worker` without a URL. Runs and
# crash tests never use these without being told: they start a private server (below).
DEFAULT_URLS: dict[BrokerKind, str] = {
    "rabbitmq": "amqp://guest:guest@localhost:5672/%2F",
    "redis": "redis://127.0.0.1:6379/0",
    "nats": "nats://127.0.0.1:4222",
}
ENV_VARS: dict[BrokerKind, str] = {
    "rabbitmq": "MQLAB_AMQP_URL",
    "redis": "MQLAB_REDIS_URL",
    "nats": "MQLAB_NATS_URL",
}


def kind_of(url: str) -> BrokerKind:
    """The broker a URL names, by its scheme (one line and exit 2 for another)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise BadInput(
            f"cannot tell the broker from {url.split('@')[-1]!r}: "
            "use an amqp://, redis:// or nats:// URL"
        )
    return SCHEMES[scheme]


def pick(broker: str | None, url: str | None) -> BrokerKind:
    """`--broker` and the URL's scheme must agree; either alone is enough."""
    if broker is not None and broker not in BROKERS:
        raise BadInput(f"--broker takes {', '.join(BROKERS)}; not {broker}")
    from_url = kind_of(url) if url else None
    if broker is not None and from_url is not None and broker != from_url:
        raise BadInput(f"--broker {broker} does not match the URL, which names {from_url}")
    return from_url or broker or "rabbitmq"


# --- the app: publish, and follow the jobs' states -----------------------------------------------


class Follower(Protocol):
    board: Board
    outage: Outage  # lost_at: since when the app has not heard the log (the answers say so)

    @property
    def caught_up(self) -> Any: ...  # a threading.Event

    def tell(self, event: Event) -> None: ...

    def close(self) -> None: ...


def signup_for(
    settings: AmqpSettings, handlers: int, status: Callable[[Event], None]
) -> Signup | LoopSignup:
    """The broker's lesson file for the app: publish the job, 202 once the broker holds it."""
    if settings.broker == "redis":
        from scenarios.broker_redis import RedisSignup

        return RedisSignup(settings, handlers, status=status)
    if settings.broker == "nats":
        from scenarios.broker_nats import NatsSignup

        return NatsSignup(settings, handlers, status=status)
    from scenarios.broker import BrokerSignup

    return BrokerSignup(settings, status=status)


def follower_for(settings: AmqpSettings) -> Follower:
    """What keeps the app's table of job states, read back from the broker's own log."""
    if settings.broker == "redis":
        from mqlab.redis_streams.status import Follower as RedisFollower

        return RedisFollower(settings).start()
    if settings.broker == "nats":
        from mqlab.jetstream.status import Follower as NatsFollower

        return NatsFollower(settings).start()
    from mqlab.processes.status_follow import Follower as AmqpFollower

    return AmqpFollower(settings).start()


# --- the worker ----------------------------------------------------------------------------------

Consume = Callable[["AmqpSettings", "MailJob", "Shutdown", "ProcessedJobs | None"], None]


@dataclass(frozen=True)
class WorkerParts:
    """What `mqlab worker` runs and how it tells an outage from a refusal."""

    consume: Consume
    unavailable: tuple[type[BaseException], ...]  # reconnect with backoff
    refused: Callable[[BaseException], str | None]  # no retry helps: one line, exit 3
    # the queue exists with other settings, or is not a queue at all: one line, exit 2
    misfit: Callable[[BaseException], str | None] = lambda error: None
    close: Callable[[], None] = lambda: None  # once the worker stops
    between: Callable[[], None] = lambda: None  # while its jobs' connection waits to retry


def worker_parts(settings: AmqpSettings, scan_ms: float) -> WorkerParts:
    if settings.broker == "redis":
        from mqlab import redis_streams
        from mqlab.redis_streams.connection import other_type
        from scenarios.worker_redis import consume as redis_consume

        return WorkerParts(
            redis_consume, redis_streams.UNAVAILABLE, redis_streams.refused, other_type
        )
    if settings.broker == "nats":
        from mqlab import jetstream
        from scenarios.worker_nats import consume as nats_consume

        return WorkerParts(nats_consume, jetstream.UNAVAILABLE, jetstream.refused)
    from mqlab.amqp.settings import UNAVAILABLE
    from mqlab.processes.worker import other_queue, refused
    from scenarios import status
    from scenarios.worker import consume

    events = status.worker_events(settings, scan_ms)  # its job states, across its connections
    return WorkerParts(
        functools.partial(consume, events=events),
        UNAVAILABLE,
        refused,
        other_queue,
        close=events.close,
        between=functools.partial(status.send_unsent, events, again=False),  # held states
    )


# --- the lab: a private server to kill, what a run leaves behind --------------------------------


class Restartable(Protocol):
    """A broker of mqlab's own that a crash test may SIGKILL and start again."""

    @property
    def url(self) -> str: ...

    def kill(self) -> None: ...

    def restart(self) -> None: ...


def durabilities(broker: BrokerKind) -> tuple[str, ...]:
    """The lesson's durability settings of a private server, strongest last."""
    if broker == "redis":
        from mqlab.processes.redis_server import DURABILITIES

        return DURABILITIES
    if broker == "nats":
        from mqlab.processes.nats_server import DURABILITIES as NATS_DURABILITIES

        return NATS_DURABILITIES
    return ()


@contextlib.contextmanager
def private_server(
    broker: BrokerKind, workdir: Path | None = None, durability: str | None = None
) -> Iterator[Any]:
    """A Redis or NATS server of mqlab's own on a free port (its data in `workdir`, else in a
    temporary folder), stopped afterwards; with no `durability`, the strongest the lesson
    has (a 202 means on disk)."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mqlab-")))
        if broker == "redis":
            from mqlab.processes.redis_server import DURABILITIES, PrivateRedis

            server: Any = PrivateRedis(workdir, durability or DURABILITIES[-1])
        elif broker == "nats":
            from mqlab.processes.nats_server import DURABILITIES as NATS_DURABILITIES
            from mqlab.processes.nats_server import PrivateNats

            server = PrivateNats(workdir, durability or NATS_DURABILITIES[-1])
        else:
            raise ValueError(f"no private {broker} server here: see mqlab.processes.rabbit")
        stack.enter_context(server)
        server.start()
        yield server


def dead_job_ids(settings: AmqpSettings) -> list[str]:
    """The job ids parked in the run's dead-letter queue or stream (none if unreachable)."""
    if settings.broker == "redis":
        from mqlab.redis_streams import dead_job_ids as redis_dead

        return redis_dead(settings)
    if settings.broker == "nats":
        from mqlab.jetstream import dead_job_ids as nats_dead

        return nats_dead(settings)
    from mqlab.amqp.queues import dead_job_ids as amqp_dead

    return amqp_dead(settings)


def delete_run_objects(settings: AmqpSettings) -> None:
    """Delete what a run declared for itself (its `*.run-<tag>` names only)."""
    if ".run-" not in settings.queue:
        raise ValueError(f"refusing to delete {settings.queue!r}: not a run's own queue")
    if settings.broker == "redis":
        from mqlab.redis_streams import delete_run_objects as redis_delete

        redis_delete(settings)
    elif settings.broker == "nats":
        from mqlab.jetstream import delete_run_objects as nats_delete

        nats_delete(settings)
    else:
        from mqlab.amqp.queues import delete_run_objects as amqp_delete

        amqp_delete(settings)


def stream_errors() -> tuple[type[BaseException], ...]:
    """What the Redis and NATS clients raise when their server is gone (imported only when
    an error is being matched, so a RabbitMQ run never loads them)."""
    from mqlab import jetstream, redis_streams

    return (*redis_streams.UNAVAILABLE, *jetstream.UNAVAILABLE)
