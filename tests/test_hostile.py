"""Hostile HTTP input against the REAL server (`mqlab serve sync` child, real SMTP sink).

Whatever the body: no 5xx, no crash, a JSON error for every 4xx, and no mail for a refused
body. A mail that is sent goes to exactly the address in the body, and to nobody else.
(The cases of tests/test_app.py, tests/test_signup.py and tests/test_httpserver.py, such as
413, malformed HTTP and chunked bodies, are not repeated here.)
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mqlab.job.ledger import Arrival, count_arrivals, read_arrivals
from mqlab.job.scan import EICAR
from mqlab.job.signup import InvalidSignup, parse_signup
from mqlab.processes.procs import Child, free_ports, http_ok, mqlab_argv

from .helpers import HOST, App, Queues, Sink


@dataclass
class Server:
    app: Child
    sink: Child
    port: int
    ledger: Path

    def mails(self) -> list[Arrival]:
        return read_arrivals(self.ledger)

    def count(self) -> int:
        return count_arrivals(self.ledger)

    def mails_since(self, before: int) -> list[Arrival]:
        """The mails after the first `before` ones (the ledger is read only if there are any:
        thousands of examples would otherwise read an ever longer ledger twice each)."""
        return self.mails()[before:] if self.count() != before else []

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def raw(self, data: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send bytes as they are (malformed HTTP) and parse the answer."""
        with socket.create_connection((HOST, self.port), timeout=15) as s:
            s.sendall(data)
            r = http.client.HTTPResponse(s)
            r.begin()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One sync app and one sink for the whole module (hypothesis runs thousands of bodies)."""
    tmp = tmp_path_factory.mktemp("hostile")
    smtp, port = free_ports(2)
    ledger = tmp / "ledger.db"
    sink = Child(
        "sink", mqlab_argv("sink", "--port", str(smtp), "--ledger", str(ledger)), tmp / "sink.log"
    ).start()
    app = Child(
        "app",
        mqlab_argv(
            "serve", "sync", "--port", str(port), "--smtp-port", str(smtp), "--scan-ms", "0"
        ),
        tmp / "app.log",
    )
    try:
        sink.wait_listening(smtp, timeout=15)
        app.start().wait_listening(
            port, lambda: http_ok(f"http://{HOST}:{port}/health"), timeout=15
        )
        yield Server(app, sink, port, ledger)
    finally:
        app.stop()
        sink.stop()
    assert "Traceback" not in (tmp / "app.log").read_text(), "the app logged a crash"


def json_error(status: int, headers: dict[str, str], body: bytes) -> str:
    assert 400 <= status < 500, (status, body[:200])
    assert headers.get("content-type") == "application/json", headers
    message = json.loads(body)["error"]
    assert isinstance(message, str) and message
    return message


# -- the property: thousands of generated bodies ------------------------------------------------

_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
_atom = st.text(alphabet=_ATEXT, min_size=1, max_size=8)
_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
valid_emails = st.builds(
    lambda local, labels: ".".join(local) + "@" + ".".join(labels),
    st.lists(_atom, min_size=1, max_size=3),
    st.lists(_label, min_size=2, max_size=3),
)
nasty = st.sampled_from(
    [
        "Bob\r\nBcc: eve@evil.test",
        "Bob\nBcc: eve@evil.test",
        "Bob\rX-Evil: 1",
        "A\x00B",
        "A\u2028Bcc: eve@evil.test",
        "A\u2029B",
        "A\x85Bcc: eve@evil.test",
        "\ud800",
        "A\udfffB",
        "=?utf-8?q?Bcc:_eve@evil.test?=",
        "<eve@evil.test>",
        "a@b.test, eve@evil.test",
        " ",
        "",
        "a@b.test\n",
        ".a@b.test",
        "a..b@c.test",
        "a@-b.test",
        "a@b",
        "a b@c.test",
        "é@b.test",
    ]
)
texts = st.one_of(
    st.text(max_size=40), nasty, st.builds(lambda a, b: a + b, st.text(max_size=10), nasty)
)
others = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
attachments = st.one_of(
    st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
    st.just(base64.b64encode(EICAR).decode()),
    st.text(max_size=20),
    others,
)
good_names = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=60
).filter(str.strip)
good_signups = st.fixed_dictionaries(
    {"email": valid_emails, "name": good_names},
    optional={
        "attachment": st.one_of(
            st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
            st.just(base64.b64encode(b"cv " + EICAR).decode()),
        )
    },
)
hostile_fields = st.fixed_dictionaries(
    {},
    optional={
        "email": st.one_of(valid_emails, valid_emails, texts, others),
        "name": st.one_of(good_names, texts, others),
        "attachment": attachments,
        "extra": others,
    },
)
around_nasty = st.builds(lambda a, n, b: a + n + b, st.text(max_size=8), nasty, st.text(max_size=8))
# A good signup; one with a hostile name or address (what reaches a mail header); one with
# fields swapped for anything at all; or anything at all.
signups = st.one_of(
    good_signups,
    st.builds(lambda good, name: {**good, "name": name}, good_signups, around_nasty),
    st.builds(lambda good, email: {**good, "email": email}, good_signups, around_nasty),
    st.builds(lambda good, bad: {**good, **bad}, good_signups, hostile_fields),
    hostile_fields,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    signups.map(lambda d: json.dumps(d).encode()),
    signups.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=120),
)
good_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,80}", fullmatch=True)
job_ids = st.one_of(
    st.none(),
    good_ids,
    good_ids,
    good_ids,
    st.text(alphabet=string.ascii_letters + string.digits + " ;<>@,\"'\t", max_size=90),
)


# make test throws 600 bodies (13 ms of CPU each); make check, the quick loop, 300; a longer
# hunt: MQLAB_HOSTILE_EXAMPLES=5000 make test.
EXAMPLES = int(os.environ.get("MQLAB_HOSTILE_EXAMPLES", "600"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=bodies, job_id=job_ids)
def test_no_body_gets_a_5xx_and_a_refused_body_is_never_mailed(
    server: Server, body: bytes, job_id: str | None
) -> None:
    before = server.count()
    headers = {"Content-Type": "application/json"}
    if job_id is not None:
        headers["X-Job-Id"] = job_id
    status, answer_headers, answer = server.request("POST", "/signup", body, headers)
    mails = server.mails_since(before)
    event(f"HTTP {status}")
    if job_id is not None:
        job_id = job_id.strip(" \t")  # HTTP drops spaces around a header value
    if status == 409:  # a valid body, but its X-Job-Id came before with another payload
        assert "X-Job-Id" in json_error(status, answer_headers, answer) and mails == []
        return
    if status in (201, 422):
        job = parse_signup(body, job_id)  # the same rules accepted it
        (mail,) = mails
        assert mail.job_id == (job_id or json.loads(answer).get("job_id", mail.job_id))
        if status == 201:  # exactly the address in the body: no Bcc, no second recipient
            assert (mail.kind, mail.recipient) == ("welcome", job.email)
        else:
            assert mail.kind == "quarantine" and EICAR in job.attachment
    else:
        json_error(status, answer_headers, answer)
        assert mails == []  # refused: nothing was mailed
        with pytest.raises(InvalidSignup):
            parse_signup(body, job_id)


# -- hand-picked cases hypothesis would rarely build ------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),  # deeper than Python's recursion
        (b'{"email": ' + b"1" * 5000 + b"}", "not valid JSON"),  # an int too long to convert
        (b'{"email": "a@b.test", "name": "A\\u2028Bcc: eve@evil.test"}', "control characters"),
        (b'{"email": "a@b.test", "name": "\\ud800"}', "control characters"),
        (b'{"email": "a@b.test\\n", "name": "A"}', "control characters"),
        (b'{"email": ".a@b.test", "name": "A"}', "not a valid address"),
        (b'{"email": "a..b@c.test", "name": "A"}', "not a valid address"),
        (b'{"email": ["a@b.test"], "name": "A"}', "must be a string"),
        (b'{"email": "a@b.test", "name": "A", "attachment": "QUJD\\nREVG"}', "base64"),
        (b'{"email": "a@b.test", "name": "A", "attachment": "QUJ"}', "base64"),
        (b"", "not valid JSON"),
    ],
)
def test_hand_picked_bad_bodies(server: Server, body: bytes, message: str) -> None:
    before = server.count()
    status, headers, answer = server.request(
        "POST", "/signup", body, {"Content-Type": "application/json"}
    )
    assert status == 400
    assert message in json_error(status, headers, answer)
    assert server.count() == before


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PUT", "/signup", 405),
        ("DELETE", "/signup", 405),
        ("HEAD", "/signup", 405),
        ("POST", "/health", 405),
        ("POST", "/signup/", 404),
        ("GET", "/../etc/passwd", 404),
    ],
)
def test_wrong_methods_and_paths(server: Server, method: str, path: str, status: int) -> None:
    got, headers, answer = server.request(method, path, b'{"email": "a@b.test", "name": "A"}')
    assert got == status
    if method != "HEAD":  # a HEAD answer has no body
        json_error(got, headers, answer)
    if status == 405:
        assert headers["allow"] in ("GET", "POST")


def test_the_server_is_still_up_and_sends_good_signups(server: Server) -> None:
    status, _, answer = server.request(
        "POST", "/signup", b'{"email": "z@y.test", "name": "Z"}', {"X-Job-Id": "still-up"}
    )
    assert (status, json.loads(answer)["job_id"]) == (201, "still-up")
    assert server.app.alive


@pytest.mark.broker
def test_in_broker_mode_a_refused_body_is_never_queued(
    queues: Queues, sink: Sink, start_app: Callable[..., App]
) -> None:
    app = start_app("broker", sink, *queues.args())  # stopped before its queues are deleted
    bad: list[Any] = [
        b"{oops",
        b"[]",
        {"email": "a@b.test", "name": "B\r\nBcc: e@f.test"},
        {"email": "a@b.test", "name": "A", "attachment": "!!"},
        {"name": "A"},
    ]
    for body in bad:
        assert app.post(body)[0] == 400
    assert queues.depth()[0] in (-1, 0)  # never declared, or empty: nothing was queued
    assert app.post({"email": "a@b.test", "name": "A"})[0] == 202
    assert queues.depth()[0] == 1  # the one good signup
