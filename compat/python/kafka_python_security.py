#!/usr/bin/env python3
"""kafka-python over SASL_SSL ("security" suite).

Usage: kafka_python_security.py HOST:PORT   (the PLAINTEXT bootstrap; the broker was started
with --sasl-ssl --add-scram 'SCRAM-SHA-512=[name=alice,password=alice-secret]'
--plain-user carol=carol-secret, and SASL_SSL_BOOTSTRAP and SSL_CA are in the environment)

kafka-python speaks SASL with its own protocol code (SaslHandshake, SaslAuthenticate, its
own SCRAM client) and TLS with Python's ssl module.
1. alice (SCRAM-SHA-512) produces records; metadata names the SASL_SSL listener's address.
2. A group consumer of alice's reads them back exactly and commits; committed() agrees.
3. carol (PLAIN) reads the topic with assign().
4. A wrong SCRAM password and a wrong PLAIN password fail: the client cannot bootstrap.
"""

import os
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from common import Mismatch, bootstrap_from_args, check, run_main, step, unique_topic

NAME = "kafka-python security"
TIMEOUT = 90.0
N = 150
PARTITIONS = 4


def settings(mechanism: str, user: str, password: str) -> dict:
    return dict(
        bootstrap_servers=os.environ["SASL_SSL_BOOTSTRAP"],
        security_protocol="SASL_SSL",
        ssl_cafile=os.environ["SSL_CA"],
        ssl_check_hostname=True,
        sasl_mechanism=mechanism,
        sasl_plain_username=user,
        sasl_plain_password=password,
        client_id="skiff-compat-kafka-python-security",
    )


def wrong_password(mechanism: str, user: str) -> None:
    """kafka-python swallows the authentication failure while bootstrapping and then gives
    up; depending on timing it logs the broker's SASL_AUTHENTICATION_FAILED answer or only
    the disconnection that follows it, so only the refusal itself is checked."""
    try:
        p = KafkaProducer(**settings(mechanism, user, "wrong-password"), max_block_ms=10000)
        p.partitions_for(unique_topic("nothing"))
        p.close()
    except KafkaError as e:
        step(NAME, f"{mechanism}: {type(e).__name__}: {e}")
        return
    raise Mismatch(f"{mechanism} with a wrong password was served")


def main() -> None:
    bootstrap_from_args("kafka_python_security.py")
    check(bool(os.environ.get("SASL_SSL_BOOTSTRAP")) and bool(os.environ.get("SSL_CA")),
          "SASL_SSL_BOOTSTRAP and SSL_CA must be set (start the broker with --sasl-ssl)")
    sasl_ssl = os.environ["SASL_SSL_BOOTSTRAP"]
    topic = unique_topic("kp-security")
    alice = settings("SCRAM-SHA-512", "alice", "alice-secret")

    step(NAME, f"alice produces {N} records to {topic}")
    p = KafkaProducer(**alice, acks="all", linger_ms=5)
    deadline = time.monotonic() + TIMEOUT
    while not p.partitions_for(topic):
        check(time.monotonic() < deadline, f"{topic} has no partitions")
        time.sleep(0.2)
    partitions = sorted(p.partitions_for(topic))
    futures = [p.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(),
                      partition=partitions[i % len(partitions)]) for i in range(N)]
    p.flush(TIMEOUT)
    for f in futures:
        f.get(timeout=TIMEOUT)
    brokers = {f"{b.host}:{b.port}" for b in p._metadata.brokers()}
    check(sasl_ssl in brokers, f"metadata brokers {sorted(brokers)} do not include {sasl_ssl}")
    p.close()

    step(NAME, "alice's group reads them back and commits")
    c = KafkaConsumer(topic, **alice, group_id=f"{topic}-group", auto_offset_reset="earliest",
                      enable_auto_commit=False)
    seen = {}
    deadline = time.monotonic() + TIMEOUT
    while len(seen) < N:
        check(time.monotonic() < deadline, f"consumed {len(seen)} of {N}")
        for records in c.poll(timeout_ms=500).values():
            for r in records:
                seen[r.value.decode()] = r.key.decode()
    check(seen == {f"v{i}": f"k{i}" for i in range(N)}, "records read back differ")
    c.commit()
    total = sum(c.committed(TopicPartition(topic, q)) or 0 for q in partitions)
    check(total == N, f"committed {total} of {N}")
    c.close()

    step(NAME, "carol (PLAIN) reads the topic with assign()")
    carol = KafkaConsumer(**settings("PLAIN", "carol", "carol-secret"), enable_auto_commit=False,
                          group_id=None)
    carol.assign([TopicPartition(topic, q) for q in partitions])
    carol.seek_to_beginning()
    count = 0
    deadline = time.monotonic() + TIMEOUT
    while count < N:
        check(time.monotonic() < deadline, f"carol consumed {count} of {N}")
        count += sum(len(v) for v in carol.poll(timeout_ms=500).values())
    carol.close()

    step(NAME, "wrong passwords are authentication errors")
    wrong_password("SCRAM-SHA-512", "alice")
    wrong_password("PLAIN", "carol")


if __name__ == "__main__":
    run_main(NAME, main)
