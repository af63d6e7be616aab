"""The signup request: validating what the user sent, and the job it becomes.

Every mode validates the same way before doing anything, so bad input is
answered with a 4xx and a JSON error, and nothing is queued or mailed. A broker
worker validates each job it takes off the queue with the very same rules
(`Job.from_bytes`): the queue is input too, and anyone who can publish to it
could hand a worker two recipients, a header break or JSON nested 200,000 deep.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import unicodedata
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MAX_NAME = 200
MAX_EMAIL = 254
MAX_ATTACHMENT = 768 * 1024  # what a 1 MiB request body (config.MAX_BODY) carries in base64
# A job on the queue: the attachment in base64 plus the other fields, escaped (a 200-character
# name can take 2,400 bytes as JSON \u escapes). A longer message is refused before parsing.
MAX_JOB_BYTES = MAX_ATTACHMENT * 4 // 3 + 16 * 1024
# local@domain.tld (RFC 5321 dot-atoms, ASCII): no spaces, no angle brackets, no CR/LF, no
# leading, trailing or doubled dots. \Z, not $: $ would also match before a final newline.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+\Z")
_JOB_ID = re.compile(r"[A-Za-z0-9._:-]{1,80}\Z")
# Characters that must never reach a mail header: control characters (CR, LF, NUL, NEL...),
# Unicode line and paragraph separators (the mail library treats them as line breaks too)
# and lone surrogates (they cannot be encoded at all).
_FORBIDDEN = frozenset({"Cc", "Cs", "Zl", "Zp"})


class InvalidSignup(ValueError):
    """The request (or a job on the queue) cannot become a job; the message says what is
    wrong."""


@dataclass(frozen=True)
class Job:
    """One welcome mail to send. `id` follows the job from the HTTP answer to the inbox."""

    id: str
    email: str
    name: str
    attachment: bytes = b""

    def to_bytes(self) -> bytes:
        """The job as a queue message body (JSON, attachment in base64)."""
        return json.dumps(
            {
                "id": self.id,
                "email": self.email,
                "name": self.name,
                "attachment": base64.b64encode(self.attachment).decode("ascii"),
            }
        ).encode("utf-8")

    @classmethod
    def from_bytes(cls, body: bytes) -> Job:
        """A job taken off the queue, checked as the app checks a request (InvalidSignup if
        not). Unknown extra fields are ignored, as the app ignores them in a request: a newer
        app may add one while older workers still run, and only the known fields are used."""
        if len(body) > MAX_JOB_BYTES:
            raise InvalidSignup(f"job is {len(body)} bytes, more than the {MAX_JOB_BYTES} allowed")
        data = _json_object(body)
        return _validated(data, data.get("id"), "'id'")

    def digest(self) -> str:
        """What the job asks for (recipient, name, attachment), as a SHA-256 hex digest.

        Binds a client-chosen job id to its payload: the same id with another digest is
        someone else's signup, not a retry of this one."""
        h = hashlib.sha256()
        for text in (self.email, self.name):
            part = text.encode("utf-8", "surrogatepass")
            h.update(len(part).to_bytes(8, "big"))  # length-prefixed: no two payloads collide
            h.update(part)
        h.update(self.attachment)
        return h.hexdigest()


class RecentIds:
    """The payload digests of the last `size` client-chosen job ids, so that the app can
    answer an id reused for another payload with 409 instead of queueing a job that an
    idempotent worker would skip as "sent already": another user's mail, silently dropped.

    The same id with the same payload is a client's retry (after a 503 "outcome unknown")
    and passes. Bounded: the oldest id is forgotten first; one older than that is still
    caught by an idempotent worker (`ProcessedJobs`). Shared by the handler threads."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._digests: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, job: Job) -> bool:
        """True, and the id is recorded, unless it came before with another payload."""
        digest = job.digest()
        with self._lock:
            earlier = self._digests.setdefault(job.id, digest)
            if earlier != digest:
                return False
            self._digests.move_to_end(job.id)
            if len(self._digests) > self.size:
                self._digests.popitem(last=False)
        return True


def new_job_id() -> str:
    return uuid.uuid4().hex


def is_job_id(value: str) -> bool:
    """The one rule for a job id, wherever one comes in (X-Job-Id, a status URL, an event)."""
    return bool(_JOB_ID.match(value))


def parse_signup(body: bytes, job_id: str | None = None) -> Job:
    """Turn a request body into a Job, or raise InvalidSignup saying what is wrong."""
    data = _json_object(body)
    return _validated(data, new_job_id() if job_id is None else job_id, "X-Job-Id")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError: bad JSON, bad UTF-8, an integer too long to convert;
        # RecursionError: arrays nested thousands deep. Both are the user's input, not our bug.
        raise InvalidSignup("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidSignup("body must be a JSON object")
    return data


def _validated(data: dict[str, Any], job_id: Any, id_name: str) -> Job:
    """The one set of rules for a request and for a queued job."""
    email = _text_field(data, "email", MAX_EMAIL)
    if not _EMAIL.match(email):  # one address: "a@x.test, b@y.test" is refused here
        raise InvalidSignup("'email' is not a valid address")
    name = _text_field(data, "name", MAX_NAME)
    attachment = _attachment(data.get("attachment"))
    if not isinstance(job_id, str) or not is_job_id(job_id):
        raise InvalidSignup(f"{id_name} must be 1-80 characters of letters, digits and ._:-")
    return Job(id=job_id, email=email, name=name, attachment=attachment)


def _text_field(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    if value is None:
        raise InvalidSignup(f"'{key}' is required")
    if not isinstance(value, str):
        raise InvalidSignup(f"'{key}' must be a string")
    if not value.strip():
        raise InvalidSignup(f"'{key}' must not be empty")
    if len(value) > limit:
        raise InvalidSignup(f"'{key}' is longer than {limit} characters")
    # It ends up in a mail header: CR or LF would let the user add headers or recipients.
    if any(unicodedata.category(c) in _FORBIDDEN for c in value):
        raise InvalidSignup(f"'{key}' must not contain control characters (CR, LF, ...)")
    return value


def _attachment(value: Any) -> bytes:
    if value is None:
        return b""
    if not isinstance(value, str):
        raise InvalidSignup("'attachment' must be a base64 string")
    if len(value) > MAX_ATTACHMENT * 4 // 3 + 4:  # refused before it is decoded
        raise InvalidSignup(f"'attachment' is larger than {MAX_ATTACHMENT} bytes")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignup("'attachment' is not valid base64") from None
    if len(data) > MAX_ATTACHMENT:
        raise InvalidSignup(f"'attachment' is larger than {MAX_ATTACHMENT} bytes")
    return data
