"""The Celery peer: the same workload through Celery, beside mqlab's broker mode.

Why: a broker mode slower than what people use in production would be a straw man. The
peer (`bench/celery_peer.py`: the same signup job as a Celery task, prefork pool) runs
the default compare's workload, one job reserved per process as mqlab does, and then at
Celery's default of four. Then a worker is SIGKILLed in both, after a mail was sent but
before the ack and halfway through the load, and the sink's ledger counts what was lost.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mqlab import failpoint
from mqlab.amqp.queues import delete_run_objects
from mqlab.amqp.settings import AmqpSettings
from mqlab.errors import BadInput, ChildFailed
from mqlab.job import ledger
from mqlab.measure import faults, loadgen, metrics, runner
from mqlab.measure.bench import children, doubt
from mqlab.measure.bench.targets import KillRow, Row, ratio
from mqlab.measure.lab import Lab, wait_for_consumers
from mqlab.measure.results import Summary
from mqlab.processes import proctable
from mqlab.processes.config import Mode, RunConfig, Workload
from mqlab.processes.procs import Child, free_ports, http_ok, wait_for

_CELERY_NOTES = {
    "after-send": "a pool process SIGKILLs itself after its mail was accepted (failpoint)",
    "mid-scan": "a pool process SIGKILLed halfway through the load (Celery replaces it)",
}


def peer_rows(
    url: str,
    default: Workload,
    mqlab_broker: Summary,
    mqlab_doubt: str | None,
    notes: list[str],
    say: Callable[[str], None],
    meter: doubt.Meter,
) -> tuple[list[Row], list[KillRow]]:
    """The throughput row against Celery, and the kill rows of both; none without celery."""
    try:
        import celery  # noqa: F401
    except ImportError:
        notes.append("Celery peer skipped: celery is not installed (pip install 'celery>=5.3')")
        return [], []
    say("Celery peer: the same workload, one job reserved per process (as mqlab), then x4")
    try:
        with meter() as cpu:
            theirs = celery_run(url, default, prefetch_multiplier=1).summary
    except (ChildFailed, BadInput) as e:
        notes.append(f"Celery peer failed: {e}")
        return [], []
    try:  # only printed beside the judged run: its failure costs the row nothing
        stock = celery_run(url, default).summary  # Celery's default: 4 reserved per process
        x4 = ratio(mqlab_broker.throughput_per_s, stock.throughput_per_s) or 0.0
        beside = f"default prefetch x4: {stock.throughput_per_s or 0:.2f} (ratio {x4:.3f})"
    except (ChildFailed, BadInput) as e:
        notes.append(f"Celery peer with prefetch x4 failed: {e}")
        beside = "default prefetch x4 failed (see notes)"
    why = mqlab_doubt or doubt.of_run(theirs, cpu)
    mine = mqlab_broker.throughput_per_s
    rows = [
        Row(
            "peer.throughput",
            ratio(mine, theirs.throughput_per_s),
            f"{mine or 0:.2f} vs {theirs.throughput_per_s or 0:.2f} mails/s; Celery's {beside}",
            why,
        )
    ]
    small = replace(default, requests=100)
    kills: list[KillRow] = []
    for moment in ("after-send", "mid-scan"):
        say(f"worker SIGKILL {moment}: mqlab, then Celery")
        kills.append(mqlab_kill(url, small, moment))
        try:
            peer = celery_run(url, small, kill=moment)
            note = f"{_CELERY_NOTES[moment]}; {peer.killed} died"
            kills.append(_kill_row("celery", moment, peer.summary, note))
        except (ChildFailed, BadInput) as e:
            notes.append(f"Celery {moment} kill failed: {e}")
    return rows, kills


def _kill_row(system: str, moment: str, s: Summary, note: str) -> KillRow:
    return KillRow(system, moment, s.accepted, s.delivered, s.lost, s.duplicates, note)


class MidScanKill:
    """runner Chaos: SIGKILL worker 1 once half the load is sent, start a replacement."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.events: list[dict[str, Any]] = []
        self.lab: Lab | None = None

    def start(self, lab: Lab) -> None:
        self.lab = lab

    def ready(self, timeout: float) -> None:
        pass  # it needs nothing before the load

    def on_send(self, index: int) -> None:
        if index == self.at and self.lab is not None and self.lab.workers:
            self.lab.workers[0].kill()
            self.events.append({"t": time.time(), "kind": "kill", "target": "worker"})
            self.lab.start_worker()
            self.events.append({"t": time.time(), "kind": "restart", "target": "worker"})

    def finish(self, timeout: float) -> None:
        pass


def mqlab_kill(url: str, load: Workload, moment: str) -> KillRow:
    """mqlab broker mode with one worker SIGKILLed (its crash test's failpoint, or mid-scan)."""
    config = RunConfig(Mode.broker, load, url, floors=False)
    b = runner.Broker(url, None, started_by_mqlab=False)
    chaos: runner.Chaos
    if moment == "after-send":
        sends = max(1, load.requests // 2 // load.workers)
        chaos = faults.WorkerKill(sends)
        note = f"a worker SIGKILLs itself after its mail #{sends} was accepted (failpoint)"
    else:
        chaos = MidScanKill(load.requests // 2)
        note = "a worker SIGKILLed halfway through the load (a replacement starts)"
    with runner.workdir(None, "bench-kill") as tmp:
        run = runner.run_with_chaos(config, tmp, b, None, chaos)
    return _kill_row("mqlab", moment, run.summary, note)


@dataclass(frozen=True)
class PeerRun:
    summary: Summary
    killed: int  # pool processes that died during the run (replaced by Celery)


def celery_run(
    url: str, load: Workload, kill: str | None = None, prefetch_multiplier: int = 4
) -> PeerRun:
    """The same signups through the Celery peer: HTTP app -> Celery -> prefork pool -> sink."""
    queue = f"mqlab.bench-celery.run-{uuid.uuid4().hex[:8]}"  # a run's own: deletable
    host = children.HOST
    with tempfile.TemporaryDirectory(prefix="mqlab-bench-") as tmp:
        work = Path(tmp)
        smtp_port, app_port = free_ports(2)
        env = {
            "MQLAB_PEER_AMQP_URL": url,
            "MQLAB_PEER_QUEUE": queue,
            "MQLAB_PEER_SMTP_PORT": str(smtp_port),
            "MQLAB_PEER_SCAN_MS": str(load.scan_ms),
            "MQLAB_PEER_WORKERS": str(load.workers),
            "MQLAB_PEER_PREFETCH_MULTIPLIER": str(prefetch_multiplier),
            "MQLAB_PEER_ARM_FILE": str(work / "armed"),
        }
        if kill == "after-send":
            sends = max(1, load.requests // 2 // load.workers)
            env[failpoint.ENV] = f"after-send:{sends}"
        peer = children.script("celery_peer.py")
        sink = children.sink(work, smtp_port)
        worker = Child("celery worker", [sys.executable, peer, "worker"], work / "worker.log", env)
        app = Child(
            "celery app",
            [sys.executable, peer, "serve", str(app_port)],
            work / "app.log",
            {k: v for k, v in env.items() if k != failpoint.ENV},
        )
        started = [sink, worker, app]
        try:
            for c in started:
                c.start()
            sink.wait_listening(smtp_port)
            app.wait_listening(app_port, lambda: http_ok(f"http://{host}:{app_port}/health"))
            wait_for_consumers(AmqpSettings(url=url, queue=queue), 1, [worker], timeout=30)
            _wait_pool(worker.pid, load.workers)
            pool = set(_pool(worker.pid))

            def before_send(i: int) -> None:
                if kill == "mid-scan" and i == load.requests // 2:
                    _kill_pool_process(worker.pid)

            requests = loadgen.signups(load.requests, uuid.uuid4().hex[:8])
            result = loadgen.run_load(
                f"http://{host}:{app_port}/signup",
                requests,
                load.rate,
                load.request_timeout,
                before_send=before_send,
                connections=loadgen.pool_for(load.server_threads),  # as runner.run
            )
            _drain(
                work / "ledger.db",
                result.samples,
                load.drain_timeout,
                runner.settle_s(load.scan_ms),
            )
            arrivals = ledger.read_arrivals(work / "ledger.db")
            killed = len(pool - set(_pool(worker.pid)))
        finally:
            for c in started:
                c.stop()
            delete_run_objects(
                AmqpSettings(url=url, queue=queue, exchange=queue)
            )  # Celery's exchange is named after its queue
    return PeerRun(metrics.summarize(result.samples, arrivals), killed)


def _pool(pid: int) -> list[int]:
    """The prefork pool: the child processes of the Celery worker."""
    return proctable.children(pid)


def _wait_pool(pid: int, count: int, timeout: float = 20.0) -> None:
    if not wait_for(lambda: len(_pool(pid)) >= count, timeout):
        raise ChildFailed(f"the Celery pool did not reach {count} processes")


def _kill_pool_process(pid: int) -> None:
    pool = _pool(pid)
    if pool:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pool[0], 9)


def _drain(path: Path, samples: list[loadgen.Sample], timeout: float, settle: float) -> None:
    """Until every accepted job has a mail, or nothing arrived for `settle` s, or `timeout`."""
    accepted = {s.job_id for s in samples if s.accepted}
    deadline = time.monotonic() + timeout
    seen, quiet = -1, time.monotonic()
    while time.monotonic() < deadline:
        arrivals = ledger.read_arrivals(path)
        if accepted <= {a.job_id for a in arrivals}:
            time.sleep(settle / 2)  # late duplicates still count
            return
        if len(arrivals) != seen:
            seen, quiet = len(arrivals), time.monotonic()
        elif time.monotonic() - quiet > settle:
            return
        time.sleep(0.05)
