#!/usr/bin/env bash
# The share suite's share-broker-restart scenario: the broker is killed with SIGKILL while share
# consumers run, and restarted on the same data dir; no accepted record is delivered again
# and no record is lost (records acquired but not yet accepted may come again).
#
# Usage: compat/share/broker-restart.sh JAVA_SCENARIO_COMMAND... HOST:PORT
#   (compat/run.sh --suite share runs it with compat/java/scenario.sh --client 4.4.0
#   JavaShareGroups.java; the command gets --restart-consume=DIR and the address)
# Needs the broker compat/run.sh started (COMPAT_BROKER=kafka or skiff and
# COMPAT_BROKER_WORKDIR in the environment): it kills that broker (its pid in
# WORKDIR/broker.pid) and starts it again with start-kafka.sh / start-skiff.sh --restart,
# which record the new pid there for run.sh. Against --bootstrap (a broker run.sh did not
# start) it cannot restart anything: it says so and fails.
#
# The Java half (JavaShareGroups.java --restart-consume=DIR) consumes with 3 members until a
# fifth of the 10,000 records is accepted, then each member holds one poll unacknowledged and
# it writes DIR/midway; this script then kills and restarts the broker and writes
# DIR/restarted; the members go on. The Java half checks at every delivery that the record's
# acceptance was not confirmed before, and that every record is accepted in the end.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

[ $# -ge 2 ] || die "usage: $0 JAVA_SCENARIO_COMMAND... HOST:PORT"
bootstrap="${*: -1}"
java_cmd=("${@:1:$#-1}")
workdir="${COMPAT_BROKER_WORKDIR:-}"
case "${COMPAT_BROKER:-}" in
  kafka) start="$COMPAT_DIR/kafka/start-kafka.sh" ;;
  skiff) start="$COMPAT_DIR/start-skiff.sh" ;;
  *) die "share-broker-restart restarts the broker compat/run.sh started (--kafka or --skiff); with COMPAT_BROKER=${COMPAT_BROKER:-unset} there is none to restart" ;;
esac
[ -n "$workdir" ] && [ -f "$workdir/broker.pid" ] || die "no broker workdir with broker.pid (COMPAT_BROKER_WORKDIR=$workdir)"

signals="$(mktemp -d "${TMPDIR:-/tmp}/skiff-compat-share-restart.XXXXXX")"
java_pid=""
cleanup() {
  [ -z "$java_pid" ] || stop_pid "$java_pid" 10
  rm -rf "$signals"
}
install_cleanup_trap
on_exit cleanup

"${java_cmd[@]}" "--restart-consume=$signals" "$bootstrap" &
java_pid=$!

# Wait (with a deadline) for the Java half to be mid-stream.
deadline=$((SECONDS + 180))
while [ ! -f "$signals/midway" ]; do
  kill -0 "$java_pid" 2>/dev/null || { wait "$java_pid" || true; die "the consumers exited before mid-stream"; }
  ((SECONDS < deadline)) || die "the consumers did not reach mid-stream within 180s"
  sleep 0.2
done
log "mid-stream: $(cat "$signals/midway") records accepted; killing the broker with SIGKILL"

pid="$(cat "$workdir/broker.pid")"
kill -KILL "$pid"
deadline=$((SECONDS + 30))
while kill -0 "$pid" 2>/dev/null; do
  ((SECONDS < deadline)) || die "broker $pid survived SIGKILL for 30s"
  sleep 0.1
done
log "broker $pid killed; restarting it on the same data dir ($workdir)"
"$start" --restart "$workdir" >"$signals/restart.env" || die "the broker did not restart"
log "broker back: $(tr '\n' ' ' <"$signals/restart.env")"
touch "$signals/restarted"

set +e
wait "$java_pid"
rc=$?
set -e
java_pid=""
[ "$rc" = 0 ] || die "the consumers' checks failed (exit $rc)"
echo "share-broker-restart: checked: broker (${COMPAT_BROKER}) killed with SIGKILL mid-stream and restarted on its data dir"
