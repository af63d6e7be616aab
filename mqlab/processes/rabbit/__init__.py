"""Find a RabbitMQ for the broker mode, or start a private node that mqlab owns.

Why this package exists: the broker mode of the lab needs a real RabbitMQ, and the
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

The modules, each importing only those above it:

- `urls`: the default URL and its variable, `mask_url`;
- `probe`: one bounded connection: version, queue depths, or why not
  (`BrokerUnavailable`);
- `launch`: finding, configuring and spawning rabbitmq-server, finding its processes;
- `ctl`: a private node's own rabbitmqctl;
- `node`: `PrivateNode`, started, killed, frozen, alarmed, restarted;
- `state`: `mqlab broker up | down | status` and its state file, `resolve_url`;
- `cluster`: `Cluster`, three private nodes clustered;
- `cluster_state`: `mqlab cluster up | down | status` and its state file;
- `ensure`: `ensure_broker`.

A URL may list several nodes of one cluster, comma-separated (`urls.split_urls`): probes
try each, and the AMQP clients (`mqlab.amqp.settings.parameters`) connect to the first
that answers.

Nothing here prints: functions return values or raise, the CLI layer prints.
Use the names below as `rabbit.<name>`; a test that patches a setting patches it in
the module that reads it (e.g. `rabbit.urls.DEFAULT_URL`).
"""

from mqlab.processes.rabbit.cluster import Cluster
from mqlab.processes.rabbit.cluster_state import (
    cluster_down,
    cluster_status,
    cluster_up,
    recorded_cluster,
)
from mqlab.processes.rabbit.ensure import ensure_broker
from mqlab.processes.rabbit.launch import (
    EPMD_PORT,
    PRELOAD_ENV_VAR,
    SERVER_ENV_VAR,
    find_rabbitmq_server,
)
from mqlab.processes.rabbit.node import PrivateNode
from mqlab.processes.rabbit.probe import (
    BrokerUnavailable,
    queue_depth,
    queue_depths,
    server_version,
)
from mqlab.processes.rabbit.state import (
    BROKER_PORT,
    STATE_DIR,
    STATE_ENV_VAR,
    BrokerHandle,
    broker_down,
    broker_status,
    broker_up,
    resolve_url,
    state_dir,
)
from mqlab.processes.rabbit.urls import (
    DEFAULT_URL,
    ENV_VAR,
    LOCALHOST,
    holds_a_secret,
    mask_url,
    split_urls,
)

__all__ = [
    "BROKER_PORT",
    "DEFAULT_URL",
    "ENV_VAR",
    "EPMD_PORT",
    "LOCALHOST",
    "PRELOAD_ENV_VAR",
    "SERVER_ENV_VAR",
    "STATE_DIR",
    "STATE_ENV_VAR",
    "BrokerHandle",
    "BrokerUnavailable",
    "Cluster",
    "PrivateNode",
    "broker_down",
    "broker_status",
    "broker_up",
    "cluster_down",
    "cluster_status",
    "cluster_up",
    "ensure_broker",
    "find_rabbitmq_server",
    "holds_a_secret",
    "mask_url",
    "queue_depth",
    "queue_depths",
    "recorded_cluster",
    "resolve_url",
    "server_version",
    "split_urls",
    "state_dir",
]
