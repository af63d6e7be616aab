"""Mode 1 - sync: the HTTP handler runs the slow mail job itself, then answers.

The user waits for the virus scan and the SMTP send: response time = scan + SMTP.
On failure the user knows at once: an SMTP error answers 502 and an infected
attachment 422. Nothing accepted can be lost, because nothing is accepted
before the mail is sent; if the server crashes mid-request, the user sees an
error and can try again.
"""

from __future__ import annotations

from mqlab.job.answer import Answer
from mqlab.job.mail import MailError
from mqlab.job.mailjob import MailJob, Outcome
from mqlab.job.signup import Job


class SyncSignup:
    mode = "sync"

    def __init__(self, mail_job: MailJob) -> None:
        self.mail_job = mail_job

    def handle(self, job: Job) -> Answer:
        try:
            outcome = self.mail_job.run(job)  # scan + SMTP while the user waits
        except MailError as e:
            # The user sees the failure and can retry: no silent loss, just a bad experience.
            return Answer(502, {"error": f"the welcome mail could not be sent: {e}"})
        if outcome is Outcome.QUARANTINED:
            return Answer(422, {"error": "the attachment contains a virus; no mail was sent"})
        return Answer(201, {"job_id": job.id, "status": "sent"})

    def backlog(self) -> int | None:
        return None  # no queue anywhere: the work happens inside the request

    def close(self) -> None:
        pass
