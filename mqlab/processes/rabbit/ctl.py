"""`ctl`: a private node's own rabbitmqctl (the node's environment and Erlang cookie), never
the system broker's: a memory alarm on a node, a cluster's joins and queue listing."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from mqlab.processes.rabbit.launch import launch_script, node_environment
from mqlab.processes.rabbit.probe import BrokerUnavailable

if TYPE_CHECKING:
    from mqlab.processes.rabbit.node import PrivateNode

CTL_TIMEOUT_S = 90.0  # one rabbitmqctl run (an Erlang VM boot, then the command) on busy cores


def ctl(node: PrivateNode, *args: str, timeout: float = CTL_TIMEOUT_S) -> str:
    """Run `node`'s rabbitmqctl and return its output; a failure, or a run longer than
    `timeout`, is one BrokerUnavailable.

    Without the code preload (`launch.PRELOAD_EVAL`): it would load the broker's thousand
    modules into rabbitmqctl's own VM too, and on 2 busy cores a join then took 20-45 s
    instead of 2-4 s (the preload holds the code server that rabbitmqctl waits on to load
    its own modules)."""
    env = node_environment(
        node.data_dir, node.nodename, node.port, node.dist_port, node.schedulers, preload=False
    )
    command = [str(Path(launch_script(node.server)).with_name("rabbitmqctl")), "-n", node.nodename]
    try:
        done = subprocess.run(
            [*command, *args],
            env=env,
            cwd=node.data_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BrokerUnavailable(
            f"rabbitmqctl {args[0]} on {node.nodename} did not finish within {timeout:g} s; "
            f"the tail of the node's log:\n{node.log_tail()}"
        ) from None
    output = (done.stdout + done.stderr).decode(errors="replace")
    if done.returncode != 0:
        raise BrokerUnavailable(
            f"rabbitmqctl {' '.join(args)} on {node.nodename} failed: {output.strip()}"
        )
    return output
