"""The processes of one run: SMTP sink, app, broker workers, each a real child on 127.0.0.1.

`Lab` starts them on free ports, tells the runner what it needs (the signup
URL, the backlog), kills and restarts them for crash tests, and stops them.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from mqlab.amqp.settings import AmqpSettings, close_quietly, parameters, retry_queue
from mqlab.errors import ChildFailed
from mqlab.job.mail import SmtpTarget
from mqlab.job.scan import ScanKind, ScanSettings
from mqlab.processes.commandline import serve_argv, sink_argv, worker_argv
from mqlab.processes.config import Mode, RunConfig, ServeConfig, WorkerConfig
from mqlab.processes.procs import Child, free_ports, http_ok, stop_all, wait_for
from mqlab.processes.sink import SinkConfig

HOST = "127.0.0.1"


class Lab:
    def __init__(self, config: RunConfig, workdir: Path, amqp: AmqpSettings | None) -> None:
        self.config = config
        self.workdir = workdir
        self.amqp = amqp
        self.ledger = workdir / "ledger.db"
        self.smtp_port, self.app_port = free_ports(2)
        self.sink: Child | None = None
        self.app: Child | None = None
        self.workers: list[Child] = []
        self._depths = watch_for(amqp) if amqp is not None else None
        self.worker_env: dict[int, dict[str, str]] = {}  # crash tests arm failpoints here
        self._spawned = 0

    @property
    def signup_url(self) -> str:
        return f"http://{HOST}:{self.app_port}/signup"

    def start(self) -> None:
        """Every child at once (each starts on its own: the app and the workers reach the
        sink only per job), then until each is ready; ready means every worker consumes:
        load sent earlier would only measure the workers' start-up."""
        if self.config.mode is Mode.broker:
            for i in range(self.config.workload.workers):
                self.start_worker(self.worker_env.get(i))
        self.sink = Child("SMTP sink", self.sink_argv(), self.workdir / "sink.log").start()
        self.app = self._spawn_app()
        self.sink.wait_listening(self.smtp_port)
        self.app.wait_listening(self.app_port, self._app_ready)
        if self.workers:
            self.wait_consuming(len(self.workers))

    def wait_consuming(self, count: int, timeout: float | None = None) -> None:
        """Until `count` consumers are on the run's queue (a worker that exits fails at once).
        Each worker needs ~0.3 s of CPU to start: the default timeout grows with `count`."""
        assert self.amqp is not None
        timeout = timeout if timeout is not None else max(20.0, 0.5 * count)
        wait_for_consumers(self.amqp, count, self.workers, timeout)

    def start_app(self) -> None:
        self.app = self._spawn_app()
        self.app.wait_listening(self.app_port, self._app_ready)

    def _spawn_app(self) -> Child:
        return Child("app", self.app_argv(), self.workdir / "app.log").start()

    def _app_ready(self) -> bool:
        return http_ok(f"http://{HOST}:{self.app_port}/health")

    def start_worker(self, env: dict[str, str] | None = None) -> Child:
        self._spawned += 1
        log = self.workdir / f"worker-{self._spawned}.log"
        worker = Child(f"worker {self._spawned}", self.worker_argv(), log, env).start()
        self.workers.append(worker)
        return worker

    # The children's command lines: the same `mqlab sink|serve|worker` a person types, each
    # with --quiet (a line per mail or job would cost the measured machine CPU).

    def sink_argv(self) -> list[str]:
        w = self.config.workload
        config = SinkConfig(
            host=HOST,
            port=self.smtp_port,
            ledger=self.ledger,
            delay_ms=w.smtp_ms,
            fail_rate=w.smtp_fail_rate,
            fail_kind="permanent" if w.smtp_fail_kind == "permanent" else "transient",
            seed=w.seed,
        )
        return sink_argv(config)

    def app_argv(self) -> list[str]:
        """Only the options the mode takes: `mqlab serve` refuses the others."""
        w = self.config.workload
        config = ServeConfig(
            mode=self.config.mode,
            host=HOST,
            port=self.app_port,
            server_threads=w.server_threads,
            workers=w.workers,
            scan=self._scan(),
            smtp=SmtpTarget(HOST, self.smtp_port),
            amqp=self._amqp(),
        )
        return serve_argv(config)

    def worker_argv(self) -> list[str]:
        config = WorkerConfig(
            scan=self._scan(), smtp=SmtpTarget(HOST, self.smtp_port), amqp=self._amqp()
        )
        idempotent = self.config.safety.idempotent
        return worker_argv(config, self.workdir / "processed.db" if idempotent else None)

    def kill_app(self) -> None:
        """SIGKILL the app: whatever it held only in memory is gone."""
        assert self.app is not None
        self.app.kill()

    def restart_app(self) -> None:
        """A new app process on the same port, as a supervisor would start it."""
        self.start_app()

    def _scan(self) -> ScanSettings:
        """The run's scan; each child's jitter has a seed of its own."""
        w = self.config.workload
        kind: ScanKind = "cpu" if w.scan_kind == "cpu" else "sleep"
        return ScanSettings(w.scan_ms, w.scan_jitter_ms, kind, w.seed + self._spawned)

    def _amqp(self) -> AmqpSettings:
        """The run's queue with the run's safeties and worker settings (no broker: unused)."""
        if self.amqp is None:
            return AmqpSettings()
        s, w = self.config.safety, self.config.workload
        return replace(
            self.amqp,
            confirm=s.confirm,
            durable=s.durable,
            auto_ack=s.auto_ack,
            prefetch=self.config.prefetch,
            max_retries=w.max_retries,
            retry_delay_ms=w.retry_delay_ms,
        )

    @property
    def has_queue(self) -> bool:
        """sync keeps no queue anywhere: the work happens inside the request."""
        return self.config.mode is not Mode.sync

    def backlog(self) -> int | None:
        """Jobs waiting: the thread pool's queue, or RabbitMQ's queue depth (with the jobs
        waiting out a retry backoff). None: no queue (sync), or it could not be measured."""
        if self.config.mode is Mode.thread:
            try:
                url = f"http://{HOST}:{self.app_port}/stats"
                with urllib.request.urlopen(url, timeout=2) as r:
                    value = json.loads(r.read()).get("backlog")
                    return int(value) if value is not None else None
            except (OSError, ValueError, http.client.HTTPException):
                return None  # gone, or killed halfway through its answer (IncompleteRead)
        if self.amqp is not None:
            assert self._depths is not None
            return self._depths.backlog()
        return None

    def workers_ready(self) -> bool:
        return all(w.alive for w in self.workers)

    def close(self) -> None:
        if self._depths is not None:
            self._depths.close()
        # The app and the workers wind down together; the sink last, so that a mail a
        # worker is still sending lands.
        stop_all([c for c in [self.app, *self.workers] if c is not None])
        if self.sink is not None:
            self.sink.stop()


def wait_for_consumers(
    amqp: AmqpSettings, count: int, children: list[Child], timeout: float
) -> None:
    """Until `count` consumers are on `amqp.queue`; a child that exits fails at once.
    A broker that does not answer for a moment (a node just restarted) is asked again."""
    watch = watch_for(amqp)
    try:
        if wait_for(
            lambda: all(c.check_alive() for c in children) and (watch.consumers() or 0) >= count,
            timeout,
            0.02,
        ):
            return
        last = children[-1].log_tail() if children else ""
        raise ChildFailed(f"no {count} consumers on {amqp.queue} within {timeout:.0f} s: {last}")
    finally:
        watch.close()


class Watch(Protocol):
    """A run's queue, read by the lab: jobs not yet done, and workers consuming now."""

    def backlog(self) -> int | None: ...

    def consumers(self) -> int | None: ...

    def close(self) -> None: ...


def watch_for(amqp: AmqpSettings) -> Watch:
    """The queue watch of the run's broker (each reads its own broker's counters)."""
    if amqp.broker == "redis":
        from mqlab.redis_streams import Watch as RedisWatch

        return RedisWatch(amqp)
    if amqp.broker == "nats":
        from mqlab.jetstream import Watch as NatsWatch

        return NatsWatch(amqp)
    return QueueWatch(amqp)


class QueueWatch:
    """Reads a run's queue depths over one long-lived connection (thread-safe).

    Opening an AMQP connection ten times a second would load the broker being measured.
    After a broker restart the next call connects again.
    """

    RETRY_AFTER_S = 0.5  # while the broker is down, do not try to connect ten times a second

    def __init__(self, amqp: AmqpSettings) -> None:
        self.amqp = amqp
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._retry_at = 0.0

    def backlog(self) -> int | None:
        with self._lock:
            if self._connection is None and time.monotonic() < self._retry_at:
                return None  # unknown: the broker did not answer a moment ago
            try:
                return self._backlog()
            except (pika.exceptions.AMQPError, OSError):
                self._drop()
                self._retry_at = time.monotonic() + self.RETRY_AFTER_S
                return None

    def consumers(self) -> int | None:
        """Consumers on the work queue; None if it is not declared yet or unreadable."""
        with self._lock:
            try:
                ok = self._declare_passive(self.amqp.queue)
                return None if ok is None else int(ok.method.consumer_count)  # None: not yet
            except (pika.exceptions.AMQPError, OSError):
                self._drop()
                return None

    def _backlog(self) -> int | None:
        total = 0
        for queue in (self.amqp.queue, retry_queue(self.amqp.queue)):
            ok = self._declare_passive(queue)
            if ok is None:
                return None  # not declared yet
            total += int(ok.method.message_count)
        return total

    def _declare_passive(self, queue: str) -> Any | None:
        """queue.declare-ok of `queue`, or None if it does not exist. One channel is kept
        open: opening one per look costs the broker a few Erlang processes each time."""
        if self._connection is None or not self._connection.is_open:
            self._connection = pika.BlockingConnection(parameters(self.amqp))
            self._channel = None
        if self._channel is None or not self._channel.is_open:
            self._channel = self._connection.channel()
        try:
            return self._channel.queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker:
            self._channel = None  # a 404 closes the channel: the next look opens another
            return None

    def _drop(self) -> None:
        if self._connection is not None:
            close_quietly(self._connection)
        self._connection = None
        self._channel = None

    def close(self) -> None:
        with self._lock:
            self._drop()
