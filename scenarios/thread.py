"""Mode 2 - thread: the handler hands the job to an in-process thread pool and answers at once.

The user no longer waits: the answer (202 Accepted) comes before the scan and the
SMTP send. But the queue of jobs lives in this process's memory. If the process
crashes (SIGKILL, OOM, a deploy), every queued or running job is gone, and the
user was already told "accepted": a silent loss. The pool also only scales as
far as one process does (with CPU-bound work, the GIL stops it at one core).
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

log = logging.getLogger(__name__)

RETRIES = 3  # what an in-process app typically does: a few retries, in memory


class ThreadSignup:
    mode = "thread"

    def __init__(self, mail_job: MailJob, workers: int) -> None:
        self.mail_job = mail_job
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mail")
        self._pending = 0
        self._lock = threading.Lock()

    def handle(self, job: Job) -> Answer:
        with self._lock:
            self._pending += 1
        self.pool.submit(self._run, job)
        # Accepted, but only in this process's memory: if it dies now, this mail is never sent.
        return Answer(202, {"job_id": job.id, "status": "queued"})

    def _run(self, job: Job) -> None:
        try:
            for attempt in range(1, RETRIES + 1):
                try:
                    self.mail_job.run(job)
                    return
                except MailError as e:
                    if not e.transient or attempt == RETRIES:
                        # Nobody is waiting for this answer any more: the job is dropped
                        # and only a log line remembers it.
                        log.error("job %s dropped after %d attempt(s): %s", job.id, attempt, e)
                        return
                    time.sleep(0.1 * 2**attempt)  # back off, still in memory
        finally:
            with self._lock:
                self._pending -= 1

    def backlog(self) -> int | None:
        with self._lock:
            return self._pending

    def close(self) -> None:
        self.pool.shutdown(wait=True)  # a graceful stop finishes the queue; a crash does not
