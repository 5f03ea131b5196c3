#!/usr/bin/env python3
"""Differential observer for confluent-kafka (librdkafka): one scenario, written as
normalised JSON of everything the client observed (compared by compat/diff/compare.py).

Usage: confluent_observe.py offsets|errors|configs|groups HOST:PORT OUT.json

Normalisation as in JavaObserve.java: per-run topic and group names appear under their
logical names; broker ids, hosts, member ids and the like as "present"/"absent"; record
timestamps relative to the fixed T0 the scenario produces with (broker-assigned ones as
"broker_time"). A failed call is recorded as its librdkafka error name (KafkaError.name(),
Kafka's error names, librdkafka's local errors start with "_"). Exits 0 whenever the
observation was written.
"""

import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka import ConsumerGroupTopicPartitions, IsolationLevel
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
)

T0 = 1_700_000_000_000
RUN = uuid.uuid4().hex[:8]
WAIT = 30.0
LOGICAL = {}


def step(msg):
    print(f"confluent-observe: {msg}", file=sys.stderr, flush=True)


def topic(name):
    real = f"diffc-{name}-{RUN}"
    LOGICAL[real] = name
    return real


def group(name):
    real = f"diffcg-{name}-{RUN}"
    LOGICAL[real] = name
    return real


def error_name(exc):
    """The Kafka error name a failure stands for."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0].name()
    if isinstance(exc, KafkaError):
        return exc.name()
    return f"CLIENT_EXCEPTION:{type(exc).__name__}"


def attempt(fn, describe=None):
    """{"error": NAME} on failure, else {"error": "NONE", **describe(result)}."""
    try:
        value = fn()
    except Exception as e:  # every failure is an observation
        return {"error": error_name(e)}
    out = {"error": "NONE"}
    if describe is not None:
        out.update(describe(value))
    return out


def rel_ts(ts):
    if ts < 0:
        return ts
    if ts > T0 + 1_000_000_000:
        return "broker_time"
    return ts - T0


def admin():
    return AdminClient({"bootstrap.servers": BOOTSTRAP, "client.id": "skiff-diff-confluent-admin"})


def producer(**extra):
    conf = {
        "bootstrap.servers": BOOTSTRAP,
        "client.id": "skiff-diff-confluent-producer",
        "acks": "all",
        "linger.ms": 1000,  # batches are cut by flush(), not by time
        "message.timeout.ms": 30000,
    }
    conf.update(extra)
    return Producer(conf)


def consumer(**extra):
    conf = {
        "bootstrap.servers": BOOTSTRAP,
        "client.id": "skiff-diff-confluent-consumer",
        "group.id": f"diffcg-reader-{RUN}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
        "enable.partition.eof": True,
    }
    conf.update(extra)
    return Consumer(conf)


def create_topic(a, real, partitions, config=None):
    fut = a.create_topics([NewTopic(real, partitions, 1, config=config or {})])[real]
    fut.result(WAIT)
    deadline = time.time() + WAIT
    while time.time() < deadline:
        md = a.list_topics(real, timeout=10).topics.get(real)
        if md is not None and md.error is None and len(md.partitions) == partitions and all(
            p.leader >= 0 for p in md.partitions.values()
        ):
            return
        time.sleep(0.1)
    raise RuntimeError(f"topic {real} never became ready")


def send_all(p, real, partition, deltas, tag):
    results = [None] * len(deltas)

    def on_delivery(i):
        def cb(err, msg):
            results[i] = (err, msg)

        return cb

    for i, d in enumerate(deltas):
        p.produce(real, key=f"{tag}-k{i}", value=f"{tag}-value-{i}-" + "x" * 200, partition=partition,
                  timestamp=T0 + d, on_delivery=on_delivery(i))
    p.flush(WAIT)
    offsets, stamps, error = [], [], "NONE"
    for r in results:
        if r is None:
            error = "NO_DELIVERY_REPORT"
            offsets.append(None)
            stamps.append(None)
        elif r[0] is not None:
            error = r[0].name()
            offsets.append(None)
            stamps.append(None)
        else:
            offsets.append(r[1].offset())
            stamps.append(rel_ts(r[1].timestamp()[1]))
    return {"error": error, "partition": partition, "offsets": offsets, "timestamps_minus_t0": stamps}


def list_offsets(a, real, partitions, spec, isolation=IsolationLevel.READ_UNCOMMITTED):
    req = {TopicPartition(real, p): spec for p in range(partitions)}
    futs = a.list_offsets(req, isolation_level=isolation, request_timeout=15)
    out = {}
    for tp, fut in futs.items():
        out[f"p{tp.partition}"] = attempt(lambda f=fut: f.result(WAIT), lambda r: {
            "offset": r.offset,
            "timestamp_minus_t0": rel_ts(r.timestamp),
            "leader_epoch": r.leader_epoch if r.leader_epoch is not None else "absent",
        })
    return out


def await_stable(a, real, partition):
    """Waits until partition's last stable offset equals its end offset (True), or 15 s."""
    tp = TopicPartition(real, partition)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            hw = a.list_offsets({tp: OffsetSpec.latest()}, request_timeout=10)[tp].result(WAIT).offset
            lso = a.list_offsets({tp: OffsetSpec.latest()}, isolation_level=IsolationLevel.READ_COMMITTED,
                                 request_timeout=10)[tp].result(WAIT).offset
            if hw == lso:
                return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


def read_partition(real, partition, isolation):
    out = {}
    c = consumer(**{"isolation.level": isolation})
    try:
        tp = TopicPartition(real, partition)
        low, high = c.get_watermark_offsets(tp, timeout=10)
        c.assign([TopicPartition(real, partition, -2)])  # OFFSET_BEGINNING
        offsets, keys = [], []
        deadline = time.time() + 15
        while time.time() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    break
                out["error"] = m.error().name()
                break
            offsets.append(m.offset())
            keys.append(m.key().decode() if m.key() is not None else None)
        out["watermarks"] = [low, high]
        out["offsets"] = offsets
        out["keys"] = keys
        out["final_position"] = c.position([tp])[0].offset
    except Exception as e:
        out["error"] = error_name(e)
    finally:
        c.close()
    return out


def committed_view(tps):
    out = {}
    for tp in sorted(tps, key=lambda t: (LOGICAL.get(t.topic, "<other>"), t.partition)):
        key = f"{LOGICAL.get(tp.topic, '<other>')}-{tp.partition}"
        out[key] = {"offset": tp.offset, "metadata": tp.metadata, "error": tp.error.name() if tp.error else "NONE"}
    return out


# --------------------------------------------------------------------------------------------
def offsets():
    out = {}
    t = topic("offsets")
    a = admin()
    create_topic(a, t, 3)

    step("plain producer, explicit partitions, several batches")
    produced = {}
    p = producer()
    produced["p0_batch1"] = send_all(p, t, 0, [0, 10, 20, 30, 40], "a")
    produced["p1_batch1"] = send_all(p, t, 1, [5, 15, 25], "b")
    produced["p0_batch2"] = send_all(p, t, 0, [50, 90, 60], "c")
    step("lz4 producer: one compressed batch on p2")
    pz = producer(**{"compression.type": "lz4"})
    produced["p2_lz4"] = send_all(pz, t, 2, [100, 110, 170, 130, 140, 150], "z")
    step("idempotent producer on p2")
    pi = producer(**{"enable.idempotence": True})
    produced["p2_idempotent"] = send_all(pi, t, 2, [200, 210], "i")

    step("transactional producer on p1")
    txn = {}
    tp_ = producer(**{"transactional.id": f"diffc-txn-{RUN}", "transaction.timeout.ms": 60000})
    try:
        txn["init"] = attempt(lambda: tp_.init_transactions(WAIT))
        tp_.begin_transaction()
        txn["committed1"] = send_all(tp_, t, 1, [300, 310, 320], "t1")
        tp_.commit_transaction(WAIT)
        tp_.begin_transaction()
        txn["aborted"] = send_all(tp_, t, 1, [330, 340], "t2")
        tp_.abort_transaction(WAIT)
        tp_.begin_transaction()
        txn["committed2"] = send_all(tp_, t, 1, [350], "t3")
        tp_.commit_transaction(WAIT)
        tp_.begin_transaction()
        txn["open"] = send_all(tp_, t, 1, [360, 370], "t4")
        out["with_open_transaction"] = {
            "latest_read_uncommitted": list_offsets(a, t, 3, OffsetSpec.latest()),
            "latest_read_committed": list_offsets(a, t, 3, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED),
            "read_committed_p1": read_partition(t, 1, "read_committed"),
        }
        tp_.abort_transaction(WAIT)
        # EndTxn answers before the coordinator has written the markers: wait (bounded) until
        # the abort marker is in, i.e. the last stable offset caught up with the end.
        txn["markers_settled"] = await_stable(a, t, 1)
    except Exception as e:
        txn["error"] = error_name(e)
    produced["transactions"] = txn
    out["produced"] = produced

    step("list offsets")
    lo = {
        "earliest": list_offsets(a, t, 3, OffsetSpec.earliest()),
        "latest": list_offsets(a, t, 3, OffsetSpec.latest()),
        "latest_read_committed": list_offsets(a, t, 3, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED),
        "max_timestamp": list_offsets(a, t, 3, OffsetSpec.max_timestamp()),
    }
    for d in (-1000, 0, 12, 55, 95, 105, 165, 175, 335, 10000):
        lo[f"for_timestamp_t0{d:+d}"] = list_offsets(a, t, 3, OffsetSpec.for_timestamp(T0 + d))
    out["list_offsets"] = lo

    step("read back")
    out["read"] = {}
    for part in range(3):
        out["read"][f"p{part}_read_uncommitted"] = read_partition(t, part, "read_uncommitted")
        out["read"][f"p{part}_read_committed"] = read_partition(t, part, "read_committed")

    step("delete records")
    dr = {}

    def delete(part, before):
        fut = a.delete_records([TopicPartition(t, part, before)], request_timeout=15)
        return attempt(lambda: list(fut.values())[0].result(WAIT), lambda r: {"low_watermark": r.low_watermark})

    dr["p0_before_3"] = delete(0, 3)
    dr["p0_before_2_again"] = delete(0, 2)
    dr["p2_before_2_inside_batch"] = delete(2, 2)
    dr["p1_beyond_high_watermark"] = delete(1, 1000)
    dr["earliest_after"] = list_offsets(a, t, 3, OffsetSpec.earliest())
    dr["p0_read_after"] = read_partition(t, 0, "read_uncommitted")
    out["delete_records"] = dr

    step("group commits")
    g = group("offsets-commit")
    c = consumer(**{"group.id": g})
    gout = {}
    try:
        tps = [TopicPartition(t, 0, 5, metadata="meta-p0"), TopicPartition(t, 1, 2), TopicPartition(t, 2, 8, leader_epoch=0)]
        c.assign([TopicPartition(t, i) for i in range(3)])
        gout["commit_sync"] = attempt(lambda: c.commit(offsets=tps, asynchronous=False),
                                      lambda r: {"result": committed_view(r)})
        gout["committed"] = attempt(lambda: c.committed([TopicPartition(t, i) for i in range(3)], timeout=WAIT),
                                    lambda r: {"partitions": committed_view(r)})
    finally:
        c.close()
    fut = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)])[g]
    gout["admin_list_offsets"] = attempt(lambda: fut.result(WAIT), lambda r: {"partitions": committed_view(r.topic_partitions)})
    out["group_offsets"] = gout
    a.delete_topics([t])
    return out


# --------------------------------------------------------------------------------------------
def errors():
    out = {}
    t = topic("errors")
    a = admin()
    create_topic(a, t, 2)
    p = producer()
    send_all(p, t, 0, [0, 1, 2], "e")

    def create(name, partitions, rf, config=None, validate_only=False):
        fut = a.create_topics([NewTopic(name, partitions, rf, config=config or {})], validate_only=validate_only,
                              request_timeout=15)[name]
        return attempt(lambda: fut.result(WAIT))

    step("create topics")
    c = {
        "existing": create(t, 1, 1),
        "existing_validate_only": create(t, 1, 1, validate_only=True),
        "bad_name_slash": create(f"bad/name-{RUN}", 1, 1),
        "bad_name_too_long": create("l" * 250, 1, 1),
        "zero_partitions": create(topic("zero-partitions"), 0, 1),
        "replication_factor_3": create(topic("rf3"), 1, 3),
        "unknown_config": create(topic("unknown-config"), 1, 1, {"no.such.config": "1"}),
        "cleanup_policy_bogus": create(topic("bogus-policy"), 1, 1, {"cleanup.policy": "bogus"}),
        "retention_ms_abc": create(topic("retention-abc"), 1, 1, {"retention.ms": "abc"}),
        "defaults_validate_only": create(topic("validate-only"), -1, -1, validate_only=True),
        "defaults": create(topic("defaults"), -1, -1),
    }
    md = a.list_topics(timeout=10)
    c["validate_only_left_nothing"] = {"exists": f"diffc-validate-only-{RUN}" in md.topics}
    d = md.topics.get(f"diffc-defaults-{RUN}")
    c["defaults_partitions"] = len(d.partitions) if d is not None else "absent"
    out["create_topics"] = c

    step("create partitions")

    def grow(name, n):
        fut = a.create_partitions([NewPartitions(name, n)], request_timeout=15)[name]
        return attempt(lambda: fut.result(WAIT))

    out["create_partitions"] = {
        "decrease": grow(t, 1),
        "same_count": grow(t, 2),
        "unknown_topic": grow(topic("no-such-topic"), 3),
        "increase_to_3": grow(t, 3),
    }

    step("unknown topic")
    missing = topic("missing")
    u = {}
    u["delete_topic"] = attempt(lambda: a.delete_topics([missing], request_timeout=15)[missing].result(WAIT))
    res = ConfigResource(ResourceType.TOPIC, missing)
    u["describe_configs"] = attempt(lambda: a.describe_configs([res], request_timeout=15)[res].result(WAIT))
    ires = ConfigResource(ResourceType.TOPIC, missing, incremental_configs=[
        ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)])
    u["alter_configs"] = attempt(lambda: list(a.incremental_alter_configs([ires], request_timeout=15).values())[0].result(WAIT))
    u["list_offsets"] = attempt(lambda: list(a.list_offsets({TopicPartition(missing, 0): OffsetSpec.latest()},
                                                            request_timeout=5).values())[0].result(WAIT))
    u["delete_records"] = attempt(lambda: list(a.delete_records([TopicPartition(missing, 0, 0)],
                                                                request_timeout=5).values())[0].result(WAIT))
    u["list_offsets_bad_partition"] = attempt(lambda: list(a.list_offsets({TopicPartition(t, 7): OffsetSpec.latest()},
                                                                          request_timeout=5).values())[0].result(WAIT))
    out["unknown"] = u

    step("alter configs")

    def alter(name, value, op=AlterConfigOpType.SET, resource=None):
        r = ConfigResource(ResourceType.TOPIC, resource or t, incremental_configs=[
            ConfigEntry(name, value, incremental_operation=op)])
        return attempt(lambda: list(a.incremental_alter_configs([r], request_timeout=15).values())[0].result(WAIT))

    out["alter_configs"] = {
        "unknown_config": alter("no.such.config", "1"),
        "cleanup_policy_bogus": alter("cleanup.policy", "bogus"),
        "retention_ms_abc": alter("retention.ms", "abc"),
        "append_to_non_list": alter("retention.ms", "5", AlterConfigOpType.APPEND),
        "valid_set": alter("retention.ms", "3600000"),
    }

    step("delete records")

    def delete(part, before):
        fut = a.delete_records([TopicPartition(t, part, before)], request_timeout=15)
        return attempt(lambda: list(fut.values())[0].result(WAIT), lambda r: {"low_watermark": r.low_watermark})

    out["delete_records"] = {"beyond_high_watermark": delete(0, 100), "at_high_watermark": delete(0, 3)}

    step("groups")
    g = group("errors-active")
    gout = {}
    member = consumer(**{"group.id": g})
    try:
        member.subscribe([t])
        deadline = time.time() + WAIT
        while not member.assignment() and time.time() < deadline:
            member.poll(0.1)
        member.commit(offsets=[TopicPartition(t, 0, 1)], asynchronous=False)
        gout["delete_non_empty_group"] = attempt(lambda: a.delete_consumer_groups([g], request_timeout=15)[g].result(WAIT))
        gout["alter_offsets_of_active_group"] = attempt(lambda: a.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(g, [TopicPartition(t, 0, 2)])], request_timeout=15)[g].result(WAIT),
            lambda r: {"partitions": committed_view(r.topic_partitions)})
        gout["commit_unknown_partition"] = attempt(
            lambda: member.commit(offsets=[TopicPartition(t, 9, 1)], asynchronous=False),
            lambda r: {"partitions": committed_view(r)})
    finally:
        member.close()
    unknown = group("never-existed")
    gout["describe_unknown_group"] = attempt(
        lambda: a.describe_consumer_groups([unknown], request_timeout=15)[unknown].result(WAIT),
        lambda d: {"state": str(d.state), "members": len(d.members)})
    gout["delete_unknown_group"] = attempt(lambda: a.delete_consumer_groups([unknown], request_timeout=15)[unknown].result(WAIT))
    gout["alter_offsets_unknown_partition_empty_group"] = attempt(lambda: a.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(g, [TopicPartition(t, 9, 2)])], request_timeout=15)[g].result(WAIT),
        lambda r: {"partitions": committed_view(r.topic_partitions)})
    gout["delete_empty_group"] = attempt(lambda: a.delete_consumer_groups([g], request_timeout=15)[g].result(WAIT))
    out["groups"] = gout

    step("producer errors")
    small = topic("small")
    create_topic(a, small, 1, {"max.message.bytes": "2000"})
    pp = producer(**{"retries": 0})
    r = []
    pp.produce(small, value="v" * 5000, partition=0, timestamp=T0, on_delivery=lambda err, msg: r.append(err))
    pp.flush(WAIT)
    out["producer"] = {"record_over_topic_max_message_bytes": r[0].name() if r and r[0] else ("NONE" if r else "NO_REPORT")}
    a.delete_topics([t, small, f"diffc-defaults-{RUN}"])
    return out


# --------------------------------------------------------------------------------------------
def describe_topic(a, real, only=None):
    res = ConfigResource(ResourceType.TOPIC, real)

    def view(cfg):
        entries = {}
        for name, e in sorted(cfg.items()):
            source = ConfigSource(getattr(e.source, "value", e.source)).name
            if only is not None and name not in only and source == "DEFAULT_CONFIG":
                continue
            entries[name] = {"value": e.value, "source": source, "read_only": e.is_read_only,
                             "default": e.is_default, "sensitive": e.is_sensitive}
        return {"entries": entries}

    return attempt(lambda: a.describe_configs([res], request_timeout=15)[res].result(WAIT), view)


def configs():
    out = {}
    a = admin()
    plain, over = topic("configs-plain"), topic("configs-overrides")
    create_topic(a, plain, 1)
    create_topic(a, over, 1, {"cleanup.policy": "compact", "retention.ms": "3600000", "max.message.bytes": "65536"})
    out["new_topic"] = describe_topic(a, plain)
    touched = {"cleanup.policy", "retention.ms", "max.message.bytes", "segment.ms"}
    out["topic_with_overrides"] = describe_topic(a, over, touched)

    def alter(*ops):
        r = ConfigResource(ResourceType.TOPIC, over, incremental_configs=[
            ConfigEntry(n, v, incremental_operation=op) for n, v, op in ops])
        return attempt(lambda: list(a.incremental_alter_configs([r], request_timeout=15).values())[0].result(WAIT))

    out["alter"] = {
        "set": alter(("retention.ms", "7200000", AlterConfigOpType.SET), ("segment.ms", "600000", AlterConfigOpType.SET)),
        "delete": alter(("max.message.bytes", None, AlterConfigOpType.DELETE)),
        "append": alter(("cleanup.policy", "delete", AlterConfigOpType.APPEND)),
    }
    out["after_alter"] = describe_topic(a, over, touched)
    out["alter"]["subtract"] = alter(("cleanup.policy", "compact", AlterConfigOpType.SUBTRACT))
    out["after_subtract"] = describe_topic(a, over, touched)
    a.delete_topics([plain, over])
    return out


# --------------------------------------------------------------------------------------------
def describe_group(a, g):
    out = {}

    def view(d):
        members = sorted(
            f"client_id={m.client_id} member_id={'present' if m.member_id else 'absent'} "
            f"instance_id={m.group_instance_id or 'absent'} host={'present' if m.host else 'absent'} "
            f"assignment={parts(m.assignment.topic_partitions if m.assignment else [])} "
            f"target={parts(m.target_assignment.topic_partitions) if m.target_assignment else 'absent'}"
            for m in d.members
        )
        return {"state": str(d.state), "type": str(getattr(d, "type", "absent")),
                "partition_assignor": d.partition_assignor, "simple": d.is_simple_consumer_group,
                "coordinator": "present" if d.coordinator is not None else "absent",
                "member_count": len(d.members), "members": members}

    out["describe"] = attempt(lambda: a.describe_consumer_groups([g], request_timeout=15)[g].result(WAIT), view)

    def listed(r):
        for l in r.valid:
            if l.group_id == g:
                return {"listed": "yes", "state": str(l.state), "type": str(l.type), "simple": l.is_simple_consumer_group}
        return {"listed": "no"}

    out["list"] = attempt(lambda: a.list_consumer_groups(request_timeout=15).result(WAIT), listed)
    return out


def parts(tps):
    return "[" + ",".join(sorted(f"{LOGICAL.get(tp.topic, '<other>')}-{tp.partition}" for tp in tps)) + "]"


def settle(cs, total):
    deadline = time.time() + 45
    while time.time() < deadline:
        for c in cs:
            c.poll(0.1)
        sizes = [len(c.assignment()) for c in cs]
        if sum(sizes) == total and all(sizes):
            for _ in range(3):
                for c in cs:
                    c.poll(0.05)
            return True
    return False


def await_group(a, g, state, members):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            d = a.describe_consumer_groups([g], request_timeout=10)[g].result(WAIT)
            if str(d.state).upper().endswith(state) and len(d.members) == members:
                return
        except Exception:
            pass
        time.sleep(0.2)


def lifecycle(a, protocol):
    out = {}
    t, g = topic(f"groups-{protocol}"), group(f"lifecycle-{protocol}")
    create_topic(a, t, 4)
    extra = {"group.id": g, "group.protocol": protocol}
    if protocol == "classic":
        extra["partition.assignment.strategy"] = "range"
    out["0_before"] = describe_group(a, g)
    c1 = consumer(**extra)
    c2 = None
    try:
        c1.subscribe([t])
        out["1_one_member_settled"] = settle([c1], 4)
        await_group(a, g, "STABLE", 1)
        out["1_one_member"] = describe_group(a, g)
        c2 = consumer(**extra)
        c2.subscribe([t])
        out["2_two_members_settled"] = settle([c1, c2], 4)
        await_group(a, g, "STABLE", 2)
        out["2_two_members"] = describe_group(a, g)
        c2.close()
        c2 = None
        out["3_after_one_left_settled"] = settle([c1], 4)
        await_group(a, g, "STABLE", 1)
        out["3_after_one_left"] = describe_group(a, g)
        c1.commit(offsets=[TopicPartition(t, i, i) for i in range(4)], asynchronous=False)
        c1.close()
        c1 = None
        await_group(a, g, "EMPTY", 0)
        out["4_after_all_left"] = describe_group(a, g)
        fut = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)])[g]
        out["4_committed"] = attempt(lambda: fut.result(WAIT), lambda r: {"partitions": committed_view(r.topic_partitions)})
        out["5_delete"] = attempt(lambda: a.delete_consumer_groups([g], request_timeout=15)[g].result(WAIT))
        out["5_after_delete"] = describe_group(a, g)
    finally:
        for c in (c2, c1):
            if c is not None:
                c.close()
        a.delete_topics([t])
    return out


def groups():
    a = admin()
    step("classic lifecycle")
    out = {"classic": lifecycle(a, "classic")}
    step("consumer (KIP-848) lifecycle")
    out["consumer"] = lifecycle(a, "consumer")
    return out


def main():
    global BOOTSTRAP
    if len(sys.argv) != 4 or sys.argv[1] not in ("offsets", "errors", "configs", "groups"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    scenario, BOOTSTRAP, path = sys.argv[1:]
    obs = {"offsets": offsets, "errors": errors, "configs": configs, "groups": groups}[scenario]()
    import confluent_kafka

    doc = {"observer": f"confluent-kafka {confluent_kafka.version()[0]} (librdkafka {confluent_kafka.libversion()[0]})",
           "scenario": f"confluent-{scenario}", "observation": obs}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    step(f"wrote {path}")


if __name__ == "__main__":
    main()
