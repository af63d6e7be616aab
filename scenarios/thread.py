"""Mode 2 - thread: the handler hands the job to an in-process thread pool and answers at once.

The user no longer waits: the answer (202 Accepted) comes before the scan and the
SMTP send. But the queue of jobs lives in this process's memory. If the process
crashes (SIGKILL, OOM, a deploy), every queued or running job is gone, and the
user was already told "accepted": a silent loss. The pool also only scales as
far as one process does (with CPU-bound work, the GIL stops it at one core).

The jobs' states (queued, scanning, sent...) live in the same memory, for
`GET /signup/{id}`: after a crash, the app that comes back has never heard of
them. Nobody can tell the user what became of the mail, not even "lost".
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from mqlab.job.answer import Answer
from mqlab.job.mail import MailError
from mqlab.job.mailjob import MailJob
from mqlab.job.signup import Job
from mqlab.job.status import Board

log = logging.getLogger(__name__)

RETRIES = 3  # what an in-process app typically does: a few retries, in memory


class ThreadSignup:
    mode = "thread"

    def __init__(self, mail_job: MailJob, workers: int, states: Board | None = None) -> None:
        self.mail_job = mail_job
        self.states = states if states is not None else Board()  # in this process's memory
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mail")
        self._pending = 0
        self._lock = threading.Lock()

    def handle(self, job: Job) -> Answer:
        with self._lock:
            self._pending += 1
        self.states.record(job.id, "queued")
        self.pool.submit(self._run, job)
        # Accepted, but only in this process's memory: if it dies now, this mail is never sent.
        return Answer(202, {"job_id": job.id, "status": "queued"})

    def _run(self, job: Job) -> None:
        try:
            for attempt in range(1, RETRIES + 1):
                self.states.record(job.id, "scanning", f"try {attempt}")
                try:
                    outcome = self.mail_job.run(job)
                    self.states.record(job.id, outcome.value)  # sent, or quarantined
                    return
                except MailError as e:
                    if not e.transient or attempt == RETRIES:
                        # Nobody is waiting for this answer any more: the job is dropped
                        # and only a log line (and this memory, while it lasts) remembers it.
                        log.error("job %s dropped after %d attempt(s): %s", job.id, attempt, e)
                        self.states.record(job.id, "dropped", f"after {attempt} attempt(s): {e}")
                        return
                    self.states.record(job.id, "retrying", f"in {0.1 * 2**attempt:g} s")
                    time.sleep(0.1 * 2**attempt)  # back off, still in memory
        finally:
            with self._lock:
                self._pending -= 1

    def backlog(self) -> int | None:
        with self._lock:
            return self._pending

    def close(self) -> None:
        self.pool.shutdown(wait=True)  # a graceful stop finishes the queue; a crash does not
