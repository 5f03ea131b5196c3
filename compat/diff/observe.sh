#!/usr/bin/env bash
# Run one differential observer against a running broker and write its observation.
#
# Usage: compat/diff/observe.sh SCENARIO HOST:PORT OUT.json
#        compat/diff/observe.sh --list      (the scenario names, one a line)
#        compat/diff/observe.sh --log-dirs SCENARIO   (how many log dirs its broker needs)
#        compat/diff/observe.sh --kafka-version SCENARIO   (its reference Kafka: its
#                  recording is reference-kafka-VERSION/SCENARIO.json)
#        compat/diff/observe.sh --start-args SCENARIO   (the settings both brokers start
#                  with for it, one start-script word a line; none for most)
#        compat/diff/observe.sh --suite SCENARIO   (where compat/run.sh runs it: diff, share,
#                  or none when only compat/diff/run.sh can start its broker)
# Scenarios: java-offsets, java-errors, java-configs, java-groups, java-features, java-cluster,
# java-telemetry, java-quotas, java-jbod (a broker with two log dirs: describe/alter replica log
# dirs)
# (JavaObserve.java, kafka-clients 4.1.1), java-share (JavaShareObserve.java, kafka-clients
# 4.4.0: share groups, against Kafka 4.4.0 and Skiff started with lib.sh's SHARE_START_ARGS),
# confluent-offsets, confluent-errors, confluent-configs,
# confluent-groups (confluent_observe.py, confluent-kafka / librdkafka), kafka-python-admin
# (kafka_python_observe.py, kafka-python's raw admin answers and the advertised API versions),
# kafka-python-features (the same client: the raw features of ApiVersions v3 and v4),
# kafka-python-cluster (the same client: quorum, config resources, elections, reassignments).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

SCENARIOS=(java-offsets java-errors java-configs java-groups java-features java-cluster java-telemetry
  java-quotas java-jbod java-share
  confluent-offsets confluent-errors confluent-configs confluent-groups kafka-python-admin
  kafka-python-features kafka-python-cluster)
# Scenarios whose broker must have two log dirs (JBOD); the others run on one.
TWO_LOG_DIRS=(java-jbod)
# Share-group scenarios: reference Kafka SHARE_KAFKA_VERSION, brokers with SHARE_START_ARGS.
SHARE=(java-share)
is_one_of() { # NAME LIST...
  local name="$1"
  shift
  [[ " $* " == *" $name "* ]]
}
case "${1:-}" in
  --list) printf '%s\n' "${SCENARIOS[@]}"; exit 0 ;;
  --log-dirs) if is_one_of "${2:-}" "${TWO_LOG_DIRS[@]}"; then echo 2; else echo 1; fi; exit 0 ;;
  --kafka-version)
    if is_one_of "${2:-}" "${SHARE[@]}"; then echo "$SHARE_KAFKA_VERSION"; else echo "$KAFKA_DEFAULT_VERSION"; fi
    exit 0 ;;
  --start-args)
    if is_one_of "${2:-}" "${SHARE[@]}"; then printf '%s\n' "${SHARE_START_ARGS[@]}"; fi
    exit 0 ;;
  --suite)
    if is_one_of "${2:-}" "${SHARE[@]}"; then echo share
    elif is_one_of "${2:-}" "${TWO_LOG_DIRS[@]}"; then echo none
    else echo diff; fi
    exit 0 ;;
esac
if [ $# -ne 3 ]; then
  echo "usage: $0 SCENARIO HOST:PORT OUT.json (scenarios: ${SCENARIOS[*]})" >&2
  exit 2
fi
scenario="$1" bootstrap="$2" out="$3"
case "$scenario" in
  java-share)
    libs="$(ensure_kafka_client_libs "$SHARE_JAVA_CLIENT")"
    exec java -Xmx256m -XX:ActiveProcessorCount=2 -cp "$libs/*" \
      "$COMPAT_DIR/diff/JavaShareObserve.java" "${scenario#java-}" "$bootstrap" "$out" ;;
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
