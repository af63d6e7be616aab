"""The signup request: validating what the user sent, and the job it becomes.

Every mode validates the same way before doing anything, so bad input is
answered with a 4xx and a JSON error, and nothing is queued or mailed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

MAX_NAME = 200
MAX_EMAIL = 254
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
    """The request cannot become a job; the message tells the user what is wrong."""


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
        data = json.loads(body)
        return cls(
            id=data["id"],
            email=data["email"],
            name=data["name"],
            attachment=base64.b64decode(data["attachment"]),
        )


def new_job_id() -> str:
    return uuid.uuid4().hex


def parse_signup(body: bytes, job_id: str | None = None) -> Job:
    """Turn a request body into a Job, or raise InvalidSignup saying what is wrong."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError: bad JSON, bad UTF-8, an integer too long to convert;
        # RecursionError: arrays nested thousands deep. Both are the user's input, not our bug.
        raise InvalidSignup("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidSignup("body must be a JSON object")
    email = _text_field(data, "email", MAX_EMAIL)
    if not _EMAIL.match(email):
        raise InvalidSignup("'email' is not a valid address")
    name = _text_field(data, "name", MAX_NAME)
    attachment = _attachment(data.get("attachment"))
    if job_id is None:
        job_id = new_job_id()
    elif not _JOB_ID.match(job_id):
        raise InvalidSignup("X-Job-Id must be 1-80 characters of letters, digits and ._:-")
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
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignup("'attachment' is not valid base64") from None
