"""The price of replication: a quorum queue's confirm against a classic queue's, on the same
private three-node cluster (issue 24).

A classic queue lives on one node and confirms a persistent message alone; a quorum queue
confirms it once a majority of its three replicas has it in its log, which RabbitMQ syncs
to disk before confirming. The row times one confirmed persistent publish at a time, paced
at 50/s as a run's users make them (`calibrate.publish_floor`: the confirm floor that
`mqlab compare --queue-types classic,quorum` prints beside its runs), on queues declared
from the same node, so that a classic queue's home and a quorum queue's leader are that
node. Classic and quorum alternate over ROUNDS rounds, so that a drift of the machine's
pace hits both; the median round's ratio is judged, at most 2.5 (bench/README.md, "The
price of replication", says why). A ratio under 1 is not judged: a quorum confirm waits
for all a classic one does and a majority's disks besides.
"""

from __future__ import annotations

import pika.exceptions

from mqlab.amqp.settings import QueueType
from mqlab.measure import calibrate
from mqlab.measure.bench import doubt
from mqlab.measure.bench.targets import Row
from mqlab.measure.calibration import Floor
from mqlab.processes import rabbit

KEY = "replication.confirm"
KINDS: tuple[QueueType, QueueType] = ("classic", "quorum")
ROUNDS = 5
SAMPLES = 100  # confirmed publishes per queue type and round
PACE_S = 0.02  # one every 20 ms: a run at 50/s, as the default compare
WARMUP = 20  # publishes to each kind of queue before the rounds: the cluster's first queues


def replication_row(notes: list[str]) -> Row:
    """quorum ÷ classic confirm p50 on a private cluster started (and deleted) for it."""
    if rabbit.find_rabbitmq_server() is None:
        notes.append("price of replication not measured: rabbitmq-server is not installed")
        return Row(KEY, None, "-", "rabbitmq-server is not installed")
    try:
        rounds, cpu = _measure()
    except (rabbit.BrokerUnavailable, pika.exceptions.AMQPError, OSError) as e:
        notes.append(f"price of replication not measured: {type(e).__name__}: {e}")
        return Row(KEY, None, "-", "the cluster could not be measured")
    ratios = [r["quorum"].p50 / r["classic"].p50 for r in rounds]
    middle = sorted(range(len(rounds)), key=ratios.__getitem__)[len(rounds) // 2]
    judged = rounds[middle]
    detail = (
        f"{judged['quorum'].p50:.2f} vs {judged['classic'].p50:.2f} ms, median of {ROUNDS} "
        f"rounds ({', '.join(f'{r:.2f}' for r in sorted(ratios))}); p95 "
        f"{judged['quorum'].ms.p95 or 0:.2f} vs {judged['classic'].ms.p95 or 0:.2f} ms"
    )
    return Row(KEY, ratios[middle], detail, _doubt(ratios[middle], cpu))


def _doubt(ratio: float, cpu: calibrate.CpuMeter) -> str | None:
    """Why the ratio is not to be judged: other load, or a quorum confirm faster than a
    classic one, which waits for less: then something held the classic queue's node up
    (its message store's disk, its CPU), and the ratio is not the price of replication."""
    if ratio < 1:
        return (
            f"a quorum confirm took less than a classic one ({ratio:.2f}×): not replication's price"
        )
    return doubt.foreign(cpu, doubt.FOREIGN_DOUBT_CORES)


def _measure() -> tuple[list[dict[QueueType, Floor]], calibrate.CpuMeter]:
    """ROUNDS rounds of a classic and a quorum floor (their order alternating), and the CPU
    meter over them that counts the cluster's nodes as ours."""
    cluster = rabbit.Cluster.create()
    try:
        cluster.start()
        url = cluster.nodes[0].url  # every queue declared from node 1: home or leader there
        for kind in KINDS:
            calibrate.publish_floor(url, WARMUP, 0.0, kind)
        rounds = []
        with calibrate.CpuMeter(also=[n.pid for n in cluster.nodes if n.pid]) as cpu:
            for i in range(ROUNDS):
                order = KINDS if i % 2 == 0 else KINDS[::-1]
                rounds.append({k: calibrate.publish_floor(url, SAMPLES, PACE_S, k) for k in order})
        return rounds, cpu
    finally:
        cluster.cleanup()
