"""The lab's processes: the signup app and its HTTP server, the worker, the SMTP sink, RabbitMQ
nodes."""
