"""A connection of its own for what must never disturb the jobs: a worker's job states.

Why apart from the jobs' connection: a broker that lost the status stream (its node died
with its disk) answers a publish into it by closing the whole connection (506 "Stream not
found"). On the jobs' connection that took the ack of the job in hand with it: the job came
back, was mailed again, its "sent" closed the connection again, and so on: 790 mails for
200 jobs in one node-loss trial. Here only the states wait, with one line, and the
connection is opened again after a capped backoff; one line says it is back once what is
sent on it goes through on a connection that lived STEADY_S (a broker that closes each new
connection at its first message would otherwise be "back" five times a second). What could
not be sent meanwhile is held by its user (scenarios/status.py) and sent once it is back.

With publisher confirms, taken in the background: nobody waits for them, but what the broker
did not confirm comes back (`take_back`) to be sent again. Without them, a state written to a
node that died before it reached the stream's other members was gone, and its job showed
"queued" for good (bench/README.md, "node-loss, run by run").

Published as mandatory: a message no queue took (a stream not yet back after a broker restart,
and no app listening) comes back too (basic.return, then its ack), to be sent again every
RETURNED_AGAIN_S, until no queue took it for RETURNED_KEEP_S; then it is dropped, with a line.
Without it, the states told in the second after a restart went nowhere ("queued" for good).

Confirmed is not always kept, right after a restart: RabbitMQ 3.10 confirmed states that its
restarted stream never held (in one broker-restart trial, the 23 a worker sent in the 0.3 s
after the stream's writer came back; those sent later were kept), and 4-7 users read
"queued" for good in about one crash test of ten. So for DOUBT_S after the first confirm
that follows a lost connection, each confirmed state goes out once more AGAIN_S later. (Why
is not known; rabbitmq-server#9457, still open, reports confirmed messages missing from a
stream after a fail-over.)
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any, Generic, TypeVar

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.frame import Method
from pika.spec import Basic

from mqlab.amqp.settings import (
    STATUS_RECONNECT_MAX_S,
    UNAVAILABLE,
    AmqpSettings,
    Outage,
    close_quietly,
    parameters,
)

STEADY_S = 0.5
CONFIRM_S = 5.0  # a message the broker has not confirmed by then is taken as lost
RESEND_S = 1.0  # a message not confirmed by then goes out once more (see `_resend_stuck`)
RETURNED_AGAIN_S = 0.5  # a message no queue took is sent again after this long...
RETURNED_KEEP_S = 30.0  # ...until none took it for this long: then it is dropped
MAX_RETURNED = 1000  # messages waiting to be sent again for that reason; then the oldest go
DOUBT_S = 3.0  # after a lost connection, from the first confirm on: confirms are doubted...
AGAIN_S = 1.0  # ...and what they confirmed is sent once more this long after

T = TypeVar("T")


class RefusedError(Exception):
    """The broker nacked a message: it could not take it (a queue without a leader, full)."""


class SideConnection(Generic[T]):
    """`channel()`: a channel on this connection, (re)opened when needed, or None while the
    broker is away or refused the last attempt (then asked again after a capped backoff).
    `sent(item, body)`: `item` goes out on it now as `body`, to be confirmed; `lost(error)`: it
    failed, and what was not confirmed comes back; `take_back()`: what to send again (refused
    by the broker, unconfirmed when the connection was lost or for CONFIRM_S, returned by no
    queue RETURNED_AGAIN_S ago). Named `name` in the broker's connection list.
    Without heartbeats: it only writes, and between jobs nothing reads it, so pika would find
    the broker's heartbeats unread and call it dead."""

    def __init__(self, settings: AmqpSettings, name: str, log: logging.Logger) -> None:
        self.settings, self.name = settings, name
        self.connection: BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._retry_at = 0.0
        self._opened_at = 0.0
        self._unconfirmed: dict[int, tuple[float, T, bytes]] = {}  # tag -> (sent at, item, body)
        self._tag = 0  # the last delivery tag on this channel
        self._refused: dict[int, tuple[float, T, bytes]] = {}  # nacked, until `check` sees them
        self._back: list[T] = []  # to send again, oldest first
        self._returned: set[int] = set()  # tags no queue took, until their ack comes
        self._unrouted_since: dict[bytes, float] = {}  # body -> when no queue first took it
        self._parked: list[tuple[float, T, bytes]] = []  # returned: (when, item, body)
        self._log = log
        self._unrouted = False  # said in the log that no queue takes them
        self._unrouted_dropped = 0  # returned messages dropped since, not yet told
        self._doubt_next = False  # a connection opened after a loss: doubt from its first ack
        self._doubt_until = 0.0
        self._again: list[tuple[float, T, bytes]] = []  # (when due, item, body): doubted
        self._doubted: set[bytes] = set()  # bodies sent once more already, in this window
        self._outage = Outage(
            settings.url,
            # at least every second, as an app's status follower: with the 10 s cap of the
            # jobs' connection, a worker with no job left held its states past a run's end
            min(settings.reconnect_max_s, STATUS_RECONNECT_MAX_S),
            log,
            lost_line=f"{name}: lost the broker (%s); held until it is back",
            back_line=f"{name}: back after %.1f s",
        )

    def channel(self) -> BlockingChannel | None:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        if time.monotonic() < self._retry_at:
            return None
        self.close()
        every = parameters(self.settings, name=self.name)
        for params in every:
            params.heartbeat = 0
        try:
            self.connection = pika.BlockingConnection(every)
            self._channel = self.connection.channel()
            # Confirms without waiting: the broker's acks and nacks come in whenever pika
            # reads this connection (a publish, `check`) and land in `_confirmed`.
            core: Any = self._channel._impl
            core.confirm_delivery(self._confirmed)
            core.add_on_return_callback(self._on_return)
        except UNAVAILABLE as e:
            self.lost(e)
            return None
        self._opened_at = time.monotonic()
        self._doubt_next = self._outage.lost_at is not None
        self._tag = 0
        return self._channel

    def wait_s(self) -> float:
        """Seconds until `channel()` may try to connect again (0: now)."""
        return max(0.0, self._retry_at - time.monotonic())

    def sent(self, item: T, body: bytes) -> None:
        self._tag += 1
        self._unconfirmed[self._tag] = (time.monotonic(), item, body)
        if time.monotonic() - self._opened_at >= STEADY_S:
            self._outage.back()  # a line only if it was lost

    @property
    def waiting(self) -> int:
        """Messages sent and not yet confirmed, or refused or returned, not yet taken back."""
        return len(self._unconfirmed) + len(self._refused) + len(self._parked) + len(self._again)

    def check(self) -> None:
        """Take in the confirms that arrived. A refusal (nack), or no confirm within
        CONFIRM_S (a hung broker never sends one), counts as losing the broker."""
        if self._unconfirmed and self.connection is not None:
            try:
                self.connection.process_data_events(time_limit=0)
            except UNAVAILABLE as e:
                self.lost(e)
                return
        if self._lost_to_refusal():  # a nack may also have come in while pika sent a message
            return
        if self._unconfirmed:
            now = time.monotonic()
            oldest = min(at for at, _, _ in self._unconfirmed.values())
            if now - oldest > CONFIRM_S:
                self.lost(TimeoutError(f"no confirm from the broker within {CONFIRM_S:g} s"))
            elif now - oldest > RESEND_S:  # on every publish: look closer only then
                self._resend_stuck(now)

    def _resend_stuck(self, now: float) -> None:
        """A message unconfirmed for RESEND_S, the only copy of it on its way, goes out once
        more: routed to a stream not back yet after a restart, RabbitMQ 3.10 neither confirmed
        nor returned a state, and it reached the app only after CONFIRM_S, once its users had
        been asked. Readers keep a state once; the first confirm of a copy settles them all."""
        copies = Counter(body for _, _, body in self._unconfirmed.values())
        for at, item, body in list(self._unconfirmed.values()):
            if now - at > RESEND_S and copies[body] == 1:
                self._back.append(item)
                copies[body] += 1

    def settle(self, timeout: float) -> None:
        """Wait up to `timeout` for the confirms of what was sent (a worker that stops)."""
        end = time.monotonic() + timeout
        self._again = [(0.0, item, body) for _, item, body in self._again]  # due now: last go
        while self._unconfirmed and self.connection is not None and time.monotonic() < end:
            try:
                self.connection.process_data_events(time_limit=0.05)
            except UNAVAILABLE as e:
                self.lost(e)
                return
            if self._lost_to_refusal():
                return

    def take_back(self) -> list[T]:
        """What the broker refused, or did not confirm before the connection was lost, and
        what no queue took RETURNED_AGAIN_S ago: to send again, oldest first."""
        now = time.monotonic()
        due = [entry for entry in self._parked if now - entry[0] >= RETURNED_AGAIN_S]
        self._parked = [entry for entry in self._parked if now - entry[0] < RETURNED_AGAIN_S]
        back, self._back = self._back, []
        again = [entry for entry in self._again if entry[0] <= now]
        self._again = [entry for entry in self._again if entry[0] > now]
        return [item for _, item, _ in due] + back + [item for _, item, _ in again]

    def _lost_to_refusal(self) -> bool:
        """A nack taken in counts as losing the broker (its backoff, its line): True if so."""
        if not self._refused:
            return False
        self.lost(RefusedError(f"the broker refused {len(self._refused)} message(s)"))
        return True

    def _confirmed(self, frame: Method[Any]) -> None:
        """pika's callback for the broker's acks and nacks (`multiple`: every tag up to it)."""
        method = frame.method
        tag = method.delivery_tag
        tags = [t for t in self._unconfirmed if t <= tag] if method.multiple else [tag]
        for t in tags:
            entry = self._unconfirmed.pop(t, None)
            if entry is None:
                continue
            if isinstance(method, Basic.Nack):
                self._refused[t] = entry
            elif t in self._returned:
                self._returned.discard(t)
                self._park(entry)
            else:  # a queue took it: and its other copies with it
                for other in [o for o, e in self._unconfirmed.items() if e[2] == entry[2]]:
                    del self._unconfirmed[other]
                self._doubt(entry)
                self._unrouted_since.pop(entry[2], None)
                if self._unrouted:
                    self._unrouted = False
                    dropped, self._unrouted_dropped = self._unrouted_dropped, 0
                    self._log.info(
                        "%s: a queue takes them again%s",
                        self.name,
                        f" ({dropped} dropped meanwhile)" if dropped else "",
                    )

    def _doubt(self, entry: tuple[float, T, bytes]) -> None:
        """A confirm in the DOUBT_S after a lost connection: the same once more, AGAIN_S on."""
        now = time.monotonic()
        if self._doubt_next:
            self._doubt_next, self._doubt_until = False, now + DOUBT_S
            self._doubted.clear()
        if now < self._doubt_until and entry[2] not in self._doubted:
            self._doubted.add(entry[2])
            self._again.append((now + AGAIN_S, entry[1], entry[2]))

    def _on_return(self, _channel: object, _method: object, _props: object, body: bytes) -> None:
        """pika's callback for a message no queue took (basic.return; its ack follows)."""
        tag = min(
            (t for t, e in self._unconfirmed.items() if e[2] == body and t not in self._returned),
            default=None,
        )
        if tag is None:
            return
        self._returned.add(tag)
        self._unrouted_since.setdefault(body, time.monotonic())
        if not self._unrouted:
            self._unrouted = True
            self._log.warning(
                "%s: no queue took them (the stream is not back yet?); sent again every %g s",
                self.name,
                RETURNED_AGAIN_S,
            )

    def _park(self, entry: tuple[float, T, bytes]) -> None:
        """A returned message, to be sent again later; dropped once no queue took it for
        RETURNED_KEEP_S (or to make room for a newer one): one line at the first, the count
        when a queue takes them again."""
        _, item, body = entry
        now = time.monotonic()
        if now - self._unrouted_since.get(body, now) > RETURNED_KEEP_S:
            self._unrouted_since.pop(body, None)
            self._drop_unrouted()
            return
        self._parked.append((now, item, body))
        if len(self._parked) > MAX_RETURNED:
            self._unrouted_since.pop(self._parked.pop(0)[2], None)
            self._drop_unrouted()

    def _drop_unrouted(self) -> None:
        if not self._unrouted_dropped:
            self._log.warning(
                "%s: dropping what no queue took for %g s (or beyond %d waiting)",
                self.name,
                RETURNED_KEEP_S,
                MAX_RETURNED,
            )
        self._unrouted_dropped += 1

    def lost(self, error: BaseException) -> None:
        self._channel = None
        self._give_back()
        self._retry_at = time.monotonic() + self._outage.lost(error)

    def _give_back(self) -> None:
        """Refused or unconfirmed: it may or may not be on the broker, so it is sent again,
        and a copy that did arrive is kept once by every reader (they know a state by its id).
        What no queue took goes first: it is the oldest."""
        every = {**self._unconfirmed, **self._refused}
        self._back.extend(item for _, item, _ in self._parked)
        self._back.extend(item for _, item, _ in self._again)
        self._back.extend(item for _, (_, item, _) in sorted(every.items()))
        self._unconfirmed.clear()
        self._refused.clear()
        self._returned.clear()
        self._parked.clear()
        self._again.clear()

    def close(self) -> None:
        if self.connection is not None:
            close_quietly(self.connection)
        self.connection = self._channel = None
        self._again.clear()  # copies of what was confirmed: not lost if they never go
        self._give_back()
