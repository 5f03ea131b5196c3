#!/usr/bin/env bash
# Live differential mode: run the observers against the reference Apache Kafka, stop it,
# run them against Skiff, and compare what the clients observed, scenario by scenario.
#
# Usage: compat/diff/run.sh [--only SCENARIO]... [--runs N] [--record] [--kafka-only]
#                           [--skiff-only]
#   --only        just these scenarios (compat/diff/observe.sh --list); default: all
#   --runs N      observe the reference Kafka N times (a fresh broker each time) and require
#                 identical observations (the stability check); default 1
#   --record      copy the (stable) Kafka observations to compat/diff/reference-kafka-VERSION/
#                 (each scenario's reference Kafka: observe.sh --kafka-version, 4.1.1 but for
#                 java-share's 4.4.0)
#   --kafka-only  stop after the Kafka runs (with --runs and/or --record)
#   --skiff-only  no live Kafka: compare Skiff with the recorded reference (like the diff
#                 suite of compat/run.sh)
# Observations go to target/compat-diff/<time>/{kafka-1,..,skiff}/SCENARIO.json. Kafka is
# compared with Kafka with nothing accepted; Skiff with Kafka through compat/diff/accepted.json.
# Scenarios that need the same broker (observe.sh --log-dirs, --kafka-version, --start-args)
# share one: a fresh broker per such group, Kafka and Skiff alike.
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

# broker_profile SCENARIO: what its broker needs, one line: log dirs, Kafka version, start
# arguments (observe.sh --log-dirs, --kafka-version, --start-args), space-separated.
broker_profile() {
  local -a args
  mapfile -t args < <("$COMPAT_DIR/diff/observe.sh" --start-args "$1")
  echo "$("$COMPAT_DIR/diff/observe.sh" --log-dirs "$1") $("$COMPAT_DIR/diff/observe.sh" --kafka-version "$1") ${args[*]}"
}

# observe_all BROKER-START-SCRIPT DIR: for each broker profile the scenarios need (in the order
# of their first scenario), start a broker so, run those scenarios into DIR, stop it.
observe_all() {
  local start="$1" dir="$2" profile s p seen
  local -a profiles=() group
  for s in "${scenarios[@]}"; do
    profile="$(broker_profile "$s")" seen=0
    for p in "${profiles[@]}"; do [ "$p" != "$profile" ] || seen=1; done
    [ "$seen" = 1 ] || profiles+=("$profile")
  done
  for profile in "${profiles[@]}"; do
    group=()
    for s in "${scenarios[@]}"; do
      [ "$(broker_profile "$s")" = "$profile" ] && group+=("$s")
    done
    # The profile's words: log dirs, Kafka version, start arguments (no spaces inside).
    # shellcheck disable=SC2086
    observe_group "$start" "$dir" $profile -- "${group[@]}"
  done
}

# observe_group BROKER-START-SCRIPT DIR LOG-DIRS KAFKA-VERSION [START-ARG]... -- SCENARIO...:
# one broker (Kafka in that version, or Skiff), these scenarios.
observe_group() {
  local start="$1" dir="$2" log_dirs="$3" version="$4" env_out s t0 rc
  local -a start_args=(--log-dirs "$log_dirs")
  shift 4
  while [ "$1" != -- ]; do start_args+=("$1"); shift; done
  shift
  [ "$start" != "$COMPAT_DIR/kafka/start-kafka.sh" ] || start_args+=(--kafka-version "$version")
  mkdir -p "$dir"
  env_out="$("$start" "${start_args[@]}")" || die "could not start a broker with $start ${start_args[*]}"
  eval "$env_out"
  broker_pid="$PID" broker_dir="$WORKDIR"
  log "$BROKER_VERSION up at $BOOTSTRAP (${start_args[*]}); observations into $dir"
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
  for s in "$broker_dir"/*.log; do if [ -e "$s" ]; then cp "$s" "$dir/$log_dirs-dirs-$version-$(basename "$s")"; fi; done
  stop_broker
}

# compare_dirs LABEL REF-DIR OBS-DIR [compare.py options]: one PASS/FAIL per scenario. REF-DIR
# "recorded" stands for each scenario's recording (reference-kafka-VERSION/).
compare_dirs() {
  local label="$1" ref="$2" obs="$3" s rc ref_file
  shift 3
  for s in "${scenarios[@]}"; do
    ref_file="$ref/$s.json"
    [ "$ref" != recorded ] || ref_file="$(recorded "$s")"
    set +e
    python3 "$COMPAT_DIR/diff/compare.py" "$@" "$ref_file" "$obs/$s.json" >"$obs/$s.compare.txt" 2>&1
    rc=$?
    set -e
    if [ $rc = 0 ]; then
      passed=$((passed + 1))
      printf 'PASS  %-20s %s  (%s)\n' "$s" "$label" "$(tail -n1 "$obs/$s.compare.txt")"
    else
      failed=$((failed + 1))
      printf 'FAIL  %-20s %s  (%s)\n' "$s" "$label" "$obs/$s.compare.txt"
      # grep -m, not head: head closing the pipe early would end this script (pipefail).
      { grep -m 60 -E '^(DIFF|STALE)' "$obs/$s.compare.txt" || true; } | sed 's/^/    | /'
      tail -n1 "$obs/$s.compare.txt" | sed 's/^/    | /'
    fi
  done
}

# recorded SCENARIO: its recorded reference observation.
recorded() {
  echo "$COMPAT_DIR/diff/reference-kafka-$("$COMPAT_DIR/diff/observe.sh" --kafka-version "$1")/$1.json"
}
reference_dir=recorded
if [ "$skiff_only" = 0 ]; then
  for ((i = 1; i <= runs; i++)); do
    observe_all "$COMPAT_DIR/kafka/start-kafka.sh" "$base/kafka-$i"
  done
  for ((i = 2; i <= runs; i++)); do
    compare_dirs "kafka-1 vs kafka-$i (stability)" "$base/kafka-1" "$base/kafka-$i" --no-accepted
  done
  if [ "$record" = 1 ]; then
    if [ "$failed" = 0 ]; then
      for s in "${scenarios[@]}"; do
        mkdir -p "$(dirname "$(recorded "$s")")"
        cp "$base/kafka-1/$s.json" "$(recorded "$s")"
      done
      log "recorded ${#scenarios[@]} observations into $COMPAT_DIR/diff/reference-kafka-*/"
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
