"""Redis Streams plumbing for the broker lesson on Redis (scenarios/broker_redis.py, scenarios/worker_redis.py)."""
