#!/usr/bin/env python3
"""kafka-python under a producer_byte_rate quota ("quota" scenarios).

Usage: quota_kafka_python.py HOST:PORT CLIENT_ID
The quota of CLIENT_ID (1 MB/s) is set by compat/quota.sh. The producer sends 13 MB as
fast as it can; its metrics must show a throttle time above 0 (throttle-time-max) and no
connection closed while it produced (a total added to kafka-python's connections-closed
sensor once the producer has its metadata: the bootstrap connection closes before), and
every record must be acknowledged.
"""

import sys

from kafka import KafkaProducer
from kafka.metrics.stats import Total

from common import check, run_main, step, unique_topic

NAME = "kafka-python quota"
RECORDS = 13_000
VALUE = b"q" * 1000


def metric(p, name):
    """The value of metric `name` in any group (the largest if several)."""
    values = [v for group in p.metrics().values() for n, v in group.items() if n == name]
    return max(values) if values else None


def main():
    bootstrap, client_id = sys.argv[1], sys.argv[2]

    def body():
        topic = unique_topic("skiff-quota-kafka-python")
        p = KafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, linger_ms=5,
                          enable_idempotence=False, request_timeout_ms=60000)
        p.partitions_for(topic)
        closed = p._metrics.get_sensor("connections-closed")
        closed_name = p._metrics.metric_name("skiff-connections-closed-total", "skiff", "closed while producing")
        closed.add(closed_name, Total())
        step(NAME, f"producing {RECORDS} records of {len(VALUE)} bytes to {topic}")
        futures = [p.send(topic, VALUE, key=str(i).encode(), partition=0) for i in range(RECORDS)]
        p.flush(timeout=120)
        offsets = sorted(f.get(timeout=10).offset for f in futures)
        check(offsets == list(range(RECORDS)), "offsets are not 0..n-1")
        throttle = metric(p, "throttle-time-max")
        closed = metric(p, "skiff-connections-closed-total")
        p.close()
        check(throttle is not None and throttle > 0, f"no throttle time in the metrics ({throttle})")
        check(closed == 0, f"{closed} connections were closed while producing")
        step(NAME, f"throttle max {throttle} ms, no disconnect")

    run_main(NAME, body)


if __name__ == "__main__":
    main()
