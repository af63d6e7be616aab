"""Every label in English: the words the course's English slides and terminals use.

Each key has its Korean twin in `ko.py` (a test proves no key exists in one language only);
strings may hold `str.format` fields (`{n}`, `{fault}`) that the caller fills.
"""

EN: dict[str, str] = {
    # the three ways of sending the welcome mail
    "mode.sync": "synchronous",
    "mode.thread": "in-process async (threads)",
    "mode.broker": "message broker",
    "mode.sync.short": "sync",
    "mode.thread.short": "threads",
    "mode.broker.short": "broker",
    # faults of the crash test and what was switched off to show them
    "fault.app-kill": "app server killed",
    "fault.worker-kill": "worker killed",
    "fault.broker-restart": "broker restarted",
    "safety.default": "default",
    "safety.no-confirm": "no publisher confirms",
    "safety.transient": "transient queue",
    "safety.auto-ack": "auto-ack",
    "safety.idempotent": "idempotent worker",
    "target.app": "app server",
    "target.worker": "worker",
    "target.broker": "broker",
    "event.kill": "{target} killed",
    "event.restart": "{target} restarted",
    "scan_kind.sleep": "waiting",
    "scan_kind.cpu": "CPU-bound",
    # terminal table columns
    "col.mode": "mode",
    "col.requests": "requests",
    "col.accepted": "accepted",
    "col.failed": "failed",
    "col.sent_anyway": "told failed, sent anyway",
    "col.sent_anyway.short": "sent anyway",
    "col.delivered": "delivered",
    "col.lost": "lost",
    "col.duplicates": "duplicates",
    "col.quarantined": "quarantined",
    "col.dead_lettered": "dead-lettered",
    "col.retried": "delivered after retry",
    "col.throughput": "throughput (mails/s)",
    "col.response_p50": "response p50 (ms)",
    "col.response_p95": "response p95 (ms)",
    "col.response_p99": "response p99 (ms)",
    "col.response_max": "response max (ms)",
    "col.e2e_p50": "e2e p50 (ms)",
    "col.e2e_p95": "e2e p95 (ms)",
    "col.e2e_p99": "e2e p99 (ms)",
    "col.fault": "fault",
    "col.trial": "trial",
    "col.safety": "safety",
    "col.skipped": "skipped",
    "col.note": "note",
    "saved": "saved",
    "meaning.sync": (
        "{mode}: every user waited for the scan and the mail (median {p50} ms); "
        "{n} senders delivered {tput} mails/s."
    ),
    "meaning.thread": (
        "{mode}: answered in {p50} ms; the mail followed from a queue in the app server's "
        "memory ({e2e} ms later at the median), a queue that is gone if the app server is killed."
    ),
    "meaning.broker": (
        "{mode}: answered in {p50} ms, once RabbitMQ held the job; {n} worker processes "
        "delivered {tput} mails/s, and the queue outlives a killed app server, worker or broker."
    ),
    "meaning.lost": "{n} accepted jobs were lost.",
    "note.sent_anyway": (
        "told failed, sent anyway: the user saw an error or no answer, yet the welcome mail "
        "went out, so a user who tries again gets two mails."
    ),
    "late": "behind schedule",
    "note.late": (
        "behind schedule: the load generator sent these requests later than planned, "
        "so the time is not shown."
    ),
    "chart.late_note": (
        "behind schedule: the load generator sent these requests late, and the bar holds "
        "that delay too"
    ),
    "warn.drain_timeout": (
        "the mails were still not all delivered after {s} s: the rest count as lost"
    ),
    "warn.overloaded": (
        "the load generator fell behind its schedule (p99 {ms} ms): this machine is too busy "
        "for this rate"
    ),
    "warn.behind": "the load generator fell behind its schedule by up to {ms} ms",
    "crash.fault.app-kill": "app server killed: SIGKILL mid-load, then restarted.",
    "crash.fault.worker-kill": (
        "worker killed: SIGKILL after a mail was accepted, before its ACK; a new worker started."
    ),
    "crash.fault.broker-restart": "broker restarted: SIGKILL mid-load, then restarted.",
    "crash.never_fired": "the fault never happened",
    "crash.never_killed": "the worker was never killed (too few jobs reached it)",
    "crash.recovery_failed": "recovery failed: {detail}",
    "crash.no_replacement": "the new worker did not start: {detail}",
    "crash.broker_gone": "the broker did not come back: {detail}",
    "crash.could_not_run": "the trial could not run: {detail}",
    "crash.no_broker": "no broker",
    "crash.no_queue": "sync has no queue to lose: the user saw the error",
    "progress.start": "starting",
    "progress.load": "sending",
    "progress.drain": "delivering",
    "progress.unit.load": "signups",
    "progress.unit.drain": "mails",
    "progress.trial": "trial {n}",
    "floor.title": "Floors on this machine (the least each part takes)",
    "floor.part": "part",
    "floor.calls": "calls",
    "floor.max": "max (ms)",
    "floor.http": "HTTP round trip (app server, empty scenario)",
    "floor.publish": "persistent publish + confirm (pika)",
    "floor.smtp": "SMTP send to the test mail server",
    "floor.paced": "one call every {ms:g} ms",
    "floor.unpaced": "calls back to back",
    "floor.schedule": (
        "load generator at {rate:g}/s: behind schedule p50 {p50} ms, p99 {p99} ms, "
        "held {held}/s, {failed} failed: {verdict}"
    ),
    "floor.holds": "holds its schedule",
    "floor.late": "does NOT hold its schedule",
    "floor.line": "floors here ({pacing}): HTTP {http} · publish {publish} · SMTP {smtp}",
    "floor.no_broker": "publish: not measured (no broker asked for)",
    "floor.no_answer": "publish: not measured (no RabbitMQ answers at {url})",
    "floor.failed": "publish: not measured ({detail})",
    "sweep.workers": "workers",
    "sweep.ideal": "ideal (mails/s)",
    "sweep.ratio": "measured ÷ ideal",
    # workload subtitle: "200 requests · 50/s · scan 200 ms (sleep) · 4 workers"
    "sub.requests": "{n} requests",
    "sub.requests.one": "{n} request",
    "sub.rate": "{rate}/s",
    "sub.all_at_once": "all at once",
    "sub.scan": "scan {ms} ms",
    "sub.scan_jitter": "scan {ms} ± {jitter} ms",
    "sub.workers": "{n} workers",
    "sub.workers.one": "{n} worker",
    "sub.threads": "{n} server threads",
    "sub.threads.one": "{n} server thread",
    "sub.trials": "{n} trials each",
    "sub.trials.one": "{n} trial each",
    # charts
    "chart.na": "n/a",
    "chart.ideal": "ideal = W ÷ scan time (at most the rate sent)",
    "chart.ideal_value": "ideal {value}",
    "chart.latency.title": "Response time: does the user wait?",
    "chart.latency.ylabel": "response time (ms)",
    "chart.latency.waits": "user waits",
    "chart.latency.at_once": "answered at once",
    "chart.throughput.title": "Until the mail arrives, and mails per second",
    "chart.throughput.e2e": "sign-up → mail delivered (ms)",
    "chart.throughput.rate": "throughput (mails/s)",
    "chart.timeline.title": "Timeline: where the jobs wait",
    "chart.timeline.title.spike": "Timeline: how a spike of {n} signups is absorbed",
    "chart.timeline.title.steady": "Timeline: {n} signups at {rate}/s, and where they wait",
    "chart.timeline.accepted": "accepted per interval",
    "chart.timeline.delivered": "delivered per interval",
    "chart.timeline.backlog": "backlog (accepted, not yet delivered)",
    "chart.timeline.queue": "measured queue depth",
    "chart.timeline.peak": "peak backlog {value}",
    "chart.timeline.peak_waiting": "peak {value} users waiting",
    "chart.timeline.waiting": "users waiting for an answer (sync)",
    "chart.timeline.xlabel": "seconds since start",
    "chart.timeline.ylabel": "jobs",
    "chart.timeline.trial": "trial {n}",
    "chart.crash_timeline.title": "Timeline under fault: {fault}",
    "chart.crash.title": "Crash test: {fault}",
    "chart.crash.ylabel": "mails",
    "chart.crash.ylabel_sum": "mails (sum of {n} trials)",
    "chart.sweep.title": "Scaling out: throughput vs workers",
    "chart.sweep.xlabel": "workers (W)",
}
