#!/usr/bin/env bash
# Run one Java client scenario (a single-file program in compat/java/, launched from source:
# no build step) with Kafka's own kafka-clients jar from target/kafka-libs/ (fetched if
# missing).
#
# Usage: compat/java/scenario.sh JavaSmoke.java|JavaGroupsAdmin.java [HOST:PORT]
#        (or BOOTSTRAP=HOST:PORT in the environment)
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
program="${1:-}"
BOOTSTRAP="${2:-${BOOTSTRAP:-}}"
if [ ! -f "$COMPAT_DIR/java/$program" ] || [ -z "$BOOTSTRAP" ]; then
  echo "usage: $0 PROGRAM.java HOST:PORT (or set BOOTSTRAP)" >&2
  exit 2
fi
ensure_kafka_libs
exec java -Xmx256m -XX:ActiveProcessorCount=2 -cp "$KAFKA_LIBS/*" \
  "$COMPAT_DIR/java/$program" "$BOOTSTRAP"
