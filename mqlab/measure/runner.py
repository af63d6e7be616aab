"""`mqlab run MODE`: start the lab, drive the load, drain, count, return a RunResult.

The runner is the only place that knows the order of things; everything it
measures comes from the load generator's samples and the sink's ledger. Waiting for the
lab to drain is in `drain` (its names stay importable from here, as `X as X`).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from mqlab.amqp.settings import AmqpSettings, BrokerKind, QueueType, private_settings
from mqlab.job import ledger
from mqlab.measure import calibrate, environment, heard, loadgen, metrics
from mqlab.measure.drain import SAMPLE_EVERY_S as SAMPLE_EVERY_S
from mqlab.measure.drain import DepthSampler as DepthSampler
from mqlab.measure.drain import drain as drain
from mqlab.measure.drain import settle_s as settle_s
from mqlab.measure.lab import HOST, Lab
from mqlab.measure.loadgen import Sample
from mqlab.measure.results import RunResult, Summary, envelope, utc_now
from mqlab.processes import brokers, rabbit
from mqlab.processes.config import Mode, RunConfig, Workload

# Called with (phase, done, total): ("start", 0, 0); ("load", signups answered, signups);
# ("drain", accepted jobs delivered, accepted jobs). Each phase counts its own unit.
Progress = Callable[[str, int, int], None]
# How long the load waits for a fault to prepare (a node fault finds the queue's node with
# rabbitmqctl); past it, the load starts and the fault fires once it is ready.
READY_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Broker:
    url: str
    version: str | None
    started_by_mqlab: bool
    kind: BrokerKind = "rabbitmq"


@contextlib.contextmanager
def broker_for(config: RunConfig) -> Iterator[Broker | None]:
    """The broker a broker-mode run uses (sync and thread never need one)."""
    if config.mode is not Mode.broker:
        yield None
        return
    if config.broker != "rabbitmq":
        yield from _stream_broker(config)
        return
    # No broker to be had raises rabbit.BrokerUnavailable, a NoBroker: one line, exit 3.
    with rabbit.ensure_broker(config.amqp_url) as handle:
        yield Broker(handle.url, handle.version, handle.started_by_mqlab)


def _stream_broker(config: RunConfig) -> Iterator[Broker]:
    """Redis or NATS: the URL given, else a private server of mqlab's own with the lesson's
    strongest durability (a 202 means on its disk), stopped after the run. Never the
    machine's own server by default: its durability is not the lesson's to choose."""
    if config.amqp_url:
        yield Broker(config.amqp_url, None, started_by_mqlab=False, kind=config.broker)
        return
    with brokers.private_server(config.broker) as server:  # its version is not read
        yield Broker(server.url, None, started_by_mqlab=True, kind=config.broker)


def run(
    config: RunConfig,
    progress: Progress | None = None,
    broker: Broker | None = None,
    keep: Path | None = None,
) -> RunResult:
    """One measured run of one mode. Pass `broker` to reuse one across runs (compare).

    `keep`: a folder where the run's ledger and process logs stay afterwards.
    """
    cm: AbstractContextManager[Broker | None] = (
        contextlib.nullcontext(broker) if broker is not None else broker_for(config)
    )
    with cm as b, workdir(keep, config.mode.value) as tmp:
        cal = floors_for(b, config.workload) if config.floors else None
        result = _run(config, tmp, b, progress)
        result.calibration = cal
        return result


def floors_for(broker: Broker | None, workload: Workload) -> dict[str, Any]:
    """The floors the run stands on, measured just before it on the same broker (~2 s)."""
    # The confirm floor is measured with an AMQP publish: on RabbitMQ only.
    url = broker.url if broker is not None and broker.kind == "rabbitmq" else None
    return calibrate.quick(url, rate=workload.rate).to_dict()


@contextlib.contextmanager
def workdir(keep: Path | None, name: str) -> Iterator[Path]:
    """A scratch folder for a run's ledger and logs: temporary, or kept under `keep`."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="mqlab-") as tmp:
            yield Path(tmp)
        return
    path = keep / f"{utc_now().replace(':', '')}-{name}-{uuid.uuid4().hex[:6]}"
    path.mkdir(parents=True)
    yield path


class Chaos(Protocol):
    """A fault injected into a run (crash tests): kills and restarts parts of the lab."""

    events: list[dict[str, Any]]

    def start(self, lab: Lab) -> None: ...

    def ready(self, timeout: float) -> None: ...

    def on_send(self, index: int) -> None: ...

    def finish(self, timeout: float) -> None: ...


def run_with_chaos(
    config: RunConfig,
    workdir: Path,
    broker: Broker | None,
    progress: Progress | None,
    chaos: Chaos,
) -> RunResult:
    """A run with a fault injected (crash tests); `broker` must already be there."""
    return _run(config, workdir, broker, progress, chaos)


def fair(config: RunConfig) -> RunConfig:
    """Every mode gets the same number of mail senders (`--workers`): sync's senders are its
    handler threads, each sending while its user waits; thread's are its pool, broker's its
    worker processes. So throughputs compare, and what differs is where the waiting happens."""
    if config.mode is not Mode.sync:
        return config
    return replace(
        config, workload=replace(config.workload, server_threads=config.workload.workers)
    )


def _run(
    config: RunConfig,
    workdir: Path,
    broker: Broker | None,
    progress: Progress | None,
    chaos: Chaos | None = None,
) -> RunResult:
    config = fair(config)
    tag = uuid.uuid4().hex[:8]
    amqp = None
    if broker is not None:
        # An exchange and queue of this run's own: no other run (or a leftover queue bound
        # to a shared exchange) can receive copies of its jobs or mix jobs in, and deleting
        # them afterwards touches nothing mqlab did not declare.
        amqp = private_settings(
            broker.url, durable=config.safety.durable, queue_type=config.queue_type
        )
        amqp = replace(amqp, broker=config.broker)
    lab = Lab(config, workdir, amqp)
    report = progress or (lambda phase, done, total: None)
    w = config.workload
    try:
        report("start", 0, 0)
        if chaos is not None:
            chaos.start(lab)
        lab.start()
        if chaos is not None:
            chaos.ready(timeout=READY_TIMEOUT_S)
        requests = loadgen.signups(w.requests, tag, infected=w.infected)
        with DepthSampler(lab) as sampler:
            answered = 0

            def on_answer(_: Sample) -> None:
                nonlocal answered
                answered += 1
                report("load", answered, w.requests)

            load = loadgen.run_load(
                lab.signup_url,
                requests,
                w.rate,
                w.request_timeout,
                on_answer,
                chaos.on_send if chaos else None,
                connections=loadgen.pool_for(w.server_threads),
            )
            if chaos is not None:
                chaos.finish(timeout=60)
            to_deliver = sum(s.accepted for s in load.samples)  # one mail per accepted signup
            # After a fault, late duplicates must land and be counted: the drain ends only
            # once the lab has been quiet for the settle time, with no job left anywhere. A
            # job whose worker died after its send is still the broker's: on Redis and NATS
            # it comes back only after a claim interval or an AckWait, its second mail with it.
            drained = drain(
                lab,
                load.samples,
                w.drain_timeout,
                settle_s(w.scan_ms),
                lambda n: report("drain", n, to_deliver),
                always_settle=chaos is not None,
            )
        users = ask_users(lab, load.samples)
        with contextlib.suppress(OSError):  # beside the logs, for --keep: who heard what
            (workdir / "heard.json").write_text(json.dumps(users, indent=1, sort_keys=True))
        arrivals = ledger.read_arrivals(lab.ledger, include_refused=True)
    finally:
        dead: list[str] = []
        try:
            if chaos is not None:  # a fault under way ends first: a restarted app would
                chaos.finish(timeout=60)  # declare the run's queues again once deleted
            lab.close()
            dead = brokers.dead_job_ids(amqp) if amqp is not None else []
        finally:  # even when a second SIGTERM cut the teardown short: never left on a broker
            if amqp is not None:
                brokers.delete_run_objects(amqp)
    summary = metrics.summarize(load.samples, arrivals, dead, config.mode.value, users)
    first = metrics.account(load.samples, arrivals).first_arrival
    warnings = []
    if drained == "timeout":
        warnings.append(
            f"drain timed out after {w.drain_timeout:.0f} s: undelivered jobs count as lost"
        )
    if late := generator_warning(summary, w.rate):
        warnings.append(late)
    events = chaos.events if chaos else []
    return RunResult(
        mode=config.mode.value,
        config=config_dict(config, broker, amqp),
        environment=environment.describe(broker.version if broker else None),
        summary=summary,
        samples=[sample_dict(s, load.started, first.get(s.job_id)) for s in load.samples],
        timeline=metrics.timeline(load.samples, arrivals, sampler.samples, load.started),
        events=[{**e, "t": round(e["t"] - load.started, 3)} for e in events],
        warnings=warnings,
    )


def ask_users(lab: Lab, samples: Sequence[Sample]) -> dict[str, str]:
    """What the app tells each accepted job's user now, and each user answered "outcome
    unknown" (thread and broker; sync's answer was the outcome): job id -> state, or
    "unknown"; no answer leaves a job out."""
    if lab.config.mode is Mode.sync:
        return {}
    asked = to_ask(samples)
    return heard.ask(HOST, lab.app_port, asked, total_s=max(10.0, 0.02 * len(asked)))


def to_ask(samples: Sequence[Sample]) -> list[str]:
    """The users who look at their job's status after the run: those accepted, and those
    answered 503 "outcome unknown", which tells them to look again."""
    return [s.job_id for s in samples if s.accepted or s.in_doubt]


def generator_warning(summary: Summary, rate: float) -> str | None:
    """The load generator's own delay, when it spoils the run's times; else None.

    Not for a spike that was asked for (`rate` 0: every signup due at once): its requests
    wait for a connection by design, not because the machine is overloaded (as in
    `metrics.untrusted`, and as the report shows it)."""
    if rate == 0:
        return None
    late = summary.generator_late_ms.p99
    if late is not None and late > 20:
        return f"the load generator ran late (p99 {late:.0f} ms): this machine is overloaded"
    # smaller delays still spoil response times of a few ms
    return calibrate.lateness_warning(asdict(summary))


def config_dict(
    config: RunConfig, broker: Broker | None, amqp: AmqpSettings | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": config.mode.value, **asdict(config.workload)}
    out["senders"] = config.workload.workers  # mail senders, the same in every mode (`fair`)
    out["prefetch"] = config.prefetch
    out.update(asdict(config.safety))
    out["amqp_url"] = rabbit.mask_url(broker.url) if broker else None
    out["broker_started_by_mqlab"] = broker.started_by_mqlab if broker else None
    out["exchange"] = amqp.exchange if amqp else None  # the run's own, deleted after it
    out["queue"] = amqp.queue if amqp else None
    out["queue_type"] = amqp.queue_type if amqp else None  # a file without it: classic
    out["broker"] = amqp.broker if amqp else None  # a file without it: rabbitmq
    return out


def sample_dict(s: Sample, start: float, delivered: float | None) -> dict[str, Any]:
    return {
        "id": s.job_id,
        "intended": round(s.intended - start, 6),
        "sent": round(s.sent - start, 6) if s.sent is not None else None,
        "status": s.status,
        "response_ms": round(s.response_ms, 3) if s.response_ms is not None else None,
        "error": s.error,
        "outcome": s.outcome,
        "delivered": round(delivered - start, 6) if delivered is not None else None,
    }


@dataclass
class CompareResult:
    runs: list[RunResult]
    config: dict[str, Any]
    environment: dict[str, Any]
    created: str
    calibration: dict[str, Any] | None = None  # the floors, measured before the runs

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("compare", self.created, self.environment, config=self.config),
            "calibration": self.calibration,
            "runs": [r.to_dict() for r in self.runs],
        }


ProgressFor = Callable[[str], AbstractContextManager[Progress]]


def compare(
    workload: Workload,
    amqp_url: str | None = None,
    modes: Sequence[Mode] = tuple(Mode),
    progress_for: ProgressFor | None = None,
    floors: bool = True,
    keep: Path | None = None,
    queue_type: QueueType = "classic",
    broker: BrokerKind = "rabbitmq",
    queue_types: Sequence[QueueType] = (),
    brokers: Sequence[BrokerKind] = (),
) -> CompareResult:
    """The same workload through every mode, one after the other, on one broker.
    `keep`: a folder where each run's ledger and process logs stay afterwards.
    `queue_types`: the broker mode once per queue type (the price of replication, on a
    cluster), each run with its confirm floor measured just before it on its own queue type
    (RabbitMQ); empty: `queue_type` alone.
    `brokers`: the broker mode once per broker (RabbitMQ on `amqp_url`, Redis and NATS on
    private servers); empty: `broker` alone."""
    kinds = tuple(queue_types) or (queue_type,)
    on = tuple(brokers) or (broker,)
    runs = []
    with contextlib.ExitStack() as stack:
        held: dict[BrokerKind, Broker | None] = {}
        if Mode.broker in modes:
            for b in on:
                url = amqp_url if b == "rabbitmq" or len(on) == 1 else None
                held[b] = stack.enter_context(
                    broker_for(RunConfig(Mode.broker, workload, url, broker=b))
                )
        first = held.get(on[0])
        cal = floors_for(first, workload) if floors else None
        order = [
            (m, b, k)
            for m in modes
            for b in (on if m is Mode.broker else on[:1])
            for k in (kinds if m is Mode.broker else kinds[:1])
        ]
        for mode, b, kind in order:
            mine = held.get(b) if mode is Mode.broker else None
            config = RunConfig(
                mode,
                workload,
                mine.url if mine is not None else amqp_url,
                queue_type=kind,
                broker=b,
                floors=False,
            )
            priced = len(kinds) > 1 and mode is Mode.broker
            own = (  # each queue type's confirm alone on the same cluster: 100 calls, ~2 s
                calibrate.confirms(mine.url, workload.rate, 100, queue_type=kind).to_dict()
                if priced and floors and mine is not None and b == "rabbitmq"
                else None
            )
            label = mode.value
            if mode is Mode.broker and len(on) > 1:
                label = f"{mode.value} {b}"
            if priced:
                label = f"{mode.value} {kind}"
            bar = progress_for(label) if progress_for else contextlib.nullcontext(None)
            with bar as report:
                runs.append(run(config, report, mine, keep=keep))
            if own is not None:
                runs[-1].calibration = own
    return CompareResult(
        runs=runs,
        # the workload as asked for: sync's own run records its senders as server threads
        config={
            **{k: v for k, v in runs[0].config.items() if k != "mode"},
            **asdict(workload),
            "queue_type": kinds[0],
            **({"queue_types": list(kinds)} if len(kinds) > 1 else {}),  # else: as before
            "broker": on[0],
            **({"brokers": list(on)} if len(on) > 1 else {}),  # else: as before
        },
        environment=environment.describe(first.version if first else None),
        created=utc_now(),
        calibration=cal,
    )
