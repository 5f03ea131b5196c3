#!/usr/bin/env python3
"""confluent-kafka (librdkafka) smoke scenario.

Usage: confluent_smoke.py HOST:PORT   (or BOOTSTRAP=HOST:PORT in the environment)

For each compression codec (none, gzip, snappy, lz4, zstd), on a new auto-created topic:
produce records to explicit partitions (null/empty keys and values, duplicate header keys,
null header values, explicit timestamps, one 200 KB value), check the delivery reports,
consume every partition back with an assign()-based consumer and compare exactly (offsets,
keys, values, headers, timestamps), check watermarks and offsets_for_times. Then a consumer
assigned at `latest` sees only records produced after it reached the end.
No consumer group is used (assign only, no group.id).
"""

import time
from collections import defaultdict

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_CREATE_TIME,
    Consumer,
    KafkaError,
    Producer,
    TopicPartition,
)

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

NAME = "confluent-kafka smoke"
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
N = 240
TIMEOUT = 60.0


def wait_topic(client, topic: str, bootstrap: str) -> int:
    """Ask for the topic's metadata (a producer's request auto-creates it) until every
    partition has a leader; return the partition count."""
    deadline = time.monotonic() + TIMEOUT
    last = None
    while time.monotonic() < deadline:
        md = client.list_topics(topic, timeout=10)
        hosts = {f"{b.host}:{b.port}" for b in md.brokers.values()}
        check(bootstrap in hosts, f"metadata brokers {sorted(hosts)} do not include {bootstrap}")
        t = md.topics.get(topic)
        last = t
        if t is not None and t.error is None and t.partitions:
            if all(p.error is None and p.leader >= 0 for p in t.partitions.values()):
                return len(t.partitions)
        time.sleep(0.2)
    raise Mismatch(f"topic {topic} never had leaders for all partitions: {last and last.error}")


def produce(bootstrap: str, topic: str, codec: str, recs, chunks: int = 3) -> None:
    """Produce recs in `chunks` flushes (so each partition gets several batches) and fill in
    the offsets from the delivery reports."""
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "compression.type": codec,
            "linger.ms": 20,
            "acks": "all",
            "message.max.bytes": 1_000_000,
        }
    )
    errors = []

    def on_delivery(rec):
        def cb(err, msg):
            if err is not None:
                errors.append(f"{rec.brief()}: {err}")
            else:
                rec.offset = msg.offset()
                if msg.partition() != rec.partition:
                    errors.append(f"delivered to partition {msg.partition()}, asked {rec.partition}")

        return cb

    wait_topic(p, topic, bootstrap)
    per_chunk = (len(recs) + chunks - 1) // chunks
    for start in range(0, len(recs), per_chunk):
        for r in recs[start : start + per_chunk]:
            p.produce(
                topic,
                value=r.value,
                key=r.key,
                partition=r.partition,
                timestamp=r.timestamp,
                headers=r.headers or None,
                on_delivery=on_delivery(r),
            )
        left = p.flush(TIMEOUT)
        check(left == 0, f"{left} records still undelivered after {TIMEOUT}s")
    check(not errors, f"delivery errors ({codec}): {errors[:5]}")


def new_consumer(bootstrap: str, **extra) -> Consumer:
    # confluent-kafka refuses a consumer without group.id even for assign(); the group is
    # never joined and nothing is committed (librdkafka may still look up its coordinator).
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": unique_topic("compat-confluent-unused-group"),
        "enable.partition.eof": True,
        "enable.auto.commit": False,
        "auto.offset.reset": "error",
        "fetch.wait.max.ms": 100,
    }
    conf.update(extra)
    return Consumer(conf)


def to_rec(msg) -> Rec:
    ts_type, ts = msg.timestamp()
    if ts_type != TIMESTAMP_CREATE_TIME:
        raise Mismatch(f"p{msg.partition()}@{msg.offset()}: timestamp type {ts_type}, want CreateTime")
    return Rec(msg.partition(), msg.key(), msg.value(), list(msg.headers() or []), ts, msg.offset())


def consume_until(consumer: Consumer, done, what: str):
    """Poll until done(got, eofs) holds; returns (records by partition, EOF offsets)."""
    got = defaultdict(list)
    eofs = {}
    deadline = time.monotonic() + TIMEOUT
    while not done(got, eofs):
        if time.monotonic() > deadline:
            counts = {p: len(v) for p, v in got.items()}
            raise Mismatch(f"{what}: timed out; got {counts} records, EOF at {eofs}")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                eofs[msg.partition()] = msg.offset()
                continue
            if msg.topic() is None and not msg.error().fatal():
                # A client-wide, non-fatal event (e.g. a coordinator lookup): report only.
                step(NAME, f"{what}: (non-fatal client event) {msg.error()}")
                continue
            raise Mismatch(f"{what}: consumer error on {msg.topic()} [{msg.partition()}]: {msg.error()}")
        got[msg.partition()].append(to_rec(msg))
        eofs.pop(msg.partition(), None)
    return got, eofs


def scenario_codec(bootstrap: str, codec: str):
    topic = unique_topic(f"compat-confluent-{codec}")
    probe = Producer({"bootstrap.servers": bootstrap})
    nparts = wait_topic(probe, topic, bootstrap)
    del probe
    base_ts = int(time.time() * 1000) - 3_600_000
    recs = make_records(N, nparts, base_ts, codec)
    step(NAME, f"{codec}: produce {N} records to {topic} ({nparts} partitions)")
    produce(bootstrap, topic, codec, recs)

    want = defaultdict(list)
    for r in recs:
        want[r.partition].append(r)
    for part, rs in want.items():
        offs = [r.offset for r in rs]
        check(offs == list(range(len(rs))), f"{codec}: p{part} delivery offsets {offs[:10]}..., want 0..{len(rs) - 1}")

    step(NAME, f"{codec}: consume back (assign from beginning)")
    c = new_consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(nparts)])
        got, eofs = consume_until(
            c, lambda g, e: len(e) == nparts and all(e[p] == len(want[p]) for p in range(nparts)), f"{codec} consume"
        )
        for p in range(nparts):
            compare_partition(f"{codec} p{p}", want[p], got[p])

        step(NAME, f"{codec}: watermarks and offsets_for_times")
        for p in range(nparts):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            check((lo, hi) == (0, len(want[p])), f"{codec} p{p}: watermarks {(lo, hi)}, want {(0, len(want[p]))}")
        # Six lookups, each asking every partition at once: (timestamp, expected offset).
        cases = []
        for p in range(nparts):
            rs = want[p]
            mid = rs[len(rs) // 2]
            cases.append(
                [
                    (0, 0),
                    (rs[0].timestamp, 0),
                    (mid.timestamp, mid.offset),
                    (mid.timestamp - 1, mid.offset),  # between two records: the later one
                    (rs[-1].timestamp, rs[-1].offset),
                    (rs[-1].timestamp + 1, OFFSET_END),  # past the last: -1
                ]
            )
        for k in range(len(cases[0])):
            asked = [TopicPartition(topic, p, cases[p][k][0]) for p in range(nparts)]
            res = sorted(c.offsets_for_times(asked, timeout=10), key=lambda tp: tp.partition)
            check([tp.partition for tp in res] == list(range(nparts)), f"offsets_for_times returned {res}")
            for p, tp in enumerate(res):
                ts, off = cases[p][k]
                check(tp.error is None, f"{codec} p{p}: offsets_for_times({ts}) error {tp.error}")
                check(tp.offset == off, f"{codec} p{p}: offsets_for_times({ts}) = {tp.offset}, want {off}")
    finally:
        c.close()
    return topic, nparts, want


def scenario_latest(bootstrap: str, topic: str, nparts: int, want):
    step(NAME, f"latest: consumer at end of {topic} sees only new records")
    c = new_consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, p, OFFSET_END) for p in range(nparts)])
        # The end-of-partition event proves the consumer resolved `latest` before we produce.
        _, eofs = consume_until(c, lambda g, e: len(e) == nparts, "latest: reach end")
        for p in range(nparts):
            check(eofs[p] == len(want[p]), f"latest: p{p} positioned at {eofs[p]}, want {len(want[p])}")
        base_ts = int(time.time() * 1000)
        fresh = make_records(3 * nparts, nparts, base_ts, "fresh")
        fresh = [r for r in fresh if r.value is None or len(r.value) < 100_000]
        produce(bootstrap, topic, "none", fresh, chunks=1)
        new_want = defaultdict(list)
        for r in fresh:
            new_want[r.partition].append(r)
        got, _ = consume_until(
            c, lambda g, e: sum(len(v) for v in g.values()) >= len(fresh), "latest: receive new records"
        )
        for p in range(nparts):
            check(
                not new_want[p] or new_want[p][0].offset == len(want[p]),
                f"latest: p{p} new records start at {new_want[p][0].offset if new_want[p] else None}",
            )
            compare_partition(f"latest p{p}", new_want[p], got[p])
    finally:
        c.close()


def main():
    bootstrap = bootstrap_from_args("confluent_smoke.py")
    first = None
    for codec in CODECS:
        res = scenario_codec(bootstrap, codec)
        first = first or res
    scenario_latest(bootstrap, *first)


if __name__ == "__main__":
    run_main(NAME, main)
