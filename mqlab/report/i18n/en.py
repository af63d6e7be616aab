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
    # a Redis or NATS server's disk, the durability of a broker-restart row (--durability)
    "safety.none": "Redis: no persistence",
    "safety.everysec": "Redis: AOF, fsync every second",
    "safety.always": "Redis: AOF, fsync every write",
    "safety.memory": "NATS: memory storage",
    "safety.file": "NATS: file storage",
    "target.app": "app server",
    "target.worker": "worker",
    "target.broker": "broker",
    "event.kill": "{target} killed",
    "event.restart": "{target} restarted",
    "event.kill_restart": "{target} killed, restarted",
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
        "{mode}: answered in {p50} ms, once {broker} held the job; {n} worker processes "
        "delivered {tput} mails/s, and the queue outlives a killed app server, worker or broker."
    ),
    "meaning.lost": "{n} accepted jobs were lost.",
    "meaning.lost.one": "{n} accepted job was lost.",
    "meaning.late": "Those times carry the load generator's own delay (behind schedule).",
    "meaning.failed": "{n} users were told it failed.",
    "meaning.failed.one": "{n} user was told it failed.",
    "meaning.dead_lettered": "{n} jobs went to the dead-letter queue unsent.",
    "meaning.dead_lettered.one": "{n} job went to the dead-letter queue unsent.",
    "meaning.retried": (
        "{n} mails were refused at first and sent after a wait; its throughput includes "
        "those waits."
    ),
    "meaning.retried.one": (
        "{n} mail was refused at first and sent after a wait; its throughput includes that wait."
    ),
    "meaning.retried.thread": (
        "{n} mails were refused at first and retried in the app server's memory after a short "
        "wait; its throughput includes those waits."
    ),
    "meaning.retried.thread.one": (
        "{n} mail was refused at first and retried in the app server's memory after a short "
        "wait; its throughput includes that wait."
    ),
    "meaning.retried.broker": (
        "{n} mails were refused at first and waited in the retry queue ({ms} ms, doubling "
        "each time) before they were sent again; its throughput includes those waits."
    ),
    "meaning.retried.broker.one": (
        "{n} mail was refused at first and waited in the retry queue ({ms} ms, doubling "
        "each time) before it was sent again; its throughput includes that wait."
    ),
    # crash-test: one sentence per mode and safety setting under a fault
    "crash.meaning.sum": "{n} trials",
    "crash.meaning.none": "no job was accepted.",
    "crash.meaning.all": "all {n} accepted jobs were delivered.",
    "crash.meaning.all.one": "its {n} accepted job was delivered.",
    "crash.meaning.lost": "{n} of {of} accepted jobs were lost.",
    "crash.meaning.lost.one": "{n} of {of} accepted jobs was lost.",
    "crash.meaning.some": "{n} of {of} accepted jobs were delivered, none lost.",
    "crash.meaning.duplicates": "{n} duplicate mails went out.",
    "crash.meaning.duplicates.one": "{n} duplicate mail went out.",
    "crash.meaning.failed": "{n} users were told it failed.",
    "crash.meaning.failed.one": "{n} user was told it failed.",
    "crash.meaning.sent_anyway": "{n} users were told it failed; {m} of them got the mail anyway.",
    "crash.meaning.sent_anyway.one": "{n} user was told it failed, yet got the mail.",
    "crash.meaning.early": (
        "Its own throughput, {own} mails/s, stops the clock at its last mail ({own_s} s); "
        "over the {s} s of {slowest} ({slow_rate} mails/s) it is {rate} mails/s."
    ),
    # sweep: one sentence per line
    "sweep.meaning.none": "no mail was delivered.",
    "sweep.meaning.grew": (
        "from {w0} to {w1} workers, throughput went from {t0} to {t1} mails/s: {x}× for "
        "{k}× the workers."
    ),
    "sweep.meaning.flat": (
        "from {w0} to {w1} workers, throughput barely moved: {t0} to {t1} mails/s, {x}× for "
        "{k}× the workers."
    ),
    "sweep.meaning.one": "{n} workers delivered {t} mails/s.",
    "sweep.meaning.one.one": "{n} worker delivered {t} mails/s.",
    "sweep.meaning.ideal": "At {w} workers that is {pct}% of the ideal ({ideal} mails/s).",
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
    # mqlab lesson and mqlab slides: the course's claims as lessons, and the deck
    "lesson.title": "Lesson {n}: {claim}",
    "lesson.list.title": "Lessons: the claims of the course notes, measured",
    "lesson.list.hint": (
        "Run one with: mqlab lesson N (--no-predict for an instructor). "
        "All of them as a slide deck: mqlab slides"
    ),
    "lesson.col.chart": "chart",
    "lesson.chart.own": "its own slide",
    "lesson.question": "Question",
    "lesson.predict": "Your prediction",
    "lesson.bad.number": "Type a number from {low} to {high}.",
    "lesson.bad.choice": "Type one of {letters}.",
    "lesson.you": "you predicted",
    "lesson.measured": "measured",
    "lesson.not_asked": "not asked",
    "lesson.right": "right",
    "lesson.wrong": "not this time",
    "lesson.takeaway": "Takeaway",
    "lesson.verdict.holds": "the claim holds",
    "lesson.verdict.partly": "the claim holds only in part",
    "lesson.verdict.contradicted": "the measurement contradicts the claim",
    "lesson.verdict.unclear": "this run cannot tell",
    "lesson.busy": (
        "Other programs took {cores} CPU cores while this was measured: the numbers may be off."
    ),
    "lesson.took": "measured in {s} s",
    "lesson.unclear": "This run cannot answer the question: {why}.",
    "lesson.why.missing": "a number it needs is missing from the result",
    "lesson.why.failed": "{failed} requests failed, so the times are not comparable",
    "lesson.why.late": "the load generator sent late, so the response times carry its delay",
    "lesson.why.skipped": "a trial could not run ({note})",
    "lesson.why.never_fired": "the fault never fired",
    "lesson.why.empty": (
        "the thread pool held no job when the app server was killed, so there was nothing "
        "to lose; run it again"
    ),
    "lesson.why.one_core": (
        "mqlab may use only one CPU core here, so no way of sending can compute two scans at once"
    ),
    "lesson.why.not_ours": "RabbitMQ's own memory and start-up were not measured (no private node)",
    "lesson.unit.ms": "ms",
    "lesson.unit.jobs": "jobs",
    "lesson.unit.times": "×",
    "lesson.unit.MB": "MB",
    "lesson.choice.both": "both",
    "lesson.choice.broker": "only the message broker",
    "lesson.choice.thread": "only in-process async (threads)",
    "lesson.choice.neither": "neither",
    "lesson.immediate.claim": "The user is answered at once",
    "lesson.immediate.source": "§1 ② the backend answers at once; §4 immediate response",
    "lesson.immediate.question": (
        "Each welcome mail needs a {scan} ms virus scan, then SMTP. {requests} users sign up, "
        "{rate} a second. How long does a user wait for the answer?"
    ),
    "lesson.immediate.ask": "With the message broker, how many ms does the median answer take?",
    "lesson.immediate.value": "message broker, median answer",
    "lesson.immediate.big": "{broker_p50} ms",
    "lesson.immediate.big_caption": (
        "the message broker's median answer; synchronous: {sync_p50} ms"
    ),
    "lesson.immediate.chart": "response time of each mode",
    "lesson.immediate.holds": (
        "The message broker answered in {broker_p50} ms and in-process async in "
        "{thread_p50} ms, while synchronous made every user wait {sync_p50} ms for the scan "
        "and the mail: {times}× longer."
    ),
    "lesson.immediate.contradicted": (
        "Not this time: the message broker answered in {broker_p50} ms and synchronous in "
        "{sync_p50} ms, not clearly apart (see the table)."
    ),
    "lesson.buffer.claim": "A spike is buffered",
    "lesson.buffer.source": "§0 main effects ② load buffering: absorbs traffic spikes",
    "lesson.buffer.question": (
        "{requests} signups arrive at the same moment; {workers} workers each scan for {scan} "
        "ms. What happens to the spike?"
    ),
    "lesson.buffer.ask": "At the peak, how many jobs wait in the broker's queue?",
    "lesson.buffer.value": "most jobs waiting in the broker's queue",
    "lesson.buffer.big": "{delivered} / {requests}",
    "lesson.buffer.big_caption": "delivered after the spike; the queue held up to {peak}",
    "lesson.buffer.chart": "timeline: where the spike waits",
    "lesson.buffer.holds": (
        "{requests} signups at once: the message broker answered them within {broker_p99} ms "
        "(p99), held up to {peak} jobs in its queue and delivered all {delivered} in "
        "{drain_s} s; with synchronous, the slowest users waited {sync_p99} ms (p99)."
    ),
    "lesson.buffer.partly": (
        "The message broker held up to {peak} jobs and delivered all {delivered}, but its "
        "answers were not clearly sooner than synchronous ones ({broker_p99} against "
        "{sync_p99} ms, p99)."
    ),
    "lesson.buffer.contradicted": (
        "Not this time: of {accepted} accepted jobs the message broker delivered "
        "{delivered}; {loss} were lost and {failed} users were told it failed."
    ),
    "lesson.crash.claim": "Messages survive a failure",
    "lesson.crash.source": (
        "§4 messages kept through a failure; §2 the queue keeps the messages while the mail "
        "module is down"
    ),
    "lesson.crash.question": (
        "{requests} users sign up, {rate} a second. Halfway through, the app server is killed "
        "(SIGKILL) and started again. What happens to the jobs it had already accepted?"
    ),
    "lesson.crash.ask": "How many accepted jobs will in-process async (threads) lose?",
    "lesson.crash.value": "accepted jobs lost by in-process async",
    "lesson.crash.big": "{thread_loss} : {broker_loss}",
    "lesson.crash.big_caption": "accepted jobs lost: in-process async against the message broker",
    "lesson.crash.chart": "crash test: accepted, delivered, lost",
    "lesson.crash.holds": (
        "The app server was killed mid-load: in-process async lost {thread_loss} of the "
        '{thread_accepted} jobs it had accepted (their users had been told "accepted"); the '
        "message broker lost {broker_loss} of {broker_accepted}."
    ),
    "lesson.crash.contradicted": (
        "The message broker lost {broker_loss} of {broker_accepted} accepted jobs when the app "
        "server was killed: that must not happen; look at the run's warnings."
    ),
    "lesson.scale.claim": "Horizontal scaling",
    "lesson.scale.source": "§2 and §4: more consumers on the same queue (scaling out)",
    "lesson.scale.question": (
        "Each worker scans for {scan} ms and the queue is full of jobs. What do more workers give?"
    ),
    "lesson.scale.ask": "With {wk} workers instead of {w1}, how many times the mails per second?",
    "lesson.scale.value": "throughput, {wk} workers ÷ {w1}",
    "lesson.scale.big": "{x}×",
    "lesson.scale.big_caption": "throughput from {w1} to {wk} workers ({k}× the workers)",
    "lesson.scale.chart": "throughput against workers",
    "lesson.scale.holds": (
        "From {w1} to {wk} workers, throughput went from {t1} to {tk} mails/s: {x}× for {k}× "
        "the workers ({pct}% of the ideal)."
    ),
    "lesson.scale.partly": (
        "From {w1} to {wk} workers, throughput grew only {x}× ({t1} to {tk} mails/s, {pct}% "
        "of the ideal): scaling out helped, but less than in proportion."
    ),
    "lesson.scale.contradicted": (
        "From {w1} to {wk} workers, throughput barely moved ({t1} to {tk} mails/s): something "
        "else was the limit this time."
    ),
    "lesson.retry.claim": "Retries are easy",
    "lesson.retry.source": "§1 ④ load distribution, easy retries; §4 reliability",
    "lesson.retry.question": (
        "The mail server refuses {fail}% of attempts at random (451: try again later). "
        "In-process async tries each mail 3 times in memory; the message broker retries "
        "through its retry queue, up to {retries} times."
    ),
    "lesson.retry.ask": "Who delivers every mail?",
    "lesson.retry.value": "who delivered every mail",
    "lesson.retry.big": "{broker_delivered} / {broker_accepted}",
    "lesson.retry.big_caption": (
        "delivered by the message broker; in-process async: {thread_delivered} / {thread_accepted}"
    ),
    "lesson.retry.chart": "delivered, after retries, lost",
    "lesson.retry.holds": (
        "The mail server refused {fail_pct}% of attempts: the message broker delivered all "
        "{broker_delivered} mails ({broker_retried} after waiting in its retry queue), while "
        "in-process async gave up on {thread_loss} of {thread_accepted} after 3 tries in "
        "memory."
    ),
    "lesson.retry.both": (
        "This time both delivered every mail: 3 tries in memory were enough. The message "
        "broker's retries wait in RabbitMQ, not in a thread, and outlive a crash (lesson 3)."
    ),
    "lesson.retry.kept": (
        "The message broker delivered {broker_delivered} of {broker_accepted} and kept "
        "{broker_dead} in its dead-letter queue after {retries} retries: unsent, not lost. "
        "In-process async lost {thread_loss}."
    ),
    "lesson.retry.contradicted": (
        "Not this time: the message broker delivered {broker_delivered} of {broker_accepted} "
        "({broker_loss} lost), in-process async {thread_delivered} of {thread_accepted}."
    ),
    "lesson.gil.claim": "An in-process pool scales only as far as one process",
    "lesson.gil.source": "§4 scalability: limited to the threads of a single instance",
    "lesson.gil.question": (
        "Now the scan is CPU work in Python ({scan} ms of computing per mail). The senders "
        "double: {w1} to {wk} threads in one process, or {w1} to {wk} worker processes."
    ),
    "lesson.gil.ask": "Which gets faster with twice the senders?",
    "lesson.gil.value": "which got faster",
    "lesson.gil.big": "{thread_x}× : {broker_x}×",
    "lesson.gil.big_caption": "throughput for twice the senders: threads against worker processes",
    "lesson.gil.chart": "throughput against senders, CPU-bound scan",
    "lesson.gil.holds": (
        "With a CPU-bound scan, {wk} threads in one process sent {thread_tk} mails/s against "
        "{thread_t1} with {w1} ({thread_x}×): Python lets one thread compute at a time. "
        "{wk} worker processes sent {broker_tk} against {broker_t1} ({broker_x}×)."
    ),
    "lesson.gil.partly": (
        "Threads {thread_x}×, worker processes {broker_x}× for twice the senders: the "
        "processes scaled better, but not clearly (a busy machine, or too short a scan)."
    ),
    "lesson.gil.threads_scaled": (
        "Not this time: {wk} threads sent {thread_x}× what {w1} did with a CPU-bound scan, "
        "and worker processes {broker_x}×."
    ),
    "lesson.gil.broker_flat": (
        "Not this time: {wk} worker processes sent only {broker_x}× what {w1} did (threads "
        "{thread_x}×); were the CPU cores busy with other programs?"
    ),
    "lesson.price.claim": "The price: operational complexity",
    "lesson.price.source": "§4 operational complexity: a broker to install and monitor",
    "lesson.price.question": (
        "The broker is one more system to install, run and watch. What does it cost on this "
        "machine: processes, memory, start-up time, time per answer?"
    ),
    "lesson.price.ask": (
        "How many MB of memory does the broker's way use in all (RabbitMQ, the app server "
        "and {workers} workers)?"
    ),
    "lesson.price.value": "memory of the broker's way (MB)",
    "lesson.price.big": "{broker_mb} MB",
    "lesson.price.big_caption": (
        "{broker_procs} processes for the message broker; in-process async: {thread_mb} MB, "
        "{thread_procs} process"
    ),
    "lesson.price.chart": "memory and start-up of each part",
    "lesson.price.holds": (
        "The message broker's way ran {broker_procs} processes in {broker_mb} MB and needed "
        "{broker_start_s} s to start (RabbitMQ alone {node_start_s} s); in-process async ran "
        "{thread_procs} process in {thread_mb} MB, ready in {thread_start_s} s. Answers took "
        "{broker_p50} ms against {thread_p50} ms (p50); one confirmed publish alone takes "
        "{confirm_ms} ms."
    ),
    "lesson.price.contradicted": (
        "Not this time: the message broker's way ran {broker_procs} processes in {broker_mb} "
        "MB, in-process async {thread_procs} in {thread_mb} MB."
    ),
    "slides.title": "Why message brokers exist: measured on this machine",
    "slides.subtitle": (
        "A signup sends a slow welcome mail (a virus scan, then SMTP): synchronous, "
        "in-process async, message broker"
    ),
    "slides.machine": "Measured on {date}: {cores} CPU cores, {system}, Python {python}",
    "slides.rabbit": "RabbitMQ {version}",
    "slides.lessons": "{n} lessons, each a claim of the course notes, measured with real processes",
    "slides.seed": "seed {seed}",
    "slides.quick": "half-size runs",
    "slides.predicted": "predicted: {value}",
    "slides.by_hand": "by hand:",
    "slides.memory": "memory (RSS, MB)",
    "slides.startup": "start-up (s)",
    "slides.part.app": "app server",
    "slides.part.workers": "workers",
    "slides.part.broker": "RabbitMQ",
    "slides.processes": "{n} processes",
    "slides.processes.one": "{n} process",
    "slides.threads": "threads in one process",
    "slides.worker_processes": "worker processes",
    "slides.senders": "senders",
    "slides.first_try": "delivered at the first try",
    "slides.floors.title": "This machine's floors: the least each step takes",
    "slides.floors.none": (
        "Not measured for this deck. Run 'mqlab calibrate' into the same folder and build "
        "the deck again with --from."
    ),
    "slides.floors.axis": "milliseconds (p50 bar, p99 mark)",
    "slides.sources.title": "Sources: the course notes' claims these slides reproduce",
    "slides.sources.row": "slide {slide}: {claim} ({source})",
    "slides.sources.files": (
        "The result files of every number are in the deck's folder; 'mqlab chart FILE' draws "
        "their charts again."
    ),
    "slides.notes": "Course notes: message queues, §0 to §4",
    "slides.kicker": "Lesson {n} · {source}",
    "slides.outline.slide": "Slide {n}: {title}",
    "slides.outline.files": "Result files",
    "fault.node-kill": "cluster node killed",
    "fault.node-loss": "cluster node lost with its disk",
    "crash.fault.node-kill": (
        "cluster node killed: the node holding the queue (classic: its home node; quorum: "
        "its leader) SIGKILLed mid-load, then restarted from its data."
    ),
    "crash.fault.node-loss": (
        "cluster node lost with its disk: the node holding the queue SIGKILLed mid-load, its "
        "data deleted and the node forgotten by the cluster; it stays down for the rest of the "
        "run, and the next trial runs on the cluster formed again from empty nodes."
    ),
    "col.queue_type": "queue",
    "col.recovery_s": "accepting again after (s)",
    "col.recovery_s.never": "never",
    "node.recovery": (
        "accepting again after: from the kill to the first accepted signup after the first "
        "refused one; 0 means no signup was refused."
    ),
    "col.recovery_s.short": "accepting again (s)",
    "slides.floors.calls": "{n} calls timed per step",
    "col.told_truth": "told the truth",
    "col.told_wrong": "told wrong",
    "col.told_queued": 'told "queued" forever',
    "col.never_heard": "never heard",
    "crash.meaning.told": (
        "What the users heard: {told_truth} the truth, {told_wrong} wrong, "
        '{told_queued} "queued" forever, {never_heard} never heard.'
    ),
    "broker.rabbitmq": "RabbitMQ",
    "broker.redis": "Redis Streams",
    "broker.nats": "NATS JetStream",
    "queue_type.classic": "classic queue",
    "queue_type.quorum": "quorum queue",
    "queue_type.classic.short": "classic",
    "queue_type.quorum.short": "quorum",
    "crash.told.note": (
        "told the truth: the users (one per signup) whose final answer or status matched "
        "what reached the test mail server, of all the row's users."
    ),
    "node.meaning.kept": "No signup was refused after the kill.",
    "node.meaning.back": "It accepted signups again {s} s after the kill.",
    "node.meaning.back.median": (
        "It accepted signups again {s} s after the kill (the median of {n} trials)."
    ),
    "node.meaning.never": "It refused signups from the kill until the load ended.",
    "node.meaning.never_some": (
        "In {k} of {n} trials it accepted no signup again before the load ended."
    ),
    "price.title": "The price of replication: the same workload, one queue type after the other",
    "price.confirm_p50": "confirmed publish alone, p50 (ms)",
    "price.confirm_p95": "confirmed publish alone, p95 (ms)",
    "price.ratio": "confirm p50 × {base}",
    "price.meaning.base": (
        "{queue}: a confirmed publish alone took {confirm} ms at the median; the signups were "
        "answered in {p50} ms at the median, and {tput} mails/s were delivered."
    ),
    "price.meaning": (
        "{queue}: a confirmed publish alone took {confirm} ms at the median, {x}× the "
        "{base}'s {base_ms} ms; the signups were answered in {p50} ms at the median, and "
        "{tput} mails/s were delivered."
    ),
    "price.meaning.no_floor": (
        "{queue}: its confirmed publish was not measured alone; the signups were answered in "
        "{p50} ms at the median, and {tput} mails/s were delivered."
    ),
    "price.why.classic": (
        "A classic queue lives on one node: its confirm waits for that node alone."
    ),
    "price.why.quorum": (
        "A quorum queue confirms once a majority of its replicas has written the job to disk."
    ),
    "chart.price.title": "The price of replication: classic against quorum queues",
    "chart.price.confirm": "a confirmed publish, alone (ms)",
    "chart.price.response": "signup answered (ms)",
    "chart.node.recovery": "accepting again after the kill (s)",
    "chart.node.never_some": "never in {k} of {n}",
    "target.node": "cluster node",
    "chart.node.median": "the median of {n} trials",
}
