#!/usr/bin/env python3
"""confluent-kafka (librdkafka) transactions scenario ("extended" suite).

Usage: confluent_txn.py HOST:PORT   (or BOOTSTRAP=HOST:PORT in the environment)

1. A transactional producer commits one transaction and aborts another on a new topic: a
   read_committed consumer sees exactly the committed records, a read_uncommitted one sees
   both, and neither sees the commit/abort markers as records (they take offsets).
2. Consume-transform-produce: input records are read by a consumer of a new group, each is
   written transformed by the transactional producer, and the input offsets are committed
   with send_offsets_to_transaction in the same transaction; the group's committed offsets
   are then the input's end offsets and the output holds each transformed record once.
3. A second producer with the same transactional.id fences the first: the first's commit
   fails with a fatal error, the second's transaction commits.
"""

import time
from collections import defaultdict

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

from common import Mismatch, bootstrap_from_args, check, run_main, step, unique_topic

NAME = "confluent-kafka txn"
TIMEOUT = 60.0


def txn_producer(bootstrap, txn_id):
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": txn_id,
            "transaction.timeout.ms": 60_000,
            "linger.ms": 5,
        }
    )


def wait_topic(client, topic):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        t = client.list_topics(topic, timeout=10).topics.get(topic)
        if t is not None and t.error is None and t.partitions:
            if all(p.error is None and p.leader >= 0 for p in t.partitions.values()):
                return len(t.partitions)
        time.sleep(0.2)
    raise Mismatch(f"topic {topic} never got leaders")


def read_all(bootstrap, topic, nparts, isolation):
    """Every record of the topic, read from the beginning until each partition's EOF:
    a list of (partition, offset, value)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique_topic("compat-confluent-txn-reader"),
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": isolation,
            "fetch.wait.max.ms": 100,
        }
    )
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(nparts)])
        out, eof = [], set()
        deadline = time.monotonic() + TIMEOUT
        while len(eof) < nparts:
            if time.monotonic() > deadline:
                raise Mismatch(f"{topic} ({isolation}): EOF only on {sorted(eof)}")
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                    continue
                raise Mismatch(f"{topic} ({isolation}): {m.error()}")
            eof.discard(m.partition())
            out.append((m.partition(), m.offset(), m.value().decode()))
        return out
    finally:
        c.close()


def high_watermarks(bootstrap, topic, nparts):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_topic("compat-confluent-txn-wm")})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(nparts)]
    finally:
        c.close()


def commit_and_abort(bootstrap):
    topic = unique_topic("compat-confluent-txn")
    p = txn_producer(bootstrap, unique_topic("compat-confluent-txn-id"))
    nparts = wait_topic(p, topic)
    p.init_transactions(TIMEOUT)
    step(NAME, f"commit one transaction, abort another on {topic} ({nparts} partitions)")
    p.begin_transaction()
    for i in range(9):
        p.produce(topic, value=f"committed-{i}".encode(), partition=i % nparts)
    p.commit_transaction(TIMEOUT)
    p.begin_transaction()
    for i in range(5):
        p.produce(topic, value=f"aborted-{i}".encode(), partition=i % nparts)
    p.flush(TIMEOUT)
    p.abort_transaction(TIMEOUT)

    committed = sorted(v for _, _, v in read_all(bootstrap, topic, nparts, "read_committed"))
    check(committed == sorted(f"committed-{i}" for i in range(9)), f"read_committed saw {committed}")
    everything = read_all(bootstrap, topic, nparts, "read_uncommitted")
    values = sorted(v for _, _, v in everything)
    want = sorted([f"committed-{i}" for i in range(9)] + [f"aborted-{i}" for i in range(5)])
    check(values == want, f"read_uncommitted saw {values}")
    # Markers take offsets (one commit and one abort marker per partition) but are not records.
    per_part = defaultdict(int)
    for part, _, _ in everything:
        per_part[part] += 1
    for part, high in enumerate(high_watermarks(bootstrap, topic, nparts)):
        check(high == per_part[part] + 2, f"p{part}: high watermark {high}, want {per_part[part]} records + 2 markers")


def consume_transform_produce(bootstrap):
    src = unique_topic("compat-confluent-txn-in")
    dst = unique_topic("compat-confluent-txn-out")
    group = unique_topic("compat-confluent-txn-group")
    plain = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    nparts = wait_topic(plain, src)
    wait_topic(plain, dst)
    n = 30
    for i in range(n):
        plain.produce(src, value=f"in-{i}".encode(), partition=i % nparts)
    check(plain.flush(TIMEOUT) == 0, "input not delivered")

    step(NAME, f"consume-transform-produce {src} -> {dst} in group {group}")
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )
    producer = txn_producer(bootstrap, unique_topic("compat-confluent-ctp-id"))
    producer.init_transactions(TIMEOUT)
    consumer.subscribe([src])
    seen = 0
    deadline = time.monotonic() + TIMEOUT
    while seen < n:
        if time.monotonic() > deadline:
            raise Mismatch(f"only {seen} of {n} input records consumed")
        msgs = consumer.consume(10, 1.0)
        msgs = [m for m in msgs if not m.error()]
        if not msgs:
            continue
        producer.begin_transaction()
        for m in msgs:
            producer.produce(dst, value=b"out-" + m.value(), partition=m.partition())
        seen += len(msgs)
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), TIMEOUT)
        producer.commit_transaction(TIMEOUT)
    committed = consumer.committed([TopicPartition(src, p) for p in range(nparts)], timeout=10)
    consumer.close()
    ends = high_watermarks(bootstrap, src, nparts)
    got = {tp.partition: tp.offset for tp in committed}
    check(got == dict(enumerate(ends)), f"committed offsets {got}, want end offsets {ends}")
    out = sorted(v for _, _, v in read_all(bootstrap, dst, nparts, "read_committed"))
    check(out == sorted(f"out-in-{i}" for i in range(n)), f"output {out}")


def fencing(bootstrap):
    topic = unique_topic("compat-confluent-txn-fence")
    txn_id = unique_topic("compat-confluent-fenced-id")
    first = txn_producer(bootstrap, txn_id)
    nparts = wait_topic(first, topic)
    step(NAME, "a second producer with the same transactional.id fences the first")
    first.init_transactions(TIMEOUT)
    first.begin_transaction()
    first.produce(topic, value=b"from-first", partition=0)
    first.flush(TIMEOUT)
    second = txn_producer(bootstrap, txn_id)
    second.init_transactions(TIMEOUT)
    try:
        first.commit_transaction(TIMEOUT)
        raise Mismatch("the fenced producer committed")
    except KafkaException as e:
        check(e.args[0].fatal(), f"fenced commit failed with a non-fatal error: {e}")
    second.begin_transaction()
    second.produce(topic, value=b"from-second", partition=0)
    second.commit_transaction(TIMEOUT)
    values = [v for _, _, v in read_all(bootstrap, topic, nparts, "read_committed")]
    check(values == ["from-second"], f"read_committed saw {values}")


def main():
    bootstrap = bootstrap_from_args("confluent_txn.py")
    commit_and_abort(bootstrap)
    consume_transform_produce(bootstrap)
    fencing(bootstrap)


if __name__ == "__main__":
    run_main(NAME, main)
