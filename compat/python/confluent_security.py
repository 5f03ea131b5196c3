#!/usr/bin/env python3
"""confluent-kafka (librdkafka) over SASL_SSL ("security" suite).

Usage: confluent_security.py HOST:PORT   (the PLAINTEXT bootstrap; the broker was started
with --sasl-ssl --add-scram 'SCRAM-SHA-512=[name=alice,password=alice-secret]'
--plain-user carol=carol-secret, and SASL_SSL_BOOTSTRAP and SSL_CA are in the environment)

1. alice (SCRAM-SHA-512, made before the broker's first start) produces records over TLS
   with acks=all; metadata names the SASL_SSL listener's address.
2. A consumer group of alice's subscribes, reads them all back exactly, commits, and
   committed() returns the end offsets.
3. carol (PLAIN) reads the same topic with assign().
4. A wrong password, for SCRAM and for PLAIN, gets librdkafka's authentication error with
   the broker's message, and no metadata.
"""

import os
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from common import Mismatch, bootstrap_from_args, check, run_main, step, unique_topic

NAME = "confluent-kafka security"
TIMEOUT = 90.0
N = 200


def settings(bootstrap: str, mechanism: str, user: str, password: str) -> dict:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": os.environ["SSL_CA"],
        "ssl.endpoint.identification.algorithm": "https",
        "sasl.mechanisms": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }


def wait_topic(client, topic: str, bootstrap: str) -> int:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        md = client.list_topics(topic, timeout=10)
        hosts = {f"{b.host}:{b.port}" for b in md.brokers.values()}
        check(bootstrap in hosts, f"metadata brokers {sorted(hosts)} do not include {bootstrap}")
        t = md.topics.get(topic)
        if t is not None and t.error is None and t.partitions:
            if all(p.error is None and p.leader >= 0 for p in t.partitions.values()):
                return len(t.partitions)
        time.sleep(0.2)
    raise Mismatch(f"topic {topic} never had leaders for all partitions")


def wrong_password(bootstrap: str, mechanism: str, user: str, expected: str) -> None:
    errors = []
    conf = settings(bootstrap, mechanism, user, "wrong-password")
    conf["error_cb"] = errors.append
    p = Producer(conf)
    try:
        p.list_topics(timeout=10)
        raise Mismatch(f"{mechanism} with a wrong password got metadata")
    except KafkaException:
        pass
    deadline = time.monotonic() + TIMEOUT
    while not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        check(time.monotonic() < deadline, f"no authentication error: {errors}")
        p.poll(0.2)
    auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION][0]
    check(expected in auth.str(), f"{mechanism}: error {auth.str()!r} lacks {expected!r}")


def main() -> None:
    bootstrap_from_args("confluent_security.py")
    sasl_ssl = os.environ.get("SASL_SSL_BOOTSTRAP")
    check(bool(sasl_ssl) and bool(os.environ.get("SSL_CA")),
          "SASL_SSL_BOOTSTRAP and SSL_CA must be set (start the broker with --sasl-ssl)")
    topic = unique_topic("security")
    alice = settings(sasl_ssl, "SCRAM-SHA-512", "alice", "alice-secret")

    step(NAME, f"alice produces {N} records over SASL_SSL to {topic}")
    p = Producer({**alice, "acks": "all", "linger.ms": 5})
    partitions = wait_topic(p, topic, sasl_ssl)
    delivered = []
    errors = []

    def report(err, msg):
        (errors if err else delivered).append(err or msg)

    for i in range(N):
        p.produce(topic, key=f"k{i}", value=f"v{i}", partition=i % partitions, on_delivery=report)
    check(p.flush(TIMEOUT) == 0, "records left unflushed")
    check(not errors, f"delivery errors: {errors[:3]}")
    check(len(delivered) == N, f"{len(delivered)} of {N} delivered")

    step(NAME, "alice's group reads them back and commits")
    group = f"{topic}-group"
    c = Consumer({**alice, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    seen = {}
    deadline = time.monotonic() + TIMEOUT
    while len(seen) < N:
        check(time.monotonic() < deadline, f"consumed {len(seen)} of {N}")
        m = c.poll(0.5)
        if m is None:
            continue
        check(m.error() is None, f"consume error {m.error()}")
        seen[m.value().decode()] = m.key().decode()
    check(seen == {f"v{i}": f"k{i}" for i in range(N)}, "records read back differ")
    c.commit(asynchronous=False)
    committed = c.committed([TopicPartition(topic, q) for q in range(partitions)], timeout=30)
    check(sum(tp.offset for tp in committed) == N, f"committed {committed}")
    c.close()

    step(NAME, "carol (PLAIN) reads the topic with assign()")
    carol = Consumer({**settings(sasl_ssl, "PLAIN", "carol", "carol-secret"),
                      "group.id": f"{topic}-carol", "enable.auto.commit": False})
    carol.assign([TopicPartition(topic, q, 0) for q in range(partitions)])
    count = 0
    deadline = time.monotonic() + TIMEOUT
    while count < N:
        check(time.monotonic() < deadline, f"carol consumed {count} of {N}")
        m = carol.poll(0.5)
        if m is not None:
            check(m.error() is None, f"consume error {m.error()}")
            count += 1
    carol.close()

    step(NAME, "wrong passwords are authentication errors")
    wrong_password(sasl_ssl, "SCRAM-SHA-512", "alice",
                   "Authentication failed during authentication due to invalid credentials "
                   "with SASL mechanism SCRAM-SHA-512")
    wrong_password(sasl_ssl, "PLAIN", "carol",
                   "Authentication failed: Invalid username or password")


if __name__ == "__main__":
    run_main(NAME, main)
