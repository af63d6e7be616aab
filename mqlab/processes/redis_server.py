"""`PrivateRedis`: a redis-server mqlab starts, owns, and may SIGKILL and start again.

Why a module of its own: the crash-test lesson kills the broker, and a Redis someone else
runs (the system's, on 6379) must never be touched. A private one has its own port (a free
one, never 6379), its own folder for its data and log, and no config file: the system's
/etc/redis/redis.conf is not read; everything is on the command line, including the
durability the lesson compares (`DURABILITIES`, explained in `EXPLAIN`).

What the durability settings do, read from Redis's source (src/aof.c, flushAppendOnlyFile,
and beforeSleep in src/server.c), as of the 7.0 this was measured on:

- none: no AOF, no RDB snapshot. The data lives in memory only: a restart, even a clean
  one, starts with an empty Redis. Every job still in the stream is gone.
- everysec: each write is appended to the AOF with write() before Redis answers the client;
  a background thread fsyncs the file once a second. A SIGKILLed redis-server loses nothing
  it had written: the kernel holds the file's pages and writes them out. A crash of the
  machine (power, kernel) loses what was not fsynced yet: up to the last second or two.
  One exception: while a previous fsync is still running (a slow, busy disk), Redis
  postpones its write() for up to 2 s, and answers all the same; a SIGKILL then loses
  those writes too.
- always: the AOF is written and fsynced before the answers go out: a 202 means the job
  is on the disk, even across a power cut; every write waits for the disk.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from mqlab.errors import NoBroker
from mqlab.processes.procs import free_ports, wait_for

HOST = "127.0.0.1"
STANDARD_PORT = 6379  # the system's Redis: never ours
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
SEARCH = ("/usr/bin", "/usr/sbin", "/usr/local/bin")

DURABILITIES: tuple[str, ...] = ("none", "everysec", "always")
EXPLAIN: dict[str, str] = {
    "none": "no AOF, no snapshot: Redis keeps jobs in memory only; a restart forgets them all",
    "everysec": "AOF written before each answer, fsynced once a second: a killed Redis loses "
    "nothing it wrote, a power cut up to the last second or two",
    "always": "AOF fsynced before each answer: a 202 means on disk, even across a power cut",
}
PERSISTENCE: dict[str, list[str]] = {
    "none": ["--appendonly", "no"],
    "everysec": ["--appendonly", "yes", "--appendfsync", "everysec"],
    "always": ["--appendonly", "yes", "--appendfsync", "always"],
}

_RUNNING: set[PrivateRedis] = set()  # servers to stop when this interpreter exits


def find_redis_server() -> str:
    """The redis-server binary, or NoBroker saying how to install it."""
    found = shutil.which("redis-server")
    if found is None:
        found = next(
            (str(Path(d) / "redis-server") for d in SEARCH if (Path(d) / "redis-server").is_file()),
            None,
        )
    if found is None:
        raise NoBroker(
            "cannot start a private Redis: redis-server is not installed "
            "(nor on PATH, nor in /usr/bin, /usr/sbin); apt-get install redis-server"
        )
    return found


class PrivateRedis:
    """A redis-server of mqlab's own on 127.0.0.1:`port`, its data in `workdir`/redis-<port>.

    Started in a session of its own; `kill()` SIGKILLs it (a crash), `restart()` starts it
    again on the same port with the same data, `stop()` asks it to go (SIGTERM) first. A
    context manager: entering starts it (if it is not running), leaving stops it. A server
    still running when the interpreter exits is stopped then."""

    def __init__(self, workdir: Path, durability: str, port: int | None = None) -> None:
        if durability not in DURABILITIES:
            raise ValueError(f"durability {durability!r}: one of {', '.join(DURABILITIES)}")
        if port == STANDARD_PORT:
            raise ValueError(f"port {STANDARD_PORT} is the system's Redis: never a private one")
        self.durability = durability
        self.port = port if port is not None else free_ports(1, HOST)[0]
        self.data_dir = Path(workdir).expanduser().resolve() / f"redis-{self.port}"
        self.server = find_redis_server()
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s: float | None = None  # how long the last start took, until it answered

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def argv(self) -> list[str]:
        """The command line: every setting here, no config file read."""
        return [
            self.server,
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--dir",
            str(self.data_dir),
            "--logfile",
            str(self.log_file),
            "--daemonize",
            "no",
            "--save",
            "",  # no RDB snapshots, whatever the durability: the AOF is the lesson's
            *PERSISTENCE[self.durability],
        ]

    # -- lifecycle

    def start(self) -> PrivateRedis:
        """Start redis-server (unless it runs) and wait until it answers, with its data
        loaded; NoBroker with the tail of its log if it does not within START_TIMEOUT_S."""
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        out = (self.data_dir / "redis.out").open("ab")
        try:
            self.proc = subprocess.Popen(
                self.argv(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            out.close()
        _RUNNING.add(self)
        if not wait_for(self._answers, START_TIMEOUT_S, 0.02):
            self.kill()
            raise NoBroker(self._failure(f"did not answer within {START_TIMEOUT_S:g} s"))
        self.startup_s = time.monotonic() - began
        return self

    def kill(self) -> None:
        """SIGKILL: no goodbye, no last fsync; exactly what a crash looks like. Returns once
        the process is gone (its port closed)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        _RUNNING.discard(self)

    def restart(self) -> PrivateRedis:
        """Start again on the same port with the same data (stopped first if it runs)."""
        self.stop()
        return self.start()

    def stop(self) -> None:
        """SIGTERM (Redis flushes and fsyncs its AOF, and exits), then SIGKILL if it does
        not go within STOP_TIMEOUT_S."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL below
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        self.kill()

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what it says

    def log_tail(self, lines: int = 12) -> str:
        parts = []
        for path in (self.data_dir / "redis.out", self.log_file):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace")
                last = [line for line in text.splitlines() if line.strip()][-lines:]
                if last:
                    parts += [f"  == {path}", *(f"  {line}" for line in last)]
        return "\n".join(parts) or "  (redis-server wrote no log)"

    def _answers(self) -> bool:
        """It answers a command that needs its data (not LOADING); NoBroker if it exited."""
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise NoBroker(self._failure(f"exited (code {code}) before it answered"))
        client = redis.Redis(
            host=HOST,
            port=self.port,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            client.exists("mqlab")
            return True
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            return False
        finally:
            client.close()

    def _failure(self, what: str) -> str:
        return (
            f"private redis-server on {HOST}:{self.port} ({self.durability}, data in "
            f"{self.data_dir}) {what}; the tail of its log:\n{self.log_tail()}"
        )


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.kill()
