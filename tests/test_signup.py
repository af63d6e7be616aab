"""Validation of the signup body: what becomes a job and what is refused, with why."""

from __future__ import annotations

import base64
import json
import re

import pytest

from mqlab.job.signup import (
    MAX_ATTACHMENT,
    MAX_JOB_BYTES,
    InvalidSignup,
    Job,
    RecentIds,
    parse_signup,
)


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


# -- a job taken off the queue: the same rules as a request (issue 22) ----------------------


def job_body(**fields: object) -> bytes:
    return json.dumps(
        {"id": "job-1", "email": "ana@example.test", "name": "Ana", **fields}
    ).encode()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[" * 200_000 + b"]" * 200_000, "not valid JSON"),  # RecursionError, inside
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (job_body(email="victim@example.test, attacker@evil.test"), "not a valid address"),
        (job_body(name="Eve\r\nBcc: attacker@evil.test"), "control characters"),
        (job_body(name="x" * 201), "longer than 200"),
        (job_body(attachment="***"), "not valid base64"),
        (job_body(id="bad\r\nid"), "'id' must be 1-80 characters"),
        (job_body(id=7), "'id' must be 1-80 characters"),
        (json.dumps({"email": "ana@example.test", "name": "Ana"}).encode(), "'id' must be"),
        (job_body(attachment="A" * MAX_JOB_BYTES), f"more than the {MAX_JOB_BYTES} allowed"),
    ],
)
def test_a_queued_job_is_validated_as_the_app_validates_a_request(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidSignup, match=re.escape(message)):
        Job.from_bytes(raw)


def test_an_attachment_larger_than_a_request_can_carry_is_refused() -> None:
    big = base64.b64encode(b"x" * (MAX_ATTACHMENT + 1)).decode()
    with pytest.raises(InvalidSignup, match="larger than"):
        parse_signup(body(attachment=big))
    assert parse_signup(body(attachment=base64.b64encode(b"x" * MAX_ATTACHMENT).decode()))


def test_an_unknown_extra_field_is_ignored_in_a_request_and_in_a_job() -> None:
    """Accepted, as the app ignores it: a newer app may add a field while older workers run."""
    assert Job.from_bytes(job_body(priority="high")) == Job("job-1", "ana@example.test", "Ana")
    assert parse_signup(body(priority="high"), "job-1") == Job("job-1", "ana@example.test", "Ana")


def test_the_digest_binds_an_id_to_its_payload() -> None:
    job = Job("j", "ana@example.test", "Ana", b"cv")
    assert job.digest() == Job("other-id", "ana@example.test", "Ana", b"cv").digest()
    others = [
        Job("j", "bob@example.test", "Ana", b"cv"),
        Job("j", "ana@example.test", "Bob", b"cv"),
        Job("j", "ana@example.test", "Ana", b"cv2"),
        Job("j", "ana@example.test", "Anacv", b""),  # the same bytes, cut elsewhere
    ]
    assert len({job.digest(), *(o.digest() for o in others)}) == 5


def test_recent_ids_refuse_an_id_reused_for_another_payload_and_forget_the_oldest() -> None:
    recent = RecentIds(size=2)
    ana, bob = Job("x", "ana@example.test", "Ana"), Job("x", "bob@example.test", "Bob")
    assert recent.claim(ana) and recent.claim(ana)  # a retry of the same signup
    assert not recent.claim(bob)
    recent.claim(Job("y", "c@example.test", "C"))
    recent.claim(Job("z", "d@example.test", "D"))  # "x" is now the oldest, and forgotten
    assert recent.claim(bob)
