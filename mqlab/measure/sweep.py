"""`mqlab sweep`: throughput against the number of workers, the scaling lesson.

Each point is an ordinary run with a spike of `jobs_per_worker × W` signups (all at
once, so the workers are never idle) and the ideal line W ÷ scan time beside it.
With `--scan-kind cpu`, thread mode stays at one core's worth (the GIL) while broker
workers, being processes, scale until the machine's cores run out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any

from mqlab.amqp.settings import BrokerKind, QueueType
from mqlab.measure import environment, metrics
from mqlab.measure.results import envelope, utc_now
from mqlab.measure.runner import Broker, Progress, broker_for, run
from mqlab.processes.config import Mode, RunConfig, Workload


@dataclass(frozen=True)
class SweepConfig:
    workload: Workload
    workers: Sequence[int] = (1, 2, 4, 8)
    modes: Sequence[Mode] = (Mode.broker,)
    jobs_per_worker: int = 20
    amqp_url: str | None = None
    queue_type: QueueType = "classic"
    broker: BrokerKind = "rabbitmq"


@dataclass
class SweepResult:
    config: dict[str, Any]
    environment: dict[str, Any]
    points: list[dict[str, Any]] = field(default_factory=list)
    created: str = field(default_factory=utc_now)

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("sweep", self.created, self.environment, config=self.config),
            "points": self.points,
        }


ProgressFor = Callable[[str], AbstractContextManager[Progress]]


def sweep(config: SweepConfig, progress_for: ProgressFor | None = None) -> SweepResult:
    w = config.workload
    cm: AbstractContextManager[Broker | None] = (
        broker_for(RunConfig(Mode.broker, w, config.amqp_url, broker=config.broker))
        if Mode.broker in config.modes
        else contextlib.nullcontext(None)
    )
    result = SweepResult(
        config={
            "modes": [m.value for m in config.modes],
            "workers": list(config.workers),
            "jobs_per_worker": config.jobs_per_worker,
            "scan_ms": w.scan_ms,
            "scan_kind": w.scan_kind,
            "rate": 0,
            "server_threads": w.server_threads,
            "queue_type": config.queue_type,  # a file without it: classic
            "broker": config.broker,  # a file without it: rabbitmq
        },
        environment={},
    )
    cores = environment.usable_cores() if w.scan_kind == "cpu" else None
    with cm as broker:
        for mode in config.modes:
            for workers in config.workers:
                point = replace(
                    w, workers=workers, requests=config.jobs_per_worker * workers, rate=0.0
                )
                label = f"{mode.value} × {workers}"
                bar = progress_for(label) if progress_for else contextlib.nullcontext(None)
                with bar as report:
                    r = run(
                        RunConfig(
                            mode,
                            point,
                            config.amqp_url,
                            queue_type=config.queue_type,
                            broker=config.broker,
                            floors=False,
                        ),
                        report,
                        broker if mode is Mode.broker else None,
                    )
                result.points.append(
                    {
                        "mode": mode.value,
                        "scan_kind": w.scan_kind,
                        "workers": workers,
                        "throughput_per_s": r.summary.throughput_per_s,
                        "ideal_per_s": metrics.ideal_per_s(workers, w.scan_ms, cores),
                        **({"cores": cores} if cores else {}),
                        "delivered": r.summary.delivered,
                        "lost": r.summary.lost,
                        "warnings": r.warnings,
                    }
                )
        result.environment = environment.describe(broker.version if broker else None)
    return result
