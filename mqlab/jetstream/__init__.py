"""NATS JetStream plumbing for the broker lesson on NATS (scenarios/broker_nats.py,
scenarios/worker_nats.py): the same settings (`mqlab.amqp.settings.AmqpSettings`, with a
`nats://` URL), the same breaker and 503 answers, the same job states, on JetStream's own
mechanism.

The modules, each importing only those above it:

- `connection`: one connection (no reconnection of its own), `UNAVAILABLE`, `refused`;
- `loop`: an asyncio loop on a thread of its own, for callers that are threads;
- `streams`: the work, dead-letter and status streams, their names and configuration,
  and what a run leaves there (`dead_job_ids`, `delete_run_objects`);
- `publisher`: the app's acknowledged publish behind a breaker;
- `consumer`: the worker's pull consumer (`Jobs`) and its loop (`Consumer`);
- `status`: job states as events, and the app's `Follower` that replays them;
- `watch`: the lab's `Watch` (backlog, live workers).
"""

from mqlab.jetstream import status
from mqlab.jetstream.connection import UNAVAILABLE, refused
from mqlab.jetstream.streams import dead_job_ids, delete_run_objects
from mqlab.jetstream.watch import Watch

__all__ = ["UNAVAILABLE", "Watch", "dead_job_ids", "delete_run_objects", "refused", "status"]
