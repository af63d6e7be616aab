"""AMQP plumbing: settings, the publisher's deadline and breaker, retry and dead-letter queues,
the consumer."""
