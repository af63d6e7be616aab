"""What the user hears back: `GET /signup/{id}` (the job's state and its history, JSON) and
`GET /signup/{id}/events` (the same pushed as Server-Sent Events, one per state change, until
a final state), answered on the server's event loop (`httpserver.Server(on_loop=...)`): an
open stream holds a socket and a coroutine, never one of the handler threads.

Where the states come from is the lesson: broker mode reads them from the broker's status
log (processes/status_follow.py) and still knows them after a restart; thread mode keeps
them in the app's memory, and a restarted app has never heard of a job (404, saying why);
sync has none to look up (its answer to the POST was the outcome).

While broker mode has lost the status log (`lost_at`: its broker gone, or its reading
ended), an answer says so: a known job's state is the last one heard (`"live": false` and
since when; a stream gets `event: stale`, then `event: live` once the log is followed
again), and a job not heard of is 503, not a 404 that may be false.

Bounds: at most `max_streams` streams open at once (503 beyond); a comment every
`keepalive_s` so that proxies keep an idle stream open; a stream ends at a final state, when
the server stops, or after MAX_STREAM_S (an EventSource reconnects and gets the history
again); a client that leaves is seen at once (its connection closes) and its stream freed;
a write that cannot go out within SEND_TIMEOUT_S ends the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mqlab.job.signup import is_job_id
from mqlab.job.status import Board, Event, Status

MAX_STREAM_S = 600.0
SEND_TIMEOUT_S = 10.0
LIVE_CHECK_S = 1.0  # how often an open stream looks whether the log was lost or is back
RETRY_MS = 3000  # an EventSource that lost its stream reconnects after this

Respond = Callable[[Any, Any], Awaitable[None]]  # (receive, send): an ASGI answer

NO_STATUS = {
    "sync": "sync mode keeps no job status: the answer to POST /signup was the outcome "
    "(201 sent, 422 quarantined, 502 not sent)",
}


class StatusRoutes:
    """`routes(method, path)`: the coroutine that answers a status request, or None (not
    one). `ready()`: False while broker mode still reads the status log after a start."""

    def __init__(
        self,
        mode: str,
        board: Board | None,
        ready: Callable[[], bool] = lambda: True,
        *,
        lost_at: Callable[[], float | None] = lambda: None,
        max_streams: int = 100,
        keepalive_s: float = 15.0,
    ) -> None:
        self.mode, self.board, self.ready, self.lost_at = mode, board, ready, lost_at
        self.max_streams, self.keepalive_s = max_streams, keepalive_s
        self.started = time.time()
        self.open_streams = 0  # changed and read on the loop only
        self._inboxes: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event | None]]] = set()
        self._lock = threading.Lock()  # _inboxes: close() comes from another thread
        self._closing = False

    def __call__(self, method: str, path: str) -> Respond | None:
        parts = path.split("/")  # "/signup/ID/events" -> "", "signup", "ID", "events"
        if len(parts) < 3 or parts[1] != "signup" or not parts[2]:
            return None  # not a job's ("/signup/" included): the app's 404 or 405
        job, events = parts[2], parts[3:] == ["events"]
        if len(parts) > 4 or (len(parts) == 4 and not events):
            return _json(404, {"error": f"no such path: {path}"})
        if method != "GET" and not (method == "HEAD" and not events):
            return _json(405, {"error": "use GET"}, (("Allow", "GET"),))
        if not is_job_id(job):
            return _json(400, {"error": "a job id is 1-80 characters of letters, digits and ._:-"})
        if self.board is None:
            why = NO_STATUS.get(self.mode, "this app keeps no job status")
            return _json(404, {"error": why, "job_id": job, "mode": self.mode})
        status = self.board.get(job)
        if status is None:
            return self._unknown(job)
        if not events:  # while the log is still read, a later state may yet come from it
            reading = {} if self.ready() else {"still_reading_the_log": True}
            body = {**status.to_json(), "mode": self.mode, **reading, **self._liveness()}
            return _json(200, body)
        if self.open_streams >= self.max_streams:
            busy = f"{self.open_streams} status streams are open, the most this app allows"
            return _json(503, {"error": f"{busy}; try again, or poll GET /signup/{job}"}, _RETRY)
        return lambda receive, send: self._stream(job, receive, send)

    def stats(self) -> dict[str, Any]:
        """For GET /stats: open streams, and jobs in the table."""
        jobs = None if self.board is None else len(self.board)
        return {"streams": self.open_streams, "status_jobs": jobs}

    def close(self) -> None:
        """End every open stream (the server is stopping). Thread-safe."""
        self._closing = True
        with self._lock:
            inboxes = list(self._inboxes)
        for loop, inbox in inboxes:
            with contextlib.suppress(RuntimeError):  # that loop is closed already
                loop.call_soon_threadsafe(inbox.put_nowait, None)

    def _liveness(self) -> dict[str, Any]:
        """`live`: whether the app hears the status log now; if not, since when."""
        lost = self.lost_at()
        if lost is None:
            return {"live": True}
        return {"live": False, **_lost(lost)}

    def _unknown(self, job: str) -> Respond:
        if not self.ready():  # broker mode, still reading the status log
            why = "the app is still reading the status log from the broker; try again"
            return _json(503, {"error": why, "job_id": job, "mode": self.mode}, _RETRY)
        if (lost := self.lost_at()) is not None:  # it may be in the log, unheard: not a 404
            why = f"{_lost_note(lost)}; this job has not been heard of yet: try again"
            return _json(503, {"error": why, "job_id": job, "mode": self.mode}, _RETRY)
        if self.mode == "thread":
            since = time.strftime("%H:%M:%S", time.localtime(self.started))
            why = (
                "unknown job: thread mode keeps job states only in the app's memory, and that "
                f"memory dies with the app. This app started at {since}: a job accepted "
                "before then is unknown here, and nobody can tell whether it was sent or lost"
            )
        else:
            why = (
                "unknown job: the status log has no event for it (it keeps a day of them), "
                f"or it is older than the last {self.board.max_jobs if self.board else 0} jobs "
                "this app remembers"
            )
        return _json(404, {"error": why, "job_id": job, "mode": self.mode})

    async def _stream(self, job: str, receive: Any, send: Any) -> None:
        """The job's history, then each change as it comes, until a final state."""
        assert self.board is not None
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[Event | None] = asyncio.Queue()

        def deliver(event: Event) -> None:  # on the thread that added the event
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
                loop.call_soon_threadsafe(inbox.put_nowait, event)

        now, unwatch = self.board.watch(job, deliver)
        if now is None:  # forgotten in between (the table is bounded)
            await self._unknown(job)(receive, send)
            return
        self.open_streams += 1
        with self._lock:
            self._inboxes.add((loop, inbox))
        left = asyncio.ensure_future(receive())  # http.disconnect: the client went away
        try:
            await _send(send, {"type": "http.response.start", "status": 200, "headers": _SSE})
            greeting = f"retry: {RETRY_MS}\n: status of job {job}, in {self.mode} mode\n\n"
            await _write(send, greeting.encode() + _frames(now.history))
            await self._follow(now, inbox, send, left)
        except asyncio.TimeoutError:
            pass  # the client does not read: uvicorn closes its connection
        finally:
            unwatch()
            self.open_streams -= 1
            with self._lock:
                self._inboxes.discard((loop, inbox))
            left.cancel()

    async def _follow(
        self, now: Status, inbox: asyncio.Queue[Event | None], send: Any, left: Any
    ) -> None:
        loop = asyncio.get_running_loop()
        final, end = now.state if now.final else None, loop.time() + MAX_STREAM_S
        told: float | None = None  # the lost_at this stream was last told of
        quiet_until = loop.time() + self.keepalive_s
        while final is None and not self._closing and loop.time() < end:
            if (lost := self.lost_at()) != told:
                told = lost
                await _write(send, _liveness_frame(lost))
                quiet_until = loop.time() + self.keepalive_s
            got = asyncio.ensure_future(inbox.get())
            wait = min(max(0.0, min(quiet_until, end) - loop.time()), LIVE_CHECK_S)
            done, _ = await asyncio.wait({got, left}, timeout=wait, return_when="FIRST_COMPLETED")
            if left in done:  # the client left: nothing more to write
                got.cancel()
                return
            if got not in done:
                got.cancel()
                if loop.time() < quiet_until:
                    continue  # only a look at the log's liveness
                chunk = b": keep-alive\n\n"
            elif (event := got.result()) is None:  # the server is stopping
                await _write(send, b": the app is stopping; reconnect later\n\n")
                break
            else:
                chunk = _frames((event,))
                final = event.state if event.final else None
            await _write(send, chunk)
            quiet_until = loop.time() + self.keepalive_s
        if final is not None:
            await _write(send, f"event: end\ndata: {json.dumps(final)}\n\n".encode())
        await _send(send, {"type": "http.response.body", "body": b"", "more_body": False})


_RETRY = (("Retry-After", "1"),)
_SSE = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once
]


def _lost_note(lost: float) -> str:
    since = time.strftime("%H:%M:%S", time.localtime(lost))
    return (
        f"the app lost the status log at {since} and has heard nothing since: this is the "
        "last state it heard, and the job may have moved on"
    )


def _lost(lost: float) -> dict[str, Any]:
    """Since when the app has not heard the status log, and what that means: the fields a
    GET answer and an `event: stale` share."""
    return {"log_lost_at": lost, "note": _lost_note(lost)}


def _liveness_frame(lost: float | None) -> bytes:
    """`event: stale` (the log is lost: what follows the history may be late) or `event:
    live` (followed again)."""
    if lost is None:
        return b"event: live\ndata: {}\n\n"
    return f"event: stale\ndata: {json.dumps(_lost(lost))}\n\n".encode()


def _frames(events: tuple[Event, ...]) -> bytes:
    """Server-Sent Events: `id:` and one `data:` line of JSON each, a blank line after."""
    return b"".join(
        f"id: {e.id}\ndata: {json.dumps({'job_id': e.job, **e.to_json()})}\n\n".encode()
        for e in events
    )


async def _send(send: Any, message: dict[str, Any]) -> None:
    await asyncio.wait_for(send(message), SEND_TIMEOUT_S)


async def _write(send: Any, chunk: bytes) -> None:
    await _send(send, {"type": "http.response.body", "body": chunk, "more_body": True})


def _json(status: int, body: dict[str, Any], headers: tuple[tuple[str, str], ...] = ()) -> Respond:
    data = json.dumps(body).encode("utf-8")

    async def respond(receive: Any, send: Any) -> None:
        head = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers),
        ]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": data})

    return respond
