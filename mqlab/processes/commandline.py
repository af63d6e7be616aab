"""The command lines of the lab's children: `mqlab serve`, `mqlab worker`, `mqlab sink`.

Every flag name is written once, here: `mqlab.cli.options` declares its options with
these names, and the lab builds a child's argv from a config with the functions below,
so renaming a flag is one edit. `serve_argv` passes only the options the mode takes
(`SERVE_TAKES`); `mqlab serve` refuses the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mqlab.amqp.settings import AmqpSettings
from mqlab.processes.config import Mode, ServeConfig, WorkerConfig
from mqlab.processes.procs import mqlab_argv

if TYPE_CHECKING:  # the sink module imports aiosmtpd: only its child needs that
    from mqlab.processes.sink import SinkConfig

# where the servers listen
HOST = "--host"
PORT = "--port"
SERVER_THREADS = "--server-threads"
READ_TIMEOUT = "--read-timeout"
KEEPALIVE_TIMEOUT = "--keepalive-timeout"
MAX_CONNECTIONS = "--max-connections"
MAX_STREAMS = "--max-streams"
SSE_KEEPALIVE = "--sse-keepalive"
QUIET = "--quiet"
# the mail job: scan, then send
WORKERS = "--workers"
SCAN_MS = "--scan-ms"
SCAN_JITTER_MS = "--scan-jitter-ms"
SCAN_KIND = "--scan-kind"
SEED = "--seed"
SMTP_HOST = "--smtp-host"
SMTP_PORT = "--smtp-port"
# the broker: RabbitMQ (the course's), Redis Streams or NATS JetStream
BROKER = "--broker"
BROKER_URL = "--broker-url"  # redis://... or nats://...; RabbitMQ's is --amqp-url
AMQP_URL = "--amqp-url"
EXCHANGE = "--exchange"
QUEUE = "--queue"
NO_CONFIRM = "--no-confirm"
TRANSIENT = "--transient"
QUEUE_TYPE = "--queue-type"
CLUSTER = "--cluster"
PUBLISH_TIMEOUT = "--publish-timeout"
RECONNECT_MAX = "--reconnect-max"
PREFETCH = "--prefetch"
AUTO_ACK = "--auto-ack"
MAX_RETRIES = "--max-retries"
RETRY_DELAY_MS = "--retry-delay-ms"
MAX_REDELIVERIES = "--max-redeliveries"
HEARTBEAT = "--heartbeat"
IDEMPOTENT = "--idempotent"
PROCESSED_DB = "--processed-db"
# the SMTP sink
LEDGER = "--ledger"
SMTP_MS = "--smtp-ms"
SMTP_FAIL_RATE = "--smtp-fail-rate"
SMTP_FAIL_KIND = "--smtp-fail-kind"

_SERVER = (HOST, PORT, SERVER_THREADS, READ_TIMEOUT, KEEPALIVE_TIMEOUT, MAX_CONNECTIONS, QUIET)
_STATUS = (MAX_STREAMS, SSE_KEEPALIVE)  # GET /signup/{id}/events; sync keeps no status
_MAIL_JOB = (SCAN_MS, SCAN_JITTER_MS, SCAN_KIND, SEED, SMTP_HOST, SMTP_PORT)
# What defines the queue, which the app and the workers both declare: they must agree.
_QUEUE = (BROKER, AMQP_URL, BROKER_URL, EXCHANGE, QUEUE, TRANSIENT, QUEUE_TYPE, MAX_REDELIVERIES)
_PUBLISH = (*_QUEUE, CLUSTER, NO_CONFIRM, PUBLISH_TIMEOUT, RECONNECT_MAX)

# What each mode of `mqlab serve` uses: sync and thread do the mail job in the app (thread
# in a pool of --workers), broker only publishes it.
SERVE_TAKES: dict[Mode, tuple[str, ...]] = {
    Mode.sync: (*_SERVER, *_MAIL_JOB),
    Mode.thread: (*_SERVER, *_MAIL_JOB, WORKERS, *_STATUS),
    Mode.broker: (*_SERVER, *_PUBLISH, *_STATUS),
}


def serve_argv(config: ServeConfig, quiet: bool = True) -> list[str]:
    """`mqlab serve MODE ...` that starts an app with `config` (the options its mode takes)."""
    a = config.amqp
    values: dict[str, str | bool] = {
        HOST: config.host,
        PORT: str(config.port),
        SERVER_THREADS: str(config.server_threads),
        READ_TIMEOUT: str(config.read_timeout_s),
        KEEPALIVE_TIMEOUT: str(config.keepalive_timeout_s),
        MAX_CONNECTIONS: str(config.max_connections),
        MAX_STREAMS: str(config.max_streams),
        SSE_KEEPALIVE: str(config.sse_keepalive_s),
        QUIET: quiet,
        WORKERS: str(config.workers),
        **_mail_job(config),
        **_queue(a),
        CLUSTER: False,  # the lab gives the app the nodes' URLs themselves
        NO_CONFIRM: not a.confirm,
        PUBLISH_TIMEOUT: str(a.publish_timeout_s),
        RECONNECT_MAX: str(a.reconnect_max_s),
    }
    takes = SERVE_TAKES[config.mode]
    return mqlab_argv("serve", config.mode.value, *_argv(values, takes))


def worker_argv(
    config: WorkerConfig, processed_db: Path | None = None, quiet: bool = True
) -> list[str]:
    """`mqlab worker ...` that starts a worker with `config`; `processed_db`: idempotent."""
    a = config.amqp
    values: dict[str, str | bool] = {
        **_mail_job(config),
        **_queue(a),
        PREFETCH: str(a.prefetch),
        AUTO_ACK: a.auto_ack,
        MAX_RETRIES: str(a.max_retries),
        RETRY_DELAY_MS: str(a.retry_delay_ms),
        HEARTBEAT: str(a.heartbeat_s),
        RECONNECT_MAX: str(a.reconnect_max_s),
        IDEMPOTENT: processed_db is not None,
        PROCESSED_DB: "" if processed_db is None else str(processed_db),
        QUIET: quiet,
    }
    return mqlab_argv("worker", *_argv(values, tuple(values)))


def sink_argv(config: SinkConfig, quiet: bool = True) -> list[str]:
    """`mqlab sink ...` that starts the SMTP sink with `config`."""
    values: dict[str, str | bool] = {
        HOST: config.host,
        PORT: str(config.port),
        LEDGER: str(config.ledger),
        SMTP_MS: str(config.delay_ms),
        SMTP_FAIL_RATE: str(config.fail_rate),
        SMTP_FAIL_KIND: config.fail_kind,
        SEED: str(config.seed),
        QUIET: quiet,
    }
    return mqlab_argv("sink", *_argv(values, tuple(values)))


def _mail_job(config: ServeConfig | WorkerConfig) -> dict[str, str | bool]:
    return {
        SCAN_MS: str(config.scan.ms),
        SCAN_JITTER_MS: str(config.scan.jitter_ms),
        SCAN_KIND: config.scan.kind,
        SEED: str(config.scan.seed),
        SMTP_HOST: config.smtp.host,
        SMTP_PORT: str(config.smtp.port),
    }


def _queue(a: AmqpSettings) -> dict[str, str | bool]:
    """The queue's definition (a quorum queue's delivery limit is part of it)."""
    rabbitmq = a.broker == "rabbitmq"
    return {
        BROKER: "" if rabbitmq else a.broker,
        AMQP_URL: a.url if rabbitmq else "",
        BROKER_URL: "" if rabbitmq else a.url,
        EXCHANGE: a.exchange,
        QUEUE: a.queue,
        TRANSIENT: not a.durable,
        QUEUE_TYPE: a.queue_type,
        MAX_REDELIVERIES: str(a.max_redeliveries),
    }


def _argv(values: dict[str, str | bool], takes: tuple[str, ...]) -> list[str]:
    """`--flag value` for a string, `--flag` for True, nothing for False or an empty string."""
    out: list[str] = []
    for flag in takes:
        value = values[flag]
        if value is True:
            out.append(flag)
        elif isinstance(value, str) and value:
            out += [flag, value]
    return out
