"""`ensure_broker`: a RabbitMQ that answers for the length of a `with` block.

Why a module of its own: this is the one decision every broker run makes, and the
order matters. A broker someone else runs is used as it is and never touched; only
when none answers (and the URL was not given explicitly) does mqlab start a private
node, which it stops and deletes again at the end of the block.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from mqlab.processes.rabbit.cluster_state import recorded_cluster_at
from mqlab.processes.rabbit.launch import find_rabbitmq_server
from mqlab.processes.rabbit.node import PrivateNode
from mqlab.processes.rabbit.probe import GET_A_BROKER, BrokerUnavailable, probe_url
from mqlab.processes.rabbit.state import BrokerHandle, recorded_node_at, resolve_url
from mqlab.processes.rabbit.urls import ENV_VAR, mask_url


def _unavailable(url: str, reason: str, hint: str = GET_A_BROKER) -> BrokerUnavailable:
    return BrokerUnavailable(f"no RabbitMQ at {mask_url(url)} ({reason}); {hint}")


@contextlib.contextmanager
def ensure_broker(url: str | None = None, *, allow_private: bool = True) -> Iterator[BrokerHandle]:
    """Yield a RabbitMQ that answers, starting a private node only when allowed.

    `resolve_url(url)` first: if it answers, it is used and never touched
    (`started_by_mqlab` False, unless it is the node `mqlab broker up` recorded or the
    cluster `mqlab cluster up` did).
    Otherwise, if the URL was not given explicitly (no `url`, no $MQLAB_AMQP_URL),
    `allow_private` is set and rabbitmq-server is installed, a private node is
    started for the `with` block and stopped and deleted at its end. Otherwise
    BrokerUnavailable, one line, naming the URL with its password masked.
    """
    explicit = bool(url) or bool(os.environ.get(ENV_VAR))
    target = resolve_url(url)
    version, reason = probe_url(target)
    if version is not None:
        recorded = recorded_node_at(target)
        ours = recorded is not None or recorded_cluster_at(target) is not None
        yield BrokerHandle(target, ours, version, recorded)
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
