"""The streams the NATS lesson keeps its jobs, dead letters and job states in.

A JetStream stream stores every message published on its subjects. Three of them, named
after `settings.queue` (a stream name may hold no dots: `mqlab.signup.welcome` gives the
stream `mqlab_signup_welcome`):

- `<queue>` (stream `<name>`): the jobs. Work-queue retention: a message is deleted once a
  worker acked it, like a queue (limits retention would keep every job until it is too
  old, and the backlog would have to be worked out from the consumer's ack floor). Its
  duplicate window drops a second copy of a job id published within DUPLICATE_WINDOW_S
  (the `Nats-Msg-Id` header): a client that retries after a 503 "unknown" is not sent twice.
- `<queue>.dead` (stream `<name>_dead`): jobs no retry can help, with the reason in a
  header, kept (limits retention) for a person to look at.
- `<queue>.status` (stream `<name>_status`): every job's state changes, a log an app
  replays when it (re)starts: a day of them, at most 100 MB (mqlab/jetstream/status.py).

Storage: `file` for a durable setup (the default), `memory` with `--transient`
(`settings.durable` False), for all three. A file stream writes each message to its block
file before the server acknowledges it, and fsyncs every 2 minutes (nats-server 2.9: a
killed server loses nothing it acknowledged; a power cut may lose the last two minutes).

Both sides declare all three (add_stream is idempotent for an identical configuration): a
worker started first keeps its dead letters and states too. A stream that exists with
another configuration is refused by the server (`connection.refused` says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import re

import nats.js.errors
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext

from mqlab.amqp.settings import AmqpSettings, dead_letter_queue, status_stream
from mqlab.jetstream.connection import UNAVAILABLE, close_quietly, connect

CONSUMER = "workers"  # the durable consumer every worker of a work stream shares

DUPLICATE_WINDOW_S = 120.0  # the server's default, said out loud: a retry within it is dropped
STATUS_MAX_AGE_S = 24 * 3600.0  # the job states an app can replay: a day
STATUS_MAX_BYTES = 100_000_000  # and never more than this on the server's disk
DEAD_REASON = "Mqlab-Dead-Reason"  # the header of a dead letter that says why
DEAD_DELIVERIES = "Mqlab-Deliveries"  # and how many times the job was delivered
JOB_ID = "Nats-Msg-Id"  # the publisher's job id: the stream's deduplication key
DEAD_JOB_ID = "Mqlab-Job-Id"  # a dead letter's job id (its own Nats-Msg-Id is the letter's)


def stream_name(queue: str) -> str:
    """A stream's name for a subject: no dots, spaces or wildcards."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", queue)


def work_stream(settings: AmqpSettings) -> str:
    return stream_name(settings.queue)


def dead_stream(settings: AmqpSettings) -> str:
    return f"{stream_name(settings.queue)}_dead"


def status_stream_name(settings: AmqpSettings) -> str:
    return f"{stream_name(settings.queue)}_status"


def dead_subject(settings: AmqpSettings) -> str:
    return dead_letter_queue(settings.queue)


def status_subject(settings: AmqpSettings) -> str:
    return status_stream(settings)


def workers_subject(settings: AmqpSettings) -> str:
    """Where each worker says "here" (core NATS, no stream): see watch.py."""
    return f"{settings.queue}.workers"


def storage(settings: AmqpSettings) -> StorageType:
    return StorageType.FILE if settings.durable else StorageType.MEMORY


def configs(settings: AmqpSettings) -> list[StreamConfig]:
    """The three streams, as described in the module's docstring."""
    kept = storage(settings)
    return [
        StreamConfig(
            name=work_stream(settings),
            subjects=[settings.queue],
            retention=RetentionPolicy.WORK_QUEUE,  # deleted once acked, like a queue
            storage=kept,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
        StreamConfig(
            name=dead_stream(settings),
            subjects=[dead_subject(settings)],
            retention=RetentionPolicy.LIMITS,
            storage=kept,
        ),
        StreamConfig(
            name=status_stream_name(settings),
            subjects=[status_subject(settings)],
            retention=RetentionPolicy.LIMITS,
            storage=kept,
            max_age=STATUS_MAX_AGE_S,
            max_bytes=STATUS_MAX_BYTES,
            discard=DiscardPolicy.OLD,  # full: the oldest states go, the new ones are kept
        ),
    ]


async def declare(js: JetStreamContext, settings: AmqpSettings) -> None:
    """Create the three streams, or find them as they are (APIError if they differ)."""
    for config in configs(settings):
        await js.add_stream(config)


async def delete(js: JetStreamContext, settings: AmqpSettings) -> None:
    """Remove the three streams (and their consumers); silent for those already gone."""
    for config in configs(settings):
        assert config.name is not None
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(config.name)


def delete_run_objects(settings: AmqpSettings) -> None:
    """Remove what a run declared for itself (`*.run-<tag>`, never the shared names that a
    person's `serve` and `worker` use). Silent if the server does not answer."""
    if ".run-" not in settings.queue:
        raise ValueError(f"refusing to delete {settings.queue!r}: not a run's own queue")

    async def remove() -> None:
        nc = await connect(settings)
        try:
            await delete(nc.jetstream(timeout=settings.timeout_s), settings)
        finally:
            await close_quietly(nc)

    with contextlib.suppress(*UNAVAILABLE):
        asyncio.run(remove())


def dead_job_ids(settings: AmqpSettings) -> list[str]:
    """The job ids in `<queue>.dead`, read without taking them out ("unreadable" for a
    message that had none; none at all if the server does not answer)."""

    async def read() -> list[str]:
        nc = await connect(settings)
        try:
            js = nc.jetstream(timeout=settings.timeout_s)
            try:
                state = (await js.stream_info(dead_stream(settings))).state
            except nats.js.errors.NotFoundError:
                return []
            ids = []
            for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
                with contextlib.suppress(nats.js.errors.NotFoundError):  # deleted meanwhile
                    msg = await js.get_msg(dead_stream(settings), seq)
                    ids.append((msg.headers or {}).get(DEAD_JOB_ID, "unreadable"))
            return ids
        finally:
            await close_quietly(nc)

    try:
        return asyncio.run(read())
    except UNAVAILABLE:
        return []
