"""The time rows: can a class afford the lab? The default compare's minute, phase by phase,
and how long a private RabbitMQ node takes to start."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from mqlab.measure import calibrate, runner
from mqlab.measure.bench.targets import Row, ratio
from mqlab.processes import rabbit


@contextlib.contextmanager
def phase_clock(phases: dict[str, dict[str, float]], mode: str) -> Iterator[runner.Progress]:
    """A runner progress callback that notes when each phase of a run begins."""
    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def report(phase: str, done: int, total: int) -> None:
        now = time.perf_counter()
        marks.setdefault(phase, now)
        marks[f"last {phase}"] = now

    yield report
    end = time.perf_counter()
    start, load = marks.get("start", t0), marks.get("load", end)
    drain = marks.get("drain", end)
    last = marks.get("last drain", drain)
    phases[mode] = {
        "start": load - start,
        "load": drain - load,
        "drain": last - drain,
        "teardown": end - last,
        "total": end - t0,
    }


def broker_start_row(notes: list[str]) -> Row:
    """A private node started from nothing ÷ 6 s; not measured without rabbitmq-server."""
    if rabbit.find_rabbitmq_server() is None:
        notes.append("private broker start not measured: rabbitmq-server is not installed")
        return Row("time.broker", None, "-", "rabbitmq-server is not installed")
    node = rabbit.PrivateNode.create()
    try:
        with calibrate.CpuMeter() as cpu:
            node.start()
        took = node.startup_seconds
    except rabbit.BrokerUnavailable as e:
        notes.append(f"private broker did not start: {e}")
        return Row("time.broker", None, "-", "the node did not start")
    finally:
        node.cleanup()
    busy = f", machine {cpu.busy:.0%} busy" if cpu.busy is not None else ""
    return Row("time.broker", ratio(took, 6.0), f"{took or 0:.1f} s{busy}")
