#!/usr/bin/env python3
"""kafka-python (pure-Python protocol implementation) smoke scenario.

Usage: kafka_python_smoke.py HOST:PORT   (or BOOTSTRAP=HOST:PORT in the environment)

For each compression codec (none, gzip, snappy, lz4, zstd; the last three through the
python-snappy, lz4 and zstandard packages), on a new auto-created topic: produce records to
explicit partitions (null/empty keys and values, duplicate header keys, explicit timestamps,
one 200 KB value) with idempotence off, check the returned metadata, consume every partition
back with an assign()-based consumer (group_id=None) and compare exactly (offsets, keys,
values, headers, timestamps), then beginning_offsets, end_offsets and offsets_for_times.
Finally a consumer positioned at the end (seek_to_end) receives only newer records.
"""

import time
from collections import defaultdict

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from common import (
    Mismatch,
    Rec,
    bootstrap_from_args,
    check,
    compare_partition,
    make_records,
    run_main,
    step,
    unique_topic,
)

NAME = "kafka-python smoke"
CODECS = [None, "gzip", "snappy", "lz4", "zstd"]
N = 240
TIMEOUT_S = 60


def new_producer(bootstrap: str, codec) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="skiff-compat-kafka-python",
        compression_type=codec,
        linger_ms=20,
        acks=-1,
        # Plain produce only: idempotence (InitProducerId) is a later scenario.
        enable_idempotence=False,
        max_block_ms=TIMEOUT_S * 1000,
        request_timeout_ms=30_000,
    )


def wait_partitions(producer: KafkaProducer, topic: str) -> int:
    """Metadata for the topic (auto-creating it); the partition count once all are known."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        parts = producer.partitions_for(topic)
        if parts:
            check(parts == set(range(len(parts))), f"{topic}: partitions {sorted(parts)} not 0..n-1")
            return len(parts)
        time.sleep(0.2)
    raise Mismatch(f"topic {topic} never appeared in metadata")


def produce(producer: KafkaProducer, topic: str, recs, chunks: int = 3) -> None:
    """Send recs in `chunks` flushes; fill in offsets from the returned metadata."""
    per_chunk = (len(recs) + chunks - 1) // chunks
    for start in range(0, len(recs), per_chunk):
        chunk = recs[start : start + per_chunk]
        futures = [
            producer.send(
                topic,
                value=r.value,
                key=r.key,
                headers=list(r.headers),
                partition=r.partition,
                timestamp_ms=r.timestamp,
            )
            for r in chunk
        ]
        producer.flush(timeout=TIMEOUT_S)
        for r, f in zip(chunk, futures):
            md = f.get(timeout=TIMEOUT_S)
            check(md.partition == r.partition, f"sent to p{r.partition}, metadata says p{md.partition}")
            check(md.timestamp == r.timestamp, f"{r.brief()}: metadata timestamp {md.timestamp} (CreateTime expected)")
            r.offset = md.offset


def new_consumer(bootstrap: str) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="skiff-compat-kafka-python",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=100,
        request_timeout_ms=30_000,
    )


def to_rec(m) -> Rec:
    if m.timestamp_type != 0:
        raise Mismatch(f"p{m.partition}@{m.offset}: timestamp type {m.timestamp_type}, want 0 (CreateTime)")
    return Rec(m.partition, m.key, m.value, list(m.headers or []), m.timestamp, m.offset)


def poll_until(consumer: KafkaConsumer, total: int, what: str):
    """Poll until `total` records arrived; returns them by partition."""
    got = defaultdict(list)
    count = 0
    deadline = time.monotonic() + TIMEOUT_S
    while count < total:
        if time.monotonic() > deadline:
            raise Mismatch(f"{what}: timed out with {count} of {total} records")
        for tp, msgs in consumer.poll(timeout_ms=500).items():
            for m in msgs:
                got[tp.partition].append(to_rec(m))
                count += 1
    return got


def scenario_codec(bootstrap: str, codec):
    label = codec or "none"
    topic = unique_topic(f"compat-kafka-python-{label}")
    producer = new_producer(bootstrap, codec)
    try:
        nparts = wait_partitions(producer, topic)
        base_ts = int(time.time() * 1000) - 3_600_000
        recs = make_records(N, nparts, base_ts, label, null_header_values=False)
        step(NAME, f"{label}: produce {N} records to {topic} ({nparts} partitions)")
        produce(producer, topic, recs)
    finally:
        producer.close(timeout=10)

    want = defaultdict(list)
    for r in recs:
        want[r.partition].append(r)
    for part, rs in want.items():
        offs = [r.offset for r in rs]
        check(offs == list(range(len(rs))), f"{label}: p{part} offsets {offs[:10]}..., want 0..{len(rs) - 1}")

    tps = [TopicPartition(topic, p) for p in range(nparts)]
    consumer = new_consumer(bootstrap)
    try:
        step(NAME, f"{label}: consume back (assign, seek_to_beginning)")
        consumer.assign(tps)
        consumer.seek_to_beginning()
        got = poll_until(consumer, N, f"{label} consume")
        for p in range(nparts):
            compare_partition(f"{label} p{p}", want[p], got[p])

        step(NAME, f"{label}: beginning/end offsets and offsets_for_times")
        begin = consumer.beginning_offsets(tps, timeout_ms=10_000)
        end = consumer.end_offsets(tps, timeout_ms=10_000)
        for tp in tps:
            check(begin[tp] == 0, f"{label} p{tp.partition}: beginning offset {begin[tp]}, want 0")
            n = len(want[tp.partition])
            check(end[tp] == n, f"{label} p{tp.partition}: end offset {end[tp]}, want {n}")
        for tp in tps:
            rs = want[tp.partition]
            mid = rs[len(rs) // 2]
            cases = [
                (0, rs[0]),
                (rs[0].timestamp, rs[0]),
                (mid.timestamp, mid),
                (mid.timestamp - 1, mid),  # between two records: the later one
                (rs[-1].timestamp, rs[-1]),
                (rs[-1].timestamp + 1, None),  # past the last record: None
            ]
            for ts, rec in cases:
                res = consumer.offsets_for_times({tp: ts}, timeout_ms=10_000)
                got_ot = res.get(tp)
                if rec is None:
                    check(got_ot is None, f"{label} p{tp.partition}: offsets_for_times({ts}) = {got_ot}, want None")
                else:
                    check(
                        got_ot is not None and (got_ot.offset, got_ot.timestamp) == (rec.offset, rec.timestamp),
                        f"{label} p{tp.partition}: offsets_for_times({ts}) = {got_ot}, "
                        f"want offset {rec.offset} timestamp {rec.timestamp}",
                    )
    finally:
        consumer.close()
    return topic, nparts, want


def scenario_latest(bootstrap: str, topic: str, nparts: int, want):
    step(NAME, f"latest: consumer at end of {topic} sees only new records")
    tps = [TopicPartition(topic, p) for p in range(nparts)]
    consumer = new_consumer(bootstrap)
    try:
        consumer.assign(tps)
        consumer.seek_to_end()
        for tp in tps:  # position() resolves `latest` now, before anything new is produced
            pos = consumer.position(tp, timeout_ms=10_000)
            check(pos == len(want[tp.partition]), f"latest: p{tp.partition} position {pos}, want {len(want[tp.partition])}")
        fresh = make_records(3 * nparts, nparts, int(time.time() * 1000), "fresh", null_header_values=False)
        fresh = [r for r in fresh if r.value is None or len(r.value) < 100_000]
        producer = new_producer(bootstrap, None)
        try:
            produce(producer, topic, fresh, chunks=1)
        finally:
            producer.close(timeout=10)
        new_want = defaultdict(list)
        for r in fresh:
            new_want[r.partition].append(r)
        got = poll_until(consumer, len(fresh), "latest: receive new records")
        for p in range(nparts):
            compare_partition(f"latest p{p}", new_want[p], got[p])
    finally:
        consumer.close()


def main():
    bootstrap = bootstrap_from_args("kafka_python_smoke.py")
    first = None
    for codec in CODECS:
        res = scenario_codec(bootstrap, codec)
        first = first or res
    scenario_latest(bootstrap, *first)


if __name__ == "__main__":
    run_main(NAME, main)
