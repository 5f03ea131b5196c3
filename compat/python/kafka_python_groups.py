#!/usr/bin/env python3
"""kafka-python group and idempotence scenario ("extended" suite).

Usage: kafka_python_groups.py HOST:PORT   (or BOOTSTRAP=HOST:PORT in the environment)

1. kafka-python's default producer (idempotent: InitProducerId, sequence numbers) writes
   records to an auto-created topic; returned offsets are contiguous.
2. A consumer in a new group (subscribe) reads them all, commits synchronously, and
   committed() returns the end offsets.
3. A second consumer of the same group, after the first has closed, resumes from the
   committed offsets and sees only records produced after the commit, exactly.
"""

import time
from collections import defaultdict

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from common import bootstrap_from_args, check, compare_partition, make_records, run_main, step, unique_topic
from kafka_python_smoke import poll_until, produce, wait_partitions

NAME = "kafka-python groups"


def default_producer(bootstrap):
    # Library defaults otherwise: enable_idempotence=True, acks=all.
    return KafkaProducer(bootstrap_servers=bootstrap, client_id="skiff-compat-kafka-python", linger_ms=10)


def group_consumer(bootstrap, group, topic):
    c = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="skiff-compat-kafka-python",
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        session_timeout_ms=10_000,
    )
    c.subscribe([topic])
    return c


def records(nparts, salt):
    recs = make_records(8 * nparts, nparts, int(time.time() * 1000), salt, null_header_values=False)
    return [r for r in recs if r.value is None or len(r.value) < 100_000]


def by_partition(recs):
    out = defaultdict(list)
    for r in recs:
        out[r.partition].append(r)
    return out


def main():
    bootstrap = bootstrap_from_args("kafka_python_groups.py")
    topic = unique_topic("compat-kafka-python-groups")
    group = unique_topic("compat-kafka-python-group")
    producer = default_producer(bootstrap)
    try:
        nparts = wait_partitions(producer, topic)
        step(NAME, f"idempotent (default) produce to {topic}")
        recs = records(nparts, "grp")
        produce(producer, topic, recs, chunks=2)
    finally:
        producer.close(timeout=10)
    want = by_partition(recs)
    for p, rs in want.items():
        check([r.offset for r in rs] == list(range(len(rs))), f"p{p}: idempotent offsets not 0..{len(rs) - 1}")

    step(NAME, f"group {group}: subscribe, consume all, commit")
    c = group_consumer(bootstrap, group, topic)
    try:
        got = poll_until(c, len(recs), "first member")
        for p in range(nparts):
            compare_partition(f"group p{p}", want[p], got[p])
        c.commit()
        for p in range(nparts):
            off = c.committed(TopicPartition(topic, p))
            check(off == len(want[p]), f"committed p{p} = {off}, want {len(want[p])}")
    finally:
        c.close()

    step(NAME, "second member resumes from the committed offsets")
    fresh = records(nparts, "grp2")
    producer = default_producer(bootstrap)
    try:
        produce(producer, topic, fresh, chunks=1)
    finally:
        producer.close(timeout=10)
    c2 = group_consumer(bootstrap, group, topic)
    try:
        got = poll_until(c2, len(fresh), "second member")
        new_want = by_partition(fresh)
        for p in range(nparts):
            compare_partition(f"resume p{p}", new_want[p], got[p])
    finally:
        c2.close()


if __name__ == "__main__":
    run_main(NAME, main)
