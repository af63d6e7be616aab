"""`mqlab crash-test --faults node-kill,node-loss`: a cluster node SIGKILLed under load.

Why a module of its own: the cluster half of "the broker keeps messages on disk and in a
cluster" (issue 24). The faults run on a private three-node cluster that the crash test
starts for the run and stops after it (`private_cluster`), never on `mqlab cluster up`'s
cluster nor on any broker mqlab did not start. The app and the workers get every node's URL
and fail over between them.

Each node fault gives one row per queue type, classic and quorum side by side, because what
it shows is the difference: the fault SIGKILLs the node that holds the run's queue (classic:
its home node, the only one with its messages; quorum: its leader), found in the cluster's
queue listing (`Cluster.queues`) before the fault fires.
- node-kill: the node is started again from its data dir (it rejoins by itself);
- node-loss: the node never comes back with its data: its data dir (mnesia, the message
  store) is deleted as a lost disk would be, and the cluster forgets it
  (`forget_cluster_node` on a survivor). It stays down for the rest of that run; before
  the next trial `mend` forms the cluster again, three empty nodes (`Cluster.renew`: an
  empty node that only took the lost one's place left RabbitMQ 3.10's stream coordinator
  a member short, and the next loss took its majority). A classic queue's messages go
  with the disk.

`recovery_s` (from the load samples): from the kill until the first 202 answered after the
first failure that followed the kill; 0 when no request failed.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from typing import Any

from mqlab.errors import MqlabError
from mqlab.measure.faults import ChaosThread, wait_saved
from mqlab.measure.lab import Lab
from mqlab.measure.results import RunResult
from mqlab.processes import rabbit
from mqlab.processes.rabbit.cluster import NODE_TIMEOUT_S
from mqlab.processes.rabbit.ctl import ctl

FIND_TIMEOUT_S = 60.0  # until the run's queue shows in the cluster's listing


def private_cluster(stack: contextlib.ExitStack) -> rabbit.Cluster | str:
    """Three RabbitMQ nodes of the crash test's own, clustered, stopped and deleted when
    `stack` closes; or the reason there are none (the node rows are then skipped)."""
    try:
        # One scheduler each, as the private node of broker-restart: a node's boot
        # otherwise takes every core and the load generator beside it runs late.
        cluster = rabbit.Cluster.create(schedulers=1)
        stack.callback(cluster.cleanup)
        cluster.start()
    except rabbit.BrokerUnavailable as e:
        return f"no private RabbitMQ cluster could be started: {e}"
    return cluster


class NodeFault(ChaosThread):
    """SIGKILL the node that holds the run's queue once `at` requests were sent; then start
    it again (node-kill) or replace it with an empty one (node-loss, `lose=True`)."""

    def __init__(self, at: int, cluster: rabbit.Cluster, lose: bool) -> None:
        super().__init__(at)
        self.cluster = cluster
        self.lose = lose
        self.victim: str | None = None  # the node name, once found

    def prepare(self) -> None:
        # Before the load (the runner waits for it): rabbitmqctl is slow on busy cores, and
        # found during the load, the kill could land after the last job was delivered.
        assert self.lab is not None and self.lab.amqp is not None
        self.note = wait_saved(self.lab.amqp, self._cancel)
        if self.note:
            return
        try:
            node = self._find(self.lab.amqp.queue)
        except MqlabError as e:
            self.note = f"the fault never fired: the queue's node was not found: {e}"
            return
        self.victim = node.nodename

    def _find(self, queue: str) -> rabbit.PrivateNode:
        """The node holding `queue` (classic: home; quorum: leader), once it is declared."""
        deadline = time.monotonic() + FIND_TIMEOUT_S
        while not self._cancel.is_set():
            rows = {q["name"]: q for q in self.cluster.queues()}
            leader = rows.get(queue, {}).get("leader")
            node = self.cluster.node_named(leader) if leader else None
            if node is not None:
                return node
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        raise rabbit.BrokerUnavailable(f"{queue} did not show in the cluster's queues")

    def act(self, lab: Lab) -> None:
        assert self.victim is not None
        node = self.cluster.node_named(self.victim)
        assert node is not None
        node.kill()
        self._event("kill", node.nodename)
        if not self.lose:
            node.start(NODE_TIMEOUT_S)
            self._event("restart", node.nodename)
            self.note = f"node {node.nodename} SIGKILLed mid-load, then restarted"
            return
        # The disk is gone: the node's database and message store. The Erlang cookie (the
        # cluster's shared secret, HOME is the data dir) and the logs stay, as a replacement
        # node would be given the cookie.
        shutil.rmtree(node.data_dir / "mnesia", ignore_errors=True)
        self._event("disk-lost", node.nodename)
        ctl(self.cluster.running_node(but=node), "forget_cluster_node", node.nodename)
        self._event("forgotten", node.nodename)
        self.note = (
            f"node {node.nodename} SIGKILLed mid-load and its data deleted; the cluster "
            "forgot it and ran on without it"
        )


def mend(cluster: rabbit.Cluster) -> str | None:
    """Bring every node of `cluster` that is down back before the next trial: from its data
    (it rejoins by itself), or, if a node-loss took its data, the whole cluster formed
    again from empty nodes (`Cluster.renew` says why not just that node), so that every
    trial starts on a whole cluster. Done between trials, not during the run that lost the
    node: it stays lost for that run. Returns why it could not, or None."""
    try:
        down = [node for node in cluster.nodes if not node.running]
        if any(not (node.data_dir / "mnesia" / node.nodename).is_dir() for node in down):
            cluster.renew(NODE_TIMEOUT_S)
            return None
        for node in down:
            node.start(NODE_TIMEOUT_S)
    except MqlabError as e:
        return f"the cluster could not be mended before this trial: {e}"
    return None


def recovery_s(samples: list[dict[str, Any]], events: list[dict[str, Any]]) -> float | None:
    """Seconds from the kill until the first 202 answered after the first failure that
    followed it; 0.0 if no request failed after the kill (the cluster kept accepting);
    None if it never accepted again during the load (or there was no kill). Times are the
    run's (`RunResult.samples` and `.events`, seconds from the load's start)."""
    kill = next((e["t"] for e in events if e.get("kind") == "kill"), None)
    if kill is None:
        return None
    answered = sorted(
        (s["intended"] + s["response_ms"] / 1000, s["status"])
        for s in samples
        if s.get("response_ms") is not None
    )
    after = [(t, status) for t, status in answered if t >= kill]
    failed_at = next((t for t, status in after if not _accepted(status)), None)
    if failed_at is None:
        return 0.0
    back = next((t for t, status in after if t > failed_at and _accepted(status)), None)
    return None if back is None else round(back - kill, 3)


def _accepted(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def row_extras(run: RunResult, chaos: ChaosThread) -> dict[str, Any]:
    """What a node fault's row adds to a crash row: the queue type, the node it killed,
    and how long the cluster refused signups."""
    return {
        "queue_type": run.config.get("queue_type") or "classic",
        "node": chaos.victim if isinstance(chaos, NodeFault) else None,
        "recovery_s": recovery_s(run.samples, run.events),
    }
