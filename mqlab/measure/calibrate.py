"""`mqlab calibrate`: the floors under every number mqlab prints, measured on this machine.

Why this module exists: "the broker answers in 4 ms" means little until you know
that an HTTP round trip to the same server costs 1 ms and a confirmed publish
0.6 ms here. Calibration times the parts the comparison stands on, each alone,
on real processes:

- http: one POST /signup to the app's own server (mqlab/processes/httpserver.py, the app's settings,
  the app's validation) whose scenario does nothing: the floor of every answer;
- publish: one persistent, mandatory publish with publisher confirms (pika), the
  broker mode's handler minus HTTP: the floor of the broker's answer;
- smtp: one welcome mail built and sent into the SMTP sink (new mail, the same
  `mail.send` the workers call): the floor of each job after its scan;
- schedule: how late the open-loop load generator sends at a given rate against
  that empty server. Above ~2 ms at p99 its response times are not to be trusted.

Floors are timed back to back, or paced (`pace_s`: one call every 1/rate seconds,
as a run at that rate makes them). Pacing matters on small and virtual machines:
here a call after 20 ms of idleness costs two to three times a back-to-back call
(idle CPUs must wake up), so a run at 50/s is compared with floors paced at 50/s.

`quick()` takes under two seconds and is meant to run beside `run`/`compare`;
`measure()` is the full calibration of `mqlab calibrate`. Both return a
`Calibration` (JSON kind "calibration", in `calibration.py`); nothing here prints.

Also here, what decides whether a number may be printed at all: `untrusted()`
(response percentiles that carry the generator's own delay) and `CpuMeter`
(how much CPU other processes took while we measured).

The empty server runs as a child process (`python -m mqlab.calibrate PORT THREADS`)
like the real app does, so the client and the server do not share one GIL.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
import pika.exceptions

from mqlab.amqp.queues import declare, delete_run_objects
from mqlab.amqp.settings import QueueType, parameters, private_settings
from mqlab.job import mail
from mqlab.job.answer import Answer
from mqlab.job.signup import Job
from mqlab.measure import environment, loadgen, metrics
from mqlab.measure.calibration import Calibration as Calibration
from mqlab.measure.calibration import Floor as Floor
from mqlab.measure.calibration import Schedule as Schedule
from mqlab.measure.metrics import untrusted
from mqlab.measure.results import Percentiles
from mqlab.processes import proctable, rabbit
from mqlab.processes.commandline import sink_argv
from mqlab.processes.config import Mode, ServeConfig
from mqlab.processes.procs import Child, free_ports, http_ok, stop_all
from mqlab.processes.sink import SinkConfig

HOST = "127.0.0.1"
FLOORS = ("http", "publish", "smtp")
QUICK_SAMPLES = 20
MAX_QUICK_PACE_S = 0.02  # slower runs get floors paced at 50/s: quick stays under ~2 s
FULL_SAMPLES = 300
WARMUP = 5  # first calls (connecting, first declare) are not floors
SCHEDULE_RATE = 1000.0
SCHEDULE_REQUESTS = 3000


# --- the parts under test ---------------------------------------------------------------------


class EmptySignup:
    """A scenario that does nothing: what is left of a signup is HTTP and validation."""

    mode = "empty"

    def handle(self, job: Job) -> Answer:
        return Answer(202, {"job_id": job.id, "status": "queued"})

    def backlog(self) -> int | None:
        return None

    def close(self) -> None:
        pass


def serve_empty(port: int, server_threads: int) -> None:
    """The child process: the app's server with the empty scenario, until SIGTERM."""
    from mqlab.processes.app import serve

    config = ServeConfig(mode=Mode.sync, host=HOST, port=port, server_threads=server_threads)
    serve(config, EmptySignup())


@dataclass
class Rig:
    """The empty app and an SMTP sink, started side by side as children."""

    workdir: Path
    app_port: int
    smtp_port: int
    children: list[Child]

    @property
    def signup_url(self) -> str:
        return f"http://{HOST}:{self.app_port}/signup"


@contextlib.contextmanager
def rig(server_threads: int = 8, sink: bool = True) -> Iterator[Rig]:
    with tempfile.TemporaryDirectory(prefix="mqlab-calibrate-") as tmp:
        workdir = Path(tmp)
        app_port, smtp_port = free_ports(2)
        r = Rig(workdir, app_port, smtp_port, [])
        try:
            app = Child(
                "empty app",
                [
                    sys.executable,
                    "-m",
                    "mqlab.measure.calibrate",
                    str(r.app_port),
                    str(server_threads),
                ],
                workdir / "app.log",
            ).start()
            r.children.append(app)
            if sink:
                argv = sink_argv(SinkConfig(port=r.smtp_port, ledger=workdir / "ledger.db"))
                smtp = Child("SMTP sink", argv, workdir / "sink.log").start()
                r.children.append(smtp)
                smtp.wait_listening(r.smtp_port)
            app.wait_listening(r.app_port, lambda: http_ok(f"http://{HOST}:{r.app_port}/health"))
            yield r
        finally:
            stop_all(r.children)


# --- the floors -------------------------------------------------------------------------------


def _pacer(pace_s: float) -> Callable[[], None]:
    """Each call sleeps until the next slot of a fixed schedule (nothing if pace_s is 0)."""
    next_at = time.perf_counter()

    def wait() -> None:
        nonlocal next_at
        if pace_s > 0:
            next_at = max(next_at + pace_s, time.perf_counter())
            time.sleep(max(0.0, next_at - time.perf_counter()))

    return wait


def _timed(n: int, call: Callable[[int], None], pace_s: float = 0.0) -> Percentiles:
    """Call `call(i)` WARMUP times, then n times paced; percentiles of those n (ms)."""
    times = []
    wait = _pacer(pace_s)
    for i in range(WARMUP + n):
        if i >= WARMUP:
            wait()
        t0 = time.perf_counter()
        call(i)
        if i >= WARMUP:
            times.append((time.perf_counter() - t0) * 1000)
    return metrics.percentiles(times)


def _every(pace_s: float) -> float | None:
    return round(pace_s * 1000, 3) if pace_s > 0 else None


def http_floor(url: str, n: int, pace_s: float = 0.0) -> Floor:
    """POST a signup (the generator's own bodies, its own client) n times, one after the other."""
    requests = loadgen.signups(WARMUP + n, f"cal{uuid.uuid4().hex[:6]}")
    wait = _pacer(pace_s)

    times = []
    with loadgen.session(url) as post:
        for i, req in enumerate(requests):
            if i >= WARMUP:
                wait()
            t0 = time.perf_counter()
            status = post(req)
            if status != 202:
                raise RuntimeError(f"empty app answered {status}")
            times.append((time.perf_counter() - t0) * 1000)
    return Floor("http", n, metrics.percentiles(times[WARMUP:]), _every(pace_s))


def publish_floor(
    amqp_url: str, n: int, pace_s: float = 0.0, queue_type: QueueType = "classic"
) -> Floor:
    """n persistent, mandatory, confirmed publishes of a signup job, on a queue of our own
    (`queue_type` quorum: confirmed once a majority of the cluster's replicas has it)."""
    # on the shared exchange, others would get copies
    settings = private_settings(amqp_url, queue_type=queue_type)
    body = Job("calibrate", "calibrate@example.test", "Cal", b"x" * 1024).to_bytes()
    props = pika.BasicProperties(delivery_mode=2, content_type="application/json")
    connection = pika.BlockingConnection(parameters(settings))
    try:
        channel = connection.channel()
        declare(channel, settings)
        channel.confirm_delivery()

        def publish(_: int) -> None:
            channel.basic_publish(
                settings.exchange, settings.routing_key, body, props, mandatory=True
            )

        ms = _timed(n, publish, pace_s)
    finally:
        if connection.is_open:
            connection.close()
        delete_run_objects(settings)
    return Floor("publish", n, ms, _every(pace_s))


def smtp_floor(smtp_port: int, n: int, pace_s: float = 0.0) -> Floor:
    """n welcome mails built and sent into the sink, exactly as a worker sends them."""
    target = mail.SmtpTarget(HOST, smtp_port)

    def send(i: int) -> None:
        job = Job(f"calibrate-{i}", f"cal{i}@example.test", "Cal")
        mail.send(mail.welcome_message(job), target)

    return Floor("smtp", n, _timed(n, send, pace_s), _every(pace_s))


def schedule(url: str, rate: float, requests: int) -> Schedule:
    """Open-loop load at `rate` against `url`: how late did the generator send?"""
    signups = loadgen.signups(requests, f"cal{uuid.uuid4().hex[:6]}")
    with CpuMeter() as cpu:
        load = loadgen.run_load(url, signups, rate)
    sent = [s.sent for s in load.samples if s.sent is not None]
    late = [(s.sent - s.intended) * 1000 for s in load.samples if s.sent is not None]
    answered = [s.response_ms for s in load.samples if s.response_ms is not None and s.accepted]
    failed = sum(1 for s in load.samples if not s.accepted)
    span = max(sent) - min(sent) if len(sent) > 1 else 0.0
    held = (len(sent) - 1) / span if span > 0 else None
    return Schedule(
        rate,
        requests,
        failed,
        held,
        metrics.percentiles(late),
        metrics.percentiles(answered),
        cpu.foreign_cores,
    )


def _broker(amqp_url: str | None, notes: list[str]) -> tuple[str | None, str | None]:
    """(URL, version) of a broker that answers now; never starts one (calibration is quick).

    `amqp_url` "" means the broker mqlab would pick ($MQLAB_AMQP_URL, `broker up`, default)."""
    if amqp_url is None:
        notes.append("publish: not measured (no broker asked for)")
        return None, None
    url = rabbit.resolve_url(amqp_url or None)
    version = rabbit.server_version(url, timeout=1.0)
    if version is None:
        notes.append(f"publish: not measured (no RabbitMQ answers at {rabbit.mask_url(url)})")
        return None, None
    return url, version


def measure(
    amqp_url: str | None,
    samples: int = FULL_SAMPLES,
    rate: float | None = SCHEDULE_RATE,
    requests: int = SCHEDULE_REQUESTS,
    server_threads: int = 8,
    pace_s: float = 0.0,
    queue_type: QueueType = "classic",
) -> Calibration:
    """Every floor with `samples` calls each (paced: one every `pace_s`), then the schedule
    at `rate` (None: skip it). The publish floor goes to a queue of `queue_type`."""
    if samples < 1 or pace_s < 0:
        raise ValueError("samples must be at least 1 and pace_s not negative")
    notes: list[str] = []
    broker, version = _broker(amqp_url, notes)
    with rig(server_threads) as r:
        floors = [
            http_floor(r.signup_url, samples, pace_s),
            *_confirm_floor(broker, samples, pace_s, queue_type, notes),
            smtp_floor(r.smtp_port, samples, pace_s),
        ]
        sched = schedule(r.signup_url, rate, requests) if rate else None
    return Calibration(floors, sched, notes, environment.describe(version))


def _confirm_floor(
    broker: str | None, samples: int, pace_s: float, queue_type: QueueType, notes: list[str]
) -> list[Floor]:
    """The publish floor, or none (no broker, or it failed: a note says so)."""
    if broker is None:
        return []
    try:
        return [publish_floor(broker, samples, pace_s, queue_type)]
    except (pika.exceptions.AMQPError, OSError) as e:
        notes.append(f"publish: not measured ({type(e).__name__})")
        return []


def _quick_pace(rate: float) -> float:
    """One call every 1/rate s, at most MAX_QUICK_PACE_S apart; back to back for rate 0."""
    return min(1 / rate, MAX_QUICK_PACE_S) if rate > 0 else 0.0


def quick(
    amqp_url: str | None,
    rate: float = 0.0,
    samples: int = QUICK_SAMPLES,
    queue_type: QueueType = "classic",
) -> Calibration:
    """The floors in under two seconds, paced like a run at `rate` (0: back to back), to
    print beside that run or comparison; the confirm floor on a queue of `queue_type`."""
    pace = _quick_pace(rate)
    return measure(amqp_url, samples=samples, rate=None, pace_s=pace, queue_type=queue_type)


def confirms(
    amqp_url: str, rate: float = 0.0, samples: int = 100, queue_type: QueueType = "classic"
) -> Calibration:
    """The confirm floor alone, paced like `quick`, on a queue of `queue_type`: what a
    comparison across queue types sets beside each one (the HTTP and SMTP floors are the
    same for both, and measured once, before the runs)."""
    notes: list[str] = []
    broker, version = _broker(amqp_url, notes)
    floors = _confirm_floor(broker, samples, _quick_pace(rate), queue_type, notes)
    return Calibration(floors, None, notes, environment.describe(version))


# --- what a run's own numbers can be trusted for ----------------------------------------------


class CpuMeter:
    """CPU the machine spent between enter and exit, and how much of it was *not* ours.

    Ours: this process and its descendants (children that ended were waited for, so their
    time is in ours too). `foreign_cores` is the rest, in cores: other users of the machine,
    and the broker if it runs here, and the hypervisor's steal, also given on its own
    (`steal_cores`: a virtual machine's cores given to other machines). Linux (/proc) only;
    elsewhere the fields stay None.
    """

    def __init__(self, also: Sequence[int] = ()) -> None:
        self.also = list(also)  # more processes whose CPU is ours (e.g. the local broker)
        self.seconds = 0.0
        self.busy: float | None = None  # share of all cores busy
        self.foreign_cores: float | None = None
        self.steal_cores: float | None = None
        self._t0 = 0.0
        self._start: tuple[tuple[int, int, int], dict[int, int]] | None = None

    _machine = staticmethod(proctable.machine_ticks)  # all ticks, idle + iowait, steal

    def _ours(self) -> dict[int, int]:
        """pid -> CPU ticks (own + waited children): this process, `also`, their descendants."""
        procs = proctable.table() or {}
        return {
            pid: procs[pid].cpu_ticks
            for pid in proctable.descendants([os.getpid(), *self.also], procs)
        }

    def __enter__(self) -> CpuMeter:
        machine = self._machine()
        self._t0 = time.monotonic()
        self._start = (machine, self._ours()) if machine else None
        return self

    def __exit__(self, *exc: object) -> None:
        machine = self._machine()
        self.seconds = time.monotonic() - self._t0
        if self._start is None or machine is None or machine[0] <= self._start[0][0]:
            return
        (total0, idle0, steal0), ours0 = self._start
        ours1 = self._ours()
        total, busy = machine[0] - total0, (machine[0] - machine[1]) - (total0 - idle0)
        mine = sum(t - ours0.get(pid, 0) for pid, t in ours1.items())
        cores = os.cpu_count() or 1
        self.busy = busy / total
        self.foreign_cores = max(0.0, (busy - mine) / total * cores)
        self.steal_cores = max(0.0, (machine[2] - steal0) / total * cores)


def lateness_warning(summary: Mapping[str, Any]) -> str | None:
    """One warning line naming the percentiles `untrusted` refuses, or None:
    "the load generator sent up to 12.3 ms late: response p99, response max carry that
    delay and print as `behind schedule`"."""
    doubtful = untrusted(summary)
    if not doubtful:
        return None
    worst = (summary.get("generator_late_ms") or {}).get("max") or 0.0
    names = [key.replace("_ms.", " ") for key in doubtful]  # "response_ms.p50" -> "response p50"
    verbs = ("carries", "prints") if len(names) == 1 else ("carry", "print")
    return (
        f"the load generator sent up to {worst:.1f} ms late: {', '.join(names)} {verbs[0]} "
        f"that delay and {verbs[1]} as `behind schedule`"
    )


if __name__ == "__main__":  # the empty app's child process: PORT THREADS
    serve_empty(int(sys.argv[1]), int(sys.argv[2]))
