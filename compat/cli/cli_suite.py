#!/usr/bin/env python3
"""Every `skiff` client verb against one broker, its --json output checked against what
confluent-kafka's AdminClient, Consumer and Producer report ("cli" suite).

Usage: cli_suite.py HOST:PORT   (or BOOTSTRAP=HOST:PORT in the environment)
The binary: $SKIFF_BIN, else target/release/skiff (build it first with
`cargo build --release --bin skiff`).

1. cluster info (cluster id, controller, brokers) = describe_cluster; cluster health exits 0.
2. topic create / list / describe (leaders, replicas, ISR, earliest and latest offsets,
   every config with value and source) = list_topics, list_offsets, describe_configs;
   topic alter-config, add-partitions, config get/set --topic likewise.
3. produce (key separator, duplicate headers, zstd) = what a Consumer reads; consume -e
   --json (and -o @TIME, -n, -p) = what a Consumer reads.
4. group list / describe (committed offsets, lag) / reset-offsets (dry run, earliest,
   offset, datetime) / delete = list_consumer_groups, list_consumer_group_offsets.
5. config get --broker = describe_configs(BROKER); user create / list / delete =
   describe_user_scram_credentials; topic delete = list_topics; exit codes 1, 2, 3.
"""

import json
import os
import socket
import subprocess
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    ConfigResource,
    OffsetSpec,
    ResourceType,
)
from confluent_kafka import ConsumerGroupTopicPartitions

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
from common import bootstrap_from_args, check, run_main, step, unique_topic  # noqa: E402

NAME = "cli"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SKIFF = os.environ.get("SKIFF_BIN", os.path.join(REPO, "target", "release", "skiff"))
TIMEOUT = 30


def skiff(bootstrap, *args, stdin=None, expect=0):
    """Runs the binary; returns its stdout. Fails unless it exits with `expect`."""
    cmd = [SKIFF, *args, "-b", bootstrap]
    r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=120)
    if r.returncode != expect:
        raise AssertionError(
            f"{' '.join(args)}: exit {r.returncode}, expected {expect}: {r.stderr.decode(errors='replace')}"
        )
    return r.stdout.decode()


def skiff_json(bootstrap, *args, stdin=None):
    return json.loads(skiff(bootstrap, *args, "--json", stdin=stdin))


def wait_for(what, fn, timeout=TIMEOUT):
    """Polls fn() until it returns a true value (brokers show metadata changes a moment
    after they are made)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - not there yet
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last}")


def topic_configs(admin, topic):
    res = ConfigResource(ResourceType.TOPIC, topic)
    entries = admin.describe_configs([res])[res].result(TIMEOUT)
    return {name: (e.value, e.source) for name, e in entries.items()}


def source_name(source):
    """confluent-kafka's ConfigSource value as Kafka names it."""
    return {
        1: "DYNAMIC_TOPIC_CONFIG",
        2: "DYNAMIC_BROKER_CONFIG",
        3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4: "STATIC_BROKER_CONFIG",
        5: "DEFAULT_CONFIG",
        6: "DYNAMIC_BROKER_LOGGER_CONFIG",
    }.get(source, "UNKNOWN")


def offsets(admin, topic, partitions, spec):
    req = {TopicPartition(topic, p): spec for p in partitions}
    return {tp.partition: f.result(TIMEOUT).offset for tp, f in admin.list_offsets(req).items()}


def read_all(bootstrap, topic, partitions):
    """Every record of the partitions, as a Consumer reads them."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "cli-reader-" + uuid.uuid4().hex,
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        c.assign([TopicPartition(topic, p, -2) for p in partitions])
        out, eof = [], set()
        deadline = time.monotonic() + TIMEOUT
        while len(eof) < len(partitions) and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    eof.add(m.partition())
                    continue
                raise AssertionError(f"consumer: {m.error()}")
            out.append(m)
        check(len(eof) == len(partitions), f"consumer reached the end of {topic}")
        return out
    finally:
        c.close()


def text(b):
    return None if b is None else b.decode()


def main():
    bootstrap = bootstrap_from_args("cli_suite.py")
    check(os.access(SKIFF, os.X_OK), f"{SKIFF} missing: cargo build --release --bin skiff")
    admin = AdminClient({"bootstrap.servers": bootstrap})

    step(NAME, "cluster info and health")
    info = skiff_json(bootstrap, "cluster", "info")
    cluster = admin.describe_cluster().result(TIMEOUT)
    check(info["cluster_id"] == cluster.cluster_id, f"cluster id {info['cluster_id']} != {cluster.cluster_id}")
    check(info["controller_id"] == cluster.controller.id, f"controller {info['controller_id']} != {cluster.controller.id}")
    want = sorted((n.id, n.host, n.port) for n in cluster.nodes)
    got = sorted((b["id"], b["host"], b["port"]) for b in info["brokers"])
    check(got == want, f"brokers {got} != {want}")
    check(any(a["api"] == "Fetch" for a in info["api_versions"]), "api versions listed")
    check(skiff_json(bootstrap, "cluster", "health")["healthy"] is True, "healthy")

    step(NAME, "topic create, list, describe")
    topic = unique_topic("cli")
    made = skiff_json(bootstrap, "topic", "create", topic, "-p", "3", "-c", "retention.ms=7200000")
    check(made["partitions"] == 3, f"created {made}")
    wait_for(f"{topic} in metadata", lambda: topic in admin.list_topics(timeout=TIMEOUT).topics
             and all(p.leader >= 0 for p in admin.list_topics(timeout=TIMEOUT).topics[topic].partitions.values()))
    listed = {t["name"]: t for t in skiff_json(bootstrap, "topic", "list")}
    md = admin.list_topics(timeout=TIMEOUT)
    names = {n for n in md.topics if not n.startswith("__")}
    check(set(listed) == names, f"topic list {sorted(listed)} != {sorted(names)}")
    check(listed[topic]["partitions"] == 3, "listed partitions")

    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(9):
        p.produce(topic, key=f"k{i}", value=f"v{i}", partition=i % 3, timestamp=1_700_000_000_000 + i)
    check(p.flush(TIMEOUT) == 0, "producer flushed")

    desc = skiff_json(bootstrap, "topic", "describe", topic)
    md = admin.list_topics(topic, timeout=TIMEOUT).topics[topic]
    earliest = offsets(admin, topic, range(3), OffsetSpec.earliest())
    latest = offsets(admin, topic, range(3), OffsetSpec.latest())
    for part in desc["partitions"]:
        i = part["partition"]
        m = md.partitions[i]
        check(part["leader"] == m.leader, f"leader of {i}")
        check(part["replicas"] == list(m.replicas), f"replicas of {i}")
        check(sorted(part["isr"]) == sorted(m.isrs), f"isr of {i}")
        check(part["earliest_offset"] == earliest[i], f"earliest of {i}: {part['earliest_offset']} != {earliest[i]}")
        check(part["latest_offset"] == latest[i], f"latest of {i}: {part['latest_offset']} != {latest[i]}")
    configs = topic_configs(admin, topic)
    ours = {c["name"]: (c["value"], c["source"]) for c in desc["configs"]}
    check(set(ours) == set(configs), f"config names differ: {sorted(set(ours) ^ set(configs))}")
    for name, (value, source) in configs.items():
        check(ours[name] == (value, source_name(source)), f"config {name}: {ours[name]} != {(value, source_name(source))}")
    check(ours["retention.ms"][0] == "7200000", "retention.ms as created")

    step(NAME, "topic alter-config, config get/set --topic, add-partitions")
    skiff_json(bootstrap, "topic", "alter-config", topic, "retention.ms=3600000", "segment.ms=600000")
    wait_for("altered configs", lambda: topic_configs(admin, topic)["retention.ms"][0] == "3600000")
    check(topic_configs(admin, topic)["segment.ms"][0] == "600000", "segment.ms set")
    skiff_json(bootstrap, "config", "set", "--topic", topic, "--delete", "segment.ms")
    wait_for("segment.ms back to its default", lambda: source_name(topic_configs(admin, topic)["segment.ms"][1]) == "DEFAULT_CONFIG")
    got = skiff_json(bootstrap, "config", "get", "--topic", topic, "retention.ms")
    check(got == [{"name": "retention.ms", "value": "3600000", "source": "DYNAMIC_TOPIC_CONFIG",
                   "read_only": False, "sensitive": False}], f"config get {got}")
    skiff_json(bootstrap, "topic", "add-partitions", topic, "-n", "2")
    wait_for("5 partitions", lambda: len(admin.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions) == 5)

    step(NAME, "produce, then read it with a Consumer")
    lines = "".join(f"key-{i}|value {i}\n" for i in range(20)).encode()
    out = skiff_json(bootstrap, "produce", topic, "-k", "|", "-H", "h=1", "-H", "h=2", "-z", "zstd", stdin=lines)
    check(out["records"] == 20, f"produced {out}")
    msgs = read_all(bootstrap, topic, range(5))
    cli_msgs = [m for m in msgs if m.key() and m.key().startswith(b"key-")]
    check(sorted((text(m.key()), text(m.value())) for m in cli_msgs)
          == sorted((f"key-{i}", f"value {i}") for i in range(20)), "produced keys and values")
    for m in cli_msgs:
        check(m.headers() == [("h", b"1"), ("h", b"2")], f"headers {m.headers()}")

    step(NAME, "consume -e --json = what a Consumer reads")
    recs = [json.loads(line) for line in skiff(bootstrap, "consume", topic, "-e", "--json").splitlines()]
    want = sorted((m.partition(), m.offset(), text(m.key()), text(m.value()), m.timestamp()[1],
                   [(k, text(v)) for k, v in (m.headers() or [])]) for m in msgs)
    got = sorted((r["partition"], r["offset"], r["key"], r["value"], r["timestamp"],
                  [(h["key"], h["value"]) for h in r["headers"]]) for r in recs)
    check(got == want, f"consumed records differ ({len(got)} vs {len(want)})")
    fmt = skiff(bootstrap, "consume", topic, "-p", "1", "-o", "1", "-n", "2", "-f", "%p/%o/%k\\n")
    check(fmt.splitlines() == [f"1/{m.offset()}/{text(m.key())}" for m in sorted(
        (m for m in msgs if m.partition() == 1 and m.offset() >= 1), key=lambda m: m.offset())][:2], f"template output {fmt!r}")
    at = offsets(admin, topic, [2], OffsetSpec.for_timestamp(1_700_000_000_005))[2]
    r = json.loads(skiff(bootstrap, "consume", topic, "-p", "2", "-o", "@1700000000005", "-n", "1", "--json"))
    check(r["offset"] == at, f"@time offset {r['offset']} != {at}")

    step(NAME, "group list, describe, reset-offsets, delete")
    group = "cli-group-" + uuid.uuid4().hex[:8]
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topic, 0, 1), TopicPartition(topic, 1, 2)], asynchronous=False)
    c.close()
    listed = skiff_json(bootstrap, "group", "list")
    theirs = {g.group_id for g in admin.list_consumer_groups().result(TIMEOUT).valid}
    check({g["group"] for g in listed} == theirs, f"group list {listed} != {theirs}")

    def committed():
        req = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, i) for i in range(5)])]
        res = list(admin.list_consumer_group_offsets(req).values())[0].result(TIMEOUT)
        return {tp.partition: tp.offset for tp in res.topic_partitions if tp.offset >= 0}

    desc = skiff_json(bootstrap, "group", "describe", group)
    theirs = committed()
    ours = {o["partition"]: o["committed_offset"] for o in desc["offsets"] if o["topic"] == topic}
    check(ours == theirs, f"committed {ours} != {theirs}")
    ends = offsets(admin, topic, range(5), OffsetSpec.latest())
    for o in desc["offsets"]:
        check(o["lag"] == ends[o["partition"]] - o["committed_offset"], f"lag {o}")
    check(desc["state"] == "Empty", f"state {desc['state']}")

    plan = skiff_json(bootstrap, "group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--dry-run")
    check(len(plan["offsets"]) == 5 and committed() == theirs, "dry run changes nothing")
    skiff_json(bootstrap, "group", "reset-offsets", group, "--topic", topic, "--to-offset", "1")
    check(committed() == {i: min(1, ends[i]) for i in range(5)}, f"to-offset 1: {committed()}")
    skiff_json(bootstrap, "group", "reset-offsets", group, "--topic", topic, "--to-latest")
    check(committed() == ends, f"to-latest: {committed()} != {ends}")
    skiff_json(bootstrap, "group", "reset-offsets", group, "--topic", topic, "--to-datetime", "2023-11-14T22:13:20.004Z")
    by_time = offsets(admin, topic, range(5), OffsetSpec.for_timestamp(1_700_000_000_004))
    want = {i: (o if o >= 0 else ends[i]) for i, o in by_time.items()}
    check(committed() == want, f"to-datetime: {committed()} != {want}")
    skiff_json(bootstrap, "group", "delete", group)
    check(group not in {g.group_id for g in admin.list_consumer_groups().result(TIMEOUT).valid}, "group deleted")

    step(NAME, "config get --broker, users, topic delete, exit codes")
    node = str(cluster.nodes[0].id)
    res = ConfigResource(ResourceType.BROKER, node)
    theirs = {n: e.value for n, e in admin.describe_configs([res])[res].result(TIMEOUT).items()}
    ours = {c["name"]: c["value"] for c in skiff_json(bootstrap, "config", "get", "--broker", node)}
    check(ours == theirs, f"broker configs differ: {sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))[:10]}")

    user = "cli-user-" + uuid.uuid4().hex[:6]
    skiff_json(bootstrap, "user", "create", user, "--new-password", "pw-" + user, "--mechanism", "SCRAM-SHA-256")

    def scram_users():
        try:
            return {u: [(str(i.mechanism), i.iterations) for i in d.scram_credential_infos]
                    for u, d in admin.describe_user_scram_credentials().result(TIMEOUT).items()}
        except Exception:  # noqa: BLE001 - no users at all is an error answer in some versions
            return {}

    wait_for("the SCRAM user", lambda: user in scram_users())
    ours = {u["user"]: u["credentials"] for u in skiff_json(bootstrap, "user", "list")}
    theirs = scram_users()
    check(set(ours) == set(theirs), f"users {sorted(ours)} != {sorted(theirs)}")
    check([(c["mechanism"], c["iterations"]) for c in ours[user]] == [("SCRAM-SHA-256", 8192)], f"user {ours[user]}")
    skiff_json(bootstrap, "user", "delete", user, "--mechanism", "SCRAM-SHA-256")
    wait_for("the SCRAM user gone", lambda: user not in scram_users())

    skiff_json(bootstrap, "topic", "delete", topic)
    wait_for(f"{topic} gone", lambda: topic not in admin.list_topics(timeout=TIMEOUT).topics)
    skiff(bootstrap, "topic", "describe", topic, expect=1)
    skiff(bootstrap, "topic", "create", expect=2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    skiff(closed, "topic", "list", "--timeout", "5", expect=3)
    skiff(closed, "cluster", "health", "--timeout", "5", expect=1)


if __name__ == "__main__":
    run_main(NAME, main)
