#!/usr/bin/env bash
# Live differential mode: run the observers against the reference Apache Kafka, stop it,
# run them against Skiff, and compare what the clients observed, scenario by scenario.
#
# Usage: compat/diff/run.sh [--only SCENARIO]... [--runs N] [--record] [--kafka-only]
#                           [--skiff-only]
#   --only        just these scenarios (compat/diff/observe.sh --list); default: all
#   --runs N      observe the reference Kafka N times (a fresh broker each time) and require
#                 identical observations (the stability check); default 1
#   --record      copy the (stable) Kafka observations to compat/diff/reference-kafka-4.1.1/
#   --kafka-only  stop after the Kafka runs (with --runs and/or --record)
#   --skiff-only  no live Kafka: compare Skiff with the recorded reference (like the diff
#                 suite of compat/run.sh)
# Observations go to target/compat-diff/<time>/{kafka-1,..,skiff}/SCENARIO.json. Kafka is
# compared with Kafka with nothing accepted; Skiff with Kafka through compat/diff/accepted.json.
# Prints one PASS/FAIL line per comparison and exits non-zero if any failed.
# Env: SKIFF_BIN (the skiff binary, see compat/start-skiff.sh), COMPAT_SCENARIO_TIMEOUT.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

only=() runs=1 record=0 kafka_only=0 skiff_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only+=("$2"); shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --record) record=1; shift ;;
    --kafka-only) kafka_only=1; shift ;;
    --skiff-only) skiff_only=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
mapfile -t scenarios < <("$COMPAT_DIR/diff/observe.sh" --list)
if [ ${#only[@]} -gt 0 ]; then
  for s in "${only[@]}"; do [[ " ${scenarios[*]} " == *" $s "* ]] || die "unknown scenario: $s"; done
  scenarios=("${only[@]}")
fi
install_cleanup_trap
ensure_venv
ensure_kafka_libs

base="$REPO_ROOT/target/compat-diff/$(date -u +%Y%m%dT%H%M%S)"
mkdir -p "$base"
failed=0 passed=0
broker_pid="" broker_dir=""
stop_broker() {
  [ -z "$broker_pid" ] || stop_pid "$broker_pid" 60
  [ -z "$broker_dir" ] || rm -rf "$broker_dir"
  broker_pid="" broker_dir=""
}
on_exit stop_broker

# observe_all BROKER-START-SCRIPT DIR: for each number of log dirs the scenarios need
# (observe.sh --log-dirs), start a broker with that many, run those scenarios into DIR, stop it.
observe_all() {
  local start="$1" dir="$2" n s
  local -a group
  for n in 1 2; do
    group=()
    for s in "${scenarios[@]}"; do
      [ "$("$COMPAT_DIR/diff/observe.sh" --log-dirs "$s")" = "$n" ] && group+=("$s")
    done
    [ ${#group[@]} = 0 ] || observe_group "$start" "$dir" "$n" "${group[@]}"
  done
}

# observe_group BROKER-START-SCRIPT DIR LOG-DIRS SCENARIO...: one broker, these scenarios.
observe_group() {
  local start="$1" dir="$2" log_dirs="$3" env_out s t0 rc
  shift 3
  mkdir -p "$dir"
  env_out="$("$start" --log-dirs "$log_dirs")" || die "could not start a broker with $start"
  eval "$env_out"
  broker_pid="$PID" broker_dir="$WORKDIR"
  log "$BROKER_VERSION up at $BOOTSTRAP ($log_dirs log dirs); observations into $dir"
  for s in "$@"; do
    t0=$SECONDS
    set +e
    (cd "$REPO_ROOT" && timeout "${COMPAT_SCENARIO_TIMEOUT:-600}" "$COMPAT_DIR/diff/observe.sh" "$s" "$BOOTSTRAP" "$dir/$s.json") \
      >"$dir/$s.log" 2>&1
    rc=$?
    set -e
    if [ $rc = 0 ]; then
      log "observed $s in $((SECONDS - t0))s"
    else
      log "observer $s failed (exit $rc), log $dir/$s.log"
      tail -n 20 "$dir/$s.log" | sed 's/^/    | /' >&2
    fi
  done
  if ! kill -0 "$broker_pid" 2>/dev/null; then log "$BROKER_VERSION died during the observations"; fi
  for s in "$broker_dir"/*.log; do if [ -e "$s" ]; then cp "$s" "$dir/$log_dirs-dirs-$(basename "$s")"; fi; done
  stop_broker
}

# compare_dirs LABEL REF-DIR OBS-DIR [compare.py options]: one PASS/FAIL per scenario.
compare_dirs() {
  local label="$1" ref="$2" obs="$3" s rc
  shift 3
  for s in "${scenarios[@]}"; do
    set +e
    python3 "$COMPAT_DIR/diff/compare.py" "$@" "$ref/$s.json" "$obs/$s.json" >"$obs/$s.compare.txt" 2>&1
    rc=$?
    set -e
    if [ $rc = 0 ]; then
      passed=$((passed + 1))
      printf 'PASS  %-20s %s  (%s)\n' "$s" "$label" "$(tail -n1 "$obs/$s.compare.txt")"
    else
      failed=$((failed + 1))
      printf 'FAIL  %-20s %s  (%s)\n' "$s" "$label" "$obs/$s.compare.txt"
      grep -E '^(DIFF|STALE)' "$obs/$s.compare.txt" | head -n 60 | sed 's/^/    | /'
      tail -n1 "$obs/$s.compare.txt" | sed 's/^/    | /'
    fi
  done
}

reference_dir="$COMPAT_DIR/diff/reference-kafka-4.1.1"
if [ "$skiff_only" = 0 ]; then
  for ((i = 1; i <= runs; i++)); do
    observe_all "$COMPAT_DIR/kafka/start-kafka.sh" "$base/kafka-$i"
  done
  for ((i = 2; i <= runs; i++)); do
    compare_dirs "kafka-1 vs kafka-$i (stability)" "$base/kafka-1" "$base/kafka-$i" --no-accepted
  done
  if [ "$record" = 1 ]; then
    if [ "$failed" = 0 ]; then
      mkdir -p "$reference_dir"
      for s in "${scenarios[@]}"; do cp "$base/kafka-1/$s.json" "$reference_dir/$s.json"; done
      log "recorded ${#scenarios[@]} observations into $reference_dir"
    else
      log "not recording: the Kafka observations differ between runs"
    fi
  fi
  reference_dir="$base/kafka-1"
fi
if [ "$kafka_only" = 0 ]; then
  observe_all "$COMPAT_DIR/start-skiff.sh" "$base/skiff"
  compare_dirs "kafka vs skiff" "$reference_dir" "$base/skiff" --accepted "$COMPAT_DIR/diff/accepted.json" --quiet-accepted
fi
log "observations and comparisons in $base"
echo "compat diff: $passed passed, $failed failed"
[ "$failed" = 0 ]
