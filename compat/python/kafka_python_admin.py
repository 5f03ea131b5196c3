#!/usr/bin/env python3
"""kafka-python KafkaAdminClient round trip ("extended" suite).

Usage: kafka_python_admin.py HOST:PORT   (or BOOTSTRAP=HOST:PORT in the environment)

1. create_topics with validate_only creates nothing; a real creation with configs; every
   per-topic error (exists, replication factor, partitions, unknown config, bad name).
2. describe_configs (all): overrides are dynamic topic configs, others defaults.
3. alter_configs (incremental SET) takes effect; create_partitions grows the topic.
4. delete_records moves the low watermark; describe_cluster and describe_log_dirs answer.
5. kcat -L lists the topic with its partitions (when kcat is installed).
6. delete_topics removes it; re-creating it starts from offset 0.
"""

import shutil
import subprocess
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
import kafka.errors as Errors

from common import bootstrap_from_args, check, run_main, step, unique_topic

NAME = "kafka-python admin"


def expect_error(what, error_type, fn):
    try:
        fn()
    except error_type:
        return
    except Exception as e:  # noqa: BLE001 - report the wrong error type
        raise AssertionError(f"{what}: expected {error_type.__name__}, got {type(e).__name__}: {e}")
    raise AssertionError(f"{what}: expected {error_type.__name__}, got success")


def topic_configs(admin, topic):
    res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
    # {resource_type: {resource_name: {config_key: {config data}}}}
    for by_name in res.values():
        if topic in by_name:
            return by_name[topic]
    raise AssertionError(f"describe_configs did not describe {topic}: {res}")


def partitions_of(admin, topic):
    for t in admin.describe_topics([topic]):
        if t["name"] == topic and t["error_code"] == 0:
            return len(t["partitions"])
    return None


def source_name(entry):
    s = entry.get("config_source")
    return getattr(s, "name", s)


def main():
    bootstrap = bootstrap_from_args("kafka_python_admin.py")
    topic = unique_topic("compat-kafka-python-admin")
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="skiff-compat-kafka-python-admin")
    try:
        body(admin, bootstrap, topic)
    finally:
        admin.close()


def body(admin, bootstrap, topic):
    step(NAME, f"validate_only create of {topic}")
    spec = {topic: {"num_partitions": 3, "replication_factor": 1,
                    "configs": {"retention.ms": "3600000", "cleanup.policy": "compact,delete"}}}
    admin.create_topics(spec, validate_only=True)
    check(topic not in admin.list_topics(), "validate_only created the topic")

    step(NAME, "create with configs, then every per-topic error")
    admin.create_topics(spec)
    check(topic in admin.list_topics(), "created topic not listed")
    check(partitions_of(admin, topic) == 3, "describe_topics partition count")
    expect_error("create again", Errors.TopicAlreadyExistsError,
                 lambda: admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}}))
    other = topic + "-x"
    expect_error("replication factor 3", Errors.InvalidReplicationFactorError,
                 lambda: admin.create_topics({other: {"num_partitions": 1, "replication_factor": 3}}))
    expect_error("0 partitions", Errors.InvalidPartitionsError,
                 lambda: admin.create_topics({other: {"num_partitions": 0, "replication_factor": 1}}))
    expect_error("unknown config", Errors.InvalidConfigurationError,
                 lambda: admin.create_topics({other: {"num_partitions": 1, "replication_factor": 1,
                                                      "configs": {"no.such.config": "1"}}}))
    expect_error("bad name", Errors.InvalidTopicError,
                 lambda: admin.create_topics({"bad name!": {"num_partitions": 1, "replication_factor": 1}}))
    check(other not in admin.list_topics(), "a failed creation left a topic behind")

    step(NAME, "describe_configs")
    cfg = topic_configs(admin, topic)
    check(cfg["retention.ms"]["value"] == "3600000", f"retention.ms: {cfg['retention.ms']}")
    check("DYNAMIC_TOPIC" in str(source_name(cfg["retention.ms"])), f"retention.ms source: {cfg['retention.ms']}")
    check(cfg["cleanup.policy"]["value"] == "compact,delete", f"cleanup.policy: {cfg['cleanup.policy']}")
    check(cfg["segment.bytes"]["value"] == "1073741824", f"segment.bytes: {cfg['segment.bytes']}")
    check("DEFAULT" in str(source_name(cfg["segment.bytes"])), f"segment.bytes source: {cfg['segment.bytes']}")

    step(NAME, "alter_configs, create_partitions")
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "7200000"})])
    cfg = topic_configs(admin, topic)
    check(cfg["retention.ms"]["value"] == "7200000", f"altered retention.ms: {cfg['retention.ms']}")
    check(cfg["cleanup.policy"]["value"] == "compact,delete", "incremental alter kept cleanup.policy")
    admin.create_partitions({topic: 5})
    deadline = time.monotonic() + 30
    while partitions_of(admin, topic) != 5:
        check(time.monotonic() < deadline, "create_partitions not visible")
        time.sleep(0.2)

    step(NAME, "produce, delete_records, describe_cluster, describe_log_dirs")
    # Not idempotent: this scenario is about admin, not InitProducerId.
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    futures = [producer.send(topic, key=b"k%d" % i, value=b"v%d" % i, partition=0) for i in range(10)]
    producer.flush()
    for f in futures:
        f.get(timeout=30)
    producer.close()
    tp = TopicPartition(topic, 0)
    admin.delete_records({tp: 4})
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    low = consumer.beginning_offsets([tp])[tp]
    high = consumer.end_offsets([tp])[tp]
    check((low, high) == (4, 10), f"watermarks after delete_records: {(low, high)}")
    cluster = admin.describe_cluster()
    check(cluster.get("cluster_id"), f"describe_cluster: {cluster}")
    check(len(cluster.get("brokers", [])) == 1, f"describe_cluster brokers: {cluster}")
    dirs = admin.describe_log_dirs()
    check(dirs and dirs[0]["log_dirs"], f"describe_log_dirs: {dirs}")

    if shutil.which("kcat"):
        step(NAME, "kcat -L")
        out = subprocess.run(["kcat", "-L", "-b", bootstrap, "-t", topic], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        check(f'topic "{topic}" with 5 partitions' in out, f"kcat -L output:\n{out}")

    step(NAME, "delete_topics and re-create")
    admin.delete_topics([topic])
    deadline = time.monotonic() + 30
    while topic in admin.list_topics():
        check(time.monotonic() < deadline, "deleted topic still listed")
        time.sleep(0.2)
    admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 1}})
    deadline = time.monotonic() + 30
    while True:
        try:
            end = consumer.end_offsets([tp])[tp]
            break
        except Errors.KafkaError:
            check(time.monotonic() < deadline, "re-created topic not visible")
            time.sleep(0.2)
    check(end == 0, f"re-created topic starts at {end}")
    consumer.close()
    admin.delete_topics([topic])


if __name__ == "__main__":
    run_main(NAME, main)
