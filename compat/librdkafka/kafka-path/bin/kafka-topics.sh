#!/usr/bin/env bash
# Kafka's bin/kafka-topics.sh as librdkafka's test suite calls it ($KAFKA_PATH/bin/), done by
# compat/librdkafka/kafka_topics.py through the Admin API. run.sh sets KAFKA_PATH to the
# directory above this one and SKIFF_COMPAT_PYTHON to the compat venv's python.
exec "${SKIFF_COMPAT_PYTHON:-python3}" "$(dirname "$0")/../../kafka_topics.py" "$@"
