"""NATS JetStream plumbing for the broker lesson on NATS (scenarios/broker_nats.py, scenarios/worker_nats.py)."""
