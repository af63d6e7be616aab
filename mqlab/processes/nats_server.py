"""`PrivateNats`: a NATS server with JetStream that mqlab starts, owns, and may kill.

Why: the crash-test lesson on NATS needs a server that may be SIGKILLed and started again
with its data, and a server someone else runs (the system's, on 4222) must never be
touched. So mqlab only ever kills or restarts a `nats-server` it started itself, on a free
port of its own, with its own config file and JetStream store in its own directory.

The durability settings of the lesson (DURABILITIES), as the server's configuration:

- `memory`: JetStream gets no disk store at all (`max_file_store: 0`), so streams live in
  the server's memory (the app and workers must use `--transient`, storage=memory: a file
  stream is refused); a restart loses every job.
- `file`: streams on disk (storage=file). nats-server 2.9 writes each message to its block
  file (the operating system's page cache) before it acknowledges it, and fsyncs every 2
  minutes (server/stream.go and filestore.go of v2.9.10: `AsyncFlush = false`,
  `SyncInterval = 2 * time.Minute`): a SIGKILLed server loses nothing it acknowledged,
  a power cut may lose the last two minutes.

There is no third, "sync on every write" setting: the `sync_interval` option (`always`)
came with nats-server 2.10, and the 2.9.10 of Debian refuses it ("unknown field").
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
from pathlib import Path
from types import TracebackType

from mqlab.errors import BadInput, NoBroker
from mqlab.processes.procs import Child, free_ports, wait_for

HOST = "127.0.0.1"
STANDARD_PORT = 4222  # the system's server, if any: never ours
DURABILITIES: tuple[str, ...] = ("memory", "file")
EXPLAIN: dict[str, str] = {
    "memory": "streams in memory only (no disk store): a server restart loses every job",
    "file": "streams on disk, written before each ack, fsynced every 2 min: a kill loses none",
}
INSTALL_HINT = "install it: apt-get install nats-server"
START_TIMEOUT_S = 10.0

_RUNNING: dict[int, PrivateNats] = {}  # servers to stop when this interpreter exits


def find_nats_server() -> str | None:
    """The nats-server binary: on PATH, else where Debian puts it."""
    found = shutil.which("nats-server")
    if found:
        return found
    for folder in ("/usr/bin", "/usr/sbin"):
        candidate = Path(folder) / "nats-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


class PrivateNats:
    """A nats-server of mqlab's own, on `port` (default: a free one), its files in `workdir`
    (created if missing, never deleted here): nats.conf, nats.log, jetstream/."""

    def __init__(self, workdir: Path, durability: str, port: int | None = None) -> None:
        if durability not in DURABILITIES:
            raise BadInput(f"no such NATS durability {durability!r}: one of {DURABILITIES}")
        if port == STANDARD_PORT:
            raise BadInput(f"port {STANDARD_PORT} is the standard NATS port: never mqlab's own")
        self.workdir = workdir.expanduser().resolve()
        self.durability = durability
        self.port = free_ports(1, HOST)[0] if port is None else port
        self._child: Child | None = None

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    @property
    def store_dir(self) -> Path:
        return self.workdir / "jetstream"

    @property
    def log_path(self) -> Path:
        return self.workdir / "nats.log"

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.alive

    @property
    def pid(self) -> int | None:
        return self._child.pid if self.running and self._child is not None else None

    def start(self) -> PrivateNats:
        """Start the server and wait until it answers with JetStream on (recovered from
        its store, after a restart); NoBroker with the end of its log if it does not
        within START_TIMEOUT_S. Does nothing if it runs already."""
        if self.running:
            return self
        server = find_nats_server()
        if server is None:
            raise NoBroker(
                f"cannot start a private NATS server: nats-server not found; {INSTALL_HINT}"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "nats.conf"
        config.write_text(self._config())
        self._child = Child(f"nats-server {self.port}", [server, "-c", str(config)], self.log_path)
        self._child.start()
        _RUNNING[id(self)] = self
        if not wait_for(lambda: self._exited() or self._answers(), START_TIMEOUT_S, 0.02) or (
            self._exited()
        ):
            self.kill()
            raise NoBroker(
                f"private NATS server on {HOST}:{self.port} (files in {self.workdir}) did not "
                f"start within {START_TIMEOUT_S:g} s: {self._child.log_tail()}"
            )
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash: no flush, no goodbye. Returns once the process is gone."""
        if self._child is not None:
            self._child.kill()
        _RUNNING.pop(id(self), None)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the server closes its stores), then SIGKILL after `timeout` s."""
        if self._child is not None:
            self._child.stop(timeout)
        _RUNNING.pop(id(self), None)

    def restart(self) -> PrivateNats:
        """The same port and store again (stopped first, if it runs), answering."""
        if self.running:
            self.stop()
        return self.start()

    def __enter__(self) -> PrivateNats:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _config(self) -> str:
        jetstream = [f'store_dir: "{self.store_dir}"']
        if self.durability == "memory":
            jetstream.append("max_file_store: 0  # no disk store: memory streams only")
        lines = [
            f"# mqlab's private NATS server ({self.durability}: {EXPLAIN[self.durability]})",
            f'server_name: "mqlab-{self.port}"',
            f'listen: "{HOST}:{self.port}"',
            "jetstream {",
            *(f"    {line}" for line in jetstream),
            "}",
        ]
        return "\n".join(lines) + "\n"

    def _exited(self) -> bool:
        return self._child is None or not self._child.alive

    def _answers(self) -> bool:
        """The server's greeting (INFO) says JetStream is on: its streams are recovered."""
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as sock:
                sock.settimeout(0.5)
                greeting = sock.recv(4096)
        except OSError:
            return False
        return greeting.startswith(b"INFO ") and b'"jetstream":true' in greeting


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING.values()):
        with contextlib.suppress(Exception):
            server.kill()
