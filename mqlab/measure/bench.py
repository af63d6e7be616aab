"""`mqlab bench`: is mqlab's arithmetic trustworthy on this machine? Every target, in one go.

Why this file exists: a lab that measures brokers must first show that its own
numbers are right (fidelity), that it is not the bottleneck (capacity), that its
broker mode is not a straw man (a Celery peer beside it), and that a class can
afford to run it (time). Each target becomes one row: a *ratio* to the floor or
ceiling it is judged against, measured in the same bench run, with the absolute
numbers beside it. A row whose measurement the machine spoiled (the generator
sent late, the CPU was taken by something else) says so instead of a ratio.

This is a benchmark, not a test: nothing here asserts. Tests check the ratio
arithmetic (`ratio`, `verdict`, `ceiling`) on given inputs.

The Celery peer and the raw pika ceiling live in `bench/` of the source tree
(`celery_peer.py`, `raw_ceiling.py`), started here as child processes.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from mqlab import failpoint
from mqlab.amqp.queues import delete_queue, delete_run_objects
from mqlab.amqp.settings import AmqpSettings
from mqlab.errors import BadInput, ChildFailed
from mqlab.job import ledger
from mqlab.measure import calibrate, crash, environment, loadgen, metrics, runner
from mqlab.measure.lab import Lab, wait_for_consumers
from mqlab.measure.results import FORMAT_VERSION, Summary, utc_now
from mqlab.processes import rabbit
from mqlab.processes.config import Mode, RunConfig, Workload
from mqlab.processes.procs import Child, free_port, free_ports, http_ok, mqlab_argv, tcp_open

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
# The generator is offered 1% more than the 1000/s it must hold: the rate it held is counted
# from its first to its last send, which any lateness of the last one pulls below the offer.
GENERATOR_RATE = 1010.0
HOST = "127.0.0.1"
Op = Literal[">=", "<=", "±"]


@dataclass(frozen=True)
class Target:
    label: str
    op: Op  # ">=": at least, "<=": at most, "±": within target of 1
    target: float


TARGETS: dict[str, Target] = {
    "fidelity.thread": Target("thread ÷ (W ÷ scan), saturated", ">=", 0.97),
    "fidelity.broker": Target("broker ÷ (W ÷ scan), saturated", ">=", 0.97),
    "fidelity.sync": Target("sync p50 ÷ (scan + SMTP), light", "±", 0.03),
    "fidelity.accept": Target("broker p50 ÷ (publish + HTTP)", "<=", 1.5),
    "capacity.broker": Target("broker scan 0 sustained ÷ raw ceiling", ">=", 0.70),
    "capacity.rate": Target("generator rate ÷ 1000/s", ">=", 1.0),
    "capacity.late": Target("generator late p99 ÷ 2 ms", "<=", 1.0),
    "peer.throughput": Target("mqlab ÷ Celery (prefetch x1) throughput", ">=", 1.0),
    "time.compare": Target("default compare ÷ 60 s", "<=", 1.0),
    "time.broker": Target("private broker start ÷ 6 s", "<=", 1.0),
}


# --- the arithmetic (pure, tested) ------------------------------------------------------------


def ceiling(workers: int, scan_ms: float) -> float:
    """The most mails per second W workers can send when each scan takes scan_ms: W ÷ scan."""
    if workers < 1 or scan_ms <= 0:
        raise ValueError("workers must be at least 1 and scan_ms positive")
    return workers / (scan_ms / 1000)


def ratio(measured: float | None, reference: float | None) -> float | None:
    """measured ÷ reference, or None when either is missing or the reference is not positive."""
    if measured is None or reference is None or reference <= 0:
        return None
    return measured / reference


def verdict(value: float | None, op: Op, target: float) -> bool | None:
    """Does `value` meet `op target`? None when there is no value."""
    if value is None:
        return None
    if op == ">=":
        return value >= target
    if op == "<=":
        return value <= target
    return abs(value - 1) <= target


KEPT_UP = 0.97  # delivered ÷ offered at or above this: the offered rate was kept up with


def kept_up(offered: float, delivered: float) -> bool:
    return offered > 0 and delivered >= KEPT_UP * offered


def sustained(steps: Sequence[tuple[float, float]]) -> float | None:
    """The most delivered by a run that kept up with its (offered, delivered) rate, or None."""
    return max((d for o, d in steps if kept_up(o, d)), default=None)


@dataclass(frozen=True)
class Row:
    key: str  # a TARGETS key
    value: float | None  # the ratio
    detail: str  # the absolute numbers behind it
    doubt: str | None = None  # why the value is not to be trusted (then it is not judged)

    @property
    def target(self) -> Target:
        return TARGETS[self.key]

    @property
    def ok(self) -> bool | None:
        return None if self.doubt else verdict(self.value, self.target.op, self.target.target)

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "key": self.key,
            "label": t.label,
            "op": t.op,
            "target": t.target,
            "value": self.value,
            "ok": self.ok,
            "detail": self.detail,
            "doubt": self.doubt,
        }


@dataclass(frozen=True)
class KillRow:
    """One worker SIGKILLed mid-run: what the sink's ledger says about it."""

    system: str  # "mqlab" | "celery"
    moment: str  # "after-send" (before the ack) | "mid-scan"
    accepted: int
    delivered: int
    lost: int
    duplicates: int
    note: str


@dataclass
class BenchResult:
    rows: list[Row]
    kills: list[KillRow]
    phases: dict[str, dict[str, float]]  # compare: mode -> phase -> seconds
    calibration: dict[str, Any]
    notes: list[str]
    environment: dict[str, Any]
    created: str = field(default_factory=utc_now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "bench",
            "created": self.created,
            "environment": self.environment,
            "rows": [r.to_dict() for r in self.rows],
            "kills": [asdict(k) for k in self.kills],
            "phases": self.phases,
            "calibration": self.calibration,
            "notes": self.notes,
        }


# --- measuring helpers ------------------------------------------------------------------------


FOREIGN_DOUBT_CORES = 0.5  # others (broker included) took this much CPU: a light run shared it
GENERATOR_DOUBT_CORES = 0.25  # ... and for the generator check, which has no broker
CAPACITY_DOUBT_CORES = 0.25  # a capacity run uses every core: any other load lowers it
CAPACITY_PAIRS = 5  # (raw ceiling, mqlab bisection, raw ceiling) pairs; the median is judged
CAPACITY_JOBS = 2000  # per run, raw and mqlab alike: 2-3 s of load
CAPACITY_PROBES = 5  # bisection of the offered share of the raw ceiling in [0.5, 1]: ±0.016


def _foreign(cpu: calibrate.CpuMeter | None, limit: float) -> str | None:
    if cpu is None or cpu.foreign_cores is None or cpu.foreign_cores <= limit:
        return None
    return f"other processes took {cpu.foreign_cores:.2f} cores meanwhile"


def _doubt(
    summary: Summary, cpu: calibrate.CpuMeter | None, percentile: str | None = None
) -> str | None:
    """Why a run's numbers are not to be judged, or None."""
    late = summary.generator_late_ms.p99
    if late is not None and late > 20:
        return f"generator late (p99 {late:.0f} ms)"
    if percentile is not None:
        reason = metrics.untrusted(asdict(summary)).get(percentile)
        if reason:
            return reason
    return _foreign(cpu, FOREIGN_DOUBT_CORES)


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} ms"


Progress = Callable[[str], None]


@contextlib.contextmanager
def _phase_clock(phases: dict[str, dict[str, float]], mode: str) -> Iterator[runner.Progress]:
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


# --- the bench --------------------------------------------------------------------------------


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
    with runner.broker_for(RunConfig(Mode.broker, default, amqp_url)) as broker:
        assert broker is not None
        url = broker.url
        local = _local_broker(url)  # its CPU works for us: not "other load"

        def meter() -> calibrate.CpuMeter:
            return calibrate.CpuMeter(also=local)

        say(f"calibrating (floors back to back, generator at {GENERATOR_RATE:g}/s)")
        cal = calibrate.measure(url, rate=GENERATOR_RATE, requests=int(GENERATOR_RATE * 3))
        rows += _generator_rows(cal)

        say("default compare (200 requests, 50/s, scan 200 ms, 4 workers)")
        t0 = time.perf_counter()
        with meter() as compare_cpu:
            compared = runner.compare(default, url, progress_for=lambda m: _phase_clock(phases, m))
        took = time.perf_counter() - t0
        rows.append(Row("time.compare", ratio(took, 60.0), f"{took:.1f} s"))
        runs = {r.mode: r for r in compared.runs}
        top = ceiling(default.workers, default.scan_ms)
        for mode in ("thread", "broker"):
            s = runs[mode].summary
            rows.append(
                Row(
                    f"fidelity.{mode}",
                    ratio(s.throughput_per_s, top),
                    f"{s.throughput_per_s or 0:.2f} of {top:.1f} mails/s",
                    _doubt(s, compare_cpu),
                )
            )

        say("floors paced at 50/s, as the compare's runs made those calls")
        with meter() as paced_cpu:
            paced = calibrate.measure(url, samples=100, rate=None, pace_s=1 / default.rate)
        http, publish, smtp = (paced.floor(n) for n in ("http", "publish", "smtp"))
        accept = runs["broker"].summary
        floor_sum = (publish.p50 + http.p50) if publish and http else None
        unpaced = [cal.floor("publish"), cal.floor("http")]
        back_to_back = sum(f.p50 for f in unpaced if f) if all(unpaced) else None
        unpaced_ratio = ratio(accept.response_ms.p50, back_to_back) or 0.0
        rows.append(
            Row(
                "fidelity.accept",
                ratio(accept.response_ms.p50, floor_sum),
                f"{_ms(accept.response_ms.p50)} vs {_ms(floor_sum)} paced 50/s "
                f"(×{unpaced_ratio:.2f} of {_ms(back_to_back)} unpaced)",
                _doubt(accept, compare_cpu, percentile="response_ms.p50")
                or _foreign(paced_cpu, FOREIGN_DOUBT_CORES),
            )
        )

        say("sync at light load (30 requests, 5/s)")
        light = replace(default, requests=30, rate=5.0)
        with meter() as sync_cpu:
            sync = runner.run(RunConfig(Mode.sync, light, url, floors=False)).summary
        expected = light.scan_ms + smtp.p50 if smtp else None
        rows.append(
            Row(
                "fidelity.sync",
                ratio(sync.response_ms.p50, expected),
                f"{_ms(sync.response_ms.p50)} vs {_ms(expected)}",
                _doubt(sync, sync_cpu, percentile="response_ms.p50"),
            )
        )

        say(
            f"capacity: {CAPACITY_PAIRS} pairs of raw pika + SMTP ceiling, mqlab broker mode "
            "at scan 0 offered a bisected share of it, raw ceiling again"
        )
        rows.append(_capacity(url, default, notes, meter))

        if with_celery:
            mine = _doubt(runs["broker"].summary, compare_cpu)
            rows_, kills_ = _peer(url, default, runs["broker"].summary, mine, notes, say, meter)
            rows += rows_
            kills += kills_
        else:
            notes.append("Celery peer skipped (--no-celery)")

    say("private broker start-up")
    rows.append(_broker_start(notes))
    return BenchResult(
        rows, kills, phases, cal.to_dict(), notes + cal.notes, environment.describe(broker.version)
    )


def _generator_rows(cal: calibrate.Calibration) -> list[Row]:
    sched = cal.schedule
    if sched is None:
        return []
    doubt = f"{sched.failed} requests failed" if sched.failed else None
    if sched.foreign_cores is not None and sched.foreign_cores > GENERATOR_DOUBT_CORES:
        doubt = f"other processes took {sched.foreign_cores:.2f} cores meanwhile"
    return [
        Row(
            "capacity.rate",
            ratio(sched.sent_per_s, 1000.0),
            f"{sched.sent_per_s or 0:.0f}/s sent of {sched.rate:g}/s, {sched.failed} failed",
            doubt,
        ),
        Row(
            "capacity.late",
            ratio(sched.late_ms.p99, metrics.LATE_OK_MS),
            f"p50 {_ms(sched.late_ms.p50)}, p99 {_ms(sched.late_ms.p99)}",
            doubt,
        ),
    ]


def _script(name: str) -> str:
    path = BENCH_DIR / name
    if not path.exists():
        raise BadInput(f"mqlab bench needs {path} (run it from a source checkout of mqlab)")
    return str(path)


def raw_ceiling(url: str, count: int, workers: int, threads: int, rate: float = 0.0) -> float:
    """Mails/s with nothing but pika (confirmed publishes, prefetch 1, acks) and SMTP.

    With `rate`, the jobs are offered open loop at that rate instead of all at once: what
    the raw pipeline delivers when offered a steady rate, measured like mqlab's runs."""
    queue = f"mqlab.bench-raw-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="mqlab-bench-") as tmp:
        work = Path(tmp)
        smtp_port = free_port()
        sink = Child(
            "SMTP sink",
            mqlab_argv(
                "sink", "--port", str(smtp_port), "--ledger", str(work / "ledger.db"), "--quiet"
            ),
            work / "sink.log",
        )
        consumers = [
            Child(
                f"raw consumer {i}",
                [sys.executable, _script("raw_ceiling.py"), "consume", url, queue, str(smtp_port)],
                work / f"consumer-{i}.log",
            )
            for i in range(workers)
        ]
        try:
            for c in [sink, *consumers]:
                c.start()
            sink.wait_ready(lambda: tcp_open(HOST, smtp_port))
            wait_for_consumers(AmqpSettings(url=url, queue=queue), workers, consumers, timeout=30)
            out = subprocess.run(
                [
                    sys.executable,
                    _script("raw_ceiling.py"),
                    "publish",
                    url,
                    queue,
                    str(count),
                    str(threads),
                    "raw",
                    str(rate),
                ],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            ).stdout
            first = float(out.split()[0])
            deadline = time.monotonic() + 60
            while ledger.count_arrivals(work / "ledger.db") < count:
                if time.monotonic() > deadline:
                    raise ChildFailed("the raw pipeline did not deliver every job in 60 s")
                time.sleep(0.05)
            last = max(a.arrived for a in ledger.read_arrivals(work / "ledger.db"))
        finally:
            for c in [*consumers, sink]:
                c.stop()
            delete_queue(AmqpSettings(url=url, queue=queue))
    return count / (last - first)


def _local_broker(url: str) -> list[int]:
    """The pids of a broker on this machine listening at the URL's port (else none)."""
    parts = urlsplit(url)
    if parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        return []
    return calibrate.listening_pids(parts.port or 5672)


def sustained_pair(
    ceiling: Callable[[], float], delivers: Callable[[float], float]
) -> tuple[float, float, float, str]:
    """One pair: a raw ceiling, then `delivers(rate)` offered a share of it, bisected between
    0.5 and 1 over CAPACITY_PROBES runs (kept up: offer more; fell behind: offer less), then
    the raw ceiling again. Returns (the most delivered while keeping up ÷ the mean of the
    two ceilings, that rate, the mean ceiling, the bounds of the bisection)."""
    before = ceiling()
    steps: list[tuple[float, float]] = []
    low, high = 0.5, 1.0
    for _ in range(CAPACITY_PROBES):
        share = (low + high) / 2
        steps.append((before * share, delivers(before * share)))
        if kept_up(*steps[-1]):
            low = share
        else:
            high = share
    top = (before + ceiling()) / 2
    best = sustained(steps)
    bounds = (
        f"kept up at {low:.3f}, fell behind at {high:.3f}"
        if best is not None
        else f"fell behind even at {high:.3f}"
    )
    return (best or 0.0) / top, best or 0.0, top, bounds


def _capacity(
    url: str, default: Workload, notes: list[str], meter: Callable[[], calibrate.CpuMeter]
) -> Row:
    """What mqlab's broker mode sustains at scan 0, as a share of the raw ceiling.

    Each pair (`sustained_pair`) divides by the mean of a ceiling before and one after the
    bisection: the machine's pace drifts over the half minute a pair takes, and the ceilings
    on both sides of the probes see the same drift they do. Offered more than it can
    sustain, the app spends CPU accepting jobs the workers cannot send yet, and a run
    measures that blend instead, hence the bisection. One pair still swings by about ±0.05
    on 2 cores, so the median of CAPACITY_PAIRS pairs is judged and all of them are printed.

    Printed beside it, not judged: mqlab offered every job at once after each pair, as the
    ceiling itself is measured (a flood batches work in every process, a steady rate does
    not), over that pair's mean ceiling. The owner's other reading of the row."""
    doubt: str | None = None

    def ceiling() -> float:
        nonlocal doubt
        with meter() as cpu:
            top = raw_ceiling(url, CAPACITY_JOBS, default.workers, default.server_threads)
        doubt = doubt or _foreign(cpu, CAPACITY_DOUBT_CORES)
        return top

    def mqlab_run(rate: float) -> Summary:  # rate 0: every job at once
        load = replace(default, requests=CAPACITY_JOBS, rate=rate, scan_ms=0.0)
        return runner.run(RunConfig(Mode.broker, load, url, floors=False)).summary

    def mqlab_delivers(rate: float) -> float:
        nonlocal doubt
        with meter() as cpu:
            s = mqlab_run(rate)
        if s.lost or s.failed:
            doubt = doubt or f"{s.failed} failed, {s.lost} lost"
        doubt = doubt or _foreign(cpu, CAPACITY_DOUBT_CORES)
        return s.throughput_per_s or 0.0

    def mqlab_flooded() -> float:  # not judged: its doubts go to the notes, not the row
        s = mqlab_run(0.0)
        if s.lost or s.failed:
            notes.append(f"capacity, flooded: {s.failed} failed, {s.lost} lost")
        return s.throughput_per_s or 0.0

    pairs: list[tuple[float, float, float, str]] = []  # (ratio, mails/s, raw mails/s, bounds)
    flooded: list[float] = []  # mqlab flooded ÷ the same pair's mean ceiling
    try:
        for _ in range(CAPACITY_PAIRS):
            pairs.append(sustained_pair(ceiling, mqlab_delivers))
            flooded.append(mqlab_flooded() / pairs[-1][2])
    except (ChildFailed, subprocess.SubprocessError, ValueError, IndexError) as e:
        notes.append(f"capacity not measured: {e}")
        return Row("capacity.broker", None, "-", "capacity not measured")
    pairs.sort()
    value, mine, top, bounds = pairs[len(pairs) // 2]
    spread = ", ".join(f"{p[0]:.2f}" for p in pairs)
    return Row(
        "capacity.broker",
        value,
        f"median of {len(pairs)} pairs ({spread}): sustains {mine:.0f} of {top:.0f} mails/s "
        f"({bounds} of the first ceiling offered); flooded as the ceiling is, not judged: "
        f"{statistics.median(flooded):.2f}",
        doubt,
    )


# --- the Celery peer ----------------------------------------------------------------------------


def _peer(
    url: str,
    default: Workload,
    mqlab_broker: Summary,
    mqlab_doubt: str | None,
    notes: list[str],
    say: Progress,
    meter: Callable[[], calibrate.CpuMeter],
) -> tuple[list[Row], list[KillRow]]:
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
    doubt = mqlab_doubt or _doubt(theirs, cpu)
    mine = mqlab_broker.throughput_per_s
    rows = [
        Row(
            "peer.throughput",
            ratio(mine, theirs.throughput_per_s),
            f"{mine or 0:.2f} vs {theirs.throughput_per_s or 0:.2f} mails/s; Celery's {beside}",
            doubt,
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


_CELERY_NOTES = {
    "after-send": "a pool process SIGKILLs itself after its mail was accepted (failpoint)",
    "mid-scan": "a pool process SIGKILLed halfway through the load (Celery replaces it)",
}


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
        chaos = crash.WorkerKill(sends)
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
        peer = _script("celery_peer.py")
        sink = Child(
            "SMTP sink",
            mqlab_argv(
                "sink", "--port", str(smtp_port), "--ledger", str(work / "ledger.db"), "--quiet"
            ),
            work / "sink.log",
        )
        worker = Child("celery worker", [sys.executable, peer, "worker"], work / "worker.log", env)
        app = Child(
            "celery app",
            [sys.executable, peer, "serve", str(app_port)],
            work / "app.log",
            {k: v for k, v in env.items() if k != failpoint.ENV},
        )
        children = [sink, worker, app]
        try:
            for c in children:
                c.start()
            sink.wait_ready(lambda: tcp_open(HOST, smtp_port))
            app.wait_ready(lambda: http_ok(f"http://{HOST}:{app_port}/health"))
            wait_for_consumers(AmqpSettings(url=url, queue=queue), 1, [worker], timeout=30)
            _wait_pool(worker.pid, load.workers)
            pool = set(_pool(worker.pid))

            def before_send(i: int) -> None:
                if kill == "mid-scan" and i == load.requests // 2:
                    _kill_pool_process(worker.pid)

            requests = loadgen.signups(load.requests, uuid.uuid4().hex[:8])
            result = loadgen.run_load(
                f"http://{HOST}:{app_port}/signup",
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
            for c in children:
                c.stop()
            delete_run_objects(
                AmqpSettings(url=url, queue=queue, exchange=queue)
            )  # Celery's exchange is named after its queue
    return PeerRun(metrics.summarize(result.samples, arrivals), killed)


def _pool(pid: int) -> list[int]:
    """The prefork pool: the child processes of the Celery worker."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(entry))
    return sorted(out)


def _wait_pool(pid: int, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while len(_pool(pid)) < count:
        if time.monotonic() > deadline:
            raise ChildFailed(f"the Celery pool did not reach {count} processes")
        time.sleep(0.05)


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


def _broker_start(notes: list[str]) -> Row:
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
