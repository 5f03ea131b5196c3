#!/usr/bin/env bash
# Run one Java client scenario (a single-file program in compat/java/, launched from source:
# no build step) with Kafka's own kafka-clients jar from target/kafka-libs/ (the reference
# broker's 4.1.1, fetched if missing), or with another client version.
#
# Usage: compat/java/scenario.sh [--client VERSION] PROGRAM.java [--OPTION]... [HOST:PORT]
#        (or BOOTSTRAP=HOST:PORT in the environment); options (words starting with --, such as
#        JavaStreamsWordCount.java's --eos) are passed to the program after the address
#        compat/java/scenario.sh --client VERSION --prepare   (only fetch that client's jars)
#   --client VERSION  run with kafka-clients and kafka-streams VERSION alone on the class path
#                     (compat/java/client-pom.xml, fetched into target/kafka-client-libs-VERSION/;
#                     the newest one the matrix runs is JAVA_NEWEST_CLIENT in compat/lib.sh);
#                     JAVA_CLIENT_VERSION=VERSION in the environment does the same
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
client="${JAVA_CLIENT_VERSION:-}" program="" prepare=0
options=()
while [ $# -gt 0 ]; do
  case "$1" in
    --client) [ $# -ge 2 ] || die "--client takes a version"; client="$2"; shift 2 ;;
    --client=*) client="${1#--client=}"; shift ;;
    --prepare) prepare=1; shift ;;
    --*) options+=("$1"); shift ;;
    *.java) if [ -z "$program" ]; then program="$1"; else BOOTSTRAP="$1"; fi; shift ;;
    *) BOOTSTRAP="$1"; shift ;;
  esac
done
BOOTSTRAP="${BOOTSTRAP:-}"
if [ "$prepare" = 0 ] &&
  { [ -z "$program" ] || [ ! -f "$COMPAT_DIR/java/$program" ] || [ -z "$BOOTSTRAP" ]; }; then
  echo "usage: $0 [--client VERSION] PROGRAM.java [--OPTION]... HOST:PORT (or set BOOTSTRAP)" >&2
  exit 2
fi
if [ -n "$client" ]; then
  libs="$(ensure_kafka_client_libs "$client")"
else
  ensure_kafka_libs
  libs="$KAFKA_LIBS"
fi
[ "$prepare" = 0 ] || exit 0
jar="$(cd "$libs" && ls kafka-clients-*.jar)"
log "$program with ${jar%.jar}"
exec java -Xmx256m -XX:ActiveProcessorCount=2 -cp "$libs/*" \
  "$COMPAT_DIR/java/$program" "$BOOTSTRAP" "${options[@]}"
