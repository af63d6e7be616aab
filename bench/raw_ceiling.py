"""The raw ceiling: how fast this machine moves signup jobs with nothing but pika and SMTP.

Why this file exists: "mqlab's broker mode does 300 mails/s" means little until you
know what the same broker, the same SMTP sink and the same number of worker
processes can do with no HTTP and no lab around them. This is that measurement,
written like the RabbitMQ work-queue tutorial: persistent messages on a durable
queue, publisher confirms, prefetch 1, an ack after the mail was accepted. No
scan: it measures the plumbing, which is what `--scan-ms 0` leaves of mqlab too.

Two roles, each a child process started by `mqlab/measure/bench/capacity.py`:

    python bench/raw_ceiling.py consume URL QUEUE SMTP_PORT
    python bench/raw_ceiling.py publish URL QUEUE COUNT THREADS TAG [RATE]

`publish` prints the wall-clock time of its first publish, then publishes COUNT
jobs from THREADS threads (each its own connection and channel, as the app's
handler threads have), each publish waiting for its confirm. Without RATE (or 0)
they go as fast as they can: the ceiling. With RATE, job i is due i/RATE seconds
after the first, open loop like mqlab's load generator (a thread that is late sends at
once): what the raw pipeline sustains when it is offered a steady rate
(bench/raw_sustained.py).
"""

from __future__ import annotations

import sys
import threading
import time

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from mqlab.job import mail
from mqlab.job.signup import Job


def _channel(url: str, queue: str) -> tuple[pika.BlockingConnection, BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    return connection, channel


def consume(url: str, queue: str, smtp_port: int) -> None:
    """Take a job, send its welcome mail, ack; until SIGTERM."""
    target = mail.SmtpTarget("127.0.0.1", smtp_port)
    _, channel = _channel(url, queue)
    channel.basic_qos(prefetch_count=1)

    def on_message(
        ch: BlockingChannel, method: Basic.Deliver, _: BasicProperties, body: bytes
    ) -> None:
        mail.send(mail.welcome_message(Job.from_bytes(body)), target)
        ch.basic_ack(method.delivery_tag)  # only after the SMTP server took the mail

    channel.basic_consume(queue, on_message)
    channel.start_consuming()


def publish(url: str, queue: str, count: int, threads: int, tag: str, rate: float = 0.0) -> None:
    """COUNT persistent, confirmed publishes from THREADS threads, as fast as they go, or
    on an open-loop schedule of RATE a second."""
    start: list[float] = []  # [perf_counter, wall clock] of the first publish

    def go() -> None:  # runs once every thread is ready, before any of them is let go
        start.extend([time.perf_counter(), time.time()])

    ready = threading.Barrier(threads + 1, action=go)

    def publisher(ids: range) -> None:
        connection, channel = _channel(url, queue)
        channel.confirm_delivery()
        bodies = [
            Job(
                f"{tag}-{i:06d}", f"user{i}.{tag}@example.test", f"Student {i}", b"x" * 1024
            ).to_bytes()
            for i in ids
        ]
        props = BasicProperties(delivery_mode=2, content_type="application/json")
        ready.wait()
        for i, body in zip(ids, bodies, strict=True):
            if rate > 0:
                time.sleep(max(0.0, start[0] + i / rate - time.perf_counter()))
            channel.basic_publish("", queue, body, props, mandatory=True)
        connection.close()

    workers = [
        threading.Thread(target=publisher, args=(range(t, count, threads),)) for t in range(threads)
    ]
    for w in workers:
        w.start()
    ready.wait()
    print(f"{start[1]:.6f}", flush=True)  # the moment the first publishes go out
    for w in workers:
        w.join()


if __name__ == "__main__":
    role, args = sys.argv[1], sys.argv[2:]
    if role == "consume":
        consume(args[0], args[1], int(args[2]))
    elif role == "publish":
        rate = float(args[5]) if len(args) > 5 else 0.0
        publish(args[0], args[1], int(args[2]), int(args[3]), args[4], rate)
    else:
        raise SystemExit(
            "usage: raw_ceiling.py consume URL QUEUE SMTP_PORT | "
            "publish URL QUEUE COUNT THREADS TAG [RATE]"
        )
