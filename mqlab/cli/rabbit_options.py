"""The RabbitMQ options, defined once for every command that takes them (serve, worker, run,
compare, crash-test, sweep), and the settings they make. The flag names come from
`mqlab.processes.commandline`, like the rest of `options`.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import typer

from mqlab.amqp import settings as amqp_settings
from mqlab.amqp.settings import AmqpSettings
from mqlab.errors import BadInput
from mqlab.processes import commandline as flag
from mqlab.processes import rabbit


class BrokerChoice(str, Enum):
    rabbitmq = "rabbitmq"
    redis = "redis"
    nats = "nats"


BrokerOpt = Annotated[
    BrokerChoice | None,
    typer.Option(
        flag.BROKER,
        help="The broker of broker mode: rabbitmq (the course's), redis (Redis Streams) or nats "
        "(NATS JetStream). Default: what --broker-url names, else rabbitmq.",
    ),
]


BrokerUrl = Annotated[
    str | None,
    typer.Option(
        flag.BROKER_URL,
        help="The Redis or NATS server (redis://host:port/db, nats://host:port). serve and "
        "worker: default $MQLAB_REDIS_URL or $MQLAB_NATS_URL, else the standard local port; "
        "run, compare, crash-test, sweep: default a private server mqlab starts and stops.",
    ),
]


def which_broker(
    broker: BrokerChoice | None, amqp_url: str | None, broker_url: str | None, live: bool
) -> tuple[amqp_settings.BrokerKind, str | None]:
    """The broker and its URL, from --broker, --broker-url and --amqp-url. `live`: serve and
    worker, which fall back to the environment and the standard port; a run without a URL
    gets None (a private server). --amqp-url stays RabbitMQ's (its $MQLAB_AMQP_URL may be
    set while a lesson runs on Redis)."""
    from mqlab.processes import brokers

    kind = brokers.pick(broker.value if broker else None, broker_url)
    if kind == "rabbitmq":
        if broker_url:
            raise BadInput(f"{flag.BROKER_URL} is for redis:// or nats://; use {flag.AMQP_URL}")
        return kind, amqp_url
    if not live:
        return kind, broker_url
    import os

    return kind, broker_url or os.environ.get(brokers.ENV_VARS[kind]) or brokers.DEFAULT_URLS[kind]


def run_broker(
    broker: BrokerChoice | None,
    amqp_url: str | None,
    other_url: str | None,
    cluster: bool = False,
    queue_type: QueueTypeChoice | None = None,
    needed: bool = True,
) -> tuple[amqp_settings.BrokerKind, str | None]:
    """run, compare, crash-test, sweep: the broker and the URL their runs use (None: the
    default RabbitMQ, or a private Redis or NATS server). `needed`: broker mode is among
    the modes; if not, nothing is looked up or started (no --cluster starts a cluster)."""
    from mqlab.cli.cluster import broker_url

    if not needed:
        return "rabbitmq", amqp_url
    kind, url = which_broker(broker, amqp_url, other_url, live=False)
    if kind == "rabbitmq":
        return kind, broker_url(url, cluster)
    _only_rabbitmq(kind, cluster, queue_type)
    return kind, url


def _only_rabbitmq(kind: str, cluster: bool, queue_type: QueueTypeChoice | None) -> None:
    if cluster or queue_type not in (None, QueueTypeChoice.classic):
        raise BadInput(
            f"{flag.CLUSTER} and {flag.QUEUE_TYPE} are RabbitMQ's: not with --broker {kind}"
        )


class QueueTypeChoice(str, Enum):
    classic = "classic"
    quorum = "quorum"


def _amqp_url(default: str) -> Any:
    return typer.Option(
        flag.AMQP_URL,
        envvar=rabbit.ENV_VAR,
        show_envvar=True,
        help=f"RabbitMQ to use (default: {default}).",
    )


AmqpUrl = Annotated[
    str | None, _amqp_url(f"{rabbit.DEFAULT_URL}, else a private node mqlab starts")
]
BenchAmqpUrl = Annotated[  # the bench floods its broker: never the machine's by default
    str | None, _amqp_url("a private node mqlab starts, since the bench floods its broker")
]


Exchange = Annotated[str, typer.Option(flag.EXCHANGE, help="RabbitMQ exchange for signup jobs.")]


Queue = Annotated[str, typer.Option(flag.QUEUE, help="RabbitMQ queue the workers consume.")]


Prefetch = Annotated[
    int,
    typer.Option(
        flag.PREFETCH, min=1, max=10_000, help="Unacked jobs a worker may hold (1 = fair dispatch)."
    ),
]


NoConfirm = Annotated[
    bool,
    typer.Option(
        flag.NO_CONFIRM,
        help="Lesson: answer 202 without waiting for the broker's publisher confirm.",
    ),
]


Transient = Annotated[
    bool,
    typer.Option(
        flag.TRANSIENT,
        help="Lesson: non-durable queue, non-persistent messages (lost when the broker restarts).",
    ),
]


QueueType = Annotated[
    QueueTypeChoice,
    typer.Option(
        flag.QUEUE_TYPE,
        help="classic: the queue lives on one node. quorum: replicated over a cluster (Raft); "
        "a publish is confirmed once a majority of nodes has it on disk, and the broker itself "
        "ends a crash loop (--max-redeliveries). Always durable: not with --transient.",
    ),
]


Cluster = Annotated[
    bool,
    typer.Option(
        flag.CLUSTER,
        help="Without --amqp-url: use mqlab's own three-node RabbitMQ cluster, started now if "
        "it is not up (it stays up until 'mqlab cluster down').",
    ),
]


MaxRedeliveries = Annotated[
    int,
    typer.Option(
        flag.MAX_REDELIVERIES,
        min=0,
        max=1000,
        help="Times a job may come back unsettled (its worker crashed or lost the broker on "
        "it) before it goes to <queue>.dead: a crash loop ends there. quorum: the queue's "
        "x-delivery-limit, which the app declares too: give app and workers the same.",
    ),
]


AutoAck = Annotated[
    bool,
    typer.Option(
        flag.AUTO_ACK,
        help="Lesson: the broker forgets a job as soon as it hands it out (lost when a worker "
        "dies).",
    ),
]


Idempotent = Annotated[
    bool,
    typer.Option(
        flag.IDEMPOTENT,
        help="Lesson: workers skip (and ack) a job id they already sent, so a worker that died "
        "between its send and its ack causes no second mail.",
    ),
]


ReconnectMax = Annotated[
    float,
    typer.Option(
        flag.RECONNECT_MAX,
        min=0.1,
        max=3600,
        help="Longest wait in seconds between two attempts to reach a lost broker (the waits "
        "grow up to it, jittered).",
    ),
]


def amqp(
    url: str | None,
    exchange: str,
    queue: str,
    prefetch: int = 1,
    no_confirm: bool = False,
    transient: bool = False,
    auto_ack: bool = False,
    queue_type: QueueTypeChoice = QueueTypeChoice.classic,
    cluster: bool = False,
    broker: BrokerChoice | None = None,
    other_url: str | None = None,
) -> AmqpSettings:
    """serve's and worker's settings; with `cluster`, on mqlab's own cluster (started now if
    it is not up). What cannot go together is refused first, before anything starts.
    `broker`, `other_url`: --broker and --broker-url (Redis Streams, NATS JetStream)."""
    from mqlab.cli.cluster import broker_url

    check_queue_type(queue_type, transient)
    kind, stream_url = which_broker(broker, url, other_url, live=True)
    if kind != "rabbitmq":
        _only_rabbitmq(kind, cluster, queue_type)
    where = stream_url if kind != "rabbitmq" else None  # serve and worker: always a URL
    return AmqpSettings(
        url=where or rabbit.resolve_url(broker_url(url, cluster)),
        exchange=exchange,
        queue=queue,
        prefetch=prefetch,
        confirm=not no_confirm,
        durable=not transient,
        auto_ack=auto_ack,
        queue_type=queue_kind(queue_type),
        broker=kind,
    )


def queue_kind(choice: QueueTypeChoice) -> amqp_settings.QueueType:
    return "quorum" if choice is QueueTypeChoice.quorum else "classic"


def check_queue_type(queue_type: QueueTypeChoice, transient: bool) -> None:
    """A quorum queue is always durable: `--transient` with it is one line and exit 2."""
    if transient and queue_type is QueueTypeChoice.quorum:
        from mqlab.errors import BadInput

        raise BadInput(
            "--transient cannot go with --queue-type quorum: a quorum queue is always durable "
            "(each replica keeps every message on disk); use --queue-type classic for the "
            "transient lesson"
        )
