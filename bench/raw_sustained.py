"""What the capacity row's method costs the raw pipeline itself.

Why this file exists: `mqlab bench` judges capacity as what mqlab *sustains* (offered a
steady rate, bisected) over the raw ceiling, which is measured differently: as fast as
the raw pipeline goes, with a backlog to chew through. Offered a steady rate instead, every
process wakes for each message and nothing is batched, so part of the gap is the method,
not mqlab. This script measures that part: the raw pipeline (bench/raw_ceiling.py) offered
a share of its own ceiling, bisected exactly like mqlab in the bench (the same pairs, the
same 2,000 jobs a run, the same "kept up" rule). It is not a row of the bench, whose
judged figure stays the strict one; it is the number to read that figure by.

    .venv/bin/python bench/raw_sustained.py [--pairs N] [--amqp-url URL]

About 45 s a pair on the 2-core VM. Uses the RabbitMQ at --amqp-url (or MQLAB_AMQP_URL,
or localhost), else a private node, like `mqlab bench`.
"""

from __future__ import annotations

import argparse
import os
import statistics

from mqlab.measure import bench, runner
from mqlab.processes.config import Mode, RunConfig, Workload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3, help="pairs to measure (default 3)")
    parser.add_argument("--amqp-url", default=os.environ.get("MQLAB_AMQP_URL"))
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    load = Workload()
    with runner.broker_for(RunConfig(Mode.broker, load, args.amqp_url)) as broker:
        assert broker is not None
        url = broker.url

        def raw(rate: float = 0.0) -> float:  # no rate: the ceiling; a rate: one probe
            return bench.raw_ceiling(
                url, bench.CAPACITY_JOBS, load.workers, load.server_threads, rate=rate
            )

        ratios = []
        for i in range(args.pairs):
            pair = bench.sustained_pair(raw, raw)
            ratios.append(pair.ratio)
            print(
                f"pair {i + 1}: the raw pipeline sustains {pair.mails:.0f} of {pair.top:.0f} "
                f"mails/s, {pair.ratio:.3f} of its ceiling ({pair.bounds} of the first ceiling "
                f"offered); {pair.story()}",
                flush=True,
            )
    print(f"median of {len(ratios)} pairs: {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
