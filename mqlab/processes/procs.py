"""Child processes of the lab: started on free ports, waited for, killed for real.

Every wait has a timeout; a child that exits or never becomes ready becomes a
ChildFailed error carrying the end of its log, never a hang.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from mqlab.errors import ChildFailed, PortInUse
from mqlab.processes import proctable

PICK_FROM = 20000  # free ports are picked from here up to the ephemeral range (below: services)
# "LOW-HIGH": pick free ports in [LOW, HIGH) instead. make test gives each of its test processes
# a range of its own: ports picked at once by two processes are free for both, and whichever
# binds second fails ("cannot listen on 127.0.0.1:32287: Address already in use", once).
PORTS_ENV = "MQLAB_PORTS"


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` different ports free right now. Each socket stays bound until all are picked:
    two separate `free_port()` calls may get the same port back from the kernel (a fresh-clone
    test run once started the sink and the app on one port).

    Picked below the kernel's ephemeral range, from which it gives local ports to outgoing
    connections: a port picked there may become the local end of one of the lab's own
    connections (pika, curl, SMTP) before the server binds it. That took a bench's
    capacity row once ("cannot listen on 127.0.0.1:47301: Address already in use")."""
    low, high = pick_range()
    room = high - low >= 100  # else an unusual range: the kernel picks (port 0)

    def pick() -> int:
        return random.randrange(low, high) if room else 0

    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for _ in range(100 * count):
            s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                s.bind((host, pick()))
            except OSError:
                continue  # taken: another
            ports.append(int(s.getsockname()[1]))
            if len(ports) == count:
                return ports
    where = f" in {low}-{high - 1}" if room else ""
    raise PortInUse(f"no {count} free ports on {host}{where}")


def pick_range() -> tuple[int, int]:
    """Where free ports are picked: [low, high), from MQLAB_PORTS ("20000-24000") when it is
    set, else from PICK_FROM up to the kernel's ephemeral range."""
    try:
        low, high = (int(part) for part in os.environ.get(PORTS_ENV, "").split("-"))
    except ValueError:  # not set, or not two numbers
        low = high = 0
    if not 1024 <= low < high <= 65536:
        return PICK_FROM, _ephemeral_low()
    return low, high


def _ephemeral_low() -> int:
    """Where the kernel's range of local ports for outgoing connections begins."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; other systems differ, and have no such file


def check_port_free(host: str, port: int) -> None:
    """Refuse a busy port with one clear line (before the server binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise PortInUse(f"cannot listen on {host}:{port}: {e.strerror}") from None


def tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """A 2xx from `url`. Anything else is "not ready", including a port that answers in
    another protocol (http.client raises BadStatusLine at an SMTP banner)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return 200 <= int(r.status) < 300
    except (urllib.error.URLError, OSError, http.client.HTTPException):
        return False


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Ask `condition` every `interval` s until it holds (True) or `timeout` s passed (False).
    It is asked at least once, and once more after the last sleep; what it raises goes up
    (a child that exited is a failure at once, not a timeout)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def mqlab_argv(*args: str) -> list[str]:
    """How to run an mqlab command as a child: the same CLI a person types."""
    return [sys.executable, "-m", "mqlab", *args]


class Child:
    """One child process, in its own process group, its output in a log file."""

    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )
        finally:
            log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, ready: Callable[[], bool], timeout: float = 20.0) -> None:
        if wait_for(lambda: self.check_alive() and ready(), timeout, 0.02):
            return
        self.kill()
        raise ChildFailed(f"{self.name} was not ready after {timeout:.0f} s: {self.log_tail()}")

    def wait_listening(
        self,
        port: int,
        ready: Callable[[], bool] | None = None,
        timeout: float = 20.0,
        host: str = "127.0.0.1",
    ) -> None:
        """`wait_ready` for a server on `host`: until `listens_on(port)` and `ready()` hold (an
        app: its /health answers). Whose socket it is, is asked only once the port answers:
        reading the kernel's socket table is dear, and asked on every try it took a large share
        of the test processes' CPU (bench/README.md, "The test suite's time")."""
        self.wait_ready(
            lambda: (
                tcp_open(host, port, timeout=1.0)
                and self.listens_on(port)
                and (ready is None or ready())
            ),
            timeout,
        )

    def listens_on(self, port: int) -> bool:
        """True once this child itself listens on `port`: a port that answers may be another
        process's, taken between our check that it was free and the child's bind."""
        return self.proc is not None and proctable.listens_on(self.proc.pid, port)

    def check_alive(self) -> bool:
        """True, or ChildFailed with the end of its log if the child has exited."""
        if not self.alive:
            raise ChildFailed(f"{self.name} exited before it was ready: {self.log_tail()}")
        return True

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye; exactly what a crash looks like."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not go in time."""
        stop_all([self], timeout)

    def terminate(self) -> None:
        """SIGTERM and return: `stop_all` signals several children before it waits."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        tail = [line.strip() for line in text[-lines:] if line.strip()]
        return " | ".join(tail) or "(empty log)"


def stop_all(children: Sequence[Child], timeout: float = 10.0) -> None:
    """SIGTERM every child at once, then wait for each (a shared deadline of `timeout` s);
    SIGKILL those still there. They wind down side by side, not one after another."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        if child.proc is None:
            continue
        try:
            child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
