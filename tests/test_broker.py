"""Broker mode on a real RabbitMQ: durable queue, confirms, separate workers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pika
import pika.exceptions
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqlab.amqp.publisher import Properties, Publisher, Unavailable
from mqlab.amqp.queues import declare, delete_run_objects
from mqlab.amqp.settings import (
    dead_letter_queue,
    parameters,
    private_settings,
    retry_queue,
    status_exchange,
    status_stream,
)
from mqlab.measure.lab import QueueWatch
from mqlab.processes import rabbit
from mqlab.processes.procs import Child, mqlab_argv
from scenarios import status

from .conftest import App, Result, Sink

pytestmark = pytest.mark.broker


def test_the_queue_mqlab_declares_is_durable(broker_url: str) -> None:
    settings = private_settings(broker_url)
    connection = pika.BlockingConnection(parameters(settings))
    try:
        declare(connection.channel(), settings)
        # Re-declaring it as non-durable is refused: the broker holds it as durable.
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            connection.channel().queue_declare(settings.queue, durable=False)
        assert refused.value.reply_code == 406
        assert "durable" in refused.value.reply_text
    finally:
        if connection.is_open:
            connection.close()
        delete_run_objects(settings)


def test_a_run_object_the_broker_will_not_delete_leaves_the_others_deleted(
    broker_url: str,
) -> None:
    """A stream lost with its node, or (here) a queue another connection holds exclusively:
    its delete closes its channel, and the run's other queues and exchanges still go."""
    settings = private_settings(broker_url)
    holder = pika.BlockingConnection(parameters(settings))
    try:
        channel = holder.channel()
        declare(channel, settings)
        status.declare(channel, settings)
        channel.queue_delete(retry_queue(settings.queue))
        channel.queue_declare(retry_queue(settings.queue), exclusive=True)  # 405 to the others
        delete_run_objects(settings)
        for queue in (settings.queue, dead_letter_queue(settings.queue), status_stream(settings)):
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as gone:
                holder.channel().queue_declare(queue, passive=True)
            assert gone.value.reply_code == 404, queue
        for exchange in (settings.exchange, status_exchange(settings)):
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as gone:
                holder.channel().exchange_declare(exchange, passive=True)
            assert gone.value.reply_code == 404, exchange
        holder.channel().queue_declare(retry_queue(settings.queue), passive=True)  # it stayed
    finally:
        holder.close()  # and goes with the connection that holds it


def test_the_queue_watch_counts_jobs_once_the_queue_exists(broker_url: str) -> None:
    """The depth sampler's reader: None before the queue exists (a 404 closes its channel),
    then the jobs waiting, over one connection and one channel, and None again once the
    queue is gone."""
    settings = private_settings(broker_url)
    watch = QueueWatch(settings)
    connection = pika.BlockingConnection(parameters(settings))
    try:
        assert watch.backlog() is None and watch.consumers() is None
        channel = connection.channel()
        declare(channel, settings)
        channel.confirm_delivery()
        for i in range(3):
            channel.basic_publish(settings.exchange, settings.routing_key, f"job {i}".encode())
        assert watch.backlog() == 3
        assert watch.consumers() == 0
        assert watch.backlog() == 3  # the same channel, asked again
        delete_run_objects(settings)
        assert watch.backlog() is None
    finally:
        watch.close()
        if connection.is_open:
            connection.close()
        delete_run_objects(settings)


def test_a_broker_run_delivers_everything_and_cleans_up_its_queue(
    broker_url: str, mqlab_result: Callable[..., Result]
) -> None:
    data = mqlab_result("run", "broker", requests=12, rate=100, scan_ms=20, workers=2,
                        amqp_url=broker_url)  # fmt: skip
    s = data["summary"]
    assert (s["accepted"], s["delivered"], s["lost"]) == (12, 12, 0)
    assert data["config"]["durable"] and data["config"]["confirm"]
    assert "guest:guest" not in json.dumps(data)  # the password is masked in results
    for sample in data["samples"]:
        assert sample["status"] == 202
        # the mail went out after the signup was sent. (Not "after the user read the 202":
        # once the broker confirmed, a worker with a 20 ms scan may finish before a busy
        # client reads its answer; seen in CI: answer read at 120 ms, mail at 112 ms.)
        assert sample["intended"] < sample["delivered"]
    # The run's own queue (and its .retry and .dead) are gone: nothing left on the broker.
    queue = data["config"]["queue"]
    assert ".run-" in queue
    for name in (queue, f"{queue}.retry", f"{queue}.dead"):
        assert rabbit.queue_depth(broker_url, name) is None


def test_serve_broker_and_separate_workers_deliver_each_signup(
    broker_url: str, start_app: Callable[..., App], sink: Sink, tmp_path: Path
) -> None:
    # An exchange of its own too: on a shared exchange, other runs' jobs would reach this queue.
    own = private_settings(broker_url)
    queue = own.queue
    amqp = ["--amqp-url", broker_url, "--queue", queue, "--exchange", own.exchange]
    app = start_app("broker", None, *amqp)
    workers = [
        Child(
            f"worker {i}",
            mqlab_argv("worker", "--smtp-port", str(sink.port), "--scan-ms", "10", *amqp),
            tmp_path / f"worker-{i}.log",
        ).start()
        for i in range(2)
    ]
    try:
        answers = [
            app.post(
                {"email": f"user{i}@example.test", "name": f"User {i}"},
                headers={"X-Job-Id": f"job-{i}"},
            )
            for i in range(6)
        ]
        assert [code for code, _ in answers] == [202] * 6
        arrivals = sink.wait_for(6, timeout=20)
        assert sorted(a.job_id for a in arrivals) == [f"job-{i}" for i in range(6)]
        assert rabbit.queue_depth(broker_url, queue) == 0
    finally:
        for w in [*workers, app.child]:  # the app first: running, it would declare again
            w.stop()  # the status stream deleted under it, and leave it on the broker
        delete_run_objects(own)


def test_no_broker_means_503_never_202(start_app: Callable[..., App]) -> None:
    from mqlab.processes.procs import free_port

    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    app = start_app("broker", None, "--amqp-url", dead, "--publish-timeout", "1")
    for _ in range(3):
        code, body = app.post({"email": "a@b.test", "name": "A"}, headers={"X-Job-Id": "n-1"})
        assert code == 503
        assert "unavailable" in body["error"]
        assert (body["outcome"], body["job_id"]) == ("not_taken", "n-1")  # it never left


def test_the_publisher_opens_up_front_and_replaces_what_failed(broker_url: str) -> None:
    settings = private_settings(broker_url)
    declared: list[str] = []

    def prepare(channel: BlockingChannel) -> None:
        declare(channel, settings)
        declared.append(settings.queue)

    async def publishing() -> None:
        publisher = Publisher(settings, prepare=prepare)
        try:
            await publisher.start()
            assert declared and publisher.breaker.up  # before any publish: no handshake then
            jobs = (b"%d" % i for i in range(5))
            await asyncio.gather(  # at once, on the one connection
                *(publisher.publish(settings.exchange, settings.routing_key, job, Properties())
                  for job in jobs)
            )  # fmt: skip
            assert len(declared) == 1  # the same connection for all five
            with pytest.raises(Unavailable) as refused:
                await publisher.publish(settings.exchange, "no.such.key", b"x", Properties())
            assert refused.value.outcome == "not_taken"  # returned unroutable: surely not held
            assert publisher.breaker.up  # the broker answered: it is not unavailable
            idle = publisher._channel
            assert idle is not None
            await idle.connection.close()  # as if the broker dropped it while it sat idle
            await publisher.publish(settings.exchange, settings.routing_key, b"5", Properties())
            assert len(declared) == 2  # replaced on demand, the queues declared again
        finally:
            await publisher.close()
        assert idle.connection.is_closed and publisher._channel is None

    try:
        asyncio.run(publishing())
        watch = QueueWatch(settings)
        assert watch.backlog() == 6
        watch.close()
    finally:
        delete_run_objects(settings)
