"""`mqlab broker up | down | status`: one long-lived private node, recorded in a state file.

Why a module of its own: `mqlab broker up` starts a node that outlives the command, so
the node is written to $MQLAB_STATE_DIR/broker.json (default ~/.cache/mqlab) and every
later mqlab process finds it there: `resolve_url` prefers it to the default URL, and
`broker down` stops it and nothing else. A record whose processes are gone, or are not
the node's (checked by node name), counts as no record.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mqlab.processes.rabbit import urls
from mqlab.processes.rabbit.node import PrivateNode
from mqlab.processes.rabbit.probe import probe_url, queue_depths
from mqlab.processes.rabbit.urls import endpoint, mask_url

STATE_ENV_VAR = "MQLAB_STATE_DIR"
STATE_DIR = Path.home() / ".cache" / "mqlab"
BROKER_PORT = 5673


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
    env = os.environ.get(urls.ENV_VAR)
    if env:
        return env
    node = recorded_node()
    if node is not None:
        return node.url
    return urls.DEFAULT_URL  # read at call time: tests point it at a closed port


def state_dir() -> Path:
    """Where `mqlab broker up` keeps its node: $MQLAB_STATE_DIR, else STATE_DIR."""
    env = os.environ.get(STATE_ENV_VAR)
    return Path(env).expanduser() if env else STATE_DIR


def _state_file() -> Path:
    return state_dir() / "broker.json"


@contextlib.contextmanager
def state_lock(name: str = "broker") -> Iterator[None]:
    """One `broker up|down` (or, with "cluster", `cluster up|down`) at a time."""
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def node_record(node: PrivateNode) -> dict[str, Any]:
    """What a state file keeps of a node mqlab started, to find (and stop) it later."""
    return {
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


def node_from_record(state: dict[str, Any]) -> PrivateNode | None:
    """The node a `node_record` describes (detached: this process does not stop it at
    exit), or None if the record is unreadable. Whether it still runs is `node.running`."""
    try:
        return PrivateNode(
            data_dir=Path(state["data_dir"]),
            port=int(state["port"]),
            dist_port=int(state["dist_port"]),
            nodename=str(state["nodename"]),
            server=str(state["server"]),
            detached=True,
            pgid=int(state["pgid"]) if state.get("pgid") is not None else None,
            pid=int(state["pid"]) if state.get("pid") is not None else None,
            version=state.get("version"),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _save_state(node: PrivateNode) -> None:
    state = node_record(node)
    path = _state_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(path)


def _load_state() -> PrivateNode | None:
    try:
        state = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return None
    node = node_from_record(state) if isinstance(state, dict) else None
    return node if node is not None and node.pgid is not None else None


def recorded_node() -> PrivateNode | None:
    """The node in the state file, if its processes are alive (local check only)."""
    node = _load_state()
    return node if node is not None and node.running else None


def recorded_node_at(url: str) -> PrivateNode | None:
    """The node `mqlab broker up` recorded, if it is alive and `url` points at it."""
    node = recorded_node()
    return node if node is not None and endpoint(node.url) == endpoint(url) else None


def broker_up(port: int = BROKER_PORT) -> BrokerHandle:
    """Start mqlab's own long-lived node (or return the one already up).

    If the node recorded in STATE_DIR/broker.json is alive, it is returned (even
    if it listens on another port than `port`). Otherwise a detached private node
    is started on `port` with its data dir at STATE_DIR/broker; it keeps running
    after this process exits, until `broker_down()`. The data dir is kept across
    down/up, so durable queues survive. `resolve_url(None)` then returns its URL.
    """
    with state_lock():
        recorded = recorded_node()
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
    with state_lock():
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
    "started_by_mqlab", "queues": {name: depth or None}, "error": reason or None}.

    The reason (login refused, connection refused, no answer within 2 s, ...) never
    contains the password."""
    target = resolve_url(url)
    version, reason = probe_url(target)
    depths = queue_depths(target, queues) if version is not None else dict.fromkeys(queues)
    return {
        "url": mask_url(target),
        "reachable": version is not None,
        "version": version,
        "started_by_mqlab": recorded_node_at(target) is not None,
        "queues": depths,
        "error": None if version is not None else reason,
    }
