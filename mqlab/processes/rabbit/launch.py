"""How a private RabbitMQ node is found, configured and spawned, and how its processes are found.

Why a module of its own: these are the operating-system facts behind `node.PrivateNode`
(where rabbitmq-server is installed, the Debian `su` wrapper, the environment that keeps
the node away from /etc/rabbitmq, the code preload that halves its boot, the /proc and
epmd look-ups that tell which processes are the node's). `PrivateNode` keeps the
lifecycle (start, kill, freeze, restart); this module keeps the details it relies on.
POSIX only: process groups, signals, /proc where available.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from mqlab.processes import proctable
from mqlab.processes.rabbit.urls import LOCALHOST

SERVER_ENV_VAR = "MQLAB_RABBITMQ_SERVER"  # path of rabbitmq-server, overrides the search
EPMD_PORT = 4369

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
SPAWN_SCRIPT = '"$1" </dev/null >>"$2" 2>&1 &\necho "$!"'

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
PRELOAD_EVAL = (
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


# ------------------------------------------------------------ the server itself


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


def launch_script(server: str) -> str:
    """The script to execute for `server`, skipping the Debian/RPM `su` wrapper."""
    try:
        head = Path(server).read_bytes()[:8192]
    except OSError:
        return server
    if b"su rabbitmq" in head and os.access(_PACKAGED_SCRIPT, os.X_OK):
        return str(_PACKAGED_SCRIPT)
    return server


# --------------------------------------------------------- the node's own files


def prepare_data_dir(d: Path) -> None:
    """The directories and files a node needs in its data dir `d` (an empty plugin list)."""
    for sub in ("log", "mnesia", "conf.d"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    (d / "enabled_plugins").write_text("[].\n")
    (d / "rabbitmq-env.conf").write_text(
        "# mqlab private node: read instead of /etc/rabbitmq/rabbitmq-env.conf.\n"
        "# Settings come from RABBITMQ_* environment variables set by mqlab.\n"
    )


def node_environment(
    d: Path, nodename: str, port: int, dist_port: int, schedulers: int | None, preload: bool
) -> dict[str, str]:
    """The environment of a node with data dir `d`: this process's, minus any RABBITMQ_* and
    ERL_* of the caller, plus settings that point every file of the node into `d`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RABBITMQ_", "ERL_")) and k != "NOTIFY_SOCKET"
    }
    env.update(
        {
            "HOME": str(d),  # the Erlang cookie is created here, not in the user's home
            "RABBITMQ_NODENAME": nodename,
            "RABBITMQ_USE_LONGNAME": "false",
            "RABBITMQ_NODE_IP_ADDRESS": LOCALHOST,
            "RABBITMQ_NODE_PORT": str(port),
            "RABBITMQ_DIST_PORT": str(dist_port),
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
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
    )
    if schedulers:
        env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] += f" +S {schedulers}:{schedulers}"
    if preload:
        env["ERL_AFLAGS"] = f"-eval '{PRELOAD_EVAL}'"
    return env


def tail(path: Path, lines: int) -> list[str]:
    """The last `lines` non-blank lines of a log file (none if it cannot be read)."""
    try:
        text = path.read_bytes().replace(b"\0", b"").decode(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


# ------------------------------------------------------- which processes are it


def epmd_names(timeout: float = 0.5) -> set[str] | None:
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


def group_members(pgid: int, nodename: str) -> list[int]:
    """Live (non-zombie) processes of process group `pgid` that belong to node `nodename`.

    A process counts only if its environment names the node, so a recycled group id
    (a stale state file) never makes a stranger look like our node.
    """
    procs = proctable.table()
    if procs is None:  # no /proc: trust the group id
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    marker = f"RABBITMQ_NODENAME={nodename}".encode()
    return [
        p.pid
        for p in procs.values()
        if p.pgid == pgid and p.live and proctable.has_env(p.pid, marker)
    ]


def with_descendants(members: list[int]) -> list[int]:
    """`members` plus all their live descendants (Erlang's port helpers setsid())."""
    procs = proctable.table()
    if procs is None:
        return members
    live = {pid: p for pid, p in procs.items() if p.live or pid in members}
    return sorted({*members, *proctable.descendants(members, live)})
