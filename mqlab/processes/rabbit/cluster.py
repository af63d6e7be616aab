"""A RabbitMQ cluster of mqlab's own: three `PrivateNode`s on 127.0.0.1 that form one cluster.

Why a module of its own: the cluster lesson (quorum queues against classic ones, a node
killed under load) needs a cluster mqlab may kill parts of, and a cluster someone else runs
must never be touched. So, like `PrivateNode`, every node here is one mqlab started itself:
its own node name (mqlab-cluster<i>-<port>@localhost), AMQP and distribution ports (free
ones, below the ephemeral range), data dir, and one Erlang cookie the nodes share with each
other and with nobody else (it is written into each data dir, which is the node's HOME).

How it forms (`Cluster.start`): node 1 boots alone, then nodes 2 and 3 boot in parallel and
join it, by RabbitMQ's own peer discovery (`classic_config`: a list of nodes in their
config, read at the first boot of an empty node); one `rabbitmqctl cluster_status` then
checks that every node is a running member. Node 1 boots first because a node that joined
it while it was still creating its database could make it fail its schema check
(`table_attributes_mismatch` on `rabbit_queue`: once in eleven `make test` runs with all
three booting at once); it costs about a second. Joining by rabbitmqctl instead (stop_app,
join_cluster, start_app) cost six more Erlang VMs and two restarts of the app (timings of
both: bench/README.md, "The cluster").

A member that was killed (or stopped) comes back with `node.start()`: same name, port and
data dir, and it finds its cluster in its data. One that lost its data does not come back
whole: `Cluster.renew` forms the cluster again. `cluster_state` keeps one long-lived
cluster for `mqlab cluster up | down | status`, as `state` keeps `broker up`'s node.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from mqlab.processes.procs import free_ports
from mqlab.processes.rabbit.ctl import ctl
from mqlab.processes.rabbit.launch import (
    PRELOAD_ENV_VAR,
    find_rabbitmq_server,
)
from mqlab.processes.rabbit.node import PrivateNode
from mqlab.processes.rabbit.probe import GET_A_BROKER, BrokerUnavailable
from mqlab.processes.rabbit.urls import LOCALHOST

CLUSTER_SIZE = 3
NODE_TIMEOUT_S = 90.0  # one node's boot, three at once on 2 cores
# How long an empty node's peer discovery keeps trying to reach a node to join (its peers
# boot beside it) before it gives up and starts alone, which `start` then reports.
DISCOVERY_RETRIES, DISCOVERY_INTERVAL_MS = 120, 500


@dataclass
class Cluster:
    """Private RabbitMQ nodes that mqlab starts, clusters, and may kill one by one.

    `nodes[0]` is the node the others joined. Construct with `Cluster.create()`. Also a
    context manager: entering starts the cluster, leaving stops every node and deletes
    the data if it was a temp dir."""

    nodes: list[PrivateNode]
    directory: Path
    owns_directory: bool = False
    boot_seconds: float | None = None  # spawn until every node answered AMQP, clustered

    @classmethod
    def create(
        cls, directory: Path | None = None, size: int = CLUSTER_SIZE, schedulers: int | None = None
    ) -> Cluster:
        """A cluster (not started yet) of `size` nodes with data in `directory`/node-<i>
        (default: a temp dir, which `cleanup()` deletes)."""
        server = find_rabbitmq_server()
        if server is None:
            raise BrokerUnavailable(
                f"cannot start a RabbitMQ cluster: rabbitmq-server is not installed; {GET_A_BROKER}"
            )
        owns = directory is None
        root = Path(tempfile.mkdtemp(prefix="mqlab-cluster-")) if directory is None else directory
        root = root.expanduser().resolve()
        ports = free_ports(2 * size, LOCALHOST)  # all at once: no two nodes get the same port
        nodes = [
            PrivateNode(
                data_dir=root / f"node-{i + 1}",
                port=ports[2 * i],
                dist_port=ports[2 * i + 1],
                nodename=f"mqlab-cluster{i + 1}-{ports[2 * i]}@localhost",
                server=server,
                preload=os.environ.get(PRELOAD_ENV_VAR, "1") != "0",
                schedulers=schedulers,
            )
            for i in range(size)
        ]
        return cls(nodes=nodes, directory=root, owns_directory=owns)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated: what --amqp-url and MQLAB_AMQP_URL take."""
        return ",".join(self.urls)

    @property
    def version(self) -> str:
        return next((n.version for n in self.nodes if n.version), "unknown")

    @property
    def running(self) -> bool:
        """True while every node's processes exist."""
        return all(node.running for node in self.nodes)

    def node_named(self, name: str) -> PrivateNode | None:
        return next((n for n in self.nodes if n.nodename == name), None)

    # -- lifecycle

    def start(self, timeout: float = NODE_TIMEOUT_S) -> None:
        """Boot node 1, then the others at once, each joining node 1 as it boots; then check
        that all of them are running members.

        Raises BrokerUnavailable (with the failing node's log) if a node does not boot or
        join in time; every node of the cluster is then stopped."""
        cookie = secrets.token_hex(20)
        for node in self.nodes:
            write_cookie(node.data_dir, cookie)
        for node in self.nodes[1:]:
            write_discovery(node, [self.nodes[0].nodename])
        t0 = time.monotonic()
        try:
            self.nodes[0].start(timeout)  # whole before anyone joins it (module docstring)
            in_parallel(lambda node: node.start(timeout), self.nodes[1:])
            self.check_members(self.nodes)
            self.boot_seconds = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise

    def running_node(self, but: PrivateNode | None = None) -> PrivateNode:
        """The first node that runs (other than `but`), to ask or to join; BrokerUnavailable
        if there is none."""
        node = next((n for n in self.nodes if n is not but and n.running), None)
        if node is None:
            raise BrokerUnavailable("no node of the cluster is running")
        return node

    def check_members(self, nodes: list[PrivateNode]) -> None:
        """BrokerUnavailable, with its log, for a node of `nodes` that runs but is not a running
        member of the cluster (its peer discovery gave up and it started alone)."""
        asked = self.running_node()
        out = ctl(asked, "cluster_status", "--formatter", "json")
        try:  # the JSON object, whatever rabbitmqctl printed around it
            status = json.loads(out[out.index("{") : out.rindex("}") + 1])
        except ValueError:
            raise BrokerUnavailable(f"rabbitmqctl cluster_status said: {out.strip()}") from None
        running = set(status.get("running_nodes", []))
        for node in nodes:
            if node.nodename not in running:
                raise node.failure(f"did not join the cluster of {asked.nodename}")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every node at once (SIGTERM, then SIGKILL what is left after `timeout`)."""
        in_parallel(lambda node: node.stop(timeout), self.nodes)

    def renew(self, timeout: float = NODE_TIMEOUT_S) -> None:
        """The same three nodes (names, ports, data dirs) as a new cluster: every node
        stopped, its database deleted, and the cluster formed again (`start`).

        What a node lost with its disk needs before the next trial: on RabbitMQ 3.10 an empty
        node of the same name joins the cluster, but the stream coordinator (the Raft group
        that every stream's leader election and declaration goes through) keeps it as a
        member it never hears from again. After a second such loss the coordinator has no
        majority: declaring a stream waits 30 s and fails (`coordinator_unavailable`), the
        job states stop, and a node's boot can crash on a stream left without a leader
        (`amqqueue:qnode(none)`). Measured: bench/README.md, "The cluster"."""
        self.stop()
        for node in self.nodes:
            shutil.rmtree(node.data_dir / "mnesia", ignore_errors=True)
        self.start(timeout)

    def cleanup(self) -> None:
        self.stop()
        if self.owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    # -- what it holds

    def queues(self, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Every queue of the cluster, by name: its type, messages, and where it lives: a
        quorum queue's leader, members and online members; a classic queue's home node
        (its only member). Asked of the first node that answers, within `timeout` seconds.
        Raises BrokerUnavailable if no node can tell."""
        errors = []
        for node in self.nodes:
            if not node.running:
                continue
            try:
                out = ctl(
                    node,
                    *("list_queues", "--quiet", "--no-table-headers", "--timeout", f"{timeout:g}"),
                    *_COLUMNS,
                    timeout=timeout + 30.0,  # the command's own timeout, plus the VM boot
                )
            except BrokerUnavailable as e:
                errors.append(str(e))
                continue
            rows = [line.split("\t") for line in out.splitlines()]
            return sorted(
                (_queue_row(row) for row in rows if len(row) == len(_COLUMNS)),
                key=lambda q: str(q["name"]),
            )
        raise BrokerUnavailable(
            "no node of the cluster could list its queues: " + ("; ".join(errors) or "none runs")
        )


# The table output, not JSON: JSON shows a pid without its node (#PID<12780.2253.0>).
_COLUMNS = ("name", "type", "messages", "pid", "leader", "members", "online")


def _queue_row(row: list[str]) -> dict[str, Any]:
    name, kind, messages, pid, leader, members, online = row
    if kind != "quorum":  # classic: the node its process runs on, <node@host.123.2253.0>
        home = pid.strip("<>").rsplit(".", 3)[0]
        leader, members, online = home, f"[{home}]", ""
    return {
        "name": name,
        "type": kind or "classic",
        "messages": int(messages) if messages.isdigit() else None,
        "leader": leader or None,  # classic: its home node
        "members": _names(members),
        "online": _names(online),
    }


def _names(text: str) -> list[str]:
    """[a@localhost, b@localhost] as rabbitmqctl prints a list of nodes."""
    return [n.strip() for n in text.strip().strip("[]").split(",") if n.strip()]


def write_cookie(data_dir: Path, cookie: str) -> None:
    """The Erlang cookie a node (HOME = its data dir) and its rabbitmqctl read: the nodes of
    one cluster share it, nobody else has it. An existing one is kept (a restart)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ".erlang.cookie"
    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)  # Erlang refuses more
    with os.fdopen(fd, "w") as f:
        f.write(cookie)


def write_discovery(node: PrivateNode, peers: list[str]) -> None:
    """`node`'s conf.d/10-cluster.conf: at its first boot (an empty database) it joins the
    first of `peers` that answers, RabbitMQ's classic_config peer discovery. A node that
    has a database is already a member and does not read it."""
    lines = ["cluster_formation.peer_discovery_backend = classic_config"]
    # The node itself is listed too, or RabbitMQ warns that it is not one of the nodes.
    names = [*peers, node.nodename]
    lines += [f"cluster_formation.classic_config.nodes.{i} = {n}" for i, n in enumerate(names, 1)]
    lines += [
        f"cluster_formation.discovery_retry_limit = {DISCOVERY_RETRIES}",
        f"cluster_formation.discovery_retry_interval = {DISCOVERY_INTERVAL_MS}",
    ]
    conf = node.data_dir / "conf.d"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "10-cluster.conf").write_text("\n".join(lines) + "\n")


def in_parallel(action: Callable[[PrivateNode], None], nodes: list[PrivateNode]) -> None:
    """`action(node)` for every node at once; the first error (in node order) is raised
    once all are done."""
    if not nodes:
        return
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        futures = [pool.submit(action, node) for node in nodes]
    for future in futures:
        future.result()
