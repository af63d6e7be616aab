"""What `mqlab broker up/down/status` and `mqlab cluster up/down/status` print: a node's
or a cluster's URLs (a secret never shown), its state, and its queues.

Apart from `render` (which re-exports these names) to keep each module short.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from mqlab.processes.rabbit import ENV_VAR, holds_a_secret, mask_url
from mqlab.report.consoles import console, err_console


def print_broker_up(url: str, version: str | None) -> None:
    """`url` as the node answers: a private node's guest URL is shown whole, ready to paste;
    a URL with any other password (or an already masked one) stays masked."""
    if holds_a_secret(url):
        console.print(f"RabbitMQ {version or '?'} is up at {mask_url(url)}")
        console.print("  use it with: --amqp-url and this URL with its password (not shown)")
        console.print("  stop it with: mqlab broker down")
        return
    console.print(f"RabbitMQ {version or '?'} is up at {url}")
    console.print(f"  use it with: export {ENV_VAR}={url}", soft_wrap=True)
    console.print("  (or --amqp-url); stop it with: mqlab broker down")


def print_broker_down(stopped: bool) -> None:
    console.print(
        "stopped mqlab's private RabbitMQ node"
        if stopped
        else "no private node of mqlab's is running (nothing stopped)"
    )


def print_broker_status(status: dict[str, Any]) -> None:
    table = Table(title="RabbitMQ", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    reachable = "[green]yes[/]" if status.get("reachable") else "[red]no[/]"
    if not status.get("reachable") and status.get("error"):  # never holds the password
        reachable += f": {escape(str(status['error']))}"
    table.add_row("url", str(status.get("url")))
    table.add_row("reachable", reachable)
    table.add_row("version", str(status.get("version") or "-"))
    table.add_row("started by mqlab", "yes" if status.get("started_by_mqlab") else "no")
    for name, depth in (status.get("queues") or {}).items():
        count = "-" if depth is None else f"{depth} message" + ("" if depth == 1 else "s")
        table.add_row(f"queue {name}", count)
    console.print(table)


def print_cluster_up(urls: Sequence[str], version: str, boot_s: Any) -> None:
    """The nodes' URLs (a private cluster's guest URLs: no secret) and the line to export."""
    took = f" (booted and clustered in {boot_s:.1f} s)" if isinstance(boot_s, (int, float)) else ""
    console.print(f"RabbitMQ {version} cluster of {len(urls)} nodes is up{took}")
    for url in urls:
        console.print(f"  {mask_url(url)}")
    joined = ",".join(urls)
    if holds_a_secret(joined):  # never for the cluster mqlab starts; kept like broker up
        console.print("  use it with: --cluster, or --amqp-url and these URLs, comma-separated")
    else:
        console.print(f"  use it with: export {ENV_VAR}={joined}", soft_wrap=True)
    console.print("  (or --amqp-url, or --cluster); stop it with: mqlab cluster down")


def print_cluster_start() -> None:
    """On stderr (--json keeps stdout clean): --cluster found no cluster up, and starts one."""
    err_console.print(
        "starting mqlab's three-node RabbitMQ cluster (it stays up until 'mqlab cluster down')"
    )


def print_cluster_down(running: int) -> None:
    console.print(
        f"stopped mqlab's RabbitMQ cluster ({running} node(s) were running) and deleted its data"
        if running
        else "no cluster of mqlab's is running (nothing stopped)"
    )


def print_cluster_status(status: dict[str, Any]) -> None:
    if not status.get("up"):
        console.print("no cluster of mqlab's is up (start one with: mqlab cluster up)")
        return
    colour = {"running": "green", "not answering": "yellow", "stopped": "red"}
    nodes = Table(title="RabbitMQ cluster", title_justify="left")
    for column in ("node", "AMQP URL", "state"):
        nodes.add_column(column)
    for n in status["nodes"]:
        state = f"[{colour.get(n['state'], 'red')}]{n['state']}[/]"
        if n.get("reason") and n["state"] != "stopped":
            state += f": {escape(str(n['reason']))}"
        nodes.add_row(_short(n["name"]), mask_url(str(n["url"])), state)
    console.print(nodes)
    if status.get("error"):
        console.print(f"[yellow]queues: unknown ({escape(str(status['error']))})[/]")
        return
    queues = Table(title="queues", title_justify="left")
    queues.add_column("queue", no_wrap=True)  # whole, to copy: the other columns wrap
    for column in ("type", "messages", "leader (classic: home node)", "replicas"):
        queues.add_column(column)
    for q in status.get("queues") or []:
        online = set(q.get("online") or [])
        members = [
            _short(m) + ("" if q["type"] != "quorum" or m in online else " (down)")
            for m in q.get("members") or []
        ]
        queues.add_row(
            escape(str(q["name"])),
            str(q["type"]),
            "-" if q.get("messages") is None else str(q["messages"]),
            _short(q.get("leader") or "-"),
            ", ".join(members) or "-",
        )
    console.print(queues if status.get("queues") else "no queues yet")


def _short(node: str) -> str:
    """mqlab-cluster1-23225@localhost: the part before @localhost (every node is local)."""
    return escape(node.removesuffix("@localhost"))
