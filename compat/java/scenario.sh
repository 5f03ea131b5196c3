#!/usr/bin/env bash
# Run one Java client scenario (a single-file program in compat/java/, launched from source:
# no build step) with Kafka's own kafka-clients jar from target/kafka-libs/ (fetched if
# missing).
#
# Usage: compat/java/scenario.sh PROGRAM.java [--OPTION]... [HOST:PORT]
#        (or BOOTSTRAP=HOST:PORT in the environment); options (words starting with --, such as
#        JavaStreamsWordCount.java's --eos) are passed to the program after the address
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
program="${1:-}"
[ $# -eq 0 ] || shift
options=()
for arg in "$@"; do
  case "$arg" in
    --*) options+=("$arg") ;;
    *) BOOTSTRAP="$arg" ;;
  esac
done
BOOTSTRAP="${BOOTSTRAP:-}"
if [ ! -f "$COMPAT_DIR/java/$program" ] || [ -z "$BOOTSTRAP" ]; then
  echo "usage: $0 PROGRAM.java [--OPTION]... HOST:PORT (or set BOOTSTRAP)" >&2
  exit 2
fi
ensure_kafka_libs
exec java -Xmx256m -XX:ActiveProcessorCount=2 -cp "$KAFKA_LIBS/*" \
  "$COMPAT_DIR/java/$program" "$BOOTSTRAP" "${options[@]}"
