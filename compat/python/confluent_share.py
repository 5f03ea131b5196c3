#!/usr/bin/env python3
"""confluent-kafka (librdkafka) ShareConsumer scenarios (the "share" suite, KIP-932).

Usage: confluent_share.py --basic|--explicit HOST:PORT   (or BOOTSTRAP=HOST:PORT)
(compat/run.sh --suite share starts the broker with SHARE_START_ARGS: a 5 s acquisition
lock and a delivery count limit of 3)

--basic     3 ShareConsumers (implicit acknowledgement) in one share group share 10,000
            records, on a 1-partition and then a 4-partition topic: every record is received
            and accepted (acknowledgement commit callback) exactly once across the members,
            no gap, and every member receives some of them. Before the 10,000, single warm-up
            records are produced one at a time until each member has received one, which
            shows all three joined (confluent-kafka's AdminClient cannot describe share groups).
--explicit  one ShareConsumer, share.acknowledgement.mode=explicit, commit_sync: RELEASE gives
            a redelivery with delivery count 2, REJECT gives none, a record released at every
            delivery is archived after the delivery count limit (3) and not delivered again
            (a marker record produced afterwards arrives alone).
Both set share.auto.offset.reset=earliest on the group (IncrementalAlterConfigs, GROUP).
"""

import os
import sys
import threading
import time

from confluent_kafka import AcknowledgeType, Producer, ShareConsumer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from common import Mismatch, check, run_main, step, unique_topic

NAME = "confluent-kafka share"
RECORDS = 10_000
MEMBERS = 3
# The broker's group.share.delivery.count.limit (compat/lib.sh SHARE_START_ARGS).
DELIVERY_COUNT_LIMIT = 3
TIMEOUT = 60.0


def checked(msg: str) -> None:
    """What the scenario checked, on stdout."""
    print(f"{NAME}: checked: {msg}", flush=True)


def wait_until(cond, what) -> None:
    """Poll cond every 50 ms until it holds; Mismatch naming what() after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while not cond():
        if time.monotonic() > deadline:
            raise Mismatch(f"timed out after {TIMEOUT:.0f}s waiting for {what()}")
        time.sleep(0.05)


def create_topic(admin: AdminClient, topic: str, partitions: int) -> None:
    """A new topic; returns once its metadata lists every partition."""
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)

    def known():
        md = admin.list_topics(topic, timeout=10).topics.get(topic)
        return md is not None and md.error is None and len(md.partitions) == partitions

    wait_until(known, lambda: f"topic {topic} in the metadata")


def earliest(admin: AdminClient, group: str) -> None:
    """share.auto.offset.reset=earliest on the share group (a GROUP config)."""
    entry = ConfigEntry("share.auto.offset.reset", "earliest", incremental_operation=AlterConfigOpType.SET)
    res = ConfigResource(ResourceType.GROUP, group, incremental_configs=[entry])
    for fut in admin.incremental_alter_configs([res]).values():
        fut.result(30)


def produce(bootstrap: str, topic: str, partitions: int, n: int, first: int = 0) -> set:
    """n records round-robin over the partitions; returns their (partition, offset) pairs."""
    # Small batches: a share consumer acquires whole batches, so one batch of thousands of
    # records would go to one member of a 1-partition topic.
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1024, "client.id": "skiff-compat-share-producer"})
    got, errors = set(), []

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            got.add((msg.partition(), msg.offset()))

    for i in range(first, first + n):
        while True:
            try:
                p.produce(topic, value=f"v-{i}".encode(), partition=i % partitions, on_delivery=report)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    check(p.flush(30) == 0, "producer flush left records undelivered")
    check(not errors, f"produce errors: {errors[:3]}")
    check(len(got) == n, f"produced {n} records but got {len(got)} distinct offsets")
    return got


def share_consumer(bootstrap: str, group: str, client_id: str, explicit: bool) -> ShareConsumer:
    return ShareConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": client_id,
            "share.acknowledgement.mode": "explicit" if explicit else "implicit",
            # As the Java scenarios: small batches, so every member of a 1-partition topic gets some.
            "max.poll.records": 100,
        }
    )


class Member(threading.Thread):
    """One ShareConsumer in its own thread (implicit acknowledgement): records every delivery
    and every offset whose acknowledgement the broker confirmed."""

    def __init__(self, name, bootstrap, group, topic, shared):
        super().__init__(name=name, daemon=True)
        self.consumer = share_consumer(bootstrap, group, f"skiff-compat-share-{name}", False)
        self.topic = topic
        self.shared = shared
        self.stop = threading.Event()
        self.count = 0

    def on_commit(self, offsets, exc):
        s = self.shared
        with s["lock"]:
            if exc is not None:
                s["problems"].append(f"{self.name}: acknowledgement of {offsets} failed: {exc}")
                return
            for tp, offs in offsets.items():
                for o in offs:
                    k = (tp.partition, o)
                    if k in s["accepted"]:
                        s["problems"].append(f"{self.name}: {k} accepted again (first by {s['accepted'][k]})")
                    s["accepted"][k] = self.name

    def run(self):
        s = self.shared
        try:
            self.consumer.set_acknowledgement_commit_callback(self.on_commit)
            self.consumer.subscribe([self.topic])
            while not self.stop.is_set():
                for m in self.consumer.poll(0.2):
                    if m.error() is not None:
                        with s["lock"]:
                            s["problems"].append(f"{self.name}: poll error {m.error()}")
                        continue
                    k = (m.partition(), m.offset())
                    with s["lock"]:
                        self.count += 1
                        if k in s["received"]:
                            s["problems"].append(
                                f"{self.name}: {k} delivered again (first to {s['received'][k]}), "
                                f"delivery count {m.delivery_count()}"
                            )
                        s["received"][k] = self.name
        except Exception as e:  # a client error fails the scenario
            with s["lock"]:
                s["problems"].append(f"{self.name}: {type(e).__name__}: {e}")
        finally:
            try:
                self.consumer.close()
            except Exception as e:
                with s["lock"]:
                    s["problems"].append(f"{self.name}: close: {e}")


def basic(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for partitions in (1, 4):
        topic = unique_topic(f"share-basic-py-p{partitions}")
        group = unique_topic("share-basic-py")
        create_topic(admin, topic, partitions)
        earliest(admin, group)
        shared = {"lock": threading.Lock(), "received": {}, "accepted": {}, "problems": []}
        members = [Member(f"member-{i}", bootstrap, group, topic, shared) for i in range(MEMBERS)]
        for m in members:
            m.start()
        try:
            # Warm-up: one record at a time (each accepted before the next) until every member
            # has received one, i.e. all three joined and were assigned the partitions.
            produced = set()
            deadline = time.monotonic() + TIMEOUT
            while min(m.count for m in members) == 0:
                check(time.monotonic() < deadline, f"members did not all receive a warm-up record: {[m.count for m in members]}")
                produced |= produce(bootstrap, topic, partitions, 1, first=len(produced))
                wait_until(
                    lambda: len(shared["accepted"]) >= len(produced) or shared["problems"],
                    lambda: f"warm-up record {len(produced)} to be accepted",
                )
            warm = len(produced)
            before = [m.count for m in members]
            step(NAME, f"{partitions} partition(s): all {MEMBERS} members got warm-up records ({warm}); producing {RECORDS}")
            produced |= produce(bootstrap, topic, partitions, RECORDS, first=warm)
            wait_until(
                lambda: len(shared["accepted"]) >= len(produced) or shared["problems"],
                lambda: f"all {len(produced)} records to be accepted (accepted {len(shared['accepted'])})",
            )
        finally:
            for m in members:
                m.stop.set()
            for m in members:
                m.join(60)
        problems = shared["problems"]
        check(not problems, f"{partitions} partition(s): {problems[:5]}")
        received, accepted = set(shared["received"]), set(shared["accepted"])
        check(received == produced, f"{partitions} partition(s): received {len(received)} distinct, not the {len(produced)} produced; missing e.g. {sorted(produced - received)[:5]}, unexpected e.g. {sorted(received - produced)[:5]}")
        check(accepted == produced, f"{partitions} partition(s): accepted {len(accepted)} distinct, not the {len(produced)} produced; missing e.g. {sorted(produced - accepted)[:5]}")
        got = {m.name: m.count - b for m, b in zip(members, before)}
        for name, n in got.items():
            check(n > 0, f"{partitions} partition(s): {name} received none of the {RECORDS} records ({got})")
        checked(
            f"{partitions} partition(s): {len(produced)} records ({warm} warm-up + {RECORDS}) each received and accepted "
            f"exactly once, no gap, no duplicate; of the {RECORDS}: {got}"
        )


def explicit(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = unique_topic("share-explicit-py")
    group = unique_topic("share-explicit-py")
    create_topic(admin, topic, 1)
    earliest(admin, group)
    # Offsets 0..3: released once then accepted, rejected, released at every delivery, accepted.
    produce(bootstrap, topic, 1, 4)
    deliveries = {}
    marker = None
    c = share_consumer(bootstrap, group, "skiff-compat-share-explicit-py", True)
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT
        marker_seen = False
        while not marker_seen:
            check(time.monotonic() < deadline, f"timed out; deliveries so far {deliveries}")
            msgs = c.poll(0.2)
            got_some = False
            for m in msgs:
                check(m.error() is None, f"poll error {m.error()}")
                got_some = True
                o, dc = m.offset(), m.delivery_count()
                check(dc is not None, f"offset {o} has no delivery count")
                deliveries.setdefault(o, []).append(dc)
                if o == 0:
                    ack = AcknowledgeType.RELEASE if dc == 1 else AcknowledgeType.ACCEPT
                elif o == 1:
                    ack = AcknowledgeType.REJECT
                elif o == 2:
                    ack = AcknowledgeType.RELEASE
                else:
                    ack = AcknowledgeType.ACCEPT
                c.acknowledge(m, ack)
                if o == marker:
                    marker_seen = True
            if got_some:
                for tp, err in c.commit_sync(30).items():
                    check(err is None, f"commit_sync for {tp}: {err}")
            if marker is None and len(deliveries.get(0, [])) == 2 and len(deliveries.get(2, [])) == DELIVERY_COUNT_LIMIT:
                # A marker record: it comes after any redelivery the broker still owed.
                ((_, marker),) = produce(bootstrap, topic, 1, 1, first=4)
    finally:
        c.close()
    check(deliveries.get(0) == [1, 2], f"offset 0 (released once): delivery counts {deliveries.get(0)}, expected [1, 2]")
    check(deliveries.get(1) == [1], f"offset 1 (rejected): delivery counts {deliveries.get(1)}, expected [1]")
    check(deliveries.get(2) == [1, 2, 3], f"offset 2 (always released): delivery counts {deliveries.get(2)}, expected [1, 2, 3]")
    check(deliveries.get(3) == [1], f"offset 3 (accepted): delivery counts {deliveries.get(3)}, expected [1]")
    check(deliveries.get(marker) == [1], f"marker offset {marker}: delivery counts {deliveries.get(marker)}")
    check(len(deliveries) == 5, f"deliveries of offsets other than 0..4: {deliveries}")
    checked(
        "RELEASE -> redelivered with delivery count 2 (then ACCEPT: not again); REJECT -> not redelivered; "
        f"released at every delivery -> delivered {DELIVERY_COUNT_LIMIT} times (delivery counts 1..3) then archived, "
        f"not delivered before or with the later marker record; deliveries {deliveries}"
    )


def main() -> None:
    args = [a for a in sys.argv[1:] if a.startswith("--")]
    rest = [a for a in sys.argv[1:] if not a.startswith("--")]
    bootstrap = rest[0] if rest else os.environ.get("BOOTSTRAP", "")
    if len(args) != 1 or args[0] not in ("--basic", "--explicit") or not bootstrap:
        print("usage: confluent_share.py --basic|--explicit HOST:PORT (or set BOOTSTRAP)", file=sys.stderr)
        sys.exit(2)
    run_main(NAME, lambda: basic(bootstrap) if args[0] == "--basic" else explicit(bootstrap))


if __name__ == "__main__":
    main()
