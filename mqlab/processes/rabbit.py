"""Find a RabbitMQ for the broker mode, or start a private node that mqlab owns.

Why this module exists: the broker mode of the lab needs a real RabbitMQ, and the
crash-test lesson needs one that may be killed with SIGKILL and started again. A
broker someone else runs (the system service, a container) must never be
touched, so mqlab uses such a broker as it is, and only ever kills, restarts or
deletes a *private node*: a `rabbitmq-server` it started itself, with its own
node name, AMQP port, distribution port, data dir and Erlang cookie.

Where the broker comes from (`ensure_broker`):

1. an explicit URL (`--amqp-url`) or `$MQLAB_AMQP_URL` -- used as is, or a
   one-line `BrokerUnavailable` if it does not answer;
2. otherwise the node `mqlab broker up` recorded, if it is alive (see
   `resolve_url`), else `DEFAULT_URL` if something answers there;
3. otherwise, if `rabbitmq-server` is installed, a private node for the
   duration of the `with` block.

Nothing here prints: functions return values or raise, the CLI layer prints.
Process control is POSIX (process groups, signals; /proc where available).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import pika
import pika.exceptions

from mqlab.errors import NoBroker
from mqlab.processes.procs import free_ports, tcp_open

# pika logs every failed connection attempt at ERROR level. Probing for a broker
# is expected to fail sometimes, and without any handler Python's "last resort"
# handler would print those records to stderr. A NullHandler stops that; records
# still propagate to the root logger if the application configures logging.
logging.getLogger("pika").addHandler(logging.NullHandler())

DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"
ENV_VAR = "MQLAB_AMQP_URL"
STATE_ENV_VAR = "MQLAB_STATE_DIR"
SERVER_ENV_VAR = "MQLAB_RABBITMQ_SERVER"  # path of rabbitmq-server, overrides the search
STATE_DIR = Path.home() / ".cache" / "mqlab"
BROKER_PORT = 5673
LOCALHOST = "127.0.0.1"
EPMD_PORT = 4369

_GET_A_BROKER = (
    "start one with `docker compose up -d` (uses the docker-compose.yml in the mqlab "
    "project), install the rabbitmq-server package (mqlab then starts a private node), "
    "or point mqlab at a broker with --amqp-url / MQLAB_AMQP_URL"
)

# Places rabbitmq-server lives when it is not on PATH (/usr/sbin is often not on a
# normal user's PATH): Debian/RPM packages, generic-unix installs, Homebrew.
_SERVER_CANDIDATES = (
    "/usr/sbin/rabbitmq-server",
    "/usr/lib/rabbitmq/bin/rabbitmq-server",
    "/usr/local/sbin/rabbitmq-server",
    "/opt/homebrew/sbin/rabbitmq-server",
    "/usr/local/opt/rabbitmq/sbin/rabbitmq-server",
)
# The Debian/RPM /usr/sbin/rabbitmq-server is a wrapper that, for root, runs the real
# script through `su rabbitmq -c ...`; su -c calls setsid(), which would take the
# Erlang VM out of our process group (kill() could then not reach it) and the
# wrapper also sends the output to /var/log/rabbitmq. We run the real script.
_PACKAGED_SCRIPT = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")

# Start the server in the background of a short-lived shell, print its pid, exit.
# The server is then nobody's child in this Python process (no zombie, no
# "subprocess still running" warning, it outlives us if asked to) but it stays in
# the new session/process group Popen(start_new_session=True) created for the
# shell, so the whole node can be signalled with killpg(pgid).
_SPAWN_SCRIPT = '"$1" </dev/null >>"$2" 2>&1 &\necho "$!"'

# Startup time, measured on 2 cores (RabbitMQ 3.10.8, Erlang 25 JIT), spawn to first
# AMQP answer: 4.0-5.8 s plain (median ~4.1 s fresh data dir, ~4.3 s restart). Where
# it goes: ~0.35 s shell script + VM boot, ~1.5 s prelaunch (env, distribution with
# an extra `erl` run that makes sure epmd runs, feature-flag discovery and registry
# compile), then 2-2.5 s in which RabbitMQ scans every module of every loaded
# application for boot-step/upgrade attributes, loading ~1000 modules one at a time
# (each a JIT compile plus a code barrier across all scheduler threads), ~0.2 s for
# the rest. Loading the same modules in ONE batch with code:ensure_modules_loaded/1
# (parallel compile, one commit) from the very start of the VM shortens both the
# prelaunch and the scan: median ~1.8 s with a fresh data dir, ~1.6 s restart. The batch
# is started by an -eval in ERL_AFLAGS (the only flags erl puts *before* the
# script's `-s rabbit boot`), in a process of its own, so boot does not wait for
# it. It loads code only: no application is loaded or started early (that would
# reset application env RabbitMQ sets while booting). The module list is the
# closure of the `applications` of rabbit's and rabbitmq_prelaunch's .app files.
# rabbit_ff_registry is skipped: RabbitMQ generates that module at runtime and the
# stub on disk must not replace it. Set MQLAB_RABBITMQ_PRELOAD=0 to boot without
# it; a node that exits while starting is retried once without it anyway.
PRELOAD_ENV_VAR = "MQLAB_RABBITMQ_PRELOAD"
_PRELOAD_EVAL = (
    "spawn(fun() -> catch begin "
    'Deps = fun(A) -> case code:where_is_file(atom_to_list(A) ++ ".app") of '
    "non_existing -> []; "
    "F -> case file:consult(F) of "
    "{ok, [{application, _, P}]} -> proplists:get_value(applications, P, []) "
    "++ proplists:get_value(included_applications, P, []); "
    "_ -> [] end end end, "
    "Close = fun C([], Seen) -> Seen; "
    "C([A | T], Seen) -> case lists:member(A, Seen) of "
    "true -> C(T, Seen); false -> C(Deps(A) ++ T, [A | Seen]) end end, "
    'Mods = [list_to_atom(filename:basename(F, ".beam")) '
    "|| A <- Close([rabbit, rabbitmq_prelaunch], []), D <- [code:lib_dir(A)], "
    'is_list(D), F <- filelib:wildcard(D ++ "/ebin/*.beam")], '
    "code:ensure_modules_loaded(Mods -- [rabbit_ff_registry]) end end)"
)


class BrokerUnavailable(NoBroker):
    """No usable RabbitMQ: the message says why, in one line, and how to get one.

    An `errors.NoBroker`: the CLI shows it as one line and exits 3. (A private node
    that fails to start adds the tail of its log after that line.)
    """


# --------------------------------------------------------------------------- URLs


def mask_url(url: str) -> str:
    """`url` with the password replaced by ****, e.g. amqp://guest:****@localhost:5672/%2F.

    URLs without a password come back unchanged. The user info is taken to end at
    the *last* '@' of the URL, so a password with unencoded '@', '/', '?', '#' or
    ':' is still hidden completely (an '@' in the path or query only makes the mask
    hide more than needed, never less).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, hostpart = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    prefix = f"{scheme}://" if sep else ""
    return f"{prefix}{user}:****@{hostpart}"


def resolve_url(url: str | None) -> str:
    """The AMQP URL mqlab should use.

    Precedence: the explicit `url`; else `$MQLAB_AMQP_URL`; else the URL of the node
    `mqlab broker up` recorded in the state file, *if that node's processes are
    alive*; else `DEFAULT_URL`. The recorded node wins over the default on purpose:
    `mqlab broker up` is an explicit request ("use this node until `broker down`"),
    and it is the node the crash-test demo may kill, which a system broker at the
    default port must never be. The check is local (state file + process table),
    it opens no connection, so this function is fast and never blocks.
    """
    if url:
        return url
    env = os.environ.get(ENV_VAR)
    if env:
        return env
    node = _recorded_node()
    if node is not None:
        return node.url
    return DEFAULT_URL


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"amqp://{url}")
    host = parts.hostname or "localhost"
    if host in ("localhost", "::1"):
        host = LOCALHOST
    try:
        port = parts.port or 5672
    except ValueError:
        port = 5672
    return host, port


# ------------------------------------------------------------------ connections


def _parameters(url: str, timeout: float) -> Any:
    params = pika.URLParameters(url)
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    params.retry_delay = 0.1
    return params


def _describe(exc: BaseException, timeout: float) -> str:
    """A short reason for a failed connection (pika's own text is long and nested)."""
    text = f"{type(exc).__name__} {exc!r}"
    if "Authentication" in text:
        return "login refused (wrong user or password?)"
    if "AccessDenied" in text or "ACCESS_REFUSED" in text:
        return "access refused (virtual host or permissions)"
    if "Refused" in text or "refused" in text:
        return "connection refused"
    if "gaierror" in text or "Name or service" in text or "resolve" in text:
        return "cannot resolve the host name"
    if "Timeout" in text or "timed out" in text or "timeout" in text:
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ValueError):
        return "not a valid AMQP URL"
    if "IncompatibleProtocol" in text or "StreamLost" in text:
        return "something answers there, but it does not speak AMQP 0-9-1"
    return type(exc).__name__


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        if conn.is_open:
            conn.close()


def _probe(url: str, timeout: float = 2.0) -> tuple[str | None, str]:
    """(server version, "") if a RabbitMQ answers at `url`, else (None, reason)."""
    try:
        conn = pika.BlockingConnection(_parameters(url, timeout))
    except Exception as exc:  # any failure means: nothing usable answers there
        return None, _describe(exc, timeout)
    try:
        props = getattr(conn._impl, "server_properties", None) or {}
        raw = props.get("version", b"")
        version = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        return (version or "unknown"), ""
    finally:
        _close(conn)


def server_version(url: str, timeout: float = 2.0) -> str | None:
    """The RabbitMQ version answering at `url` (e.g. "3.10.8"), or None.

    One blocking connection with socket, blocked-connection and stack timeouts of
    `timeout` and a single attempt, so it returns within about `timeout` seconds.
    None covers everything that is not a usable broker: nothing listening, no
    answer, not AMQP, refused login, a malformed URL.
    """
    return _probe(url, timeout)[0]


def queue_depth(url: str, queue: str, timeout: float = 2.0) -> int | None:
    """Messages ready in `queue` (passive declare), or None.

    None if the queue does not exist or the broker does not answer. A passive
    declare never creates the queue.
    """
    return queue_depths(url, [queue], timeout)[queue]


def queue_depths(url: str, queues: list[str], timeout: float = 2.0) -> dict[str, int | None]:
    """`queue_depth` for several queues over one connection.

    A failed passive declare (404) closes its channel, so every queue gets a
    channel of its own.
    """
    depths: dict[str, int | None] = dict.fromkeys(queues)
    try:
        conn = pika.BlockingConnection(_parameters(url, timeout))
    except Exception:  # the broker does not answer: all unknown
        return depths
    try:
        for name in queues:
            if not name:
                continue
            try:
                channel = conn.channel()
                ok = channel.queue_declare(queue=name, passive=True)
                depths[name] = int(ok.method.message_count)
                _close(channel)
            except pika.exceptions.ChannelClosedByBroker:
                continue  # 404 NOT_FOUND (or 403): no such queue for us
            except Exception:  # connection lost: the rest stay None
                break
    finally:
        _close(conn)
    return depths


# ----------------------------------------------------------------- local helpers


def _epmd_names(timeout: float = 0.5) -> set[str] | None:
    """Node names registered with the local epmd, or None if epmd does not answer."""
    try:
        with socket.create_connection((LOCALHOST, EPMD_PORT), timeout=timeout) as s:
            s.sendall(b"\x00\x01n")  # NAMES_REQ
            data = b""
            while chunk := s.recv(4096):
                data += chunk
    except OSError:
        return None
    lines = data[4:].decode(errors="replace").splitlines()
    return {line.split()[1] for line in lines if line.startswith("name ") and len(line.split()) > 1}


def _proc_table() -> dict[int, tuple[int, int, str]] | None:
    """{pid: (ppid, pgid, state)} from /proc, or None where there is no /proc."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    table: dict[int, tuple[int, int, str]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3:
            table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def _has_env(pid: int, marker: bytes) -> bool:
    try:
        return marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def find_rabbitmq_server() -> str | None:
    """Path of `rabbitmq-server`, or None if it is not installed.

    `$MQLAB_RABBITMQ_SERVER` if set, else PATH, else the usual install locations
    (/usr/sbin is often not on a non-root user's PATH).
    """
    explicit = os.environ.get(SERVER_ENV_VAR)
    candidates = [explicit] if explicit else []
    found = shutil.which("rabbitmq-server")
    if found:
        candidates.append(found)
    candidates.extend(_SERVER_CANDIDATES)
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _launch_script(server: str) -> str:
    """The script to execute for `server`, skipping the Debian/RPM `su` wrapper."""
    try:
        head = Path(server).read_bytes()[:8192]
    except OSError:
        return server
    if b"su rabbitmq" in head and os.access(_PACKAGED_SCRIPT, os.X_OK):
        return str(_PACKAGED_SCRIPT)
    return server


def _tail(path: Path, lines: int) -> list[str]:
    try:
        text = path.read_bytes().replace(b"\0", b"").decode(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


# ------------------------------------------------------------------ private node


class _NodeExited(Exception):
    """The node's processes are gone before it answered."""


_ATTACHED: dict[int, PrivateNode] = {}  # nodes to stop when this interpreter exits


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
    rabbitmq` wrapper is bypassed, see `_launch_script`). It lives in its own
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
    preload: bool = True  # batch-load the broker's code at boot (see _PRELOAD_EVAL)
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
                f"(nor on PATH, nor in /usr/sbin or /usr/lib/rabbitmq/bin); {_GET_A_BROKER}"
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
        if self.pgid is None:
            return []
        table = _proc_table()
        if table is None:  # no /proc: trust the group id
            try:
                os.killpg(self.pgid, 0)
            except (ProcessLookupError, PermissionError):
                return []
            return [self.pgid]
        marker = f"RABBITMQ_NODENAME={self.nodename}".encode()
        return [
            pid
            for pid, (_, pgid, state) in table.items()
            if pgid == self.pgid and state not in ("Z", "X") and _has_env(pid, marker)
        ]

    def _family(self) -> list[int]:
        """Group members plus their descendants (Erlang's port helpers setsid())."""
        members = self._members()
        table = _proc_table()
        if table is None:
            return members
        family, todo = set(members), list(members)
        while todo:
            parent = todo.pop()
            for pid, (ppid, _, state) in table.items():
                if ppid == parent and pid not in family and state not in ("Z", "X"):
                    family.add(pid)
                    todo.append(pid)
        return sorted(family)

    def _gone(self) -> bool:
        if self._members() or tcp_open(LOCALHOST, self.port, 0.2):
            return False
        names = _epmd_names()
        return names is None or self.nodename.split("@")[0] not in names

    def _wait_gone(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._gone():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"private RabbitMQ node {self.nodename}: port {self.port} still open "
                    f"{timeout:g} s after the node was killed"
                )
            time.sleep(0.05)

    def _forget(self) -> None:
        self.pgid = None
        self.pid = None
        _ATTACHED.pop(id(self), None)

    # -- files

    def _prepare(self) -> None:
        for sub in ("log", "mnesia", "conf.d"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        (self.data_dir / "enabled_plugins").write_text("[].\n")
        (self.data_dir / "rabbitmq-env.conf").write_text(
            "# mqlab private node: read instead of /etc/rabbitmq/rabbitmq-env.conf.\n"
            "# Settings come from RABBITMQ_* environment variables set by mqlab.\n"
        )

    def _environment(self) -> dict[str, str]:
        d = self.data_dir
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RABBITMQ_", "ERL_")) and k != "NOTIFY_SOCKET"
        }
        env.update(
            {
                "HOME": str(d),  # the Erlang cookie is created here, not in the user's home
                "RABBITMQ_NODENAME": self.nodename,
                "RABBITMQ_USE_LONGNAME": "false",
                "RABBITMQ_NODE_IP_ADDRESS": LOCALHOST,
                "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_CONF_ENV_FILE": str(d / "rabbitmq-env.conf"),
                "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),  # optional, not created
                "RABBITMQ_CONFIG_FILES": str(d / "conf.d"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
                "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
                "RABBITMQ_LOG_BASE": str(d / "log"),
                "RABBITMQ_PID_FILE": str(d / "rabbitmq.pid"),
                "RABBITMQ_MOTD_FILE": str(d / "motd"),
                "ERL_EPMD_ADDRESS": LOCALHOST,
                # the distribution port listens on loopback only
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                    "-kernel inet_dist_use_interface {127,0,0,1}"
                ),
            }
        )
        if self.schedulers:
            env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] += f" +S {self.schedulers}:{self.schedulers}"
        if self.preload:
            env["ERL_AFLAGS"] = f"-eval '{_PRELOAD_EVAL}'"
        return env

    def log_tail(self, lines: int = 12) -> str:
        """The last lines of the node's console output and of its log file."""
        parts = []
        for path in (self.out_file, self.log_file):
            tail = _tail(path, lines)
            if tail:
                parts.append(f"  == {path}")
                parts.extend(f"  {line}" for line in tail)
        return "\n".join(parts) if parts else "  (the node wrote no log)"

    def _failure(self, what: str) -> BrokerUnavailable:
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
        names = _epmd_names()
        if names is not None and self.nodename.split("@")[0] in names:
            raise BrokerUnavailable(
                f"cannot start a private RabbitMQ node: a node named {self.nodename} "
                "is already registered with epmd"
            )
        self._prepare()
        try:
            self._launch()
            self._wait_ready(t0, timeout)
        except _NodeExited:
            if not self.preload:
                raise self._failure("exited while starting") from None
            # The preload is an optimisation; never let it be the reason for no broker.
            self.preload = False
            self._launch()
            try:
                self._wait_ready(t0, timeout)
            except _NodeExited:
                raise self._failure("exited while starting") from None

    def _launch(self) -> None:
        spawner = subprocess.Popen(
            [
                "/bin/sh",
                "-c",
                _SPAWN_SCRIPT,
                "mqlab-spawn",
                _launch_script(self.server),
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
            raise self._failure("exited while starting") from None
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
                raise self._failure(f"did not answer AMQP within {timeout:g} s (killed it)")
            if tcp_open(LOCALHOST, self.port, 0.2):
                version, _ = _probe(self.url, min(2.0, max(remaining, 0.2)))
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
            deadline = time.monotonic() + timeout
            while self._members() and time.monotonic() < deadline:
                time.sleep(0.05)
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
        heartbeat. Only this node's own processes are stopped; `thaw()` resumes them."""
        self._signal_family(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT what `freeze()` stopped."""
        self._signal_family(signal.SIGCONT)

    def _signal_family(self, sig: signal.Signals) -> None:
        family = self._family()
        if not family:
            raise BrokerUnavailable(f"private RabbitMQ node {self.nodename} is not running")
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def memory_alarm(self, on: bool) -> None:
        """Raise (or clear) a memory alarm: the node blocks every publishing connection
        (AMQP `connection.blocked`) until it is cleared. Done with this node's own rabbitmqctl
        (its env and cookie), setting the high watermark to 0 (alarm) or back to 0.4."""
        self.ctl("set_vm_memory_high_watermark", "0" if on else "0.4")

    def ctl(self, *args: str, timeout: float = 30.0) -> str:
        """Run this node's rabbitmqctl (never the system broker's) and return its output."""
        if self.pgid is None:
            raise BrokerUnavailable(f"private RabbitMQ node {self.nodename} is not running")
        ctl = Path(_launch_script(self.server)).with_name("rabbitmqctl")
        done = subprocess.run(
            [str(ctl), "-n", self.nodename, *args],
            env=self._environment(),
            cwd=self.data_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        output = (done.stdout + done.stderr).decode(errors="replace")
        if done.returncode != 0:
            raise BrokerUnavailable(
                f"rabbitmqctl {' '.join(args)} on {self.nodename} failed: {output.strip()}"
            )
        return output

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


# ---------------------------------------------------------------- ensure_broker


@dataclass
class BrokerHandle:
    """The broker a run uses.

    `started_by_mqlab` is True for a private node (of this `ensure_broker` or the
    one `mqlab broker up` recorded); `node` is then set and may be killed and
    restarted. For any other broker it is False and `node` is None.
    """

    url: str
    started_by_mqlab: bool
    version: str
    node: PrivateNode | None = None


def _unavailable(url: str, reason: str, hint: str = _GET_A_BROKER) -> BrokerUnavailable:
    return BrokerUnavailable(f"no RabbitMQ at {mask_url(url)} ({reason}); {hint}")


@contextlib.contextmanager
def ensure_broker(url: str | None = None, *, allow_private: bool = True) -> Iterator[BrokerHandle]:
    """Yield a RabbitMQ that answers, starting a private node only when allowed.

    `resolve_url(url)` first: if it answers, it is used and never touched
    (`started_by_mqlab` False, unless it is the node `mqlab broker up` recorded).
    Otherwise, if the URL was not given explicitly (no `url`, no $MQLAB_AMQP_URL),
    `allow_private` is set and rabbitmq-server is installed, a private node is
    started for the `with` block and stopped and deleted at its end. Otherwise
    BrokerUnavailable, one line, naming the URL with its password masked.
    """
    explicit = bool(url) or bool(os.environ.get(ENV_VAR))
    target = resolve_url(url)
    version, reason = _probe(target)
    if version is not None:
        recorded = _recorded_node()
        ours = recorded is not None and _endpoint(recorded.url) == _endpoint(target)
        yield BrokerHandle(target, ours, version, recorded if ours else None)
        return
    if explicit:
        raise _unavailable(target, reason)
    if not allow_private:
        raise _unavailable(target, reason)
    if find_rabbitmq_server() is None:
        raise _unavailable(target, f"{reason}; rabbitmq-server is not installed either")
    node = PrivateNode.create()
    try:
        node.start()
        yield BrokerHandle(node.url, True, node.version or "unknown", node)
    finally:
        node.cleanup()


# ----------------------------------------------------- persisted node (broker up)


def state_dir() -> Path:
    """Where `mqlab broker up` keeps its node: $MQLAB_STATE_DIR, else STATE_DIR."""
    env = os.environ.get(STATE_ENV_VAR)
    return Path(env).expanduser() if env else STATE_DIR


def _state_file() -> Path:
    return state_dir() / "broker.json"


@contextlib.contextmanager
def _state_lock() -> Iterator[None]:
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "broker.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _save_state(node: PrivateNode) -> None:
    state = {
        "url": node.url,
        "port": node.port,
        "dist_port": node.dist_port,
        "nodename": node.nodename,
        "data_dir": str(node.data_dir),
        "server": node.server,
        "pid": node.pid,
        "pgid": node.pgid,
        "version": node.version,
        "started_at": time.time(),
    }
    path = _state_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(path)


def _load_state() -> PrivateNode | None:
    try:
        state = json.loads(_state_file().read_text())
        return PrivateNode(
            data_dir=Path(state["data_dir"]),
            port=int(state["port"]),
            dist_port=int(state["dist_port"]),
            nodename=str(state["nodename"]),
            server=str(state["server"]),
            detached=True,
            pgid=int(state["pgid"]),
            pid=int(state["pid"]) if state.get("pid") is not None else None,
            version=state.get("version"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _recorded_node() -> PrivateNode | None:
    """The node in the state file, if its processes are alive (local check only)."""
    node = _load_state()
    return node if node is not None and node.running else None


def broker_up(port: int = BROKER_PORT) -> BrokerHandle:
    """Start mqlab's own long-lived node (or return the one already up).

    If the node recorded in STATE_DIR/broker.json is alive, it is returned (even
    if it listens on another port than `port`). Otherwise a detached private node
    is started on `port` with its data dir at STATE_DIR/broker; it keeps running
    after this process exits, until `broker_down()`. The data dir is kept across
    down/up, so durable queues survive. `resolve_url(None)` then returns its URL.
    """
    with _state_lock():
        recorded = _recorded_node()
        if recorded is not None:
            version = recorded.wait_ready(30.0)
            return BrokerHandle(recorded.url, True, version, recorded)
        node = PrivateNode.create(data_dir=state_dir() / "broker", port=port)
        node.detached = True
        node.start()
        _save_state(node)
        return BrokerHandle(node.url, True, node.version or "unknown", node)


def broker_down(timeout: float = 15.0) -> bool:
    """Stop the node `broker_up` recorded; True if a running node was stopped.

    Only that node is ever signalled (its process group, checked to carry its node
    name), never another broker. A stale state file is removed and gives False.
    """
    with _state_lock():
        node = _load_state()
        if node is None:
            _state_file().unlink(missing_ok=True)
            return False
        stopped = False
        if node.running:
            node.stop(timeout)
            stopped = True
        _state_file().unlink(missing_ok=True)
        return stopped


def broker_status(url: str | None, queues: list[str]) -> dict[str, Any]:
    """What mqlab would use: {"url" (masked), "reachable", "version",
    "started_by_mqlab", "queues": {name: depth or None}, "error": reason or None}."""
    target = resolve_url(url)
    version, reason = _probe(target)
    recorded = _recorded_node()
    ours = recorded is not None and _endpoint(recorded.url) == _endpoint(target)
    depths = queue_depths(target, queues) if version is not None else dict.fromkeys(queues)
    return {
        "url": mask_url(target),
        "reachable": version is not None,
        "version": version,
        "started_by_mqlab": ours,
        "queues": depths,
        "error": None if version is not None else reason,
    }
