"""`mqlab cluster up | down | status`: one long-lived `Cluster`, recorded in a state file.

Why a module of its own: like `mqlab broker up` (`state`), `mqlab cluster up` starts nodes
that outlive the command, so they are written to $MQLAB_STATE_DIR/cluster.json (default
~/.cache/mqlab) with their data in $MQLAB_STATE_DIR/cluster; later mqlab processes find the
cluster there (`--cluster`), and `cluster down` stops those nodes and nothing else (each
checked by its node name) and deletes their data: the next `cluster up` is a new cluster.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from mqlab.processes.rabbit.cluster import NODE_TIMEOUT_S, Cluster, in_parallel
from mqlab.processes.rabbit.node import PrivateNode
from mqlab.processes.rabbit.probe import BrokerUnavailable, probe_url
from mqlab.processes.rabbit.state import node_from_record, node_record, state_dir, state_lock
from mqlab.processes.rabbit.urls import endpoint, split_urls


def _state_file() -> Path:
    return state_dir() / "cluster.json"


def _save(cluster: Cluster) -> None:
    state = {
        "directory": str(cluster.directory),
        "boot_seconds": cluster.boot_seconds,
        "nodes": [node_record(node) for node in cluster.nodes],
    }
    path = _state_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(path)


def _load() -> Cluster | None:
    try:
        state = json.loads(_state_file().read_text())
        nodes = [node_from_record(record) for record in state["nodes"]]
        directory = Path(state["directory"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not nodes or any(node is None for node in nodes):
        return None
    return Cluster(
        nodes=[n for n in nodes if n is not None],
        directory=directory,
        boot_seconds=state.get("boot_seconds"),
    )


def recorded_cluster() -> Cluster | None:
    """The cluster `cluster_up` recorded, if any of its nodes' processes are alive (a local
    check: the state file and the process table)."""
    cluster = _load()
    return cluster if cluster is not None and any(n.running for n in cluster.nodes) else None


def recorded_cluster_at(url: str) -> Cluster | None:
    """The cluster `cluster_up` recorded, if it is alive and every URL of `url` is one of its
    nodes."""
    cluster = recorded_cluster()
    if cluster is None:
        return None
    ours = {endpoint(node.url) for node in cluster.nodes}
    return cluster if {endpoint(u) for u in split_urls(url)} <= ours else None


def cluster_up() -> Cluster:
    """Start mqlab's own long-lived cluster (or return the one already up).

    Recorded and every node alive: returned as it is. Some nodes alive: the others are
    started again from their data (they rejoin). None alive: a new cluster, in
    $MQLAB_STATE_DIR/cluster, kept running after this process exits, until
    `cluster_down()`."""
    with state_lock("cluster"):
        cluster = recorded_cluster()
        if cluster is not None:
            dead = [n for n in cluster.nodes if not n.running]
            lost = [n.nodename for n in dead if not (n.data_dir / "mnesia" / n.nodename).is_dir()]
            if lost:  # started again, it would be a new node of its own, not a member
                raise BrokerUnavailable(
                    f"node {', '.join(lost)} of mqlab's cluster lost its data: "
                    "'mqlab cluster down', then 'mqlab cluster up' starts a new cluster"
                )
            in_parallel(lambda node: node.start(NODE_TIMEOUT_S), dead)
            in_parallel(lambda node: _ready(node), cluster.nodes)
            _save(cluster)
            return cluster
        root = state_dir() / "cluster"
        shutil.rmtree(root, ignore_errors=True)  # a cluster that is gone: its data too
        cluster = Cluster.create(directory=root)
        for node in cluster.nodes:
            node.detached = True  # outlives this process
        cluster.start()
        _save(cluster)
        return cluster


def _ready(node: PrivateNode) -> None:
    node.wait_ready(NODE_TIMEOUT_S)


def cluster_down(timeout: float = 15.0) -> int:
    """Stop the cluster `cluster_up` recorded and delete its data; returns how many of its
    nodes were running. Only its nodes are signalled (process groups checked to carry
    their node names), never another broker."""
    with state_lock("cluster"):
        cluster = _load()
        if cluster is None:
            _state_file().unlink(missing_ok=True)
            return 0
        running = sum(node.running for node in cluster.nodes)
        cluster.stop(timeout)
        shutil.rmtree(cluster.directory, ignore_errors=True)
        _state_file().unlink(missing_ok=True)
        return running


def cluster_status(timeout: float = 20.0) -> dict[str, Any]:
    """{"up": bool, "nodes": [{"name", "url", "state": running | not answering | stopped,
    "version", "reason"}], "queues": Cluster.queues() or [], "error": why the queues are
    unknown, or None}. Every look is bounded: 2 s per node, `timeout` for the queues."""
    cluster = _load()
    if cluster is None:
        return {"up": False, "nodes": [], "queues": [], "error": None}
    nodes = []
    for node in cluster.nodes:
        alive = node.running
        version, reason = probe_url(node.url, 2.0) if alive else (None, "no process")
        state = "running" if version else ("not answering" if alive else "stopped")
        nodes.append(
            {
                "name": node.nodename,
                "url": node.url,
                "state": state,
                "version": version,
                "reason": None if version else reason,
            }
        )
    queues: list[dict[str, Any]] = []
    error = None
    try:
        queues = cluster.queues(timeout)
    except BrokerUnavailable as e:
        error = str(e)
    return {"up": True, "nodes": nodes, "queues": queues, "error": error}
