"""The open-loop load generator: signups on a fixed schedule, whatever the server does.

Request i is *intended* at start + i / rate. It is sent then even if earlier
requests are still waiting (open loop), and its response time is measured from
the intended time, not from when it was actually sent, so a stalled server
cannot hide its tail (coordinated omission). How late the generator itself ran
is recorded too (`sent - intended`): when that is large, the lab says so.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from mqlab.scan import EICAR

try:  # libuv's event loop: the same asyncio API at about two thirds of the CPU per request
    import uvloop
except ImportError:  # not on Windows: the standard loop works, a little hungrier
    uvloop = None  # type: ignore[assignment]

T = TypeVar("T")

# The generator's connection pool, unless told otherwise (a lab run asks for `pool_for` its
# server threads). Beyond it, requests wait their turn here
# (their response time still counts from the intended time) instead of opening hundreds of
# connections: under overload those cost the generator and the server more CPU than the
# requests themselves, and every open connection, idle or not, costs waitress's loop a look
# on every turn (0.27 ms per request with none idle, 0.36 ms with 64, on the 2-core VM).
MAX_CONNECTIONS = 64


def pool_for(server_threads: int) -> int:
    """Connections enough to keep every handler thread busy: one being answered, one queued."""
    return 2 * server_threads


@dataclass(frozen=True)
class Request:
    job_id: str
    email: str
    body: bytes


@dataclass
class Sample:
    """One request. Times are wall clock (seconds since the epoch), comparable with the sink's."""

    job_id: str
    intended: float
    sent: float | None = None
    status: int | None = None
    response_ms: float | None = None  # answer - intended
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class LoadResult:
    samples: list[Sample]
    started: float  # wall clock of intended time 0


def signups(count: int, tag: str, infected: int = 0, attachment_bytes: int = 1024) -> list[Request]:
    """`count` signups with unique job ids and recipients; the first `infected` carry EICAR."""
    clean = base64.b64encode(os.urandom(attachment_bytes)).decode("ascii")
    dirty = base64.b64encode(EICAR).decode("ascii")
    out = []
    for i in range(count):
        job_id = f"{tag}-{i:06d}"
        email = f"user{i:06d}.{tag}@example.test"
        body = {
            "email": email,
            "name": f"Student {i}",
            "attachment": dirty if i < infected else clean,
        }
        out.append(Request(job_id, email, json.dumps(body).encode()))
    return out


def run_load(
    url: str,
    requests: Sequence[Request],
    rate: float,
    timeout_s: float = 30.0,
    on_answer: Callable[[Sample], None] | None = None,
    before_send: Callable[[int], None] | None = None,
    connections: int = MAX_CONNECTIONS,
) -> LoadResult:
    """Send every request to `url` on the open-loop schedule; blocks until all are answered.

    `rate` is requests per second; 0 sends them all at once (a spike). `before_send(i)`
    runs in the generator's loop just before request i goes out (crash tests kill there).
    At most `connections` requests are on the wire at once; the others wait their turn.
    """
    return run_loop(_run(url, requests, rate, timeout_s, on_answer, before_send, connections))


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, on uvloop where it is installed (the generator and the HTTP floor)."""
    if uvloop is not None:
        return uvloop.run(main)
    return asyncio.run(main)


async def _run(
    url: str,
    requests: Sequence[Request],
    rate: float,
    timeout_s: float,
    on_answer: Callable[[Sample], None] | None,
    before_send: Callable[[int], None] | None,
    connections: int,
) -> LoadResult:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        mono0 = time.perf_counter() + 0.05  # a moment to get the loop going
        wall0 = time.time() + (mono0 - time.perf_counter())
        tasks: list[asyncio.Task[Sample]] = []
        in_flight = 0

        def landed(_: asyncio.Task[Sample]) -> None:
            nonlocal in_flight
            in_flight -= 1

        def idle() -> bool:
            return in_flight == 0

        for i, req in enumerate(requests):
            offset = i / rate if rate > 0 else 0.0
            await _wait_until(mono0 + offset, idle)
            if before_send is not None:
                before_send(i)
            sample = Sample(req.job_id, intended=wall0 + offset)
            task = asyncio.create_task(_send(session, url, req, sample, mono0 + offset, on_answer))
            in_flight += 1
            task.add_done_callback(landed)
            tasks.append(task)
        samples = list(await asyncio.gather(*tasks))
    return LoadResult(samples, wall0)


PRECISE_S = 0.0015  # asyncio's timers wake up to 1 ms late: epoll counts whole milliseconds


async def _wait_until(deadline: float, idle: Callable[[], bool]) -> None:
    """Sleep until `deadline` (perf_counter). The last 1.5 ms are slept exactly (time.sleep,
    blocking the loop) when no request is in flight, so there is nothing else to wait for;
    otherwise on asyncio's timer, which keeps answers flowing but may wake 1 ms late."""
    delay = deadline - time.perf_counter()
    if delay > PRECISE_S:
        await asyncio.sleep(delay - PRECISE_S)
    delay = deadline - time.perf_counter()
    if delay <= 0:
        return
    if idle():
        time.sleep(delay)
    else:
        await asyncio.sleep(delay)


async def _send(
    session: aiohttp.ClientSession,
    url: str,
    req: Request,
    sample: Sample,
    intended_mono: float,
    on_answer: Callable[[Sample], None] | None,
) -> Sample:
    sample.sent = sample.intended + (time.perf_counter() - intended_mono)
    headers = {"Content-Type": "application/json", "X-Job-Id": req.job_id}
    try:
        async with session.post(url, data=req.body, headers=headers) as response:
            await response.read()
            sample.status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
        sample.error = type(e).__name__  # the user saw an error (or nothing at all)
    sample.response_ms = (time.perf_counter() - intended_mono) * 1000
    if on_answer is not None:
        on_answer(sample)
    return sample
