"""The measuring commands: run, compare, calibrate, bench (crash-test and sweep: stress.py).

Each builds a frozen config from its options, calls the core, and hands the result to
`save_and_show`: the result file is written, then shown as a table or as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from mqlab.amqp.settings import BROKERS, BrokerKind
from mqlab.cli.options import (
    AsJson,
    Floors,
    Keep,
    Lang,
    LangChoice,
    ModeArg,
    Out,
    choices,
    with_workload,
)
from mqlab.cli.rabbit_options import (
    AmqpUrl,
    BenchAmqpUrl,
    BrokerChoice,
    BrokerOpt,
    BrokerUrl,
    Cluster,
    Prefetch,
    QueueType,
    QueueTypeChoice,
    queue_kind,
    run_broker,
)
from mqlab.errors import BadInput
from mqlab.processes.config import Mode, RunConfig, Safety, Workload

_RESULTS = Path("results")
Show = Callable[[dict[str, Any]], None]  # prints a result's table


def save_and_show(
    data: dict[str, Any],
    out: Path,
    name: str,
    as_json: bool,
    summary: Callable[[dict[str, Any]], dict[str, Any]],
    show: Show,
    lang: str = "en",
) -> None:
    """Write the result file, then print it: `show` a table, or with --json the file's path
    and the `summary` of the data."""
    from mqlab.measure import results
    from mqlab.report import render

    path = results.write(data, out, name)
    if as_json:
        print(json.dumps({"file": str(path), **summary(data)}, indent=2))
        return
    show(data)
    render.print_saved(path, lang)


def _runs_and_floors(runs: Callable[[dict[str, Any]], list[dict[str, Any]]], lang: str) -> Show:
    """The runs' table, then the floors they stand on if they were measured."""
    from mqlab.report import render

    def show(data: dict[str, Any]) -> None:
        render.print_runs(runs(data), lang)
        if data.get("calibration"):
            render.print_floors(data["calibration"], lang)

    return show


@with_workload
def run(
    mode: ModeArg,
    workload: Workload = Workload(),  # noqa: B008 (frozen; replaced by with_workload)
    broker: BrokerOpt = None,
    stream_url: BrokerUrl = None,
    amqp_url: AmqpUrl = None,
    cluster: Cluster = False,
    queue_type: QueueType = QueueTypeChoice.classic,
    prefetch: Prefetch = 1,
    out: Out = _RESULTS,
    keep: Keep = None,
    floors: Floors = True,
    as_json: AsJson = False,
    lang: Lang = LangChoice.en,
) -> None:
    """Run one mode on real processes and measure it: response time, throughput, delivery."""
    from mqlab.measure import runner
    from mqlab.report import render

    kind, url = run_broker(
        broker, amqp_url, stream_url, cluster, queue_type, needed=mode is Mode.broker
    )
    config = RunConfig(
        mode=mode,
        workload=workload,
        amqp_url=url,
        broker=kind,
        prefetch=prefetch,
        queue_type=queue_kind(queue_type),
        safety=Safety(),
        floors=floors,
    )
    with render.progress(mode.value, workload.requests, as_json, lang.value) as report:
        result = runner.run(config, progress=report, keep=keep)
    save_and_show(
        result.to_dict(),
        out,
        mode.value,
        as_json,
        summary=lambda data: {"mode": result.mode, "summary": data["summary"]},
        show=_runs_and_floors(lambda data: [data], lang.value),
        lang=lang.value,
    )


@with_workload
def compare(
    workload: Workload = Workload(),  # noqa: B008 (frozen; replaced by with_workload)
    broker: BrokerOpt = None,
    stream_url: BrokerUrl = None,
    amqp_url: AmqpUrl = None,
    cluster: Cluster = False,
    queue_type: QueueType = QueueTypeChoice.classic,
    modes: Annotated[
        str, typer.Option("--modes", help="Modes to compare, comma-separated.")
    ] = "sync,thread,broker",
    queue_types: Annotated[
        str | None,
        typer.Option(
            "--queue-types",
            help="The price of replication: the broker mode once per queue type "
            "(classic,quorum), on the same broker and workload, side by side, each with its "
            "confirmed publish timed alone first. Use it with --cluster. Instead of "
            "--queue-type.",
        ),
    ] = None,
    brokers: Annotated[
        str | None,
        typer.Option(
            "--brokers",
            help="The same lesson on other brokers: the broker mode once per broker "
            "(rabbitmq,redis,nats), side by side on one workload; RabbitMQ as --amqp-url says, "
            "Redis and NATS on private servers. Instead of --broker.",
        ),
    ] = None,
    out: Out = _RESULTS,
    keep: Keep = None,
    floors: Floors = True,
    as_json: AsJson = False,
    lang: Lang = LangChoice.en,
) -> None:
    """Run sync, thread and broker on the same workload and show them side by side.

    --modes broker --queue-types classic,quorum --cluster: what replication costs.
    --modes broker --brokers rabbitmq,redis,nats: the concept is the same."""
    from mqlab.measure import runner
    from mqlab.report import render

    chosen = [Mode(m) for m in choices(modes, [m.value for m in Mode], "--modes")]
    kinds = [queue_kind(QueueTypeChoice(k)) for k in _queue_types(queue_types, queue_type, chosen)]
    kind, url = run_broker(
        broker, amqp_url, stream_url, cluster, queue_type, needed=Mode.broker in chosen
    )
    if len(kinds) > 1 and kind != "rabbitmq":
        raise BadInput(f"--queue-types is RabbitMQ's (classic, quorum): not with --broker {kind}")
    on = _brokers(brokers, broker, stream_url, chosen)
    if len(on) > 1 and (len(kinds) > 1 or cluster or queue_type is not QueueTypeChoice.classic):
        raise BadInput(
            "--brokers compares brokers on classic queues: not with --queue-type(s) or --cluster"
        )
    result = runner.compare(
        workload,
        url,
        modes=chosen,
        floors=floors,
        queue_type=queue_kind(queue_type),
        queue_types=kinds,
        broker=kind,
        brokers=on,
        progress_for=lambda mode: render.progress(mode, workload.requests, as_json, lang.value),
        keep=keep,
    )
    save_and_show(
        result.to_dict(),
        out,
        "compare",
        as_json,
        summary=lambda data: {"summaries": _summaries(data["runs"])},
        show=_runs_and_floors(lambda data: list(data["runs"]), lang.value),
        lang=lang.value,
    )


def _queue_types(given: str | None, queue_type: QueueTypeChoice, modes: list[Mode]) -> list[str]:
    """--queue-types, checked: each type once, broker among the modes, not with a
    --queue-type other than the default; [] when not given."""
    if given is None:
        return []
    kinds = choices(given, [q.value for q in QueueTypeChoice], "--queue-types")
    if Mode.broker not in modes:
        raise BadInput(
            "--queue-types runs the broker mode once per queue type: add broker to --modes"
        )
    if queue_type is not QueueTypeChoice.classic:
        raise BadInput("give --queue-type or --queue-types, not both")
    return list(dict.fromkeys(kinds))


def _brokers(
    given: str | None, broker: BrokerChoice | None, url: str | None, modes: list[Mode]
) -> list[BrokerKind]:
    """--brokers, checked: each broker once, broker among the modes, not with --broker or
    --broker-url; [] when not given."""
    if given is None:
        return []
    names = choices(given, list(BROKERS), "--brokers")
    if Mode.broker not in modes:
        raise BadInput("--brokers runs the broker mode once per broker: add broker to --modes")
    if broker is not None or url:
        raise BadInput("give --broker (or --broker-url) or --brokers, not both")
    return [b for b in BROKERS if b in names]


def _summaries(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """--json: each run's summary by mode ("broker-quorum", "broker-redis" when the broker
    ran on several queue types or brokers)."""
    broker_runs = [r for r in runs if r["mode"] == "broker"]
    types = len({r["config"].get("queue_type") for r in broker_runs}) > 1
    kinds = len({r["config"].get("broker") for r in broker_runs}) > 1

    def key(r: dict[str, Any]) -> str:
        if r["mode"] != "broker" or not (types or kinds):
            return str(r["mode"])
        return f"broker-{r['config'].get('queue_type' if types else 'broker')}"

    return {key(r): r["summary"] for r in runs}


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
    out: Out = _RESULTS,
    as_json: AsJson = False,
    lang: Lang = LangChoice.en,
) -> None:
    """Measure the floors every result stands on (HTTP, publish, SMTP, the generator).

    An HTTP round trip to the app's server with an empty handler, one confirmed persistent
    publish, one SMTP send into the sink, and how precisely the load generator holds its
    schedule at --rate."""
    from mqlab.measure import calibrate as calibration
    from mqlab.report import render

    result = calibration.measure(
        None if no_broker else (amqp_url or ""),
        samples=samples,
        rate=rate or None,
        requests=requests,
        pace_s=1 / pace_rate if pace_rate else 0.0,
    )
    save_and_show(
        result.to_dict(),
        out,
        "calibration",
        as_json,
        summary=lambda data: {"floors": data["floors"], "schedule": data["schedule"]},
        show=lambda data: render.print_calibration(data, lang.value),
        lang=lang.value,
    )


def bench(
    amqp_url: BenchAmqpUrl = None,
    celery: Annotated[
        bool,
        typer.Option(
            "--celery/--no-celery",
            help="Put a Celery peer beside mqlab (needs: pip install 'celery>=5.3').",
        ),
    ] = True,
    out: Out = _RESULTS,
    as_json: AsJson = False,
) -> None:
    """Benchmark mqlab itself: every accuracy target as a ratio (about 5 minutes).

    Fidelity, capacity, a Celery peer and time, each printed as a ratio to its target with
    the absolute numbers beside it (see bench/README.md)."""
    from mqlab.measure import bench as benchmark
    from mqlab.report import render

    result = benchmark.bench(
        amqp_url, progress=None if as_json else render.print_step, with_celery=celery
    )
    save_and_show(
        result.to_dict(),
        out,
        "bench",
        as_json,
        summary=lambda data: {"rows": data["rows"], "kills": data["kills"]},
        show=render.print_bench,
    )
