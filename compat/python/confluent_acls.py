#!/usr/bin/env python3
"""confluent-kafka (librdkafka) under Kafka's StandardAuthorizer ("acl" suite).

Usage: confluent_acls.py HOST:PORT   (the PLAINTEXT bootstrap; the broker was started as
the security suite's, plus --set authorizer.class.name=<StandardAuthorizer>
--set super.users=User:ANONYMOUS, so PLAINTEXT clients are super users and act as the
administrator; SASL_SSL_BOOTSTRAP and SSL_CA are in the environment)

1. alice (SCRAM-SHA-512 over SASL_SSL) has no ACLs: producing is TOPIC_AUTHORIZATION_FAILED,
   a group consumer gets GROUP_AUTHORIZATION_FAILED, creating a topic
   TOPIC_AUTHORIZATION_FAILED, a transactional id TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
   and describing ACLs CLUSTER_AUTHORIZATION_FAILED (which librdkafka reports as no ACLs).
2. The administrator grants WRITE and READ on the topic, READ on groups prefixed with it,
   WRITE on the transactional id and CREATE on topics prefixed with it; then each of those
   works (the broker may take a moment to see new ACLs, so each is retried until a
   deadline).
3. DescribeAcls returns exactly the bindings created; DeleteAcls removes them and reports
   them; DescribeAcls then returns none, and alice is refused again.
"""

import os
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation,
                                   AclPermissionType, AdminClient, NewTopic,
                                   ResourcePatternType, ResourceType)

from common import Mismatch, bootstrap_from_args, check, run_main, step, unique_topic

NAME = "confluent-kafka ACLs"
TIMEOUT = 60.0


def alice_settings(bootstrap: str) -> dict:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": os.environ["SSL_CA"],
        "ssl.endpoint.identification.algorithm": "https",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": "alice-secret",
    }


def produce_error(conf: dict, topic: str):
    """The delivery error code of one record (None when delivered)."""
    p = Producer({**conf, "message.timeout.ms": 10000})
    result = []
    p.produce(topic, key=b"k", value=b"v", on_delivery=lambda err, msg: result.append(err))
    p.flush(30)
    check(len(result) == 1, "no delivery report")
    return result[0].code() if result[0] is not None else None


def group_error(conf: dict, topic: str, group: str):
    """GROUP_AUTHORIZATION_FAILED if the group consumer reports it, else the first record
    value it reads."""
    c = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error() is not None:
                if m.error().code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
                    return KafkaError.GROUP_AUTHORIZATION_FAILED
                continue
            c.commit(message=m, asynchronous=False)
            return m.value()
        raise Mismatch("the group consumer neither read a record nor was refused")
    finally:
        c.close()


def create_topic_error(admin: AdminClient, topic: str):
    fs = admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=10)
    try:
        fs[topic].result(30)
        return None
    except KafkaException as e:
        return e.args[0].code()


def init_txn_error(conf: dict, txn_id: str):
    p = Producer({**conf, "transactional.id": txn_id, "transaction.timeout.ms": 10000})
    try:
        p.init_transactions(30)
    except KafkaException as e:
        return e.args[0].code(), None
    return None, p


def until(what: str, probe, want):
    """Retries probe() until it returns want (new ACLs reach the broker's authorizer
    asynchronously on Kafka); the last answer otherwise."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        got = probe()
        if got == want:
            return got
        if time.monotonic() >= deadline:
            raise Mismatch(f"{what}: got {got!r}, want {want!r}")
        time.sleep(0.5)


def main() -> None:
    bootstrap = bootstrap_from_args("confluent_acls.py")
    sasl_ssl = os.environ.get("SASL_SSL_BOOTSTRAP")
    check(bool(sasl_ssl) and bool(os.environ.get("SSL_CA")),
          "SASL_SSL_BOOTSTRAP and SSL_CA must be set (start the broker with --sasl-ssl)")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = unique_topic("acl")
    txn_id = f"{topic}-txn"
    group = f"{topic}-group"
    check(create_topic_error(admin, topic) is None, "the super user could not create the topic")
    alice = alice_settings(sasl_ssl)
    alice_admin = AdminClient(alice)

    step(NAME, "alice without ACLs is refused")
    check(produce_error(alice, topic) == KafkaError.TOPIC_AUTHORIZATION_FAILED,
          "produce was not TOPIC_AUTHORIZATION_FAILED")
    check(group_error(alice, topic, group) == KafkaError.GROUP_AUTHORIZATION_FAILED,
          "group join was not GROUP_AUTHORIZATION_FAILED")
    check(create_topic_error(alice_admin, f"{topic}-new") == KafkaError.TOPIC_AUTHORIZATION_FAILED,
          "create topic was not TOPIC_AUTHORIZATION_FAILED")
    code, _ = init_txn_error(alice, txn_id)
    check(code == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          f"init_transactions was {code}, not TRANSACTIONAL_ID_AUTHORIZATION_FAILED")
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, "User:alice",
                                  None, AclOperation.ANY, AclPermissionType.ANY)
    # Kafka answers CLUSTER_AUTHORIZATION_FAILED; librdkafka 2.x hands that to the
    # application as an empty list, not as an error.
    try:
        got = alice_admin.describe_acls(everything, request_timeout=30).result(30)
        check(got == [], f"alice described ACLs without DESCRIBE on the cluster: {got}")
    except KafkaException as e:
        check(e.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED,
              f"describe_acls was {e.args[0]}")

    step(NAME, "the administrator grants alice's ACLs")
    allow = AclPermissionType.ALLOW
    bindings = [
        AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:alice", "*",
                   AclOperation.WRITE, allow),
        AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:alice", "*",
                   AclOperation.READ, allow),
        AclBinding(ResourceType.GROUP, topic, ResourcePatternType.PREFIXED, "User:alice", "*",
                   AclOperation.READ, allow),
        AclBinding(ResourceType.TRANSACTIONAL_ID, txn_id, ResourcePatternType.LITERAL,
                   "User:alice", "*", AclOperation.WRITE, allow),
        AclBinding(ResourceType.TOPIC, f"{topic}-", ResourcePatternType.PREFIXED, "User:alice",
                   "*", AclOperation.CREATE, allow),
    ]
    for f in admin.create_acls(bindings, request_timeout=30).values():
        f.result(30)

    step(NAME, "alice's produce, group, create topic and transaction work")
    until("produce", lambda: produce_error(alice, topic), None)
    check(group_error(alice, topic, group) == b"v", "the group did not read the record")
    until("create topic", lambda: create_topic_error(alice_admin, f"{topic}-new"), None)
    code, p = init_txn_error(alice, txn_id)
    check(code is None, f"init_transactions failed with {code}")
    p.begin_transaction()
    p.produce(topic, key=b"t", value=b"in-txn")
    p.commit_transaction(30)

    step(NAME, "DescribeAcls and DeleteAcls round trip")
    described = admin.describe_acls(everything, request_timeout=30).result(30)
    check(sorted(map(str, described)) == sorted(map(str, bindings)),
          f"described {sorted(map(str, described))}")
    deleted = admin.delete_acls([everything], request_timeout=30)[everything].result(30)
    check(sorted(map(str, deleted)) == sorted(map(str, bindings)),
          f"deleted {sorted(map(str, deleted))}")
    check(admin.describe_acls(everything, request_timeout=30).result(30) == [],
          "ACLs left after DeleteAcls")
    until("produce after DeleteAcls", lambda: produce_error(alice, topic),
          KafkaError.TOPIC_AUTHORIZATION_FAILED)


if __name__ == "__main__":
    run_main(NAME, main)
