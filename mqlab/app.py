"""The signup app: a real HTTP server (waitress) in front of one scenario.

Routes: `POST /signup` (JSON body, optional `X-Job-Id` header), `GET /health`,
`GET /stats` (the in-process backlog, for the timeline). Validation happens
here, the same for every mode; the scenario decides what happens next.
"""

from __future__ import annotations

import json
import logging
import signal
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from waitress.server import BaseWSGIServer, MultiSocketServer

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

_REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 400: "Bad Request", 404: "Not Found",
    405: "Method Not Allowed", 411: "Length Required", 413: "Content Too Large",
    415: "Unsupported Media Type", 422: "Unprocessable Content", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable",
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
            return Answer(200, {"ok": True, "mode": self.signup.mode,
                                "backlog": self.signup.backlog()})
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


def create_server(config: ServeConfig, signup: Signup) -> BaseWSGIServer | MultiSocketServer:
    check_port_free(config.host, config.port)
    try:
        return waitress.create_server(
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


def serve(config: ServeConfig) -> None:
    """Run until SIGINT/SIGTERM, then close the scenario (finish or hand back in-flight work)."""
    signup = build_signup(config)
    server = create_server(config, signup)
    where = f" (broker {mask_url(config.amqp.url)})" if config.mode is Mode.broker else ""
    log.info("%s app listening on http://%s:%d/signup%s", config.mode.value, config.host,
             config.port, where)

    def stop(*_: object) -> None:
        raise SystemExit(0)  # waitress's loop stops its task threads on SystemExit

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    finally:
        signup.close()
