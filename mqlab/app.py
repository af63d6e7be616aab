"""The signup app: a real HTTP server (waitress) in front of one scenario.

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
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer
from waitress.task import ErrorTask

from mqlab.amqp import quiet_pika_logs
from mqlab.answer import Answer, Signup
from mqlab.config import Mode, ServeConfig
from mqlab.errors import PortInUse
from mqlab.mailjob import MailJob
from mqlab.procs import check_port_free
from mqlab.rabbit import mask_url
from mqlab.scan import Scanner
from mqlab.signup import InvalidSignup, parse_signup

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]

DRAIN_TIMEOUT_S = 8.0  # after SIGTERM: the longest wait for requests under way (procs waits 10)

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def build_signup(config: ServeConfig) -> Signup:
    """The scenario for this mode (imported here so the lesson files stay free of plumbing)."""
    if config.mode is Mode.broker:
        from scenarios.broker import BrokerSignup

        return BrokerSignup(config.amqp)
    mail_job = MailJob(Scanner(config.scan), config.smtp)
    if config.mode is Mode.thread:
        from scenarios.thread import ThreadSignup

        return ThreadSignup(mail_job, config.workers)
    from scenarios.sync import SyncSignup

    return SyncSignup(mail_job)


class SignupApp:
    """The WSGI application."""

    def __init__(self, signup: Signup, max_body: int) -> None:
        self.signup = signup
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        answer = self.route(environ)
        body = json.dumps(answer.body).encode("utf-8")
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if answer.status == 405:
            headers.append(("Allow", "POST" if environ.get("PATH_INFO") == "/signup" else "GET"))
        start_response(f"{answer.status} {_REASONS.get(answer.status, '')}".strip(), headers)
        return [body]

    def route(self, environ: dict[str, Any]) -> Answer:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/signup":
            return self.post_signup(environ) if method == "POST" else _error(405, "use POST")
        if path in ("/health", "/stats"):
            if method not in ("GET", "HEAD"):
                return _error(405, "use GET")
            return Answer(
                200, {"ok": True, "mode": self.signup.mode, "backlog": self.signup.backlog()}
            )
        return _error(404, f"no such path: {path}")

    def post_signup(self, environ: dict[str, Any]) -> Answer:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _error(400, "bad Content-Length")
        if length > self.max_body:
            return _error(413, f"body is larger than {self.max_body} bytes")
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            job = parse_signup(body, environ.get("HTTP_X_JOB_ID"))
        except InvalidSignup as e:
            return _error(400, str(e))
        try:
            return self.signup.handle(job)
        except Exception:
            log.exception("signup %s failed", job.id)
            return _error(500, "internal error")


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"error": message})


class _JsonErrorTask(ErrorTask):  # type: ignore[misc]
    """Errors waitress answers itself (a body far over the limit, a malformed request line or
    header), in JSON like every other error of the app, not waitress's plain text."""

    def execute(self) -> None:
        error = self.request.error
        if error.code == 413:
            limit = getattr(self.channel.server, "mqlab_max_body", None)
            message = f"body is larger than {limit} bytes" if limit else "body is too large"
        else:
            message = f"{error.reason.lower()}: {error.body}"
        body = json.dumps({"error": message}).encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _JsonErrorChannel(HTTPChannel):  # type: ignore[misc]
    error_task_class = _JsonErrorTask


def create_server(config: ServeConfig, signup: Signup) -> BaseWSGIServer | MultiSocketServer:
    check_port_free(config.host, config.port)
    try:
        server = waitress.create_server(
            SignupApp(signup, config.max_body),
            host=config.host,
            port=config.port,
            threads=config.server_threads,
            # waitress refuses bigger bodies itself; ours answers 413 with a JSON error first
            max_request_body_size=config.max_body + 1024,
            connection_limit=1000,
            backlog=2048,
            channel_timeout=60,
            ident="mqlab",
        )
    except OSError as e:
        raise PortInUse(f"cannot listen on {config.host}:{config.port}: {e.strerror}") from None
    for listener in _listeners(server):
        listener.channel_class = _JsonErrorChannel
        listener.mqlab_max_body = config.max_body
    return server


def serve(config: ServeConfig) -> None:
    """Run until SIGTERM/SIGINT, then drain: accept no new connection, let the requests under
    way finish and their answers go out, and close the scenario (the thread pool finishes its
    queue). A second signal, or DRAIN_TIMEOUT_S, ends the draining at once."""
    quiet_pika_logs()
    signup = build_signup(config)
    server = create_server(config, signup)
    where = f" (broker {mask_url(config.amqp.url)})" if config.mode is Mode.broker else ""
    log.info(
        "%s app listening on http://%s:%d/signup%s",
        config.mode.value,
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
    try:
        _run_until(server, done)
    finally:
        signup.close()
        log.info("app stopped")


def _run_until(server: BaseWSGIServer | MultiSocketServer, done: threading.Event) -> None:
    """waitress's own loop (`server.run()`), but one that ends when `done` is set."""
    socket_map = server.map if isinstance(server, MultiSocketServer) else server._map
    while not done.is_set():
        wasyncore.loop(
            timeout=server.adj.asyncore_loop_timeout,
            map=socket_map,
            use_poll=server.adj.asyncore_use_poll,
            count=1,
        )
    server.task_dispatcher.shutdown()


def _listeners(server: BaseWSGIServer | MultiSocketServer) -> list[BaseWSGIServer]:
    if isinstance(server, MultiSocketServer):
        return [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]
    return [server]


def _drain(server: BaseWSGIServer | MultiSocketServer, done: threading.Event) -> None:
    """On its own thread: close the listening sockets, wait until no request is under way
    and every answer is sent, then end the loop."""
    listeners = _listeners(server)
    closed = threading.Event()

    def close_listeners() -> None:  # on the loop's thread, via waitress's trigger
        for listener in listeners:
            wasyncore.dispatcher.close(listener)
        closed.set()

    listeners[0].trigger.pull_trigger(close_listeners)
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    closed.wait(DRAIN_TIMEOUT_S)
    while time.monotonic() < deadline and not done.is_set() and _busy(listeners[0]):
        time.sleep(0.02)
    done.set()
    listeners[0].trigger.pull_trigger()  # wake the loop so it sees `done`


def _busy(listener: BaseWSGIServer) -> bool:
    tasks = listener.task_dispatcher
    if tasks.active_count or tasks.queue:
        return True
    channels = [c for c in list(listener._map.values()) if isinstance(c, HTTPChannel)]
    return any(c.requests or c.total_outbufs_len for c in channels)
