"""A stand-in for Kafka's bin/kafka-topics.sh, for librdkafka's test suite.

Some tests of the suite (0045, 0052, 0077) create, grow or delete topics by running
$KAFKA_PATH/bin/kafka-topics.sh --bootstrap-server $BROKERS ... (test_kafka_topics() in
tests/test.c). Kafka's own tool is not in the jars the harness fetches, so run.sh points
KAFKA_PATH at compat/librdkafka/kafka-path, whose bin/kafka-topics.sh runs this script. It
does the same through the Admin API (confluent-kafka's AdminClient): the broker sees
CreateTopics, CreatePartitions and DeleteTopics requests, as it would from the real tool.

Understood: --bootstrap-server B and one of
  --create --topic T [--partitions N] [--replication-factor R] [--config K=V]...
  --alter  --topic T --partitions N
  --delete --topic T
Exits 0 when the broker accepted the request, 1 (with its error on stderr) otherwise.
"""

import argparse
import sys

from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

TIMEOUT_S = 30.0


def parse(argv):
    p = argparse.ArgumentParser(prog="kafka-topics.sh")
    p.add_argument("--bootstrap-server", required=True)
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--create", action="store_true")
    action.add_argument("--alter", action="store_true")
    action.add_argument("--delete", action="store_true")
    p.add_argument("--topic", required=True)
    p.add_argument("--partitions", type=int, default=-1)
    p.add_argument("--replication-factor", type=int, default=-1)
    p.add_argument("--config", action="append", default=[], metavar="K=V")
    args = p.parse_args(argv)
    if args.alter and args.partitions < 1:
        p.error("--alter needs --partitions")
    configs = {}
    for kv in args.config:
        key, sep, value = kv.partition("=")
        if not sep:
            p.error(f"--config takes K=V, got {kv}")
        configs[key] = value
    args.configs = configs
    return args


def main(argv):
    args = parse(argv)
    admin = AdminClient({"bootstrap.servers": args.bootstrap_server})
    if args.create:
        futures = admin.create_topics(
            [NewTopic(args.topic, args.partitions, args.replication_factor, config=args.configs)],
            operation_timeout=TIMEOUT_S,
            request_timeout=TIMEOUT_S,
        )
        done = f"Created topic {args.topic}."
    elif args.alter:
        futures = admin.create_partitions(
            [NewPartitions(args.topic, args.partitions)],
            operation_timeout=TIMEOUT_S,
            request_timeout=TIMEOUT_S,
        )
        done = f"Topic {args.topic} now has {args.partitions} partitions."
    else:
        futures = admin.delete_topics(
            [args.topic], operation_timeout=TIMEOUT_S, request_timeout=TIMEOUT_S
        )
        done = f"Deleted topic {args.topic}."
    try:
        for future in futures.values():
            future.result(timeout=TIMEOUT_S + 5)
    except Exception as e:  # the broker's error (KafkaException) or a timeout
        print(f"Error while executing topic command: {e}", file=sys.stderr)
        return 1
    print(done)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
