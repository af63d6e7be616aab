"""The crash test's faults, each a `runner.Chaos` that acts on a thread of its own: kill the
app, let a worker die at its worst moment, restart a private RabbitMQ node. The node faults
of a cluster are in `nodekill`."""

from __future__ import annotations

import threading
import time
from typing import Any

from mqlab import failpoint
from mqlab.amqp.queues import declared_check, own_queues
from mqlab.amqp.settings import AmqpSettings
from mqlab.errors import MqlabError
from mqlab.measure.lab import Lab
from mqlab.processes.brokers import Restartable
from mqlab.processes.procs import wait_for


class ChaosThread:
    """A `runner.Chaos` that runs one fault on its own thread once `at` requests have been
    sent, then recovers."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.events: list[dict[str, Any]] = []
        self.note = ""
        self._go = threading.Event()
        self._ready = threading.Event()  # what it needs before the load is found
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.lab: Lab | None = None

    def start(self, lab: Lab) -> None:
        self.lab = lab
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)
        self._thread.start()

    def ready(self, timeout: float) -> None:
        """Wait, at most `timeout` seconds, until the fault has what it needs to fire at its
        point of the load (`prepare`), so that a slow preparation does not move the fault
        later; a fault that needs nothing is ready at once."""
        self._ready.wait(timeout)

    def prepare(self) -> None:
        """What the fault finds out before the load starts; it sets `note` if it cannot."""

    def on_send(self, index: int) -> None:
        if index == self.at:
            self._go.set()

    def finish(self, timeout: float) -> None:
        self._cancel.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _event(self, kind: str, target: str) -> None:
        self.events.append({"t": time.time(), "kind": kind, "target": target})

    def _run(self) -> None:
        try:
            self.prepare()
        finally:
            self._ready.set()
        if not self.note:
            self._main()

    def _main(self) -> None:
        while not self._go.wait(0.02):
            if self._cancel.is_set():
                self.note = "the fault never fired"
                return
        assert self.lab is not None
        try:
            self.act(self.lab)
        except MqlabError as e:
            self.note = f"recovery failed: {e}"

    def act(self, lab: Lab) -> None:
        raise NotImplementedError


class AppKill(ChaosThread):
    def act(self, lab: Lab) -> None:
        lab.kill_app()
        self._event("kill", "app")
        lab.restart_app()
        self._event("restart", "app")
        self.note = "app SIGKILLed mid-load, then restarted"


class WorkerKill(ChaosThread):
    """Worker 1 dies by a failpoint after its k-th accepted mail, before the ack."""

    def __init__(self, sends_before_kill: int) -> None:
        super().__init__(at=-1)
        self.sends = sends_before_kill

    def start(self, lab: Lab) -> None:
        lab.worker_env[0] = {failpoint.ENV: f"after-send:{self.sends}"}
        super().start(lab)

    def _main(self) -> None:
        assert self.lab is not None
        victim = None
        while not self._cancel.is_set():
            if self.lab.workers:
                victim = self.lab.workers[0]
                if victim.proc is not None and not victim.alive:
                    break
            time.sleep(0.01)
        else:
            self.note = "the worker was never killed (too few jobs reached it)"
            return
        self._event("kill", "worker")
        try:
            self.lab.start_worker()
        except MqlabError as e:
            self.note = f"the replacement worker did not start: {e}"
            return
        self._event("restart", "worker")
        self.note = (
            f"worker SIGKILLed after its mail #{self.sends} was accepted, before "
            "its ack; a replacement started"
        )

    def finish(self, timeout: float) -> None:
        # The load is sent, but the victim may reach its k-th mail only now: wait for the
        # kill and the replacement, unless the queue ran dry first (then it never comes).
        deadline = time.monotonic() + timeout
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.05)
            idle = self.lab is not None and not self.events and self.lab.backlog() == 0
            if idle or time.monotonic() > deadline:
                break
        super().finish(timeout=10)


# RabbitMQ 3.10 (Ra 2.2.0) keeps its registry of quorum queues and of the stream coordinator in
# a dets table saved once it was left alone for 0.5 s (auto_save; later Ra syncs at once,
# rabbitmq/ra#443). A node SIGKILLed sooner after a declare restarts without them: the quorum
# queue is there, empty; the stream answers "home node ... is down or inaccessible" for good.
# A kill 0.6 s after a stream's declare lost it in 4 of 4 tries, 0.7-1.5 s after in none of 12.
# The lesson's crash is of a broker in service, so a fault on a RabbitMQ node lets what the run
# declared grow older than that, before the load (bench/README.md, "A kill within half a
# second of a declare").
RA_SAVED_S = 1.5
DECLARED_TIMEOUT_S = 30.0  # until the app and the workers declared the run's queues


def wait_saved(amqp: AmqpSettings | None, cancel: threading.Event) -> str:
    """Wait until the run's queues exist on its RabbitMQ broker and are RA_SAVED_S old; a
    broker of another kind needs nothing. Returns why it could not, or ""."""
    if amqp is None or amqp.broker != "rabbitmq":
        return ""
    names = own_queues(amqp)
    with declared_check(amqp) as declared:
        ready = wait_for(lambda: cancel.is_set() or declared(names), DECLARED_TIMEOUT_S)
    if not ready:
        return f"the fault never fired: the run's queues were not declared ({', '.join(names)})"
    if cancel.is_set() or cancel.wait(RA_SAVED_S):
        return "the fault never fired: the run ended before it was ready"
    return ""


class BrokerRestart(ChaosThread):
    """SIGKILL a broker of mqlab's own (a private RabbitMQ node, Redis or NATS server) and
    start it again on the same port and data."""

    def __init__(self, at: int, node: Restartable, what: str = "RabbitMQ node") -> None:
        super().__init__(at)
        self.node = node
        self.what = what

    def prepare(self) -> None:
        assert self.lab is not None
        self.note = wait_saved(self.lab.amqp, self._cancel)

    def act(self, lab: Lab) -> None:
        self.node.kill()
        self._event("kill", "broker")
        try:
            self.node.restart()
        except MqlabError as e:  # rabbit.BrokerUnavailable, NoBroker: a row that says so
            self.note = f"the broker did not come back: {e}"
            return
        self._event("restart", "broker")
        self.note = f"private {self.what} SIGKILLed mid-load, then restarted"
