"""The signup app: a real HTTP server (mqlab/httpserver.py) in front of one scenario.

Routes: `POST /signup` (JSON body, optional `X-Job-Id` header), `GET /health`,
`GET /stats` (the in-process backlog, for the timeline). Validation happens
here, the same for every mode; the scenario decides what happens next.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time

from mqlab.amqp import quiet_pika_logs
from mqlab.answer import Answer, Signup
from mqlab.config import Mode, ServeConfig
from mqlab.errors import PortInUse
from mqlab.httpserver import Request, Response, Server
from mqlab.mailjob import MailJob
from mqlab.procs import check_port_free
from mqlab.rabbit import mask_url
from mqlab.scan import Scanner
from mqlab.signup import InvalidSignup, parse_signup

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 8.0  # after SIGTERM: the longest wait for requests under way (procs waits 10)


def build_signup(config: ServeConfig) -> Signup:
    """The scenario for this mode (imported here so the lesson files stay free of plumbing)."""
    if config.mode is Mode.broker:
        from scenarios.broker import BrokerSignup

        return BrokerSignup(config.amqp, handlers=config.server_threads)
    mail_job = MailJob(Scanner(config.scan), config.smtp)
    if config.mode is Mode.thread:
        from scenarios.thread import ThreadSignup

        return ThreadSignup(mail_job, config.workers)
    from scenarios.sync import SyncSignup

    return SyncSignup(mail_job)


class SignupApp:
    """Routes a request and turns the scenario's Answer into JSON."""

    def __init__(self, signup: Signup) -> None:
        self.signup = signup

    def __call__(self, request: Request) -> Response:
        answer = self.route(request)
        headers: tuple[tuple[str, str], ...] = ()
        if answer.status == 405:
            headers = (("Allow", "POST" if request.path == "/signup" else "GET"),)
        return Response(answer.status, json.dumps(answer.body).encode("utf-8"), headers)

    def route(self, request: Request) -> Answer:
        path, method = request.path, request.method
        if path == "/signup":
            return self.post_signup(request) if method == "POST" else _error(405, "use POST")
        if path in ("/health", "/stats"):
            if method not in ("GET", "HEAD"):
                return _error(405, "use GET")
            return Answer(
                200, {"ok": True, "mode": self.signup.mode, "backlog": self.signup.backlog()}
            )
        return _error(404, f"no such path: {path}")

    def post_signup(self, request: Request) -> Answer:
        # The server refused a body over the limit already (413), before reading it.
        try:
            job = parse_signup(request.body, request.headers.get("x-job-id"))
        except InvalidSignup as e:
            return _error(400, str(e))
        try:
            return self.signup.handle(job)
        except Exception:
            log.exception("signup %s failed", job.id)
            return _error(500, "internal error")


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"error": message})


def create_server(config: ServeConfig, signup: Signup) -> Server:
    check_port_free(config.host, config.port)
    try:
        return Server(
            config.host,
            config.port,
            SignupApp(signup),
            handler_threads=config.server_threads,
            max_body=config.max_body,
        )
    except OSError as e:
        raise PortInUse(f"cannot listen on {config.host}:{config.port}: {e.strerror}") from None


def serve(config: ServeConfig, scenario: Signup | None = None) -> None:
    """Run until SIGTERM/SIGINT, then drain: accept no new connection, let the requests under
    way finish and their answers go out, and close the scenario (the thread pool finishes its
    queue). A second signal, or DRAIN_TIMEOUT_S, ends the draining at once.

    `scenario`: one of the caller's own instead of the mode's (the calibration's empty one,
    the Celery peer's)."""
    quiet_pika_logs()
    signup = scenario if scenario is not None else build_signup(config)
    server = create_server(config, signup)
    where = f" (broker {mask_url(config.amqp.url)})" if signup.mode == Mode.broker.value else ""
    log.info(
        "%s app listening on http://%s:%d/signup%s",
        signup.mode,
        config.host,
        config.port,
        where,
    )
    draining, done = threading.Event(), threading.Event()

    def stop(*_: object) -> None:  # only sets flags: raising here could land anywhere
        if draining.is_set():
            done.set()
            return
        draining.set()
        threading.Thread(target=_drain, args=(server, done), name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=server.serve, name="accept", daemon=True).start()
    try:
        while not done.wait(0.5):  # a timeout, so that signal handlers run promptly
            pass
    finally:
        server.close()
        signup.close()
        log.info("app stopped")


def _drain(server: Server, done: threading.Event) -> None:
    """On its own thread: accept no new connection, wait until no request is under way (its
    answer sent), then end."""
    server.stop_accepting()
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline and not done.is_set() and server.busy():
        time.sleep(0.02)
    done.set()
