"""The live demo's pieces, one process each: serve, worker, sink; and the broker by hand.

Each runs until it is stopped and prints a short line per event (`--quiet`: problems only).
The lab starts the same commands as its children (`mqlab.processes.commandline`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from mqlab.amqp.settings import EXCHANGE, QUEUE
from mqlab.cli.options import (
    FailKindChoice,
    Host,
    MaxRetries,
    MaxStreams,
    ModeArg,
    Port,
    Quiet,
    RetryDelayMs,
    ScanJitter,
    ScanKind,
    ScanKindChoice,
    ScanMs,
    Seed,
    ServerThreads,
    SmtpFailKind,
    SmtpFailRate,
    SmtpHost,
    SmtpMs,
    SmtpPort,
    SseKeepalive,
    Workers,
    scan,
)
from mqlab.cli.rabbit_options import (
    AmqpUrl,
    AutoAck,
    BrokerOpt,
    BrokerUrl,
    Cluster,
    Exchange,
    Idempotent,
    MaxRedeliveries,
    NoConfirm,
    Prefetch,
    Queue,
    QueueType,
    QueueTypeChoice,
    ReconnectMax,
    Transient,
    amqp,
)
from mqlab.errors import BadInput
from mqlab.job.mail import SmtpTarget
from mqlab.processes import commandline as flag
from mqlab.processes import rabbit
from mqlab.processes.config import Mode, ServeConfig, WorkerConfig


def _logging(verbose: bool = True, quiet: bool = False) -> None:
    """Short lines for a projector: the time, WARNING/ERROR where it is one, the message.

    `quiet` silences the `narrate` logger (one line per job event: got, sent, acked, a mail
    arrived); what went wrong, and the broker lost or back, still shows."""
    handler = logging.StreamHandler()
    handler.setFormatter(_Lines())
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    if quiet:
        logging.getLogger("narrate").setLevel(logging.WARNING)


class _Lines(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03d %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if record.levelno < logging.WARNING:
            return line
        stamp, _, message = line.partition(" ")
        return f"{stamp} {record.levelname} {message}"


def refuse_what_the_mode_ignores(ctx: typer.Context, mode: Mode) -> None:
    """`serve broker --scan-ms 50` would be silently ignored (the worker scans): refuse the
    options typed for a mode that has no use for them (an environment variable is no
    request for this one command: it passes)."""
    takes = flag.SERVE_TAKES[mode]
    ignored = [
        p.opts[0]
        for p in ctx.command.params
        if p.name is not None
        and p.opts[0].startswith("--")
        and p.opts[0] not in takes
        and _typed(ctx, p.name)
    ]
    if ignored:
        raise BadInput(f"serve {mode.value} takes no {', '.join(ignored)}: {_WHY[mode]}")


def _typed(ctx: typer.Context, name: str) -> bool:
    """Given on the command line (typer's vendored click has no public ParameterSource)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


_WHY = {
    Mode.sync: "its --server-threads send the mail, and it uses no broker",
    Mode.thread: "its pool of --workers sends the mail, and it uses no broker",
    Mode.broker: "it only publishes the job; the workers scan and send",
}


def serve(
    ctx: typer.Context,
    mode: ModeArg,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    server_threads: ServerThreads = 8,
    workers: Workers = 4,
    smtp_host: SmtpHost = "127.0.0.1",
    smtp_port: SmtpPort = 2525,
    scan_ms: ScanMs = 200.0,
    scan_jitter_ms: ScanJitter = 0.0,
    scan_kind: ScanKind = ScanKindChoice.sleep,
    seed: Seed = 1,
    broker: BrokerOpt = None,
    stream_url: BrokerUrl = None,
    amqp_url: AmqpUrl = None,
    exchange: Exchange = EXCHANGE,
    queue: Queue = QUEUE,
    queue_type: QueueType = QueueTypeChoice.classic,
    cluster: Cluster = False,
    no_confirm: NoConfirm = False,
    transient: Transient = False,
    max_redeliveries: MaxRedeliveries = 5,
    read_timeout: Annotated[
        float,
        typer.Option(
            flag.READ_TIMEOUT,
            min=0.1,
            help="Seconds for a request's head and body to arrive; then 408.",
        ),
    ] = 10.0,
    keepalive_timeout: Annotated[
        float,
        typer.Option(
            flag.KEEPALIVE_TIMEOUT, min=0.1, help="Seconds an idle connection is kept open."
        ),
    ] = 5.0,
    max_connections: Annotated[
        int,
        typer.Option(
            flag.MAX_CONNECTIONS,
            min=1,
            help="Connections open at once (lowered below the descriptor limit); 503 beyond.",
        ),
    ] = 1000,
    max_streams: MaxStreams = 100,
    sse_keepalive: SseKeepalive = 15.0,
    publish_timeout: Annotated[
        float,
        typer.Option(
            flag.PUBLISH_TIMEOUT,
            min=0.1,
            max=600,
            help="broker: seconds for the broker to confirm a job (connect included); 503 after.",
        ),
    ] = 3.0,
    reconnect_max: ReconnectMax = 10.0,
    quiet: Quiet = False,
) -> None:
    """Start the signup app (HTTP).

    Try: curl -d '{"email":"a@b.test","name":"A"}' localhost:8000/signup
    """
    from mqlab.processes import app as webapp

    refuse_what_the_mode_ignores(ctx, mode)
    _logging(quiet=quiet)
    config = ServeConfig(
        mode=mode,
        host=host,
        port=port,
        server_threads=server_threads,
        workers=workers,
        scan=scan(scan_ms, scan_jitter_ms, scan_kind, seed),
        smtp=SmtpTarget(smtp_host, smtp_port),
        amqp=replace(
            amqp(
                amqp_url,
                exchange,
                queue,
                no_confirm=no_confirm,
                transient=transient,
                queue_type=queue_type,
                cluster=cluster,
                broker=broker,
                other_url=stream_url,
            ),
            publish_timeout_s=publish_timeout,
            reconnect_max_s=reconnect_max,
            max_redeliveries=max_redeliveries,  # quorum: part of the queue, as in the workers
        ),
        read_timeout_s=read_timeout,
        keepalive_timeout_s=keepalive_timeout,
        max_connections=max_connections,
        max_streams=max_streams,
        sse_keepalive_s=sse_keepalive,
    )
    webapp.serve(config)


def worker(
    smtp_host: SmtpHost = "127.0.0.1",
    smtp_port: SmtpPort = 2525,
    scan_ms: ScanMs = 200.0,
    scan_jitter_ms: ScanJitter = 0.0,
    scan_kind: ScanKind = ScanKindChoice.sleep,
    seed: Seed = 1,
    broker: BrokerOpt = None,
    stream_url: BrokerUrl = None,
    amqp_url: AmqpUrl = None,
    exchange: Exchange = EXCHANGE,
    queue: Queue = QUEUE,
    queue_type: QueueType = QueueTypeChoice.classic,
    cluster: Cluster = False,
    prefetch: Prefetch = 1,
    transient: Transient = False,
    auto_ack: AutoAck = False,
    max_retries: MaxRetries = 5,
    retry_delay_ms: RetryDelayMs = 1000.0,
    max_redeliveries: MaxRedeliveries = 5,
    heartbeat: Annotated[
        int,
        typer.Option(
            flag.HEARTBEAT, min=0, max=3600, help="AMQP heartbeat interval in seconds (0: none)."
        ),
    ] = 30,
    reconnect_max: ReconnectMax = 10.0,
    idempotent: Idempotent = False,
    processed_db: Annotated[
        Path,
        typer.Option(
            flag.PROCESSED_DB,
            dir_okay=False,
            help="With --idempotent: SQLite file of sent job ids, shared by the workers of this "
            "machine.",
        ),
    ] = Path("mqlab-processed.db"),
    quiet: Quiet = False,
) -> None:
    """Start one broker worker: take signup jobs from the queue, scan, send, ack. Start several."""
    from mqlab.job.ledger import ProcessedJobs
    from mqlab.processes import worker as worker_process

    if idempotent:  # a bad path: one line and exit 2 now, not a traceback at the first job
        ProcessedJobs(processed_db).close()
    _logging(quiet=quiet)
    settings = amqp(
        amqp_url,
        exchange,
        queue,
        prefetch=prefetch,
        transient=transient,
        auto_ack=auto_ack,
        queue_type=queue_type,
        cluster=cluster,
        broker=broker,
        other_url=stream_url,
    )
    config = WorkerConfig(
        scan=scan(scan_ms, scan_jitter_ms, scan_kind, seed),
        smtp=SmtpTarget(smtp_host, smtp_port),
        amqp=replace(
            settings,
            max_retries=max_retries,
            retry_delay_ms=retry_delay_ms,
            max_redeliveries=max_redeliveries,
            heartbeat_s=heartbeat,
            reconnect_max_s=reconnect_max,
        ),
    )
    logging.getLogger("mqlab").info(
        "worker consuming %s on %s%s",
        queue,
        rabbit.mask_url(config.amqp.url),
        f" (idempotent, {processed_db})" if idempotent else "",
    )
    worker_process.run(config, processed_db if idempotent else None)


def sink(
    host: Host = "127.0.0.1",
    port: Port = 2525,
    ledger: Annotated[
        Path, typer.Option(flag.LEDGER, dir_okay=False, help="SQLite file that records every mail.")
    ] = Path("mqlab-sink.db"),
    smtp_ms: SmtpMs = 0.0,
    smtp_fail_rate: SmtpFailRate = 0.0,
    smtp_fail_kind: SmtpFailKind = FailKindChoice.transient,
    seed: Seed = 1,
    quiet: Quiet = False,
) -> None:
    """Start the SMTP sink: a real mail server that records every mail it receives."""
    from mqlab.job.ledger import Ledger
    from mqlab.processes import procs
    from mqlab.processes import sink as smtp_sink

    Ledger(ledger).close()  # a bad path: one line and exit 2, before the sink starts serving
    procs.check_port_free(host, port)
    _logging(quiet=quiet)
    config = smtp_sink.SinkConfig(
        host=host,
        port=port,
        ledger=ledger,
        delay_ms=smtp_ms,
        fail_rate=smtp_fail_rate,
        fail_kind="permanent" if smtp_fail_kind is FailKindChoice.permanent else "transient",
        seed=seed,
    )
    logging.getLogger("mqlab").info("SMTP sink on %s:%d, ledger %s", host, port, ledger)
    smtp_sink.serve_forever(config)


# --- the broker, by hand -----------------------------------------------------------------------


def broker_up(port: Port = 5673) -> None:
    """Start a private RabbitMQ node of mqlab's own (it keeps running until 'mqlab broker down')."""
    from mqlab.report import render

    handle = rabbit.broker_up(port)
    render.print_broker_up(handle.url, handle.version)  # masks a real secret itself


def broker_down() -> None:
    """Stop the node 'mqlab broker up' started. Never touches a broker mqlab did not start."""
    from mqlab.report import render

    render.print_broker_down(rabbit.broker_down())


def broker_status(
    amqp_url: AmqpUrl = None,
    queue: Annotated[
        list[str] | None,
        typer.Option(flag.QUEUE, help="Queues to show (default: mqlab's own)."),
    ] = None,
) -> None:
    """Show which broker mqlab would use (password masked), its version and mqlab's queues."""
    from mqlab.report import render

    render.print_broker_status(rabbit.broker_status(amqp_url, list(queue or [QUEUE])))
