"""`mqlab run MODE`: start the lab, drive the load, drain, count, return a RunResult.

The runner is the only place that knows the order of things; everything it
measures comes from the load generator's samples and the sink's ledger.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mqlab import environment, ledger, loadgen, metrics, rabbit
from mqlab.amqp import EXCHANGE, QUEUE, AmqpSettings, delete_queue
from mqlab.config import Mode, RunConfig, Workload
from mqlab.errors import NoBroker
from mqlab.lab import Lab
from mqlab.loadgen import Sample
from mqlab.results import FORMAT_VERSION, RunResult, utc_now

# Called with (requests answered so far, total) while the load runs, then with a phase name.
Progress = Callable[[str, int, int], None]

SAMPLE_EVERY_S = 0.1


@dataclass(frozen=True)
class Broker:
    url: str
    version: str | None
    started_by_mqlab: bool


@contextlib.contextmanager
def broker_for(config: RunConfig) -> Iterator[Broker | None]:
    """The broker a broker-mode run uses (sync and thread never need one)."""
    if config.mode is not Mode.broker:
        yield None
        return
    try:
        with rabbit.ensure_broker(config.amqp_url) as handle:
            yield Broker(handle.url, handle.version, handle.started_by_mqlab)
    except rabbit.BrokerUnavailable as e:
        raise NoBroker(str(e)) from None


def run(config: RunConfig, progress: Progress | None = None, broker: Broker | None = None) -> RunResult:
    """One measured run of one mode. Pass `broker` to reuse one across runs (compare)."""
    cm: AbstractContextManager[Broker | None] = (
        contextlib.nullcontext(broker) if broker is not None else broker_for(config)
    )
    with cm as b, tempfile.TemporaryDirectory(prefix="mqlab-") as tmp:
        return _run(config, Path(tmp), b, progress)


def _run(config: RunConfig, workdir: Path, broker: Broker | None, progress: Progress | None) -> RunResult:
    tag = uuid.uuid4().hex[:8]
    amqp = None
    if broker is not None:
        # A queue of this run's own: nothing left over from another run can mix in,
        # and deleting it afterwards touches nothing mqlab did not declare.
        amqp = AmqpSettings(url=broker.url, exchange=EXCHANGE, queue=f"{QUEUE}.run-{tag}",
                            durable=config.safety.durable)
    lab = Lab(config, workdir, amqp)
    report = progress or (lambda phase, done, total: None)
    try:
        report("start", 0, 0)
        lab.start()
        w = config.workload
        requests = loadgen.signups(w.requests, tag, infected=w.infected)
        sampler = DepthSampler(lab)
        with sampler:
            answered = 0

            def on_answer(_: Sample) -> None:
                nonlocal answered
                answered += 1
                report("load", answered, w.requests)

            load = loadgen.run_load(lab.signup_url, requests, w.rate, w.request_timeout, on_answer)
            drained = drain(lab.ledger, load.samples, w.drain_timeout, lambda n: report("drain", n, len(load.samples)))
        arrivals = ledger.read_arrivals(lab.ledger)
    finally:
        lab.close()
        if amqp is not None:
            delete_queue(amqp)
    summary = metrics.summarize(load.samples, arrivals)
    first = metrics.account(load.samples, arrivals).first_arrival
    warnings = []
    if not drained:
        warnings.append(f"drain timed out after {w.drain_timeout:.0f} s: undelivered jobs count as lost")
    late = summary.generator_late_ms.p99
    if late is not None and late > 20:
        warnings.append(f"the load generator ran late (p99 {late:.0f} ms): this machine is overloaded")
    return RunResult(
        mode=config.mode.value,
        config=config_dict(config, broker),
        environment=environment.describe(broker.version if broker else None),
        summary=summary,
        samples=[sample_dict(s, load.started, first.get(s.job_id)) for s in load.samples],
        timeline=metrics.timeline(load.samples, arrivals, sampler.samples, load.started),
        warnings=warnings,
    )


def drain(ledger_path: Path, samples: list[Sample], timeout: float, report: Callable[[int], None]) -> bool:
    """Wait until every accepted job reached the sink (or the timeout): True if all did."""
    accepted = {s.job_id for s in samples if s.accepted}
    deadline = time.monotonic() + timeout
    while True:
        done = {a.job_id for a in ledger.read_arrivals(ledger_path)} & accepted
        report(len(done))
        if len(done) == len(accepted):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


class DepthSampler:
    """Samples the backlog (thread pool queue, RabbitMQ queue depth) in the background."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.samples: list[metrics.DepthSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="depth-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.samples.append(metrics.DepthSample(time.time(), self.lab.backlog()))

    def __enter__(self) -> DepthSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def config_dict(config: RunConfig, broker: Broker | None) -> dict[str, Any]:
    out: dict[str, Any] = {"mode": config.mode.value, **asdict(config.workload)}
    out["prefetch"] = config.prefetch
    out.update(asdict(config.safety))
    out["amqp_url"] = rabbit.mask_url(broker.url) if broker else None
    out["broker_started_by_mqlab"] = broker.started_by_mqlab if broker else None
    return out


def sample_dict(s: Sample, start: float, delivered: float | None) -> dict[str, Any]:
    return {
        "id": s.job_id,
        "intended": round(s.intended - start, 6),
        "sent": round(s.sent - start, 6) if s.sent is not None else None,
        "status": s.status,
        "response_ms": round(s.response_ms, 3) if s.response_ms is not None else None,
        "error": s.error,
        "delivered": round(delivered - start, 6) if delivered is not None else None,
    }


@dataclass
class CompareResult:
    runs: list[RunResult]
    config: dict[str, Any]
    environment: dict[str, Any]
    created: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "compare",
            "created": self.created,
            "config": self.config,
            "environment": self.environment,
            "runs": [r.to_dict() for r in self.runs],
        }


ProgressFor = Callable[[str], AbstractContextManager[Progress]]


def compare(
    workload: Workload,
    amqp_url: str | None = None,
    modes: Sequence[Mode] = tuple(Mode),
    progress_for: ProgressFor | None = None,
) -> CompareResult:
    """The same workload through every mode, one after the other, on one broker."""
    runs = []
    broker_cfg = RunConfig(Mode.broker, workload, amqp_url)
    needs_broker = Mode.broker in modes
    cm: AbstractContextManager[Broker | None] = (
        broker_for(broker_cfg) if needs_broker else contextlib.nullcontext(None)
    )
    with cm as broker:
        for mode in modes:
            config = RunConfig(mode, workload, amqp_url)
            bar = progress_for(mode.value) if progress_for else contextlib.nullcontext(None)
            with bar as report:
                runs.append(run(config, report, broker if mode is Mode.broker else None))
    return CompareResult(
        runs=runs,
        config={k: v for k, v in runs[0].config.items() if k != "mode"},
        environment=environment.describe(broker.version if broker else None),
        created=utc_now(),
    )
