"""The processes of one run: SMTP sink, app, broker workers, each a real child on 127.0.0.1.

`Lab` starts them on free ports, tells the runner what it needs (the signup
URL, the backlog), kills and restarts them for crash tests, and stops them.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from mqlab import rabbit
from mqlab.amqp import AmqpSettings
from mqlab.config import Mode, RunConfig
from mqlab.procs import Child, free_port, http_ok, mqlab_argv, tcp_open

HOST = "127.0.0.1"


class Lab:
    def __init__(self, config: RunConfig, workdir: Path, amqp: AmqpSettings | None) -> None:
        self.config = config
        self.workdir = workdir
        self.amqp = amqp
        self.ledger = workdir / "ledger.db"
        self.smtp_port = free_port()
        self.app_port = free_port()
        self.sink: Child | None = None
        self.app: Child | None = None
        self.workers: list[Child] = []
        self.worker_env: dict[int, dict[str, str]] = {}  # crash tests arm failpoints here
        self._spawned = 0

    @property
    def signup_url(self) -> str:
        return f"http://{HOST}:{self.app_port}/signup"

    def start(self) -> None:
        self.start_sink()
        self.start_app()
        if self.config.mode is Mode.broker:
            for i in range(self.config.workload.workers):
                self.start_worker(self.worker_env.get(i))

    def start_sink(self) -> None:
        argv = mqlab_argv("sink", "--port", str(self.smtp_port), "--ledger", str(self.ledger))
        self.sink = Child("SMTP sink", argv, self.workdir / "sink.log").start()
        self.sink.wait_ready(lambda: tcp_open(HOST, self.smtp_port))

    def start_app(self) -> None:
        w = self.config.workload
        argv = mqlab_argv(
            "serve", self.config.mode.value, "--port", str(self.app_port),
            "--server-threads", str(w.server_threads), "--workers", str(w.workers),
            *self._job_args(), *self._amqp_args(),
            *([] if self.amqp is None or self.config.safety.confirm else ["--no-confirm"]),
        )
        self.app = Child("app", argv, self.workdir / "app.log").start()
        self.app.wait_ready(lambda: http_ok(f"http://{HOST}:{self.app_port}/health"))

    def start_worker(self, env: dict[str, str] | None = None) -> Child:
        self._spawned += 1
        argv = mqlab_argv("worker", *self._job_args(), *self._amqp_args(), *self._worker_args())
        log = self.workdir / f"worker-{self._spawned}.log"
        worker = Child(f"worker {self._spawned}", argv, log, env).start()
        self.workers.append(worker)
        return worker

    def _worker_args(self) -> list[str]:
        args = ["--prefetch", str(self.config.prefetch)]
        if self.config.safety.auto_ack:
            args.append("--auto-ack")
        if self.config.safety.idempotent:
            args += ["--idempotent", "--processed-db", str(self.workdir / "processed.db")]
        return args

    def kill_app(self) -> None:
        """SIGKILL the app: whatever it held only in memory is gone."""
        assert self.app is not None
        self.app.kill()

    def restart_app(self) -> None:
        """A new app process on the same port, as a supervisor would start it."""
        self.start_app()

    def _job_args(self) -> list[str]:
        w = self.config.workload
        return [
            "--smtp-host", HOST, "--smtp-port", str(self.smtp_port),
            "--scan-ms", str(w.scan_ms), "--scan-jitter-ms", str(w.scan_jitter_ms),
            "--scan-kind", w.scan_kind, "--seed", str(w.seed + self._spawned),
        ]

    def _amqp_args(self) -> list[str]:
        if self.amqp is None:
            return []
        s = self.config.safety
        args = ["--amqp-url", self.amqp.url, "--exchange", self.amqp.exchange,
                "--queue", self.amqp.queue]
        if not s.durable:
            args.append("--transient")
        return args

    def backlog(self) -> int | None:
        """Jobs waiting: the thread pool's queue, or RabbitMQ's queue depth."""
        if self.config.mode is Mode.thread:
            try:
                url = f"http://{HOST}:{self.app_port}/stats"
                with urllib.request.urlopen(url, timeout=0.5) as r:
                    value = json.loads(r.read()).get("backlog")
                    return int(value) if value is not None else None
            except (OSError, ValueError):
                return None
        if self.amqp is not None:
            return rabbit.queue_depth(self.amqp.url, self.amqp.queue, timeout=0.5)
        return None

    def workers_ready(self) -> bool:
        return all(w.alive for w in self.workers)

    def close(self) -> None:
        for child in [self.app, *self.workers]:
            if child is not None:
                child.stop()
        if self.sink is not None:
            self.sink.stop()
