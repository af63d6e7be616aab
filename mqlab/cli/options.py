"""Every option of the CLI, defined once: the same name, type, range and default wherever it
appears. The flag names come from `mqlab.processes.commandline`, which also builds the
command lines of the lab's children from them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from mqlab.job.scan import ScanSettings
from mqlab.processes import commandline as flag
from mqlab.processes.config import Mode, Workload


class ScanKindChoice(str, Enum):
    sleep = "sleep"
    cpu = "cpu"


class LangChoice(str, Enum):
    en = "en"
    ko = "ko"


class FailKindChoice(str, Enum):
    transient = "transient"
    permanent = "permanent"


def writable_folder(value: Path | None) -> Path | None:
    """--out, --keep: a folder that cannot be written is one line and exit 2 at once, not
    after the run whose result it was to hold."""
    from mqlab.errors import BadInput
    from mqlab.measure import results

    try:
        return None if value is None else results.writable_folder(value)
    except BadInput as e:
        raise typer.BadParameter(str(e)) from None


def choices(value: str, allowed: Sequence[str], option: str) -> list[str]:
    """A comma-separated option (`--modes sync,broker`), checked against `allowed`."""
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise typer.BadParameter(
            f"{option} takes a comma-separated list of "
            f"{', '.join(allowed)}; not {', '.join(bad) or 'nothing'}"
        )
    return items


# --- the workload: what a run sends, and how slow the mail job is -------------------------------

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
        flag.SCAN_MS, min=0, max=600_000, help="How long the virus scan of each attachment takes."
    ),
]
ScanJitter = Annotated[
    float,
    typer.Option(
        flag.SCAN_JITTER_MS, min=0, help="Random +/- variation of the scan time (seeded)."
    ),
]
ScanKind = Annotated[
    ScanKindChoice,
    typer.Option(
        flag.SCAN_KIND,
        help="sleep: the scan waits like a call to an external "
        "scanner. cpu: it burns CPU in Python (holds the GIL).",
    ),
]
Workers = Annotated[
    int,
    typer.Option(
        flag.WORKERS,
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
        flag.SERVER_THREADS,
        min=1,
        max=1024,
        help="HTTP handler threads of the app server (a run's sync app has --workers of them; "
        "the RabbitMQ broker app awaits its confirms on the server's loop instead).",
    ),
]
Infected = Annotated[
    int, typer.Option("--infected", min=0, help="How many signups carry the EICAR test virus.")
]
Seed = Annotated[
    int, typer.Option(flag.SEED, help="Seed for the random choices: the same seed, the same run.")
]
SmtpMs = Annotated[
    float, typer.Option(flag.SMTP_MS, min=0, help="Extra time the mail server takes per mail.")
]
SmtpFailRate = Annotated[
    float,
    typer.Option(
        flag.SMTP_FAIL_RATE,
        min=0,
        max=1,
        help="Share of mails the mail server refuses on purpose (see --smtp-fail-kind).",
    ),
]
SmtpFailKind = Annotated[
    FailKindChoice,
    typer.Option(flag.SMTP_FAIL_KIND, help="transient (451: try again later) or permanent (554)."),
]
DrainTimeout = Annotated[
    float,
    typer.Option(
        "--drain-timeout",
        min=0,
        help="Seconds to wait, after the last request, for queued mails to arrive before "
        "counting them lost.",
    ),
]
MaxRetries = Annotated[
    int,
    typer.Option(
        flag.MAX_RETRIES,
        min=0,
        max=100,
        help="broker: retries of a transient SMTP failure (via <queue>.retry, with backoff) "
        "before the job goes to <queue>.dead.",
    ),
]
RetryDelayMs = Annotated[
    float,
    typer.Option(
        flag.RETRY_DELAY_MS,
        min=1,
        max=600_000,
        help="broker: a worker's wait before its first retry of a refused mail (it doubles).",
    ),
]


def workload_options(
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
    max_retries: MaxRetries = 5,
    retry_delay_ms: RetryDelayMs = 1000.0,
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
        retry_delay_ms=retry_delay_ms,
        max_retries=max_retries,
    )


def with_workload(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the options of `workload_options` in place of its `workload` parameter.

    typer reads a command's options from its signature, so the wrapper shows typer the
    command's own parameters plus the shared ones, and hands the command one Workload.
    """
    shared = inspect.signature(workload_options, eval_str=True).parameters
    own = inspect.signature(command, eval_str=True).parameters
    mine = [p for name, p in own.items() if name != "workload"]
    arguments = [p for p in mine if p.default is inspect.Parameter.empty]
    options = [p for p in mine if p.default is not inspect.Parameter.empty]
    parameters = [*arguments, *shared.values(), *options]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> None:
        workload = workload_options(**{name: kwargs.pop(name) for name in shared})
        command(workload=workload, **kwargs)

    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


def scan(ms: float, jitter_ms: float, kind: ScanKindChoice, seed: int) -> ScanSettings:
    return ScanSettings(ms, jitter_ms, "cpu" if kind is ScanKindChoice.cpu else "sleep", seed)


# --- results and what is shown ------------------------------------------------------------------

Out = Annotated[
    Path,
    typer.Option(
        "--out", "-o", file_okay=False, callback=writable_folder, help="Folder for the result JSON."
    ),
]
Keep = Annotated[
    Path | None,
    typer.Option(
        "--keep",
        file_okay=False,
        callback=writable_folder,
        help="Keep each run's SMTP ledger (SQLite), process logs and what each user heard "
        "when asked (heard.json) in this folder, to count for yourself (a crash test: also the "
        "log of the RabbitMQ node it restarts).",
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
Quiet = Annotated[
    bool, typer.Option(flag.QUIET, "-q", help="No line per job event; problems still show.")
]

# --- the live pieces: where they listen, and RabbitMQ -------------------------------------------

Host = Annotated[str, typer.Option(flag.HOST, help="Address to listen on.")]
Port = Annotated[
    int,
    typer.Option(
        flag.PORT,
        "-p",
        min=1,
        max=65535,
        help="Port to listen on (serve: HTTP, sink: SMTP, broker up: AMQP).",
    ),
]
SmtpHost = Annotated[str, typer.Option(flag.SMTP_HOST, help="SMTP server that receives the mail.")]
SmtpPort = Annotated[int, typer.Option(flag.SMTP_PORT, min=1, max=65535, help="Its port.")]
MaxStreams = Annotated[
    int,
    typer.Option(
        flag.MAX_STREAMS,
        min=1,
        max=100_000,
        help="Status streams (GET /signup/{id}/events, Server-Sent Events) open at once; "
        "503 beyond.",
    ),
]
SseKeepalive = Annotated[
    float,
    typer.Option(
        flag.SSE_KEEPALIVE,
        min=0.05,
        max=300,
        help="Seconds between two keep-alive comments on an idle status stream (proxies close "
        "a silent one).",
    ),
]
