"""The price of the broker (운영 복잡도), measured on this machine: the processes each way
runs, the memory (RSS) of each part, the time each part takes to start, and what a
publisher confirm adds to an answer.

Every mode is measured the same way, on real processes:
- start-up: the mode's app started alone until it answers /health (as the lab starts it),
  and in broker mode its workers until all of them consume; RabbitMQ's own boot is timed
  on a private node started for this lesson (never the machine's shared broker, whose
  memory holds other people's queues);
- memory: a normal measured run (`runner.run_with_chaos`, with a `Footprint` that harms
  nothing: it reads /proc while the load runs) keeps the peak RSS of each part: the app,
  the workers, the RabbitMQ node's processes;
- the confirm: `calibrate.quick` on the same node, the floors of an HTTP answer and of one
  confirmed persistent publish, beside each mode's own response times.
The SMTP sink and the load generator run in every mode (they stand for the mail server and
the users) and are not counted. Linux only (/proc); elsewhere memory reads as unknown.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mqlab.amqp.queues import delete_run_objects
from mqlab.amqp.settings import private_settings
from mqlab.errors import MqlabError
from mqlab.measure import calibrate, environment
from mqlab.measure.lab import Lab
from mqlab.measure.results import Summary
from mqlab.measure.runner import Broker, Progress, broker_for, fair, run_with_chaos, workdir
from mqlab.processes import proctable, rabbit
from mqlab.processes.config import Mode, RunConfig, Workload
from mqlab.processes.rabbit.launch import group_members, with_descendants

ProgressFor = Callable[[str], AbstractContextManager[Progress]]
SAMPLES = 8  # RSS looks per run, spread over its requests
MB = 1024 * 1024


def rss_bytes(pid: int) -> int | None:
    """Resident memory of one process (VmRSS), or None if it is gone or unreadable."""
    try:
        with open(f"{proctable.PROC}/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def family(pids: list[int]) -> list[int]:
    """`pids` and their descendants, as /proc shows them now ([] without /proc)."""
    procs = proctable.table()
    return proctable.descendants(pids, procs) if procs is not None else []


class Footprint:
    """A `runner.Chaos` that harms nothing: at a few of the requests it reads the memory of
    the lab's app, its workers and the broker node, and keeps the peak of each part."""

    def __init__(self, every: int, broker_pids: Callable[[], list[int]]) -> None:
        self.every = max(1, every)
        self.broker_pids = broker_pids
        self.events: list[dict[str, Any]] = []  # nothing happens to the lab
        self.peak: dict[str, tuple[int, float]] = {}  # part -> (processes, RSS in MB)
        self.lab: Lab | None = None

    def start(self, lab: Lab) -> None:
        self.lab = lab

    def ready(self, timeout: float) -> None:
        pass  # it needs nothing before the load

    def on_send(self, index: int) -> None:
        if index % self.every == 0:
            self.sample()

    def finish(self, timeout: float) -> None:
        self.sample()

    def sample(self) -> None:
        lab = self.lab
        if lab is None or lab.app is None or not lab.app.alive:
            return
        parts = {"app": family([lab.app.pid])}
        if lab.workers:
            parts["workers"] = family([w.pid for w in lab.workers if w.alive])
        if lab.config.mode is Mode.broker and (node := self.broker_pids()):
            parts["broker"] = node
        for part, pids in parts.items():
            sizes = [rss_bytes(pid) for pid in pids]
            if not pids or None in sizes:
                continue  # a process ended while we looked: the next look counts
            mb = sum(s or 0 for s in sizes) / MB
            if mb > self.peak.get(part, (0, 0.0))[1]:
                self.peak[part] = (len(pids), mb)


def startup(config: RunConfig, broker: Broker | None, tmp: Path) -> dict[str, float]:
    """Seconds until the mode's app answers /health, and (broker) until its workers all
    consume: each part started alone, as the lab starts it."""
    config = fair(config)
    amqp = private_settings(broker.url) if broker is not None else None
    lab = Lab(config, tmp, amqp)
    try:
        t0 = time.monotonic()
        lab.start_app()
        out = {"app": time.monotonic() - t0}
        if config.mode is Mode.broker:
            t0 = time.monotonic()
            for _ in range(config.workload.workers):
                lab.start_worker()
            lab.wait_consuming(config.workload.workers)
            out["workers"] = time.monotonic() - t0
        return out
    finally:
        lab.close()
        if amqp is not None:
            delete_run_objects(amqp)


@contextlib.contextmanager
def _node(
    amqp_url: str | None, notes: list[str]
) -> Iterator[tuple[Broker, rabbit.PrivateNode | None]]:
    """(the broker, its private node or None): a node of the lesson's own when rabbitmq-server
    is installed (its boot and memory are measured), else the usual broker, unmeasured."""
    node = None
    try:
        node = rabbit.PrivateNode.create()
        node.start()
    except rabbit.BrokerUnavailable as e:
        if node is not None:
            node.cleanup()
        node = None
        notes.append(f"RabbitMQ: not measured (no private node: {str(e).splitlines()[0]})")
    if node is not None:
        try:
            yield Broker(node.url, node.version, started_by_mqlab=True), node
        finally:
            node.cleanup()
        return
    with broker_for(RunConfig(Mode.broker, Workload(), amqp_url)) as broker:
        assert broker is not None
        yield broker, None


def footprint(
    workload: Workload,
    modes: tuple[Mode, ...],
    amqp_url: str | None = None,
    progress_for: ProgressFor | None = None,
) -> dict[str, Any]:
    """What each mode costs to run, as the document a price lesson stores."""
    notes: list[str] = []
    out: dict[str, Any] = {"modes": [], "notes": notes}
    with _node(amqp_url, notes) as (broker, node):

        def node_pids() -> list[int]:
            if node is None or node.pgid is None:
                return []
            return with_descendants(group_members(node.pgid, node.nodename))

        out["calibration"] = calibrate.quick(broker.url, rate=workload.rate).to_dict()
        for mode in modes:
            uses = broker if mode is Mode.broker else None
            config = RunConfig(mode, workload, broker.url, floors=False)
            bar = progress_for(mode.value) if progress_for else contextlib.nullcontext(None)
            with bar as report:
                if report is not None:
                    report("start", 0, 0)
                try:
                    with workdir(None, f"start-{mode.value}") as tmp:
                        ready = startup(config, uses, tmp)
                except MqlabError as e:
                    notes.append(f"{mode.value}: start-up not measured ({e})")
                    ready = {}
                probe = Footprint(workload.requests // SAMPLES, node_pids)
                with workdir(None, f"price-{mode.value}") as tmp:
                    run = run_with_chaos(config, tmp, uses, report, probe)
            out["modes"].append(_mode(mode, ready, probe, run.summary, run.warnings, node))
        out["environment"] = environment.describe(broker.version)
    return out


def _mode(
    mode: Mode,
    ready: dict[str, float],
    probe: Footprint,
    summary: Summary,
    warnings: list[str],
    node: rabbit.PrivateNode | None,
) -> dict[str, Any]:
    def part(name: str, startup_s: float | None) -> dict[str, Any]:
        processes, mb = probe.peak.get(name, (None, None))
        return {
            "part": name,
            "processes": processes,
            "rss_mb": round(mb, 1) if mb is not None else None,
            "startup_s": round(startup_s, 3) if startup_s is not None else None,
        }

    parts = [part("app", ready.get("app"))]
    if mode is Mode.broker:
        parts.append(part("workers", ready.get("workers")))
        parts.append(part("broker", node.startup_seconds if node is not None else None))
    starts = [p["startup_s"] for p in parts]
    # RabbitMQ first; then the app and the workers start side by side
    if None in starts:
        ready_s = None
    elif mode is Mode.broker:
        ready_s = starts[2] + max(starts[0], starts[1])
    else:
        ready_s = starts[0]
    return {
        "mode": mode.value,
        "parts": parts,
        "ready_s": round(ready_s, 3) if ready_s is not None else None,
        "summary": asdict(summary),
        "warnings": warnings,
    }
