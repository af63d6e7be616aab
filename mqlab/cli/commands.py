"""The command line: parse, call the core, print. Nothing here measures anything.

Every command builds a frozen config from its options and hands it to a core
function that returns a result object; `mqlab.render` prints it.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from mqlab.amqp.settings import EXCHANGE, QUEUE, AmqpSettings
from mqlab.job.mail import SmtpTarget
from mqlab.job.scan import ScanSettings
from mqlab.processes import rabbit
from mqlab.processes.config import Mode, RunConfig, Safety, ServeConfig, WorkerConfig, Workload

app = typer.Typer(
    name="mqlab",
    help=(
        "mqlab: measure why message brokers exist. A signup must send a slow welcome mail "
        "(virus scan, then SMTP); mqlab runs it three ways on real parts and measures what the "
        "user waits, how fast mail goes out, and what a crash loses.\n\n"
        "Start with: mqlab compare"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
broker_app = typer.Typer(
    help="Start, stop or inspect a RabbitMQ node for live demos.", no_args_is_help=True
)
app.add_typer(broker_app, name="broker")


@app.callback()
def _global_options(
    ctx: typer.Context,
    traceback: Annotated[
        bool,
        typer.Option(
            "--traceback",
            help="On an error, show the full Python stack (for bug reports), not one line. "
            "Goes before the command: mqlab --traceback run sync",
        ),
    ] = False,
) -> None:
    # mqlab.core.main passes a dict as the context object and reads it when a command fails
    ctx.ensure_object(dict)["traceback"] = traceback


class ScanKindChoice(str, Enum):
    sleep = "sleep"
    cpu = "cpu"


class LangChoice(str, Enum):
    en = "en"
    ko = "ko"


class FailKindChoice(str, Enum):
    transient = "transient"
    permanent = "permanent"


# --- options shared by several commands --------------------------------------------------------


ModeArg = Annotated[
    Mode,
    typer.Argument(
        help="sync: the handler sends before answering (the user waits). thread: an in-process "
        "thread pool sends (fast answer, lost on crash). broker: a RabbitMQ work queue and "
        "worker processes (fast answer, nothing lost)."
    ),
]
Requests = Annotated[
    int, typer.Option("--requests", "-n", min=1, max=1_000_000, help="How many signups to send.")
]
Rate = Annotated[
    float,
    typer.Option(
        "--rate",
        "-r",
        min=0,
        help="Signups per second, on a fixed schedule (open loop). "
        "0 sends them all at once: a traffic spike.",
    ),
]
ScanMs = Annotated[
    float,
    typer.Option(
        "--scan-ms", min=0, max=600_000, help="How long the virus scan of each attachment takes."
    ),
]
ScanJitter = Annotated[
    float,
    typer.Option("--scan-jitter-ms", min=0, help="Random +/- variation of the scan time (seeded)."),
]
ScanKind = Annotated[
    ScanKindChoice,
    typer.Option(
        "--scan-kind",
        help="sleep: the scan waits like a call to an external "
        "scanner. cpu: it burns CPU in Python (holds the GIL).",
    ),
]
Workers = Annotated[
    int,
    typer.Option(
        "--workers",
        "-w",
        min=1,
        max=256,
        help="Mail senders: the thread pool's size, or broker worker processes; in a run, "
        "also sync's handler threads, so every mode sends with the same number.",
    ),
]
ServerThreads = Annotated[
    int,
    typer.Option(
        "--server-threads",
        min=1,
        max=1024,
        help="HTTP handler threads of the app server (a run's sync app has --workers of them).",
    ),
]
Infected = Annotated[
    int, typer.Option("--infected", min=0, help="How many signups carry the EICAR test virus.")
]
Seed = Annotated[int, typer.Option("--seed", help="Seed for the scan-time jitter.")]
SmtpMs = Annotated[
    float, typer.Option("--smtp-ms", min=0, help="Extra time the mail server takes per mail.")
]
SmtpFailRate = Annotated[
    float,
    typer.Option(
        "--smtp-fail-rate",
        min=0,
        max=1,
        help="Share of mails the mail server refuses on purpose (see --smtp-fail-kind).",
    ),
]
SmtpFailKind = Annotated[
    FailKindChoice,
    typer.Option("--smtp-fail-kind", help="transient (451: try again later) or permanent (554)."),
]
DrainTimeout = Annotated[
    float,
    typer.Option(
        "--drain-timeout",
        min=0,
        help="Seconds to wait, after the last request, for "
        "queued mails to arrive before counting them "
        "lost.",
    ),
]


def _writable_folder(value: Path | None) -> Path | None:
    """--out, --keep: a folder that cannot be written is one line and exit 2 at once, not
    after the run whose result it was to hold."""
    from mqlab.errors import BadInput
    from mqlab.measure import results

    try:
        return None if value is None else results.writable_folder(value)
    except BadInput as e:
        raise typer.BadParameter(str(e)) from None


Out = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        file_okay=False,
        callback=_writable_folder,
        help="Folder for the result JSON.",
    ),
]
Keep = Annotated[
    Path | None,
    typer.Option(
        "--keep",
        file_okay=False,
        callback=_writable_folder,
        help="Keep each run's SMTP ledger (SQLite) and process logs in this folder, to count "
        "for yourself.",
    ),
]
Floors = Annotated[
    bool,
    typer.Option(
        "--floors/--no-floors",
        help="First measure this machine's floors (HTTP round trip, confirmed publish, SMTP send; "
        "about 2 s) and show them beside the results.",
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the summary as JSON, not a table.")]
Lang = Annotated[
    LangChoice,
    typer.Option(
        "--lang", envvar="MQLAB_LANG", show_envvar=True, help="Language of tables and charts."
    ),
]
AmqpUrl = Annotated[
    str | None,
    typer.Option(
        "--amqp-url",
        envvar=rabbit.ENV_VAR,
        show_envvar=True,
        help=f"RabbitMQ to use (default: {rabbit.DEFAULT_URL}, else a private node mqlab starts).",
    ),
]
Prefetch = Annotated[
    int,
    typer.Option(
        "--prefetch", min=1, max=10_000, help="Unacked jobs a worker may hold (1 = fair dispatch)."
    ),
]
Host = Annotated[str, typer.Option("--host", help="Address to listen on.")]
SmtpHost = Annotated[str, typer.Option("--smtp-host", help="SMTP server that receives the mail.")]
SmtpPort = Annotated[int, typer.Option("--smtp-port", min=1, max=65535, help="Its port.")]
Exchange = Annotated[str, typer.Option("--exchange", help="RabbitMQ exchange for signup jobs.")]
Queue = Annotated[str, typer.Option("--queue", help="RabbitMQ queue the workers consume.")]
NoConfirm = Annotated[
    bool,
    typer.Option(
        "--no-confirm",
        help="Lesson: answer 202 without waiting for the broker's publisher confirm.",
    ),
]
Transient = Annotated[
    bool,
    typer.Option(
        "--transient",
        help="Lesson: non-durable queue, non-persistent messages (lost when the broker restarts).",
    ),
]
AutoAck = Annotated[
    bool,
    typer.Option(
        "--auto-ack",
        help="Lesson: the broker forgets a job as soon as it "
        "hands it out (lost when a worker dies).",
    ),
]
ReconnectMax = Annotated[
    float,
    typer.Option(
        "--reconnect-max",
        min=0.1,
        max=3600,
        help="Longest wait in seconds between two attempts to reach a lost broker (the waits "
        "grow up to it, jittered).",
    ),
]


def _scan(ms: float, jitter_ms: float, kind: ScanKindChoice, seed: int) -> ScanSettings:
    return ScanSettings(ms, jitter_ms, "cpu" if kind is ScanKindChoice.cpu else "sleep", seed)


def _workload_options(
    requests: Requests = 200,
    rate: Rate = 50.0,
    scan_ms: ScanMs = 200.0,
    scan_jitter_ms: ScanJitter = 0.0,
    scan_kind: ScanKind = ScanKindChoice.sleep,
    workers: Workers = 4,
    server_threads: ServerThreads = 8,
    infected: Infected = 0,
    smtp_ms: SmtpMs = 0.0,
    smtp_fail_rate: SmtpFailRate = 0.0,
    smtp_fail_kind: SmtpFailKind = FailKindChoice.transient,
    seed: Seed = 1,
    drain_timeout: DrainTimeout = 60.0,
) -> Workload:
    """The workload options of run, compare and crash-test, defined once, as one Workload."""
    if infected > requests:
        raise typer.BadParameter(f"--infected ({infected}) is more than --requests ({requests})")
    return Workload(
        requests=requests,
        rate=rate,
        scan_ms=scan_ms,
        scan_jitter_ms=scan_jitter_ms,
        scan_kind=scan_kind.value,
        workers=workers,
        server_threads=server_threads,
        infected=infected,
        seed=seed,
        drain_timeout=drain_timeout,
        smtp_ms=smtp_ms,
        smtp_fail_rate=smtp_fail_rate,
        smtp_fail_kind=smtp_fail_kind.value,
    )


def with_workload(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the options of `_workload_options` in place of its `workload` parameter.

    typer reads a command's options from its signature, so the wrapper shows typer the
    command's own parameters plus the shared ones, and hands the command one Workload.
    """
    shared = inspect.signature(_workload_options, eval_str=True).parameters
    own = inspect.signature(command, eval_str=True).parameters
    mine = [p for name, p in own.items() if name != "workload"]
    arguments = [p for p in mine if p.default is inspect.Parameter.empty]
    options = [p for p in mine if p.default is not inspect.Parameter.empty]
    parameters = [*arguments, *shared.values(), *options]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        workload = _workload_options(**{name: kwargs.pop(name) for name in shared})
        command(workload=workload, **kwargs)

    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


def _amqp(
    url: str | None,
    exchange: str,
    queue: str,
    prefetch: int = 1,
    no_confirm: bool = False,
    transient: bool = False,
    auto_ack: bool = False,
) -> AmqpSettings:
    return AmqpSettings(
        url=rabbit.resolve_url(url),
        exchange=exchange,
        queue=queue,
        prefetch=prefetch,
        confirm=not no_confirm,
        durable=not transient,
        auto_ack=auto_ack,
    )


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


Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No line per job event; problems still show.")
]


# --- measuring ---------------------------------------------------------------------------------


@app.command()
@with_workload
def run(
    mode: ModeArg,
    workload: Workload = Workload(),  # noqa: B008 (frozen; replaced by with_workload)
    amqp_url: AmqpUrl = None,
    prefetch: Prefetch = 1,
    retry_delay_ms: Annotated[
        int,
        typer.Option(
            "--retry-delay-ms",
            min=1,
            max=600_000,
            help="broker: a worker's first wait before retrying a refused mail (it doubles).",
        ),
    ] = 1000,
    out: Out = Path("results"),
    keep: Keep = None,
    floors: Floors = True,
    as_json: AsJson = False,
    lang: Lang = LangChoice.en,
) -> None:
    """Run one mode on real processes and measure it: response time, throughput, delivery."""
    from mqlab.measure import results, runner
    from mqlab.report import render

    config = RunConfig(
        mode=mode,
        workload=workload,
        amqp_url=amqp_url,
        prefetch=prefetch,
        safety=Safety(),
        floors=floors,
    )
    config = replace(config, workload=replace(config.workload, retry_delay_ms=retry_delay_ms))
    with render.progress(mode.value, workload.requests, as_json, lang.value) as report:
        result = runner.run(config, progress=report, keep=keep)
    data = result.to_dict()
    path = results.write(data, out, mode.value)
    if as_json:
        print(
            json.dumps(
                {"mode": result.mode, "summary": data["summary"], "file": str(path)}, indent=2
            )
        )
        return
    render.print_runs([data], lang.value)
    if data.get("calibration"):
        render.print_floors(data["calibration"], lang.value)
    render.print_saved(path, lang.value)


# --- live demo pieces --------------------------------------------------------------------------


@app.command()
def serve(
    mode: ModeArg,
    host: Host = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", min=1, max=65535, help="HTTP port for POST /signup.")
    ] = 8000,
    server_threads: ServerThreads = 8,
    workers: Workers = 4,
    smtp_host: SmtpHost = "127.0.0.1",
    smtp_port: SmtpPort = 2525,
    scan_ms: ScanMs = 200.0,
    scan_jitter_ms: ScanJitter = 0.0,
    scan_kind: ScanKind = ScanKindChoice.sleep,
    seed: Seed = 1,
    amqp_url: AmqpUrl = None,
    exchange: Exchange = EXCHANGE,
    queue: Queue = QUEUE,
    no_confirm: NoConfirm = False,
    transient: Transient = False,
    read_timeout: Annotated[
        float,
        typer.Option(
            "--read-timeout",
            min=0.1,
            help="Seconds for a request's head and body to arrive; then 408.",
        ),
    ] = 10.0,
    keepalive_timeout: Annotated[
        float,
        typer.Option(
            "--keepalive-timeout", min=0.1, help="Seconds an idle connection is kept open."
        ),
    ] = 5.0,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            min=1,
            help="Connections open at once (lowered below the descriptor limit); 503 beyond.",
        ),
    ] = 1000,
    publish_timeout: Annotated[
        float,
        typer.Option(
            "--publish-timeout",
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

    _logging(quiet=quiet)
    config = ServeConfig(
        mode=mode,
        host=host,
        port=port,
        server_threads=server_threads,
        workers=workers,
        scan=_scan(scan_ms, scan_jitter_ms, scan_kind, seed),
        smtp=SmtpTarget(smtp_host, smtp_port),
        amqp=replace(
            _amqp(amqp_url, exchange, queue, no_confirm=no_confirm, transient=transient),
            publish_timeout_s=publish_timeout,
            reconnect_max_s=reconnect_max,
        ),
        read_timeout_s=read_timeout,
        keepalive_timeout_s=keepalive_timeout,
        max_connections=max_connections,
    )
    webapp.serve(config)


@app.command()
def worker(
    smtp_host: SmtpHost = "127.0.0.1",
    smtp_port: SmtpPort = 2525,
    scan_ms: ScanMs = 200.0,
    scan_jitter_ms: ScanJitter = 0.0,
    scan_kind: ScanKind = ScanKindChoice.sleep,
    seed: Seed = 1,
    amqp_url: AmqpUrl = None,
    exchange: Exchange = EXCHANGE,
    queue: Queue = QUEUE,
    prefetch: Prefetch = 1,
    transient: Transient = False,
    auto_ack: AutoAck = False,
    max_retries: Annotated[
        int,
        typer.Option(
            "--max-retries",
            min=0,
            max=100,
            help="Retries of a transient SMTP failure (via <queue>.retry, with backoff) before the "
            "job goes to <queue>.dead.",
        ),
    ] = 5,
    retry_delay_ms: Annotated[
        float,
        typer.Option(
            "--retry-delay-ms",
            min=1,
            max=300_000,
            help="Backoff before the first retry; it doubles with every retry.",
        ),
    ] = 1000.0,
    max_redeliveries: Annotated[
        int,
        typer.Option(
            "--max-redeliveries",
            min=0,
            max=1000,
            help="Times a job may come back unsettled (its worker crashed or lost the broker on "
            "it) before it goes to <queue>.dead: a crash loop ends there.",
        ),
    ] = 5,
    heartbeat: Annotated[
        int,
        typer.Option(
            "--heartbeat", min=0, max=3600, help="AMQP heartbeat interval in seconds (0: none)."
        ),
    ] = 30,
    reconnect_max: ReconnectMax = 10.0,
    idempotent: Annotated[
        bool,
        typer.Option(
            "--idempotent",
            help="Skip (and ack) jobs already sent, as recorded in --processed-db: no second mail "
            "after a worker died between its send and its ack.",
        ),
    ] = False,
    processed_db: Annotated[
        Path,
        typer.Option(
            "--processed-db",
            dir_okay=False,
            help="With --idempotent: SQLite file of sent job ids, shared by the workers of this "
            "machine.",
        ),
    ] = Path("mqlab-processed.db"),
    quiet: Quiet = False,
) -> None:
    """Start one broker worker: take signup jobs from the queue, scan, send, ack. Start several."""
    from dataclasses import replace

    from mqlab.job.ledger import ProcessedJobs
    from mqlab.processes import worker as worker_process

    if idempotent:  # a bad path: one line and exit 2 now, not a traceback at the first job
        ProcessedJobs(processed_db).close()
    _logging(quiet=quiet)
    amqp = _amqp(
        amqp_url, exchange, queue, prefetch=prefetch, transient=transient, auto_ack=auto_ack
    )
    config = WorkerConfig(
        scan=_scan(scan_ms, scan_jitter_ms, scan_kind, seed),
        smtp=SmtpTarget(smtp_host, smtp_port),
        amqp=replace(
            amqp,
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


@app.command()
def sink(
    host: Host = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", min=1, max=65535, help="SMTP port to listen on.")
    ] = 2525,
    ledger: Annotated[
        Path, typer.Option("--ledger", dir_okay=False, help="SQLite file that records every mail.")
    ] = Path("mqlab-sink.db"),
    delay_ms: Annotated[
        float, typer.Option("--smtp-ms", min=0, help="Extra time the server takes per mail.")
    ] = 0.0,
    fail_rate: Annotated[
        float,
        typer.Option("--smtp-fail-rate", min=0, max=1, help="Share of mails refused on purpose."),
    ] = 0.0,
    fail_kind: Annotated[
        FailKindChoice,
        typer.Option("--smtp-fail-kind", help="transient (451, retry later) or permanent (554)."),
    ] = FailKindChoice.transient,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed for which mails --smtp-fail-rate refuses.")
    ] = 1,
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
        delay_ms=delay_ms,
        fail_rate=fail_rate,
        fail_kind="permanent" if fail_kind is FailKindChoice.permanent else "transient",
        seed=seed,
    )
    logging.getLogger("mqlab").info("SMTP sink on %s:%d, ledger %s", host, port, ledger)
    smtp_sink.serve_forever(config)


@app.command()
@with_workload
def compare(
    workload: Workload = Workload(),  # noqa: B008 (frozen; replaced by with_workload)
    amqp_url: AmqpUrl = None,
    out: Out = Path("results"),
    floors: Floors = True,
    as_json: AsJson = False,
    lang: Lang = LangChoice.en,
) -> None:
    """Run sync, thread and broker on the same workload and show them side by side."""
    from mqlab.measure import results, runner
    from mqlab.report import render

    result = runner.compare(
        workload,
        amqp_url,
        floors=floors,
        progress_for=lambda mode: render.progress(mode, workload.requests, as_json, lang.value),
    )
    data = result.to_dict()
    path = results.write(data, out, "compare")
    if as_json:
        print(
            json.dumps(
                {"file": str(path), "summaries": {r["mode"]: r["summary"] for r in data["runs"]}},
                indent=2,
            )
        )
        return
    render.print_runs(data["runs"], lang.value)
    if data.get("calibration"):
        render.print_floors(data["calibration"], lang.value)
    render.print_saved(path, lang.value)


# --- charts --------------------------------------------------------------------------------------


@app.command()
def chart(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Result JSON files (run, compare, crash-test or sweep).", show_default=False
        ),
    ] = None,
    latest: Annotated[
        bool, typer.Option("--latest", help="Chart the newest result in --results.")
    ] = False,
    results_dir: Annotated[
        Path, typer.Option("--results", file_okay=False, help="Where --latest looks.")
    ] = Path("results"),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            file_okay=False,
            callback=_writable_folder,
            help="Folder for the PNG and SVG files [default: beside each result].",
        ),
    ] = None,
    lang: Lang = LangChoice.en,
) -> None:
    """Draw slide-ready charts (16:9 PNG and SVG) from result files."""
    from mqlab.errors import BadInput
    from mqlab.measure import results
    from mqlab.report import chart as charts
    from mqlab.report import render

    paths = list(files or [])
    if latest:
        paths.append(results.latest(results_dir, kinds=charts.KINDS))
    if not paths:
        raise BadInput("name at least one result file, or use --latest")
    for path in paths:  # a missing, unreadable or unknown file: one BadInput line, from load
        kind = results.load(path)["kind"]
        if kind not in charts.KINDS:
            raise BadInput(f"{path}: a {kind} result has no charts ({', '.join(charts.KINDS)} do)")
    written = charts.draw(paths, out, lang.value)  # anything raised here is a bug in the charts
    render.print_written(written, lang.value)


# --- the broker, by hand -----------------------------------------------------------------------


@broker_app.command("up")
def broker_up(
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="AMQP port for the private node.")
    ] = 5673,
) -> None:
    """Start a private RabbitMQ node of mqlab's own (it keeps running until 'mqlab broker down')."""
    from mqlab.report import render

    handle = rabbit.broker_up(port)
    render.print_broker_up(rabbit.mask_url(handle.url), handle.version)


@broker_app.command("down")
def broker_down() -> None:
    """Stop the node 'mqlab broker up' started. Never touches a broker mqlab did not start."""
    from mqlab.report import render

    render.print_broker_down(rabbit.broker_down())


@broker_app.command("status")
def broker_status(
    amqp_url: AmqpUrl = None,
    queue: Annotated[
        list[str] | None,
        typer.Option("--queue", help="Queues to show (default: mqlab's own)."),
    ] = None,
) -> None:
    """Show which broker mqlab would use (password masked), its version and mqlab's queues."""
    from mqlab.report import render

    render.print_broker_status(rabbit.broker_status(amqp_url, list(queue or [QUEUE])))


# --- crash tests -------------------------------------------------------------------------------


def _choices(value: str, allowed: Sequence[str], option: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise typer.BadParameter(
            f"{option} takes a comma-separated list of "
            f"{', '.join(allowed)}; not {', '.join(bad) or 'nothing'}"
        )
    return items


@app.command("crash-test")
@with_workload
def crash_test(
    modes: Annotated[
        str, typer.Option("--modes", help="Modes to test, comma-separated.")
    ] = "sync,thread,broker",
    faults: Annotated[
        str,
        typer.Option(
            "--faults",
            help="app-kill (SIGKILL the app), worker-kill (SIGKILL a broker worker "
            "before its ack), broker-restart (SIGKILL a private RabbitMQ node and "
            "start it again). Comma-separated.",
        ),
    ] = "app-kill,worker-kill,broker-restart",
    trials: Annotated[
        int, typer.Option("--trials", min=1, max=100, help="Repeat each row this many times.")
    ] = 1,
    kill_at: Annotated[
        float,
        typer.Option(
            "--kill-at", min=0.0, max=1.0, help="When to strike: the share of requests sent."
        ),
    ] = 0.5,
    no_confirm: NoConfirm = False,
    transient: Transient = False,
    auto_ack: AutoAck = False,
    idempotent: Annotated[
        bool,
        typer.Option(
            "--idempotent",
            help="Lesson: workers skip a job id they already delivered, so a "
            "worker crash causes no duplicate mail.",
        ),
    ] = False,
    workload: Workload = Workload(),  # noqa: B008 (frozen; replaced by with_workload)
    amqp_url: AmqpUrl = None,
    out: Out = Path("results"),
    keep: Keep = None,
    as_json: AsJson = False,
    lang: Lang = LangChoice.en,
) -> None:
    """Kill the app, a worker, the broker mid-load, and count what was lost or duplicated.

    Each safety flag adds broker rows with that safety off, beside the default rows, so the
    table shows both the loss and what the safety costs."""
    from mqlab.measure import crash, results
    from mqlab.report import render

    flags = {
        "no-confirm": no_confirm,
        "transient": transient,
        "auto-ack": auto_ack,
        "idempotent": idempotent,
    }
    config = crash.CrashConfig(
        workload=workload,
        modes=[Mode(m) for m in _choices(modes, [m.value for m in Mode], "--modes")],
        faults=_choices(faults, crash.FAULTS, "--faults"),
        trials=trials,
        kill_at=kill_at,
        safeties=["default", *(name for name, on in flags.items() if on)],
        amqp_url=amqp_url,
        keep=keep,
    )
    result = crash.crash_test(
        config,
        progress_for=lambda label: render.progress(label, workload.requests, as_json, lang.value),
    )
    data = result.to_dict()
    path = results.write(data, out, "crash-test")
    if as_json:
        rows = [
            {k: v for k, v in r.items() if k not in ("timeline", "response_ms")}
            for r in data["rows"]
        ]
        print(json.dumps({"file": str(path), "rows": rows}, indent=2))
        return
    render.print_crash(data, lang.value)
    render.print_saved(path, lang.value)


@app.command()
def sweep(
    workers: Annotated[
        str, typer.Option("--workers", "-w", help="Worker counts to try, comma-separated.")
    ] = "1,2,4,8",
    modes: Annotated[
        str, typer.Option("--modes", help="thread and/or broker, comma-separated.")
    ] = "broker",
    jobs_per_worker: Annotated[
        int,
        typer.Option(
            "--jobs-per-worker",
            min=1,
            max=10_000,
            help="Each point sends this many signups per worker, all at once.",
        ),
    ] = 20,
    scan_ms: ScanMs = 200.0,
    scan_kind: ScanKind = ScanKindChoice.sleep,
    server_threads: ServerThreads = 8,
    drain_timeout: DrainTimeout = 120.0,
    amqp_url: AmqpUrl = None,
    out: Out = Path("results"),
    as_json: AsJson = False,
    lang: Lang = LangChoice.en,
) -> None:
    """Scaling: throughput against the number of workers, with the ideal W ÷ scan time.

    Try --scan-kind cpu --modes thread,broker to see the GIL stop a thread pool."""
    from mqlab.measure import results
    from mqlab.measure import sweep as sweeping
    from mqlab.report import render

    try:
        counts = sorted({int(v) for v in workers.split(",") if v.strip()})
    except ValueError:
        raise typer.BadParameter(f"--workers takes numbers like 1,2,4,8, not {workers!r}") from None
    if not counts or counts[0] < 1 or counts[-1] > 256:
        raise typer.BadParameter("--workers takes numbers from 1 to 256")
    chosen = [Mode(m) for m in _choices(modes, ["thread", "broker"], "--modes")]
    config = sweeping.SweepConfig(
        workload=Workload(
            requests=1,
            rate=0.0,
            scan_ms=scan_ms,
            scan_kind=scan_kind.value,
            server_threads=server_threads,
            drain_timeout=drain_timeout,
        ),
        workers=counts,
        modes=chosen,
        jobs_per_worker=jobs_per_worker,
        amqp_url=amqp_url,
    )
    result = sweeping.sweep(
        config,
        progress_for=lambda label: render.progress(label, jobs_per_worker, as_json, lang.value),
    )
    data = result.to_dict()
    path = results.write(data, out, "sweep")
    if as_json:
        print(json.dumps({"file": str(path), "points": data["points"]}, indent=2))
        return
    render.print_sweep(data, lang.value)
    render.print_saved(path, lang.value)


# --- trustworthy numbers: the floors under the results, and mqlab's own benchmark ---------------


@app.command()
def calibrate(
    samples: Annotated[
        int, typer.Option("--samples", min=5, max=100_000, help="Calls timed per floor.")
    ] = 300,
    pace_rate: Annotated[
        float,
        typer.Option(
            "--pace-rate",
            min=0,
            help="Pace the calls like a run at this many requests per second (0: back to back).",
        ),
    ] = 0.0,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            "-r",
            min=0,
            help="Schedule check: requests per second the load generator "
            "sends to an empty server (0 skips the check).",
        ),
    ] = 1000.0,
    requests: Annotated[
        int,
        typer.Option(
            "--requests", "-n", min=10, max=1_000_000, help="Requests the schedule check sends."
        ),
    ] = 3000,
    no_broker: Annotated[bool, typer.Option("--no-broker", help="Skip the publish floor.")] = False,
    amqp_url: AmqpUrl = None,
    out: Out = Path("results"),
    as_json: AsJson = False,
    lang: Lang = LangChoice.en,
) -> None:
    """Measure the floors every result stands on (HTTP, publish, SMTP, the generator).

    An HTTP round trip to the app's server with an empty handler, one confirmed persistent
    publish, one SMTP send into the sink, and how precisely the load generator holds its
    schedule at --rate."""
    from mqlab.measure import calibrate as calibration
    from mqlab.measure import results
    from mqlab.report import render

    result = calibration.measure(
        None if no_broker else (amqp_url or ""),
        samples=samples,
        rate=rate or None,
        requests=requests,
        pace_s=1 / pace_rate if pace_rate else 0.0,
    )
    data = result.to_dict()
    path = results.write(data, out, "calibration")
    if as_json:
        print(
            json.dumps(
                {"file": str(path), "floors": data["floors"], "schedule": data["schedule"]},
                indent=2,
            )
        )
        return
    render.print_calibration(data, lang.value)
    render.print_saved(path, lang.value)


@app.command()
def bench(
    amqp_url: AmqpUrl = None,
    celery: Annotated[
        bool,
        typer.Option(
            "--celery/--no-celery",
            help="Put a Celery peer beside mqlab (needs: pip install 'celery>=5.3').",
        ),
    ] = True,
    out: Out = Path("results"),
    as_json: AsJson = False,
) -> None:
    """Benchmark mqlab itself: every accuracy target as a ratio (about 5 minutes).

    Fidelity, capacity, a Celery peer and time, each printed as a ratio to its target with
    the absolute numbers beside it (see bench/README.md)."""
    from mqlab.measure import bench as benchmark
    from mqlab.measure import results
    from mqlab.report import render

    result = benchmark.bench(
        amqp_url, progress=None if as_json else render.print_step, with_celery=celery
    )
    data = result.to_dict()
    path = results.write(data, out, "bench")
    if as_json:
        print(
            json.dumps({"file": str(path), "rows": data["rows"], "kills": data["kills"]}, indent=2)
        )
        return
    render.print_bench(data)
    render.print_saved(path)
