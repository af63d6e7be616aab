"""The stress commands: crash-test (faults struck mid-load) and sweep (throughput against
the number of workers).

They live apart from measure.py (run, compare, calibrate, bench) to keep each module short;
both save and show their results with `measure.save_and_show`, like every measuring command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mqlab.cli.measure import _RESULTS, save_and_show
from mqlab.cli.options import (
    AsJson,
    DrainTimeout,
    Keep,
    Lang,
    LangChoice,
    Out,
    ScanKind,
    ScanKindChoice,
    ScanMs,
    ServerThreads,
    choices,
    with_workload,
)
from mqlab.cli.rabbit_options import (
    AmqpUrl,
    AutoAck,
    BrokerOpt,
    BrokerUrl,
    Cluster,
    Idempotent,
    NoConfirm,
    QueueType,
    QueueTypeChoice,
    Transient,
    check_queue_type,
    queue_kind,
    run_broker,
)
from mqlab.errors import BadInput
from mqlab.processes.config import Mode, Workload


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
            "start it again), node-kill (SIGKILL the node of a private three-node cluster "
            "that holds the queue, then start it again), node-loss (the same, and its data "
            "is gone: an empty node takes its place). A node fault gives a classic and a "
            "quorum row; --queue-type is for the others. Comma-separated.",
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
    idempotent: Idempotent = False,
    durability: Annotated[
        str | None,
        typer.Option(
            "--durability",
            help="redis, nats: the private server's disk settings for broker-restart rows, "
            "comma-separated (redis: none, everysec, always; nats: see --help of the "
            "lesson); default: every one, side by side.",
        ),
    ] = None,
    workload: Workload = Workload(),  # noqa: B008 (frozen; replaced by with_workload)
    broker: BrokerOpt = None,
    stream_url: BrokerUrl = None,
    amqp_url: AmqpUrl = None,
    cluster: Cluster = False,
    queue_type: QueueType = QueueTypeChoice.classic,
    out: Out = _RESULTS,
    keep: Keep = None,
    as_json: AsJson = False,
    lang: Lang = LangChoice.en,
) -> None:
    """Kill the app, a worker, the broker mid-load, and count what was lost or duplicated.

    Each safety flag adds broker rows with that safety off, beside the default rows, so the
    table shows both the loss and what the safety costs."""
    from mqlab.measure import crash
    from mqlab.report import render

    chosen = [Mode(m) for m in choices(modes, [m.value for m in Mode], "--modes")]
    struck = choices(faults, crash.FAULTS, "--faults")
    if not any(f in crash.APPLIES[m] for m in chosen for f in struck):
        raise BadInput(  # the result would have no row, and nothing to chart
            f"no fault in --faults {','.join(struck)} applies to --modes "
            f"{','.join(m.value for m in chosen)} (worker-kill and broker-restart need broker)"
        )
    check_queue_type(queue_type, transient)
    kind, url = run_broker(
        broker, amqp_url, stream_url, cluster, queue_type, needed=Mode.broker in chosen
    )
    settings = durabilities(kind, durability)
    if kind != "rabbitmq" and any(f in crash.NODE_FAULTS for f in struck):
        raise BadInput(f"node-kill and node-loss need a RabbitMQ cluster: not with --broker {kind}")
    flags = {
        "no-confirm": no_confirm,
        "transient": transient,
        "auto-ack": auto_ack,
        "idempotent": idempotent,
    }
    config = crash.CrashConfig(
        workload=workload,
        modes=chosen,
        faults=struck,
        trials=trials,
        kill_at=kill_at,
        safeties=["default", *(name for name, on in flags.items() if on)],
        amqp_url=url,
        keep=keep,
        queue_type=queue_kind(queue_type),
        broker=kind,
        durabilities=settings,
    )
    result = crash.crash_test(
        config,
        progress_for=lambda label: render.progress(label, workload.requests, as_json, lang.value),
    )
    save_and_show(
        result.to_dict(),
        out,
        "crash-test",
        as_json,
        summary=lambda data: {
            "rows": [
                {k: v for k, v in r.items() if k not in ("timeline", "response_ms")}
                for r in data["rows"]
            ]
        },
        show=lambda data: render.print_crash(data, lang.value),
        lang=lang.value,
    )


def durabilities(kind: str, given: str | None) -> list[str]:
    """--durability, checked against the broker's settings (RabbitMQ has none to pick)."""
    from mqlab.processes import brokers

    if given is None:
        return []
    if kind == "rabbitmq":
        raise BadInput("--durability is for --broker redis or nats (RabbitMQ: --transient)")
    allowed = brokers.durabilities(kind)  # type: ignore[arg-type]
    return choices(given, allowed, "--durability")


def sweep(
    worker_counts: Annotated[
        str,
        typer.Option("--worker-counts", help="Numbers of workers to try, comma-separated."),
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
    broker: BrokerOpt = None,
    stream_url: BrokerUrl = None,
    amqp_url: AmqpUrl = None,
    cluster: Cluster = False,
    queue_type: QueueType = QueueTypeChoice.classic,
    out: Out = _RESULTS,
    as_json: AsJson = False,
    lang: Lang = LangChoice.en,
) -> None:
    """Scaling: throughput against the number of workers, with the ideal W ÷ scan time.

    Try --scan-kind cpu --modes thread,broker to see the GIL stop a thread pool."""
    from mqlab.measure import sweep as sweeping
    from mqlab.report import render

    try:
        counts = sorted({int(v) for v in worker_counts.split(",") if v.strip()})
    except ValueError:
        raise typer.BadParameter(
            f"--worker-counts takes numbers like 1,2,4,8, not {worker_counts!r}"
        ) from None
    if not counts or counts[0] < 1 or counts[-1] > 256:
        raise typer.BadParameter("--worker-counts takes numbers from 1 to 256")
    chosen = [Mode(m) for m in choices(modes, ["thread", "broker"], "--modes")]
    kind, url = run_broker(
        broker, amqp_url, stream_url, cluster, queue_type, needed=Mode.broker in chosen
    )
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
        amqp_url=url,
        queue_type=queue_kind(queue_type),
        broker=kind,
    )
    result = sweeping.sweep(
        config,
        progress_for=lambda label: render.progress(label, jobs_per_worker, as_json, lang.value),
    )
    save_and_show(
        result.to_dict(),
        out,
        "sweep",
        as_json,
        summary=lambda data: {"points": data["points"]},
        show=lambda data: render.print_sweep(data, lang.value),
        lang=lang.value,
    )
