#!/usr/bin/env bash
# Java client smoke scenario: runs compat/java/JavaSmoke.java (single-file source launch, no
# build step) with Kafka's own kafka-clients jar from target/kafka-libs/ (fetched if missing).
#
# Usage: compat/java/smoke.sh [HOST:PORT]   (or BOOTSTRAP=HOST:PORT in the environment)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
BOOTSTRAP="${1:-${BOOTSTRAP:-}}"
[ -n "$BOOTSTRAP" ] || { echo "usage: $0 HOST:PORT (or set BOOTSTRAP)" >&2; exit 2; }
ensure_kafka_libs
exec java -Xmx256m -XX:ActiveProcessorCount=2 -cp "$KAFKA_LIBS/*" \
  "$COMPAT_DIR/java/JavaSmoke.java" "$BOOTSTRAP"
