"""`PrivateNode`: a RabbitMQ node mqlab starts, owns, and may kill, freeze or alarm.

Why a module of its own: the crash-test lesson needs a broker that may be killed with
SIGKILL and started again, and the reliability tests need one that hangs or blocks
publishers. A broker someone else runs must never be touched, so all of that is done
only to a node of this class: a `rabbitmq-server` mqlab started itself, with its own
node name, ports, data dir and Erlang cookie. The operating-system details it relies
on (finding the server, its environment, its processes) are in `launch`.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from mqlab.processes import proctable
from mqlab.processes.procs import free_ports, tcp_open, wait_for
from mqlab.processes.rabbit.ctl import ctl as rabbitmqctl
from mqlab.processes.rabbit.launch import (
    PRELOAD_ENV_VAR,
    SPAWN_SCRIPT,
    epmd_names,
    find_rabbitmq_server,
    group_members,
    launch_script,
    node_environment,
    prepare_data_dir,
    tail,
    with_descendants,
)
from mqlab.processes.rabbit.probe import GET_A_BROKER, BrokerUnavailable, probe_url
from mqlab.processes.rabbit.urls import LOCALHOST


class _NodeExited(Exception):
    """The node's processes are gone before it answered."""


_ATTACHED: dict[int, PrivateNode] = {}  # nodes to stop when this interpreter exits
FREEZE_TIMEOUT_S = 5.0  # until every thread of a node sent SIGSTOP shows stopped


@dataclass
class PrivateNode:
    """A RabbitMQ node that mqlab starts, owns, and may kill.

    Own node name (mqlab-<port>@localhost), own AMQP port and distribution port
    (free ports on 127.0.0.1), own data dir (a temp dir unless given) holding the
    mnesia/message store, the logs, an empty plugin list, the Erlang cookie (HOME
    points there) and an optional rabbitmq.conf. /etc/rabbitmq/rabbitmq-env.conf,
    rabbitmq.conf and conf.d are NOT read, so the node cannot collide with the
    system broker. Settings go through RABBITMQ_* environment variables (port and
    address via RABBITMQ_NODE_PORT / RABBITMQ_NODE_IP_ADDRESS, which makes a config
    file unnecessary and saves the cuttlefish config step at boot).

    The node runs as the user running mqlab (root included: the packaged `su
    rabbitmq` wrapper is bypassed, see `launch.launch_script`). It lives in its own
    session and process group; `kill()` SIGKILLs that group, and also the helper
    processes (erl_child_setup and its ports) that Erlang puts in sessions of their
    own. A node that is not `detached` is stopped when the interpreter exits
    normally; if Python itself is SIGKILLed, the node keeps running (find it by
    the data dir in `ps`).

    Construct with `PrivateNode.create()`. Also a context manager: entering starts
    the node, leaving stops it and deletes the data dir if it was a temp dir.
    """

    data_dir: Path
    port: int
    dist_port: int
    nodename: str
    server: str
    owns_data_dir: bool = False
    detached: bool = False
    pgid: int | None = None
    pid: int | None = None
    version: str | None = None
    startup_seconds: float | None = None
    preload: bool = True  # batch-load the broker's code at boot (see launch.PRELOAD_EVAL)
    schedulers: int | None = None  # Erlang scheduler threads (+S); None: one per core

    @classmethod
    def create(
        cls, data_dir: Path | None = None, port: int | None = None, schedulers: int | None = None
    ) -> PrivateNode:
        """A node (not started yet) on `port` (default: a free one) using `data_dir`.

        Without `data_dir` a temp dir is created, and `cleanup()` deletes it. The
        node name is derived from the port, so the same data dir and port give the
        same node, with its durable queues, again later.
        """
        server = find_rabbitmq_server()
        if server is None:
            raise BrokerUnavailable(
                "cannot start a private RabbitMQ node: rabbitmq-server is not installed "
                f"(nor on PATH, nor in /usr/sbin or /usr/lib/rabbitmq/bin); {GET_A_BROKER}"
            )
        owns = data_dir is None
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="mqlab-rabbitmq-"))
        directory = data_dir.expanduser().resolve()
        amqp_port, dist_port = free_ports(2, LOCALHOST)
        if port is not None:
            amqp_port = port
            if dist_port == port:
                dist_port = free_ports(2, LOCALHOST)[1]
        return cls(
            data_dir=directory,
            port=amqp_port,
            dist_port=dist_port,
            nodename=f"mqlab-{amqp_port}@localhost",
            server=server,
            owns_data_dir=owns,
            preload=os.environ.get(PRELOAD_ENV_VAR, "1") != "0",
            schedulers=schedulers,
        )

    # -- properties

    @property
    def url(self) -> str:
        """amqp://guest:guest@127.0.0.1:<port>/%2F (guest may log in from localhost only)."""
        return f"amqp://guest:guest@{LOCALHOST}:{self.port}/%2F"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "log" / f"{self.nodename}.log"

    @property
    def out_file(self) -> Path:
        """stdout and stderr of rabbitmq-server (early boot messages, crashes)."""
        return self.data_dir / "log" / "node.out"

    @property
    def running(self) -> bool:
        """True while processes of this node exist (it may still be booting)."""
        return bool(self._members())

    # -- process bookkeeping

    def _members(self) -> list[int]:
        """Live (non-zombie) processes of this node's process group."""
        return [] if self.pgid is None else group_members(self.pgid, self.nodename)

    def _family(self) -> list[int]:
        """Group members plus their descendants (Erlang's port helpers setsid())."""
        return with_descendants(self._members())

    def _gone(self) -> bool:
        if self._members() or tcp_open(LOCALHOST, self.port, 0.2):
            return False
        names = epmd_names()
        return names is None or self.nodename.split("@")[0] not in names

    def _wait_gone(self, timeout: float) -> None:
        if not wait_for(self._gone, timeout):
            raise TimeoutError(
                f"private RabbitMQ node {self.nodename}: port {self.port} still open "
                f"{timeout:g} s after the node was killed"
            )

    def _forget(self) -> None:
        self.pgid = None
        self.pid = None
        _ATTACHED.pop(id(self), None)

    # -- files

    def _environment(self) -> dict[str, str]:
        return node_environment(
            self.data_dir, self.nodename, self.port, self.dist_port, self.schedulers, self.preload
        )

    @property
    def logs(self) -> tuple[Path, Path]:
        """Its console output and its log file."""
        return self.out_file, self.log_file

    def log_tail(self, lines: int = 12) -> str:
        """The last lines of the node's console output and of its log file."""
        parts = []
        for path in self.logs:
            last = tail(path, lines)
            if last:
                parts.append(f"  == {path}")
                parts.extend(f"  {line}" for line in last)
        return "\n".join(parts) if parts else "  (the node wrote no log)"

    def failure(self, what: str) -> BrokerUnavailable:
        """BrokerUnavailable: this node `what`, with where it is and the tail of its log."""
        return BrokerUnavailable(
            f"private RabbitMQ node {self.nodename} (127.0.0.1:{self.port}, data in "
            f"{self.data_dir}) {what}; the tail of its log:\n{self.log_tail()}"
        )

    # -- lifecycle

    def start(self, timeout: float = 30.0) -> None:
        """Start rabbitmq-server and wait until it answers AMQP on `self.port`.

        Raises BrokerUnavailable (with the tail of the node's log) if the port is
        taken, the node exits, or it does not answer within `timeout` seconds (it
        is then killed). Does nothing if the node is already running.
        """
        if self.running:
            return
        t0 = time.monotonic()
        if tcp_open(LOCALHOST, self.port):
            raise BrokerUnavailable(
                f"cannot start a private RabbitMQ node on 127.0.0.1:{self.port}: "
                "the port is already in use (choose another port)"
            )
        names = epmd_names()
        if names is not None and self.nodename.split("@")[0] in names:
            raise BrokerUnavailable(
                f"cannot start a private RabbitMQ node: a node named {self.nodename} "
                "is already registered with epmd"
            )
        prepare_data_dir(self.data_dir)
        try:
            self._launch()
            self._wait_ready(t0, timeout)
        except _NodeExited:
            if not self.preload:
                raise self.failure("exited while starting") from None
            # The preload is an optimisation; never let it be the reason for no broker.
            self.preload = False
            self._launch()
            try:
                self._wait_ready(t0, timeout)
            except _NodeExited:
                raise self.failure("exited while starting") from None

    def _launch(self) -> None:
        spawner = subprocess.Popen(
            [
                "/bin/sh",
                "-c",
                SPAWN_SCRIPT,
                "mqlab-spawn",
                launch_script(self.server),
                str(self.out_file),
            ],
            env=self._environment(),
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        out, _ = spawner.communicate(timeout=15)
        self.pgid = spawner.pid
        try:
            self.pid = int(out.split()[0])
        except (IndexError, ValueError):
            self.pid = None
        if not self.detached:
            _ATTACHED[id(self)] = self

    def wait_ready(self, timeout: float = 30.0) -> str:
        """Wait until the (already started) node answers AMQP; return its version."""
        try:
            self._wait_ready(time.monotonic(), timeout)
        except _NodeExited:
            raise self.failure("exited while starting") from None
        return self.version or "unknown"

    def _wait_ready(self, t0: float, timeout: float) -> None:
        deadline = t0 + timeout
        for tick in itertools.count():
            # Reading /proc holds the GIL for milliseconds: a crash test's load generator
            # shares this process, so look for an exited node every 0.5 s, not every poll.
            if tick % 10 == 0 and not self.running:
                self._forget()
                raise _NodeExited
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise self.failure(f"did not answer AMQP within {timeout:g} s (killed it)")
            if tcp_open(LOCALHOST, self.port, 0.2):
                version, _ = probe_url(self.url, min(2.0, max(remaining, 0.2)))
                if version is not None:
                    self.version = version
                    self.startup_seconds = time.monotonic() - t0
                    return
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the whole node (the real beam.smp dies) and wait until its port is closed.

        This is the crash of the crash-test lesson: no graceful shutdown, whatever
        was not on disk is lost. Messages that were confirmed to a publisher (which
        for persistent messages in a durable queue means: written and fsynced) are
        still there after `restart()`.
        """
        if self.pgid is None:
            return
        family = self._family()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGKILL)
        for pid in family:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        try:
            self._wait_gone(10.0)
        finally:
            self._forget()

    def stop(self, timeout: float = 15.0) -> None:
        """Graceful stop: SIGTERM to the group, SIGKILL whatever is left after `timeout`."""
        if self.pgid is None:
            return
        if self._members():
            for pid in self._family():  # a frozen node would not see its SIGTERM
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGCONT)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, signal.SIGTERM)
            wait_for(lambda: not self._members(), timeout)
        self.kill()

    def restart(self, timeout: float = 30.0) -> None:
        """Start again on the same port, node name and data dir (stops it first if running).

        Durable queues and the persistent messages in them survive, also after `kill()`.
        """
        if self.running:
            self.stop()
        self.start(timeout)

    # -- faults that are not a crash (tests and demos: only ever on this node of ours)

    def freeze(self) -> None:
        """SIGSTOP the node: a broker that hangs instead of dying. Its port still accepts TCP
        connections (the kernel does), but nothing answers: no handshake, no confirm, no
        heartbeat. Only this node's own processes are stopped; `thaw()` resumes them.
        Returns once every thread of them is stopped: a signal only asks, and on a busy
        machine a thread still running could answer what was sent just after."""
        family = self._signal_family(signal.SIGSTOP)
        if proctable.available() and not wait_for(
            lambda: all(proctable.stopped(pid) for pid in family), FREEZE_TIMEOUT_S, 0.01
        ):
            raise self.failure(f"was sent SIGSTOP but did not stop within {FREEZE_TIMEOUT_S:g} s")

    def thaw(self) -> None:
        """SIGCONT what `freeze()` stopped."""
        self._signal_family(signal.SIGCONT)

    def _signal_family(self, sig: signal.Signals) -> list[int]:
        family = self._family()
        if not family:
            raise BrokerUnavailable(f"private RabbitMQ node {self.nodename} is not running")
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return family

    def memory_alarm(self, on: bool) -> None:
        """Raise (or clear) a memory alarm: the node blocks every publishing connection
        (AMQP `connection.blocked`) until it is cleared. Done with this node's own rabbitmqctl
        (its env and cookie), setting the high watermark to 0 (alarm) or back to 0.4."""
        self.ctl("set_vm_memory_high_watermark", "0" if on else "0.4")

    def ctl(self, *args: str, timeout: float = 30.0) -> str:
        """Run this node's rabbitmqctl (never the system broker's) and return its output."""
        if self.pgid is None:
            raise BrokerUnavailable(f"private RabbitMQ node {self.nodename} is not running")
        return rabbitmqctl(self, *args, timeout=timeout)

    def cleanup(self) -> None:
        """Stop the node if it runs and delete the data dir if it is our temp dir."""
        if self.pgid is not None:
            self.stop()
        _ATTACHED.pop(id(self), None)
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> PrivateNode:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


@atexit.register
def _stop_attached_nodes() -> None:
    for node in list(_ATTACHED.values()):
        with contextlib.suppress(Exception):
            node.stop(timeout=5.0)
            if node.owns_data_dir:
                shutil.rmtree(node.data_dir, ignore_errors=True)
