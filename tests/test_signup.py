"""Validation of the signup body: what becomes a job and what is refused, with why."""

from __future__ import annotations

import base64
import json

import pytest

from mqlab.signup import InvalidSignup, Job, parse_signup


def body(**fields: object) -> bytes:
    return json.dumps({"email": "ana@example.test", "name": "Ana", **fields}).encode()


def test_a_valid_signup_becomes_a_job() -> None:
    job = parse_signup(body(attachment=base64.b64encode(b"cv").decode()), "job-1")
    assert job == Job("job-1", "ana@example.test", "Ana", b"cv")


def test_the_job_gets_an_id_when_the_client_gives_none() -> None:
    a, b = parse_signup(body()), parse_signup(body())
    assert a.id and b.id and a.id != b.id


def test_a_job_survives_the_trip_through_a_queue_message() -> None:
    job = Job("j", "ana@example.test", "Ana", b"\x00\xffbinary")
    assert Job.from_bytes(job.to_bytes()) == job


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"name": "Ana"}).encode(), "'email' is required"),
        (body(email=5), "'email' must be a string"),
        (body(email="not-an-address"), "not a valid address"),
        (body(email="a@b.test\r\nBcc: x@y.test"), "control characters"),
        (body(name=""), "must not be empty"),
        (body(name="Bob\r\nBcc: x@y.test"), "control characters"),
        (body(name="x" * 201), "longer than 200"),
        (body(attachment="***"), "not valid base64"),
        (body(attachment=12), "base64 string"),
    ],
)
def test_bad_input_is_refused_with_a_reason(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidSignup, match=message):
        parse_signup(raw)


def test_a_job_id_with_header_characters_is_refused() -> None:
    with pytest.raises(InvalidSignup, match="X-Job-Id"):
        parse_signup(body(), "bad\r\nid")
