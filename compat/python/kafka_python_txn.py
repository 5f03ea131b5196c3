#!/usr/bin/env python3
"""kafka-python transactions scenario ("extended" suite).

Usage: kafka_python_txn.py HOST:PORT   (or BOOTSTRAP=HOST:PORT in the environment)

1. A transactional producer commits one transaction and aborts another on a new topic: a
   read_committed consumer sees exactly the committed records, a read_uncommitted one sees
   both, and neither sees the commit/abort markers as records (they take offsets).
2. Consume-transform-produce: input records are read by a consumer of a new group, each is
   written transformed by the transactional producer, and the input offsets are committed
   with send_offsets_to_transaction in the same transaction; the group's committed offsets
   are then the input's end offsets and the output holds each transformed record once.
3. A second producer with the same transactional_id fences the first: the first's commit
   fails, the second's transaction commits.
"""

import time
from collections import defaultdict

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from common import Mismatch, bootstrap_from_args, check, run_main, step, unique_topic
from kafka_python_smoke import wait_partitions

NAME = "kafka-python txn"
TIMEOUT = 60.0
CLIENT_ID = "skiff-compat-kafka-python"


def txn_producer(bootstrap, txn_id):
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=CLIENT_ID,
        transactional_id=txn_id,
        transaction_timeout_ms=60_000,
        linger_ms=5,
    )


def reader(bootstrap, isolation):
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=CLIENT_ID,
        isolation_level=isolation,
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
    )


def read_all(bootstrap, topic, nparts, isolation):
    """Every record of the topic up to its end (the LSO for read_committed), from the
    beginning: a list of (partition, offset, value)."""
    c = reader(bootstrap, isolation)
    try:
        tps = [TopicPartition(topic, p) for p in range(nparts)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        ends = c.end_offsets(tps)
        out = []
        deadline = time.monotonic() + TIMEOUT
        while any(c.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise Mismatch(f"{topic} ({isolation}): positions never reached {ends}")
            for tp, msgs in c.poll(timeout_ms=500).items():
                out += [(tp.partition, m.offset, m.value.decode()) for m in msgs]
        return out
    finally:
        c.close()


def high_watermarks(bootstrap, topic, nparts):
    c = reader(bootstrap, "read_uncommitted")
    try:
        tps = [TopicPartition(topic, p) for p in range(nparts)]
        ends = c.end_offsets(tps)
        return [ends[tp] for tp in tps]
    finally:
        c.close()


def commit_and_abort(bootstrap):
    topic = unique_topic("compat-kafka-python-txn")
    p = txn_producer(bootstrap, unique_topic("compat-kafka-python-txn-id"))
    nparts = wait_partitions(p, topic)
    p.init_transactions()
    step(NAME, f"commit one transaction, abort another on {topic} ({nparts} partitions)")
    p.begin_transaction()
    for i in range(9):
        p.send(topic, value=f"committed-{i}".encode(), partition=i % nparts)
    p.commit_transaction()
    p.begin_transaction()
    for i in range(5):
        p.send(topic, value=f"aborted-{i}".encode(), partition=i % nparts)
    p.flush(TIMEOUT)
    p.abort_transaction()
    p.close()

    committed = sorted(v for _, _, v in read_all(bootstrap, topic, nparts, "read_committed"))
    check(committed == sorted(f"committed-{i}" for i in range(9)), f"read_committed saw {committed}")
    everything = read_all(bootstrap, topic, nparts, "read_uncommitted")
    values = sorted(v for _, _, v in everything)
    want = sorted([f"committed-{i}" for i in range(9)] + [f"aborted-{i}" for i in range(5)])
    check(values == want, f"read_uncommitted saw {values}")
    per_part = defaultdict(int)
    for part, _, _ in everything:
        per_part[part] += 1
    for part, high in enumerate(high_watermarks(bootstrap, topic, nparts)):
        check(high == per_part[part] + 2, f"p{part}: high watermark {high}, want {per_part[part]} records + 2 markers")


def consume_transform_produce(bootstrap):
    src = unique_topic("compat-kafka-python-txn-in")
    dst = unique_topic("compat-kafka-python-txn-out")
    group = unique_topic("compat-kafka-python-txn-group")
    plain = KafkaProducer(bootstrap_servers=bootstrap, client_id=CLIENT_ID, acks="all")
    nparts = wait_partitions(plain, src)
    wait_partitions(plain, dst)
    n = 30
    for i in range(n):
        plain.send(src, value=f"in-{i}".encode(), partition=i % nparts)
    plain.flush(TIMEOUT)
    plain.close()

    step(NAME, f"consume-transform-produce {src} -> {dst} in group {group}")
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=CLIENT_ID,
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        session_timeout_ms=10_000,
    )
    consumer.subscribe([src])
    producer = txn_producer(bootstrap, unique_topic("compat-kafka-python-ctp-id"))
    producer.init_transactions()
    seen = 0
    deadline = time.monotonic() + TIMEOUT
    while seen < n:
        if time.monotonic() > deadline:
            raise Mismatch(f"only {seen} of {n} input records consumed")
        batch = consumer.poll(timeout_ms=1000, max_records=10)
        if not batch:
            continue
        producer.begin_transaction()
        offsets = {}
        for tp, msgs in batch.items():
            for m in msgs:
                producer.send(dst, value=b"out-" + m.value, partition=tp.partition)
                seen += 1
            offsets[tp] = OffsetAndMetadata(msgs[-1].offset + 1, "", -1)
        producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
        producer.commit_transaction()
    producer.close()
    tps = [TopicPartition(src, p) for p in range(nparts)]
    got = {tp.partition: consumer.committed(tp) for tp in tps}
    consumer.close()
    ends = high_watermarks(bootstrap, src, nparts)
    check(got == dict(enumerate(ends)), f"committed offsets {got}, want end offsets {ends}")
    out = sorted(v for _, _, v in read_all(bootstrap, dst, nparts, "read_committed"))
    check(out == sorted(f"out-in-{i}" for i in range(n)), f"output {out}")


def fencing(bootstrap):
    topic = unique_topic("compat-kafka-python-txn-fence")
    txn_id = unique_topic("compat-kafka-python-fenced-id")
    first = txn_producer(bootstrap, txn_id)
    nparts = wait_partitions(first, topic)
    step(NAME, "a second producer with the same transactional_id fences the first")
    first.init_transactions()
    first.begin_transaction()
    first.send(topic, value=b"from-first", partition=0)
    first.flush(TIMEOUT)
    second = txn_producer(bootstrap, txn_id)
    second.init_transactions()
    try:
        first.commit_transaction()
        raise Mismatch("the fenced producer committed")
    except KafkaError as e:
        step(NAME, f"fenced producer's commit failed as expected: {type(e).__name__}")
    first.close(timeout=5)
    second.begin_transaction()
    second.send(topic, value=b"from-second", partition=0)
    second.commit_transaction()
    second.close()
    values = [v for _, _, v in read_all(bootstrap, topic, nparts, "read_committed")]
    check(values == ["from-second"], f"read_committed saw {values}")


def main():
    bootstrap = bootstrap_from_args("kafka_python_txn.py")
    commit_and_abort(bootstrap)
    consume_transform_produce(bootstrap)
    fencing(bootstrap)


if __name__ == "__main__":
    run_main(NAME, main)
