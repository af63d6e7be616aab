"""`mqlab bench`: is mqlab's arithmetic trustworthy on this machine? Every target, in one go.

A lab that measures brokers must first show that its own numbers are right (fidelity.py),
that it is not the bottleneck (capacity.py), that its broker mode is not a straw man
(peer.py, Celery beside it), that a class can afford to run it (timing.py), and that the
cluster shows what replication costs (replication.py). Each
target becomes one row (targets.py): a ratio to the floor or ceiling it is judged
against, measured in the same bench run, with the absolute numbers beside it, unless
the machine spoiled the measurement (doubt.py). The Celery peer and the raw pika ceiling
are scripts in the source tree's `bench/` folder (children.py).

This is a benchmark, not a test: nothing here asserts. Tests check the arithmetic.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from mqlab.measure import calibrate, environment, runner
from mqlab.measure.bench import doubt
from mqlab.measure.bench.brokers import broker_rows
from mqlab.measure.bench.capacity import (
    CAPACITY_JOBS,
    CAPACITY_PAIRS,
    CAPACITY_PROBES,
    GENERATOR_RATE,
    capacity_row,
    generator_rows,
    raw_ceiling,
    sustained_pair,
)
from mqlab.measure.bench.children import BENCH_DIR, HOST
from mqlab.measure.bench.doubt import (
    CAPACITY_DOUBT_CORES,
    FOREIGN_DOUBT_CORES,
    GENERATOR_DOUBT_CORES,
)
from mqlab.measure.bench.fidelity import accept_row, sync_row, throughput_rows
from mqlab.measure.bench.peer import MidScanKill, PeerRun, celery_run, mqlab_kill, peer_rows
from mqlab.measure.bench.replication import replication_row
from mqlab.measure.bench.targets import (
    KEPT_UP,
    TARGETS,
    BenchResult,
    KillRow,
    Op,
    Row,
    Target,
    ceiling,
    kept_up,
    ratio,
    sustained,
    verdict,
)
from mqlab.measure.bench.timing import broker_start_row, phase_clock
from mqlab.processes import rabbit
from mqlab.processes.config import Mode, RunConfig, Workload

__all__ = [
    "BENCH_DIR",
    "CAPACITY_DOUBT_CORES",
    "CAPACITY_JOBS",
    "CAPACITY_PAIRS",
    "CAPACITY_PROBES",
    "FOREIGN_DOUBT_CORES",
    "GENERATOR_DOUBT_CORES",
    "GENERATOR_RATE",
    "HOST",
    "KEPT_UP",
    "TARGETS",
    "BenchResult",
    "KillRow",
    "MidScanKill",
    "Op",
    "PeerRun",
    "Progress",
    "Row",
    "Target",
    "bench",
    "ceiling",
    "celery_run",
    "kept_up",
    "mqlab_kill",
    "ratio",
    "raw_ceiling",
    "sustained",
    "sustained_pair",
    "verdict",
]

Progress = Callable[[str], None]


def bench(
    amqp_url: str | None = None, progress: Progress | None = None, with_celery: bool = True
) -> BenchResult:
    """Run every measurement; `progress(step)` is told what runs now."""
    say = progress or (lambda step: None)
    rows: list[Row] = []
    kills: list[KillRow] = []
    notes: list[str] = []
    phases: dict[str, dict[str, float]] = {}
    default = Workload()
    with contextlib.ExitStack() as stack:
        if amqp_url is None:  # it floods the broker: a node of mqlab's own, not the machine's
            say("starting a private RabbitMQ node")
            amqp_url = stack.enter_context(rabbit.PrivateNode.create()).url
        broker = stack.enter_context(runner.broker_for(RunConfig(Mode.broker, default, amqp_url)))
        assert broker is not None
        url = broker.url
        local = doubt.local_broker(url)  # its CPU works for us: not "other load"

        def meter() -> calibrate.CpuMeter:
            return calibrate.CpuMeter(also=local)

        say(f"calibrating (floors back to back, generator at {GENERATOR_RATE:g}/s)")
        cal = calibrate.measure(url, rate=GENERATOR_RATE, requests=int(GENERATOR_RATE * 3))
        rows += generator_rows(cal)

        say("default compare (200 requests, 50/s, scan 200 ms, 4 workers)")
        t0 = time.perf_counter()
        with meter() as compare_cpu:
            compared = runner.compare(default, url, progress_for=lambda m: phase_clock(phases, m))
        took = time.perf_counter() - t0
        rows.append(Row("time.compare", ratio(took, 60.0), f"{took:.1f} s"))
        runs = {r.mode: r.summary for r in compared.runs}
        rows += throughput_rows(default, runs, compare_cpu)

        say("floors paced at 50/s, as the compare's runs made those calls")
        with meter() as paced_cpu:
            paced = calibrate.measure(url, samples=100, rate=None, pace_s=1 / default.rate)
        rows.append(accept_row(runs["broker"], cal, paced, compare_cpu, paced_cpu))

        say("sync at light load (30 requests, 5/s), then the SMTP floor paced at 5/s")
        rows.append(sync_row(url, default, meter))

        say(
            f"capacity: {CAPACITY_PAIRS} pairs of raw pika + SMTP ceiling, mqlab broker mode "
            "at scan 0 offered a bisected share of it, raw ceiling again"
        )
        rows.append(capacity_row(url, default, notes, meter))

        if with_celery:
            mine = doubt.of_run(runs["broker"], compare_cpu)
            rows_, kills_ = peer_rows(url, default, runs["broker"], mine, notes, say, meter)
            rows += rows_
            kills += kills_
        else:
            notes.append("Celery peer skipped (--no-celery)")

    say("the default broker run on Redis Streams and on NATS JetStream (private servers)")
    rows += broker_rows(default, notes)
    say("the price of replication: quorum against classic confirms on a private cluster")
    rows.append(replication_row(notes))
    say("private broker start-up")
    rows.append(broker_start_row(notes))
    return BenchResult(
        rows, kills, phases, cal.to_dict(), notes + cal.notes, environment.describe(broker.version)
    )
