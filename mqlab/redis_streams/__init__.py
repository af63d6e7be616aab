"""Redis Streams plumbing for the broker lesson on Redis (scenarios/broker_redis.py,
scenarios/worker_redis.py).

The lesson files show the mechanism (XADD, XREADGROUP, XACK, XAUTOCLAIM, MULTI/EXEC); what
keeps it running is here, each module beside its RabbitMQ counterpart in mqlab.amqp:

- `connection`: clients with bounded waits and no retries of their own; `UNAVAILABLE`, the
  errors that mean "reconnect", and `refused`, those no retry helps;
- `publisher`: the app's command within a deadline, behind mqlab.amqp's `Breaker`;
- `queues`: the keys of a queue, moving due retries back (a Lua script), reading and
  deleting a run's keys;
- `lease`: a worker's hold on the jobs it took, kept fresh by a heartbeat;
- `status`: the jobs' state changes in a stream, and the app's `Follower` of it;
- `watch`: the lab's `Watch`, backlog and live workers.
"""

from mqlab.redis_streams import status
from mqlab.redis_streams.connection import UNAVAILABLE, refused
from mqlab.redis_streams.queues import dead_job_ids, delete_run_objects
from mqlab.redis_streams.watch import Watch

__all__ = ["UNAVAILABLE", "Watch", "dead_job_ids", "delete_run_objects", "refused", "status"]
