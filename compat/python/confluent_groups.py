#!/usr/bin/env python3
"""confluent-kafka (librdkafka) group and idempotence scenario ("extended" suite).

Usage: confluent_groups.py HOST:PORT   (or BOOTSTRAP=HOST:PORT in the environment)

1. An idempotent producer (enable.idempotence=true: InitProducerId, sequence numbers)
   writes records to an auto-created topic; delivery offsets are contiguous.
2. A consumer in a new group (classic protocol, subscribe) reads them all, commits
   synchronously, and committed() returns the end offsets.
3. A second consumer of the same group, after the first has closed, resumes from the
   committed offsets: it sees only records produced after the commit, exactly.
4. kill -9: a consumer in another process owns partitions of a new group; once a second
   member has joined, the process is killed (no LeaveGroup); after the dead member's
   session timeout the survivor owns every partition.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from common import (
    Mismatch,
    bootstrap_from_args,
    check,
    compare_partition,
    make_records,
    run_main,
    step,
    unique_topic,
)
from confluent_smoke import to_rec, wait_topic

NAME = "confluent-kafka groups"
TIMEOUT = 90.0


def produce_idempotent(bootstrap, topic, recs):
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 10})
    errors = []

    def cb_for(r):
        def cb(err, msg):
            if err is not None:
                errors.append(f"{r.brief()}: {err}")
            else:
                r.offset = msg.offset()

        return cb

    for r in recs:
        p.produce(topic, value=r.value, key=r.key, partition=r.partition, timestamp=r.timestamp,
                  headers=r.headers or None, on_delivery=cb_for(r))
    left = p.flush(TIMEOUT)
    check(left == 0, f"{left} records undelivered after {TIMEOUT}s")
    check(not errors, f"idempotent delivery errors: {errors[:5]}")


def group_consumer(bootstrap, group):
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 10_000,
            "fetch.wait.max.ms": 100,
        }
    )


def consume_n(c, n, what):
    got = defaultdict(list)
    count = 0
    deadline = time.monotonic() + TIMEOUT
    while count < n:
        check(time.monotonic() < deadline, f"{what}: timed out with {count} of {n} records")
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise Mismatch(f"{what}: consumer error {msg.error()}")
        got[msg.partition()].append(to_rec(msg))
        count += 1
    return got


KILL_SESSION_MS = 6000


def kill_child(bootstrap, group, topic):
    """The member to be killed: prints its assignment after every poll, forever."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "session.timeout.ms": KILL_SESSION_MS,
            "heartbeat.interval.ms": 500,
        }
    )
    c.subscribe([topic])
    while True:
        c.poll(0.2)
        print("assigned " + " ".join(str(tp.partition) for tp in c.assignment()), flush=True)


def kill9_reassigns(bootstrap, topic, nparts):
    group = unique_topic("compat-confluent-kill9")
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--kill-child", bootstrap, group, topic],
        stdout=subprocess.PIPE,
        text=True,
    )
    child_owns = []

    def read_child():
        for line in child.stdout:
            child_owns[:] = line.split()[1:]

    threading.Thread(target=read_child, daemon=True).start()
    joined = threading.Event()
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "session.timeout.ms": KILL_SESSION_MS,
            "heartbeat.interval.ms": 500,
        }
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not child_owns:
            check(child.poll() is None, "the member to kill exited early")
            check(time.monotonic() < deadline, "the member to kill got no partitions")
            time.sleep(0.1)
        c.subscribe([topic], on_assign=lambda _c, _ps: joined.set())
        while not (joined.is_set() and child_owns):
            check(time.monotonic() < deadline, "the second member did not join")
            c.poll(0.2)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        killed = time.monotonic()
        deadline = killed + TIMEOUT
        while len(c.assignment()) < nparts:
            check(
                time.monotonic() < deadline,
                f"after kill -9 the survivor owns {[tp.partition for tp in c.assignment()]} of {nparts}",
            )
            c.poll(0.2)
        step(NAME, f"kill -9: survivor owns all {nparts} partitions {time.monotonic() - killed:.1f}s after the kill")
    finally:
        if child.poll() is None:
            child.kill()
        c.close()


def main():
    bootstrap = bootstrap_from_args("confluent_groups.py")
    topic = unique_topic("compat-confluent-groups")
    group = unique_topic("compat-confluent-group")
    nparts = wait_topic(Producer({"bootstrap.servers": bootstrap}), topic, bootstrap)

    step(NAME, f"idempotent produce to {topic}")
    recs = [r for r in make_records(60, nparts, int(time.time() * 1000) - 60_000, "grp") if r.value is None or len(r.value) < 100_000]
    produce_idempotent(bootstrap, topic, recs)
    want = defaultdict(list)
    for r in recs:
        want[r.partition].append(r)
    for p, rs in want.items():
        check([r.offset for r in rs] == list(range(len(rs))), f"p{p}: idempotent offsets not 0..{len(rs) - 1}")

    step(NAME, f"group {group}: subscribe, consume all, commit")
    c = group_consumer(bootstrap, group)
    c.subscribe([topic])
    got = consume_n(c, len(recs), "first member")
    for p in range(nparts):
        compare_partition(f"group p{p}", want[p], got[p])
    c.commit(asynchronous=False)
    committed = c.committed([TopicPartition(topic, p) for p in range(nparts)], timeout=10)
    for tp in committed:
        check(tp.error is None, f"committed p{tp.partition}: {tp.error}")
        check(tp.offset == len(want[tp.partition]), f"committed p{tp.partition} = {tp.offset}, want {len(want[tp.partition])}")
    c.close()

    step(NAME, "second member resumes from the committed offsets")
    fresh = [r for r in make_records(2 * nparts, nparts, int(time.time() * 1000), "grp2") if r.value is None or len(r.value) < 100_000]
    produce_idempotent(bootstrap, topic, fresh)
    new_want = defaultdict(list)
    for r in fresh:
        new_want[r.partition].append(r)
    c2 = group_consumer(bootstrap, group)
    c2.subscribe([topic])
    try:
        got = consume_n(c2, len(fresh), "second member")
        for p in range(nparts):
            compare_partition(f"resume p{p}", new_want[p], got[p])
    finally:
        c2.close()

    step(NAME, "kill -9 of a member: its partitions move after its session timeout")
    kill9_reassigns(bootstrap, topic, nparts)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--kill-child":
        kill_child(*sys.argv[2:])
    else:
        run_main(NAME, main)
