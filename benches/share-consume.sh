#!/usr/bin/env bash
# Share-consume throughput (share groups, KIP-932), Skiff against Apache Kafka 4.4.0, driven by
# the reference client: kafka-clients 4.4.0's KafkaShareConsumer (benches/ShareConsumeBench.java,
# launched from source with Kafka 4.4.0's jars as compat/java/scenario.sh does). Not part of CI.
#
# Usage: benches/share-consume.sh [--both | --kafka | --skiff] [--rounds N] [--scale F]
#                                 [--members LIST] [--out FILE] [--timeout-s S]
#   --both           Kafka and Skiff, alternating K, S, K, S, ... (the default)
#   --kafka, --skiff only that broker
#   --rounds N       rounds per broker (default 3); the table shows medians
#   --scale F        multiplies the record count (200,000 x 100 B)
#   --members LIST   the rows: share consumers per group (default 1,4,16)
#   --out FILE       also write the markdown table to FILE
#   --timeout-s S    a row fails when its records are not all accepted after S s (default 300)
#
# Per broker and round: a fresh broker (Kafka 4.4.0 via compat/kafka/start-kafka.sh, Skiff via
# compat/start-skiff.sh; never both at once) with 4 partitions per topic and the share settings
# of compat/run.sh's SHARE_START_ARGS; an unmeasured warm-up (a tenth of the records, 2
# members); a 4-partition topic gets the records (producer batch.size 16 KiB: a share consumer
# acquires whole batches); then one fresh share group per row (share.auto.offset.reset=earliest)
# consumes it with M members (threads of one JVM, implicit acknowledgement) until every record
# has been accepted exactly once (acknowledgement commit callbacks; the bench fails otherwise).
# records/s is from the first poll to the last acceptance; broker CPU is the broker process's
# utime + stime (/proc/PID/stat) over the same span, per 100k records.
#
# Skiff: $SKIFF_BIN, else target/release/skiff (start-skiff.sh builds it if missing or stale).
# Logs (the Java client's and each broker's) and the tables go to target/bench-logs/.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../compat/lib.sh
. "$(dirname "$0")/../compat/lib.sh"

KAFKA_VERSION=4.4.0
# compat/run.sh SHARE_START_ARGS (keep in step): a 5 s acquisition lock (Kafka's minimum lowered
# to 1 s) and records archived after their 3rd delivery.
SHARE_START_ARGS=(--set group.share.record.lock.duration.ms=5000
  --set group.share.min.record.lock.duration.ms=1000
  --set group.share.delivery.count.limit=3)
RECORDS=200000 SIZE=100 PARTITIONS=4 BATCH_SIZE=16384

brokers=(kafka skiff) rounds=3 scale=1 members=1,4,16 out="" timeout_s=300
while [ $# -gt 0 ]; do
  case "$1" in
    --both) brokers=(kafka skiff); shift ;;
    --kafka) brokers=(kafka); shift ;;
    --skiff) brokers=(skiff); shift ;;
    --rounds) rounds="$2"; shift 2 ;;
    --scale) scale="$2"; shift 2 ;;
    --members) members="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --timeout-s) timeout_s="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds takes a positive integer, got: $rounds"
[[ "$scale" =~ ^[0-9]*\.?[0-9]+$ ]] || die "--scale takes a positive number, got: $scale"
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || die "--timeout-s takes a positive integer, got: $timeout_s"
[[ "$members" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--members takes a list like 1,4,16, got: $members"
records="$(awk -v n="$RECORDS" -v s="$scale" 'BEGIN { r = int(n * s + 0.5); print (r < 1000 ? 1000 : r) }')"

select_kafka_version "$KAFKA_VERSION"
ensure_kafka_libs
clk_tck="$(getconf CLK_TCK)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
logdir="$REPO_ROOT/target/bench-logs/share-consume-$stamp"
mkdir -p "$logdir"
# The Java client logs WARN and above (a failed acknowledgement, a lost connection) to stderr.
cat >"$logdir/client-log4j2.properties" <<'EOF'
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
EOF
log "share-consume bench: ${brokers[*]}, $rounds round(s), $records x $SIZE B, members $members; logs in $logdir"

pid="" workdir=""
stop_broker() {
  [ -z "$pid" ] || stop_pid "$pid" 60
  [ -z "$workdir" ] || rm -rf "$workdir"
  pid="" workdir=""
}
install_cleanup_trap
on_exit stop_broker

results="$logdir/results.txt"   # BROKER ROUND RESULT-line fields
failures="$logdir/failures.txt" # BROKER ROUND MEMBERS of each failed row
: >"$results"
: >"$failures"
failed=()
# One round against one broker: start it, run the Java program, keep the logs, stop it.
round() {
  local broker="$1" r="$2" env_out name="$1-round$2" rc=0
  if [ "$broker" = kafka ]; then
    env_out="$(COMPAT_KAFKA_VERSION=$KAFKA_VERSION "$REPO_ROOT/compat/kafka/start-kafka.sh" \
      --kafka-version "$KAFKA_VERSION" --partitions "$PARTITIONS" "${SHARE_START_ARGS[@]}")" ||
      die "could not start Kafka $KAFKA_VERSION"
  else
    env_out="$("$REPO_ROOT/compat/start-skiff.sh" --partitions "$PARTITIONS" "${SHARE_START_ARGS[@]}")" ||
      die "could not start skiff"
  fi
  local BOOTSTRAP PID WORKDIR BROKER_VERSION
  eval "$env_out"
  pid="$PID" workdir="$WORKDIR"
  log "$name: $BROKER_VERSION at $BOOTSTRAP (pid $pid)"
  echo "$broker $BROKER_VERSION" >"$logdir/$name.version"
  java -Xmx512m -XX:ActiveProcessorCount=2 \
    -Dlog4j2.configurationFile="$logdir/client-log4j2.properties" -cp "$KAFKA_LIBS/*" \
    "$REPO_ROOT/benches/ShareConsumeBench.java" "$BOOTSTRAP" --records "$records" --size "$SIZE" \
    --partitions "$PARTITIONS" --batch-size "$BATCH_SIZE" --members "$members" \
    --broker-pid "$pid" --clk-tck "$clk_tck" --timeout-s "$timeout_s" \
    2>&1 >"$logdir/$name.out" | tee "$logdir/$name.client.log" >&2 || rc=${PIPESTATUS[0]}
  local blog
  for blog in kafka.log skiff.log; do
    [ ! -f "$workdir/$blog" ] || cp "$workdir/$blog" "$logdir/$name.broker.log"
  done
  stop_broker
  if [ "$rc" != 0 ]; then
    failed+=("$name")
    log "$name: FAILED (exit $rc; see $logdir/$name.client.log)"
  fi
  sed -n "s/^RESULT /$broker $r /p" "$logdir/$name.out" >>"$results"
  sed -n "s/^FAILED members=\([0-9]*\) .*/$broker $r \1/p" "$logdir/$name.out" >>"$failures"
}

for ((r = 1; r <= rounds; r++)); do
  for broker in "${brokers[@]}"; do round "$broker" "$r"; done
done

# median BROKER MEMBERS FIELD: the median of FIELD over the rounds (empty if none).
median() {
  awk -v b="$1" -v m="members=$2" -v f="$3" '$1 == b && $3 == m {
      for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }' "$results" |
    sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# per_100k CPU RECORDS: broker CPU seconds per 100k records.
per_100k() { [ -z "$1" ] || awk -v c="$1" -v n="$2" 'BEGIN { printf "%.2f", c * 100000 / n }'; }
ratio() { [ -z "$1" ] || [ -z "$2" ] || awk -v k="$1" -v s="$2" 'BEGIN { printf "%.2f", s / k }'; }
or_dash() { if [ -n "$1" ]; then printf '%s' "$1"; else printf -- '-'; fi; }

# cell BROKER MEMBERS FIELD: the median over the rounds that passed, with "(F failed)" when some
# failed, "FAILED" when all did.
cell() {
  local v f
  v="$(median "$1" "$2" "$3")"
  f="$(awk -v b="$1" -v m="$2" '$1 == b && $3 == m' "$failures" | wc -l)"
  if [ -z "$v" ] && [ "$f" -gt 0 ]; then printf 'FAILED'; return; fi
  printf '%s' "$(or_dash "$v")"
  [ "$f" = 0 ] || printf ' (%s failed)' "$f"
}

table() {
  local m k s
  echo "Share-consume, $records x $SIZE B on $PARTITIONS partitions (producer batch.size $BATCH_SIZE), KafkaShareConsumer 4.4.0, implicit acknowledgement; medians of $rounds round(s)."
  echo "rec/s from the first poll to the last acceptance (the join included); broker CPU: seconds of the broker process per 100k records."
  echo
  echo "| members | Kafka rec/s | Skiff rec/s | Skiff/Kafka | Kafka broker CPU s/100k | Skiff broker CPU s/100k |"
  echo "|---:|---:|---:|---:|---:|---:|"
  IFS=, read -r -a ms <<<"$members"
  for m in "${ms[@]}"; do
    k="$(median kafka "$m" rps)" s="$(median skiff "$m" rps)"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$m" "$(cell kafka "$m" rps)" "$(cell skiff "$m" rps)" \
      "$(or_dash "$(ratio "$k" "$s")")" \
      "$(or_dash "$(per_100k "$(median kafka "$m" broker_cpu_s)" "$records")")" \
      "$(or_dash "$(per_100k "$(median skiff "$m" broker_cpu_s)" "$records")")"
  done
  echo
  echo "Without the join: time to the first record (ms) and rec/s from the first record to the last acceptance; the bench JVM's CPU s per 100k records:"
  echo
  echo "| members | Kafka first record ms | Skiff first record ms | Kafka rec/s after it | Skiff rec/s after it | Skiff/Kafka | Kafka client CPU s/100k | Skiff client CPU s/100k |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  for m in "${ms[@]}"; do
    k="$(median kafka "$m" rps_after_first)" s="$(median skiff "$m" rps_after_first)"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$m" "$(or_dash "$(median kafka "$m" first_record_ms)")" \
      "$(or_dash "$(median skiff "$m" first_record_ms)")" "$(or_dash "$k")" "$(or_dash "$s")" \
      "$(or_dash "$(ratio "$k" "$s")")" \
      "$(or_dash "$(per_100k "$(median kafka "$m" client_cpu_s)" "$records")")" \
      "$(or_dash "$(per_100k "$(median skiff "$m" client_cpu_s)" "$records")")"
  done
  echo
  echo "Every round (deliveries: records polled; redelivered: delivery count > 1; ack errors: records whose acknowledgement failed; fewest/most records one member accepted):"
  echo
  echo "| broker | round | members | rec/s | secs | first record ms | deliveries | redelivered | ack errors | member min/max | broker CPU s | client CPU s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
  awk '{ delete f; for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s/%s | %s | %s |\n", $1, $2, f["members"], f["rps"], f["secs"],
        f["first_record_ms"], f["deliveries"], f["redelivered"], f["ack_errors"], f["member_min"], f["member_max"],
        f["broker_cpu_s"], f["client_cpu_s"] }' "$results"
  awk '{ printf "| %s | %s | %s | FAILED (see the log) | | | | | | | | |\n", $1, $2, $3 }' "$failures"
  if [ ${#failed[@]} -gt 0 ]; then
    echo
    echo "FAILED: ${failed[*]}"
    grep -h '^FAILED' "$logdir"/*.out | cut -c1-600 | sed 's/^/    /' || true
  fi
}
table | tee "$logdir/table.md"
[ -z "$out" ] || cp "$logdir/table.md" "$out"
log "table: $logdir/table.md"
[ ${#failed[@]} = 0 ]
