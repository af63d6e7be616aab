"""The peer: the same signup job as a Celery task, for `mqlab bench` to put beside mqlab.

Why this file exists: "use a broker" usually means "use Celery". The benchmark runs
the very same job (`MailJob`: the same scan, the same SMTP send into the same sink)
as a Celery task with `acks_late=True`, on the same RabbitMQ, with as many pool
processes as mqlab has workers, behind the same HTTP app (mqlab/processes/httpserver.py, the app's
settings and validation), so the only difference is who moves the job: mqlab's
twenty lines of pika, or Celery.

Everything else is Celery's defaults: prefork pool, prefetch multiplier 4 (the bench's
judged throughput run sets 1, mqlab's dispatch: see bench/README.md), no publisher
confirms, and `task_reject_on_worker_lost=False`, which means a task
whose pool process is SIGKILLed is acknowledged as failed, not redelivered.
(Gossip, mingle and remote control are off: they only slow start-up and would
leave queues on a broker that is not ours.)

Two roles, each a child process started by `mqlab/measure/bench/peer.py`:

    python bench/celery_peer.py serve PORT      # the HTTP app; signups become Celery tasks
    python bench/celery_peer.py worker          # one Celery worker, prefork, --concurrency W

Settings come from the environment (MQLAB_PEER_*), so both roles build the same app.
Needs the optional dependency: pip install 'celery>=5.3'.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from mqlab import failpoint
from mqlab.job.answer import Answer
from mqlab.job.mail import SmtpTarget
from mqlab.job.mailjob import MailJob
from mqlab.job.scan import Scanner, ScanSettings
from mqlab.job.signup import Job

BROKER_URL = os.environ.get("MQLAB_PEER_AMQP_URL", "amqp://guest:guest@localhost:5672/%2F")
QUEUE = os.environ.get("MQLAB_PEER_QUEUE", "mqlab.celery-peer")
SMTP_PORT = int(os.environ.get("MQLAB_PEER_SMTP_PORT", "2525"))
SCAN_MS = float(os.environ.get("MQLAB_PEER_SCAN_MS", "200"))
WORKERS = int(os.environ.get("MQLAB_PEER_WORKERS", "4"))
PREFETCH = int(os.environ.get("MQLAB_PEER_PREFETCH_MULTIPLIER", "4"))  # 4: Celery's default
ARM_FILE = os.environ.get("MQLAB_PEER_ARM_FILE", "")  # the failpoint fires in one process only

app = Celery("mqlab_peer", broker=BROKER_URL)
app.conf.update(
    task_default_queue=QUEUE,
    worker_prefetch_multiplier=PREFETCH,
    task_ignore_result=True,  # no result backend: the sink's ledger is the result
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)

_mail_job = MailJob(Scanner(ScanSettings(SCAN_MS)), SmtpTarget("127.0.0.1", SMTP_PORT))


@app.task(name="mqlab.signup.welcome", acks_late=True)  # type: ignore[untyped-decorator]
def send_welcome(body: str) -> None:
    """Scan, then mail: exactly what an mqlab worker does with a job."""
    _mail_job.run(Job.from_bytes(body.encode("utf-8")))


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _arm_once(**_: Any) -> None:
    """A crash test arms MQLAB_FAILPOINT for the whole worker; only the first pool process
    to start keeps it (the one that creates ARM_FILE), so exactly one process dies."""
    if not os.environ.get(failpoint.ENV) or not ARM_FILE:
        return
    try:
        os.close(os.open(ARM_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        os.environ.pop(failpoint.ENV, None)


class CelerySignup:
    """The broker scenario with Celery: publish the task, answer 202."""

    mode = "celery"

    def handle(self, job: Job) -> Answer:
        send_welcome.apply_async(args=[job.to_bytes().decode("utf-8")], task_id=job.id)
        return Answer(202, {"job_id": job.id, "status": "queued"})

    def backlog(self) -> int | None:
        return None

    def close(self) -> None:
        pass


def serve(port: int) -> None:
    from mqlab.processes.app import serve as serve_app
    from mqlab.processes.config import Mode, ServeConfig

    serve_app(ServeConfig(mode=Mode.broker, port=port), CelerySignup())


def work() -> None:
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            f"--concurrency={WORKERS}",
            "-Q",
            QUEUE,
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["worker"]:
        work()
    else:
        raise SystemExit("usage: celery_peer.py serve PORT | worker")
