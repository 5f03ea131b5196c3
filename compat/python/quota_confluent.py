#!/usr/bin/env python3
"""confluent-kafka (librdkafka) under a producer_byte_rate quota ("quota" scenarios).

Usage: quota_confluent.py HOST:PORT CLIENT_ID
The quota of CLIENT_ID (1 MB/s) is set by compat/quota.sh. The producer sends 13 MB as
fast as it can: beyond the ten windows' worth Kafka's quota allows at first, so brokers
answer with throttle_time_ms. librdkafka's statistics must report a throttle time above 0
for the broker, no disconnect, and every record acknowledged.
"""

import json
import sys

from confluent_kafka import Producer

from common import check, run_main, step, unique_topic

NAME = "confluent-kafka quota"
RECORDS = 13_000
VALUE = b"q" * 1000


def main():
    bootstrap, client_id = sys.argv[1], sys.argv[2]
    seen = {"throttle_max": 0, "disconnects": 0, "stats": 0}

    def stats(text):
        s = json.loads(text)
        seen["stats"] += 1
        for b in s.get("brokers", {}).values():
            if b.get("source") == "logical":
                continue
            seen["throttle_max"] = max(seen["throttle_max"], b.get("throttle", {}).get("max", 0))
            seen["disconnects"] = max(seen["disconnects"], b.get("disconnects", 0))

    acked = []
    failed = []

    def delivered(err, msg):
        (failed if err else acked).append(err or msg.offset())

    def body():
        topic = unique_topic("skiff-quota-confluent")
        p = Producer({
            "bootstrap.servers": bootstrap,
            "client.id": client_id,
            "linger.ms": 5,
            "stats_cb": stats,
            "statistics.interval.ms": 200,
        })
        step(NAME, f"producing {RECORDS} records of {len(VALUE)} bytes to {topic}")
        for i in range(RECORDS):
            while True:
                try:
                    p.produce(topic, VALUE, key=str(i).encode(), partition=0, on_delivery=delivered)
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
        check(p.flush(120) == 0, "records still in flight after 120 s")
        # One more statistics round after the last response, so its throttle time is in.
        after = seen["stats"]
        while seen["stats"] < after + 2:
            p.poll(0.1)
        check(not failed, f"{len(failed)} records failed: {failed[:3]}")
        check(len(acked) == RECORDS, f"{len(acked)} of {RECORDS} acknowledged")
        check(sorted(acked) == list(range(RECORDS)), "offsets are not 0..n-1")
        check(seen["throttle_max"] > 0, "librdkafka saw no throttle time")
        check(seen["disconnects"] == 0, f"{seen['disconnects']} disconnects")
        step(NAME, f"throttle max {seen['throttle_max']} ms, no disconnect")

    run_main(NAME, body)


if __name__ == "__main__":
    main()
