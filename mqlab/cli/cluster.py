"""`mqlab cluster up | down | status`: a three-node RabbitMQ cluster of mqlab's own, by hand;
and `--cluster`, with which the broker-mode commands use it.

Like `mqlab broker up`: the nodes are mqlab's (own names, ports, data and cookie), and
`down` stops those and nothing else (`mqlab.processes.rabbit.cluster`).
"""

from __future__ import annotations

from mqlab.errors import BadInput
from mqlab.processes import rabbit


def up() -> None:
    """Start a three-node RabbitMQ cluster of mqlab's own (it runs until 'mqlab cluster down')."""
    from mqlab.report import render

    cluster = rabbit.cluster_up()
    render.print_cluster_up(cluster.urls, cluster.version, cluster.boot_seconds)


def down() -> None:
    """Stop the cluster 'mqlab cluster up' started and delete its data. Never touches a broker
    mqlab did not start."""
    from mqlab.report import render

    render.print_cluster_down(rabbit.cluster_down())


def status() -> None:
    """Show mqlab's cluster: each node, and each queue's type, leader (or home node) and
    replicas."""
    from mqlab.report import render

    render.print_cluster_status(rabbit.cluster_status())


def broker_url(url: str | None, cluster: bool) -> str | None:
    """The AMQP URL a broker-mode command was given: `url` (--amqp-url or $MQLAB_AMQP_URL),
    or with --cluster the URLs of mqlab's own cluster, started now if it is not up.

    --cluster with a URL that is not the cluster's names two brokers: one line, exit 2."""
    if not cluster:
        return url
    recorded = rabbit.recorded_cluster()
    if url:
        if recorded is not None and _same_nodes(url, recorded.url):
            return url  # the line `mqlab cluster up` said to export
        raise BadInput(
            "--cluster and --amqp-url (or MQLAB_AMQP_URL) name two brokers: give one of them"
        )
    if recorded is None or not recorded.running:
        from mqlab.report import render

        render.print_cluster_start()
    return rabbit.cluster_up().url


def _same_nodes(a: str, b: str) -> bool:
    return sorted(rabbit.split_urls(a)) == sorted(rabbit.split_urls(b))
