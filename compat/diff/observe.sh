#!/usr/bin/env bash
# Run one differential observer against a running broker and write its observation.
#
# Usage: compat/diff/observe.sh SCENARIO HOST:PORT OUT.json
#        compat/diff/observe.sh --list      (the scenario names, one a line)
#        compat/diff/observe.sh --log-dirs SCENARIO   (how many log dirs its broker needs)
# Scenarios: java-offsets, java-errors, java-configs, java-groups, java-features, java-cluster,
# java-telemetry, java-quotas, java-jbod (a broker with two log dirs: describe/alter replica log
# dirs)
# (JavaObserve.java, kafka-clients 4.1.1), confluent-offsets, confluent-errors, confluent-configs,
# confluent-groups (confluent_observe.py, confluent-kafka / librdkafka), kafka-python-admin
# (kafka_python_observe.py, kafka-python's raw admin answers and the advertised API versions),
# kafka-python-features (the same client: the raw features of ApiVersions v3 and v4),
# kafka-python-cluster (the same client: quorum, config resources, elections, reassignments).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

SCENARIOS=(java-offsets java-errors java-configs java-groups java-features java-cluster java-telemetry
  java-quotas java-jbod
  confluent-offsets confluent-errors confluent-configs confluent-groups kafka-python-admin
  kafka-python-features kafka-python-cluster)
# Scenarios whose broker must have two log dirs (JBOD); the others run on one.
TWO_LOG_DIRS=(java-jbod)
if [ "${1:-}" = --list ]; then printf '%s\n' "${SCENARIOS[@]}"; exit 0; fi
if [ "${1:-}" = --log-dirs ]; then
  [[ " ${TWO_LOG_DIRS[*]} " == *" ${2:-} "* ]] && echo 2 || echo 1
  exit 0
fi
if [ $# -ne 3 ]; then
  echo "usage: $0 SCENARIO HOST:PORT OUT.json (scenarios: ${SCENARIOS[*]})" >&2
  exit 2
fi
scenario="$1" bootstrap="$2" out="$3"
case "$scenario" in
  java-*)
    ensure_kafka_libs
    exec java -Xmx256m -XX:ActiveProcessorCount=2 -cp "$KAFKA_LIBS/*" \
      "$COMPAT_DIR/diff/JavaObserve.java" "${scenario#java-}" "$bootstrap" "$out" ;;
  confluent-*)
    ensure_venv
    exec "$COMPAT_VENV/bin/python" "$COMPAT_DIR/diff/confluent_observe.py" "${scenario#confluent-}" "$bootstrap" "$out" ;;
  kafka-python-admin|kafka-python-features|kafka-python-cluster)
    ensure_venv
    exec "$COMPAT_VENV/bin/python" "$COMPAT_DIR/diff/kafka_python_observe.py" "${scenario#kafka-python-}" "$bootstrap" "$out" ;;
  *) die "unknown scenario: $scenario (known: ${SCENARIOS[*]})" ;;
esac
