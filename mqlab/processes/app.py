"""The signup app: a real HTTP server (mqlab/processes/httpserver.py) in front of one scenario.

Routes: `GET /` (the signup page, processes/page.py), `POST /signup` (JSON body,
optional `X-Job-Id` header), `GET /health`, `GET /stats` (the in-process backlog, for the
timeline). Validation happens here, the same for every mode; the scenario decides what
happens next.
`GET /signup/{id}` and `GET /signup/{id}/events` (the job's state, and its
changes pushed) are processes/status_api.py's, answered on the server's loop.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import threading
import time
from collections.abc import Awaitable
from typing import cast

from mqlab.amqp.settings import quiet_pika_logs
from mqlab.errors import PortInUse
from mqlab.job.answer import Answer, LoopSignup, Signup, on_loop
from mqlab.job.mailjob import MailJob
from mqlab.job.scan import Scanner
from mqlab.job.signup import InvalidSignup, Job, RecentIds, parse_signup
from mqlab.job.status import Board
from mqlab.processes import brokers
from mqlab.processes.config import Mode, ServeConfig
from mqlab.processes.httpserver import Request, Response, Server
from mqlab.processes.page import Page
from mqlab.processes.procs import check_port_free
from mqlab.processes.rabbit import mask_url
from mqlab.processes.status_api import StatusRoutes
from mqlab.stopflag import StopFlag

log = logging.getLogger(__name__)
narrate = logging.getLogger("narrate")  # a line per signup; `mqlab serve --quiet` hides it

# Answered on the server's loop at once, never behind busy handler threads: a liveness
# probe must not wait for a scan or a broker (their handlers only read counters).
FAST_PATHS = ("/health", "/stats")


def build_signup(
    config: ServeConfig,
) -> tuple[Signup | LoopSignup, StatusRoutes, brokers.Follower | None]:
    """The scenario for this mode (imported here so the lesson files stay free of plumbing),
    where its jobs' states are kept, and (broker) what follows them on the broker."""
    routes = functools.partial(
        StatusRoutes, max_streams=config.max_streams, keepalive_s=config.sse_keepalive_s
    )
    if config.mode is Mode.broker:  # on RabbitMQ, Redis Streams or NATS JetStream
        follower = brokers.follower_for(config.amqp)
        signup = brokers.signup_for(config.amqp, config.server_threads, status=follower.tell)
        board, ready, outage = follower.board, follower.caught_up.is_set, follower.outage
        return signup, routes("broker", board, ready, lost_at=lambda: outage.lost_at), follower
    mail_job = MailJob(Scanner(config.scan), config.smtp)
    if config.mode is Mode.thread:
        from scenarios.thread import ThreadSignup

        board = Board()  # in the app's memory: a restart forgets it
        return ThreadSignup(mail_job, config.workers, board), routes("thread", board), None
    from scenarios.sync import SyncSignup

    return SyncSignup(mail_job), routes("sync", None), None


class SignupApp:
    """Routes a request and turns the scenario's Answer into JSON. A scenario whose handler is
    a coroutine (`LoopSignup`) is awaited on the server's loop (`awaited`), never on a thread."""

    def __init__(self, signup: Signup | LoopSignup, status: StatusRoutes | None = None) -> None:
        self.signup = signup
        # decided once, not for each request: the scenario's handler is a coroutine
        self.loop_signup: LoopSignup | None = signup if on_loop(signup) else None
        self.status = status  # for /stats: open status streams
        self.recent_ids = RecentIds()  # client-chosen job ids, each bound to its payload

    def __call__(self, request: Request) -> Response:
        return self.respond(request, self.route(request))

    def respond(self, request: Request, answer: Answer) -> Response:
        headers = answer.headers
        if answer.status == 405:
            headers = (("Allow", "POST" if request.path == "/signup" else "GET"),)
        return Response(answer.status, json.dumps(answer.body).encode("utf-8"), headers)

    def awaited(self, request: Request) -> Awaitable[Response] | None:
        """A signup for a scenario handled on the loop: its answer, awaited there."""
        signup = self.loop_signup
        if signup is None or request.path != "/signup" or request.method != "POST":
            return None

        async def signing_up() -> Response:
            job = self.job(request)
            if isinstance(job, Answer):
                return self.respond(request, job)
            started = time.perf_counter()
            try:
                answer = await signup.handle(job)
            except Exception:
                log.exception("signup %s failed", job.id)
                return self.respond(request, _error(500, "internal error"))
            _narrate(job, answer, started)
            return self.respond(request, answer)

        return signing_up()

    def route(self, request: Request) -> Answer:
        path, method = request.path, request.method
        if path == "/signup":
            return self.post_signup(request) if method == "POST" else _error(405, "use POST")
        if path in ("/health", "/stats"):
            if method not in ("GET", "HEAD"):
                return _error(405, "use GET")
            streams = self.status.stats() if self.status is not None else {}
            return Answer(
                200,
                {"ok": True, "mode": self.signup.mode, "backlog": self.signup.backlog(), **streams},
            )
        return _error(404, f"no such path: {path}")

    def job(self, request: Request) -> Job | Answer:
        """The signup's job, or the answer to a request that is none."""
        # The server refused a body over the limit already (413), before reading it.
        try:
            job = parse_signup(request.body, request.headers.get("x-job-id"))
        except InvalidSignup as e:
            return _error(400, str(e))
        if "x-job-id" in request.headers and not self.recent_ids.claim(job):
            # Another signup's id: an idempotent worker would skip this one as "sent already".
            return _error(409, f"X-Job-Id {job.id} was used for a different signup; use a new id")
        return job

    def post_signup(self, request: Request) -> Answer:
        job = self.job(request)
        if isinstance(job, Answer):
            return job
        if self.loop_signup is not None:  # only ever awaited (`awaited`): never from a thread
            return _error(500, "internal error")
        signup = cast(Signup, self.signup)
        started = time.perf_counter()
        try:
            answer = signup.handle(job)
        except Exception:
            log.exception("signup %s failed", job.id)
            return _error(500, "internal error")
        _narrate(job, answer, started)
        return answer


def _narrate(job: Job, answer: Answer, started: float) -> None:
    if narrate.isEnabledFor(logging.INFO):
        said = answer.body.get("status") or answer.body.get("outcome") or answer.body.get("error")
        took = (time.perf_counter() - started) * 1000
        narrate.info("signup %s: %d %s in %.1f ms", job.id, answer.status, said, took)


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"error": message})


def create_server(
    config: ServeConfig, signup: Signup | LoopSignup, status: StatusRoutes | None = None
) -> Server:
    check_port_free(config.host, config.port)
    app = SignupApp(signup, status)
    loop_signup = app.loop_signup
    try:
        return Server(
            config.host,
            config.port,
            app,
            handler_threads=config.server_threads,
            max_body=config.max_body,
            read_timeout=config.read_timeout_s,
            keepalive_timeout=config.keepalive_timeout_s,
            max_connections=config.max_connections,
            fast_paths=FAST_PATHS,
            on_loop=Page(signup.mode, status),  # the page at /, then the job status
            awaited=app.awaited,
            on_start=loop_signup.start if loop_signup else None,
            on_stop=loop_signup.close if loop_signup else None,
        )
    except OSError as e:
        raise PortInUse(f"cannot listen on {config.host}:{config.port}: {e.strerror}") from None


def serve(config: ServeConfig, scenario: Signup | None = None) -> None:
    """Run until SIGTERM/SIGINT, then drain: accept no new connection, let the requests under
    way finish and their answers go out (at most httpserver.STOP_TIMEOUT_S), and close the
    scenario (the thread pool finishes its queue). A second signal ends the draining at once.

    `scenario`: one of the caller's own instead of the mode's (the calibration's empty one,
    the Celery peer's)."""
    quiet_pika_logs()
    if scenario is None:
        signup, status, follower = build_signup(config)
    else:  # no job status: a 404 that says so
        signup, status, follower = scenario, StatusRoutes(scenario.mode, None), None
    server = create_server(config, signup, status)
    name = brokers.NAMES[config.amqp.broker]
    where = f" ({name} {mask_url(config.amqp.url)})" if signup.mode == Mode.broker.value else ""
    log.info(
        "%s app listening on http://%s:%d/ (the signup page; POST /signup)%s",
        signup.mode,
        config.host,
        config.port,
        where,
    )
    draining = StopFlag()  # not a threading.Event: see mqlab/stopflag.py

    def stop(*_: object) -> None:  # only sets flags: raising here could land anywhere
        if draining.is_set():
            server.close()
            return
        draining.set()
        server.stop_accepting()
        status.close()  # open status streams end: the drain does not wait for them

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    http = threading.Thread(target=server.serve, name="http", daemon=True)
    http.start()
    try:
        while http.is_alive():
            http.join(0.5)  # a timeout, so that signal handlers run promptly
    finally:
        server.close()
        if not on_loop(signup):  # else closed on the loop, after the last answer
            signup.close()
        if follower is not None:
            follower.close()
        log.info("app stopped")
