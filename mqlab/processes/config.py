"""Frozen settings objects built by the CLI and handed to the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from mqlab.amqp.settings import AmqpSettings, BrokerKind, QueueType
from mqlab.job.mail import SmtpTarget
from mqlab.job.scan import ScanSettings

MAX_BODY = 1024 * 1024  # 1 MiB


class Mode(str, Enum):
    sync = "sync"
    thread = "thread"
    broker = "broker"


@dataclass(frozen=True)
class ServeConfig:
    """One app process: `mqlab serve MODE`."""

    mode: Mode
    host: str = "127.0.0.1"
    port: int = 8000
    server_threads: int = 8
    workers: int = 4  # thread mode: size of the in-process pool
    scan: ScanSettings = field(default_factory=ScanSettings)
    smtp: SmtpTarget = field(default_factory=SmtpTarget)
    amqp: AmqpSettings = field(default_factory=AmqpSettings)
    max_body: int = MAX_BODY
    read_timeout_s: float = 10.0  # a request's head and body, together: 408 after it
    keepalive_timeout_s: float = 5.0  # an idle connection is closed after it
    max_connections: int = 1000  # open at once (lowered below the descriptor limit)
    max_streams: int = 100  # status streams (Server-Sent Events) open at once: 503 beyond
    sse_keepalive_s: float = 15.0  # a comment on an idle status stream, for proxies


@dataclass(frozen=True)
class WorkerConfig:
    """One broker worker process: `mqlab worker`."""

    scan: ScanSettings = field(default_factory=ScanSettings)
    smtp: SmtpTarget = field(default_factory=SmtpTarget)
    amqp: AmqpSettings = field(default_factory=AmqpSettings)


@dataclass(frozen=True)
class Workload:
    """What a run sends and how slow the mail job is: the same for every mode compared."""

    requests: int = 200
    rate: float = 50.0  # requests per second; 0 = all at once (a spike)
    scan_ms: float = 200.0
    scan_jitter_ms: float = 0.0
    scan_kind: str = "sleep"
    workers: int = 4  # thread pool size, or number of broker worker processes
    server_threads: int = 8
    infected: int = 0  # how many signups carry the EICAR test virus
    seed: int = 1
    drain_timeout: float = 60.0
    request_timeout: float = 30.0
    smtp_ms: float = 0.0  # extra time the mail server takes per mail
    smtp_fail_rate: float = 0.0  # share of mails the mail server refuses on purpose
    smtp_fail_kind: str = "transient"  # 451 (try later) or "permanent" (554)
    retry_delay_ms: float = 1000.0  # broker workers' first retry backoff (it doubles)
    max_retries: int = 5  # broker workers' retries of a refused mail, then <queue>.dead


@dataclass(frozen=True)
class Safety:
    """The broker's safeties; each can be turned off to watch loss appear."""

    confirm: bool = True
    durable: bool = True
    auto_ack: bool = False
    idempotent: bool = False


@dataclass(frozen=True)
class RunConfig:
    mode: Mode
    workload: Workload = field(default_factory=Workload)
    amqp_url: str | None = None  # None: $MQLAB_AMQP_URL, the default, or a private node
    prefetch: int = 1
    queue_type: QueueType = "classic"  # quorum: replicated over a cluster's nodes
    broker: BrokerKind = "rabbitmq"  # redis, nats: amqp_url is then a redis:// or nats:// URL
    safety: Safety = field(default_factory=Safety)
    floors: bool = True  # measure the machine's floors (calibrate.quick) before the run
