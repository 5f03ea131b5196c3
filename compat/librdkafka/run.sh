#!/usr/bin/env bash
# Run librdkafka's own integration test suite (tests/ of the librdkafka the rdkafka crate
# vendors) against one broker.
#
# Usage: compat/librdkafka/run.sh [--skiff | --kafka | --bootstrap HOST:PORT]
#                                 [--scenario default|noautocreate|both]
#                                 [--tests LIST | --all] [--timeout S] [--quick] [--build-only]
#   --skiff        start target/release/skiff (compat/start-skiff.sh)           [default]
#   --kafka        start the reference Apache Kafka (compat/kafka/start-kafka.sh)
#   --bootstrap    use a broker that is already running; nothing is started or stopped
#   --scenario S   the suite's broker scenario (tests/scenarios/ of librdkafka; the runner
#                  runs only the tests of its TEST_SCENARIO): "default" (auto-create on),
#                  "noautocreate" (the broker is started with auto.create.topics.enable=false),
#                  or "both": one pass per scenario, each with its own freshly started broker.
#                  Default: both with --skiff/--kafka, default with --bootstrap
#   --tests LIST   test names (0001_multiobj) or 4-digit numbers (0001), comma or space
#                  separated; default: every test in compat/librdkafka/allowlist.txt (each
#                  pass takes the names of its scenario)
#   --all          every test of the suite that talks to a broker, in the selected
#                  scenario(s) (to categorise tests)
#   --timeout S    wall-clock limit per test number (default 180; a test over it is TIMEOUT;
#                  allowlist.txt may give a test more with "timeout=S" after its name)
#   --quick        the suite's quick mode (-Q): fewer messages, but every SUB_TEST() that is
#                  not SUB_TEST_QUICK() is silently skipped, so some tests pass having done
#                  nothing; the allow-list is measured without it
#   --build-only   build the suite (cached under target/librdkafka-src) and stop
#
# The suite is built once: the vendored source is copied to target/librdkafka-src,
# configured and built there with `make libs` and `make -C tests build` (test-runner);
# nothing of it is committed. Each test number runs as its own test-runner process in the
# suite's plain ("bare") mode, full (not quick) mode, sequentially (-p1), with the local tests
# left out (-L); test.conf points at the broker. One line per test name:
#   PASS/FAIL/SKIP/TIMEOUT  name  seconds  [the runner's failure or skip reason]
# and a closing "librdkafka: N passed, M failed, K skipped" line per pass (with both
# scenarios, a last "librdkafka total" line). Exits non-zero when a
# selected test failed or timed out (a SKIP of a test the runner itself skips is not a
# failure). Logs per test number: target/compat-logs/librdkafka-<broker>-<scenario>-<time>/.
# Env: TEST_KAFKA_VERSION (default 4.0.0, see compat/librdkafka/README.md),
#      KAFKA_PATH / BROKERS are set for the runner (kafka-path/bin/kafka-topics.sh, see below),
#      LIBRDKAFKA_SRC (librdkafka source dir; default: the rdkafka-sys crate's copy in
#      ~/.cargo/registry), RDK_TEST_TIMEOUT_MULTIPLIER (test.timeout.multiplier, default 2),
#      RDK_INITIAL_REBALANCE_DELAY_MS (group.initial.rebalance.delay.ms of both brokers,
#      default 3000 = Kafka's default, as librdkafka's trivup harness runs them).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=SCRIPTDIR/../lib.sh
. "$HERE/../lib.sh"

RDKAFKA_SYS_VERSION="4.10.0+2.12.1" # rdkafka-sys in Cargo.lock; its librdkafka is 2.12.1
BUILD_DIR="$REPO_ROOT/target/librdkafka-src"
TESTS_DIR="$BUILD_DIR/tests"

broker=skiff bootstrap="" list="" all=0 per_test_timeout=180 build_only=0 quick=() scenario=""
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) scenario="$2"; shift 2 ;;
    --skiff) broker=skiff; shift ;;
    --kafka) broker=kafka; shift ;;
    --bootstrap) broker=external; bootstrap="$2"; shift 2 ;;
    --tests) list="$2"; shift 2 ;;
    --all) all=1; shift ;;
    --timeout) per_test_timeout="$2"; shift 2 ;;
    --quick) quick=(-Q); shift ;;
    --build-only) build_only=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
export TEST_KAFKA_VERSION="${TEST_KAFKA_VERSION:-4.0.0}"
if [ -z "$scenario" ]; then
  scenario=both
  [ "$broker" = external ] && scenario=default # its configuration is not ours to choose
fi
case "$scenario" in
  default | noautocreate | both) ;;
  *) die "unknown scenario: $scenario (default, noautocreate or both)" ;;
esac

# --- build ---------------------------------------------------------------------------------

# ensure_build_deps: the packages librdkafka's configure needs for the features the tests
# touch (ssl, zlib, zstd, lz4, curl), RapidJSON (header-only; the suite checks statistics
# JSON with it, 0053/0098/0101/0110 are skipped without it) and a C/C++ toolchain;
# installed with apt when missing.
ensure_build_deps() {
  local pkgs="build-essential pkg-config python3 libssl-dev libsasl2-dev zlib1g-dev libzstd-dev liblz4-dev libcurl4-openssl-dev rapidjson-dev"
  local p missing=""
  for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  log "installing build dependencies:$missing"
  $sudo apt-get update -qq || true
  # $missing is a word list on purpose.
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >&2
}

# find_source: the vendored librdkafka source directory.
find_source() {
  if [ -n "${LIBRDKAFKA_SRC:-}" ]; then echo "$LIBRDKAFKA_SRC"; return; fi
  local d
  for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"rdkafka-sys-$RDKAFKA_SYS_VERSION"/librdkafka; do
    [ -f "$d/tests/test.c" ] && { echo "$d"; return; }
  done
  # The crate is fetched by any cargo command that resolves the lockfile.
  (cd "$REPO_ROOT" && cargo fetch -q >&2) || true
  for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"rdkafka-sys-$RDKAFKA_SYS_VERSION"/librdkafka; do
    [ -f "$d/tests/test.c" ] && { echo "$d"; return; }
  done
  die "librdkafka source of rdkafka-sys $RDKAFKA_SYS_VERSION not found (set LIBRDKAFKA_SRC)"
}

# ensure_built: configure and build librdkafka and its test-runner under target/ once.
# The stamp names the source version and the build features, so a build made before a
# feature was added (e.g. one without RapidJSON) is rebuilt.
ensure_built() {
  local stamp="$BUILD_DIR/.skiff-build-stamp" want="rdkafka-sys $RDKAFKA_SYS_VERSION with-rapidjson"
  if [ -x "$TESTS_DIR/test-runner" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  ensure_build_deps
  local src blog="$REPO_ROOT/target/librdkafka-build.log"
  src="$(find_source)"
  log "building librdkafka and its test suite from $src into $BUILD_DIR (log $blog)"
  rm -rf "$BUILD_DIR"
  mkdir -p "$REPO_ROOT/target"
  cp -r "$src" "$BUILD_DIR"
  local jobs
  jobs="$(nproc 2>/dev/null || echo 2)"
  if ! (cd "$BUILD_DIR" &&
    ./configure --disable-gssapi &&
    make -j"$jobs" libs &&
    make -C tests -j"$jobs" build) >"$blog" 2>&1; then
    tail -n 40 "$blog" >&2
    die "librdkafka build failed (log $blog)"
  fi
  # configure turns RapidJSON off silently when its headers are not found.
  grep -q '^#define WITH_RAPIDJSON 1' "$BUILD_DIR/config.h" ||
    die "librdkafka's configure did not find RapidJSON (no WITH_RAPIDJSON in $BUILD_DIR/config.h; log $blog)"
  echo "$want" >"$stamp"
  log "built $TESTS_DIR/test-runner"
}

ensure_built
[ "$build_only" = 1 ] && exit 0

# --- both scenarios: one pass each, by running this script again -------------------------

if [ "$scenario" = both ]; then
  install_cleanup_trap
  counts="$(mktemp "${TMPDIR:-/tmp}/librdkafka-counts.XXXXXX")"
  on_exit "rm -f '$counts'"
  rc=0
  for sc in default noautocreate; do
    # A later --scenario wins over the one in args; the pass may find nothing of its own.
    RDK_SCENARIO_PASS="$counts" "$0" "${args[@]}" --scenario "$sc" || rc=1
  done
  awk '{ p += $1; f += $2; s += $3 } END {
      printf "librdkafka total: %d passed, %d failed, %d skipped (%d scenario pass%s with tests)\n",
        p, f, s, NR, NR == 1 ? "" : "es" }' "$counts"
  exit $rc
fi

# --- which tests -----------------------------------------------------------------------------

# The suite's test table (tests/test.c): "name<TAB>flags<TAB>scenario" per test.
test_table() {
  python3 - "$TESTS_DIR/test.c" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
table = src[src.index("struct test tests[] = {"):]
table = table[:table.index("{NULL}")]
for m in re.finditer(r"_TEST\((\w+),\s*([^,)]*)(.*?)\)\s*,\s*(?=_TEST|#|/\*|$)", table, re.S):
    name, flags, rest = m.group(1), m.group(2).strip(), m.group(3)
    sc = re.search(r'\.scenario\s*=\s*"([^"]*)"', rest)
    print(f"{name}\t{flags}\t{sc.group(1) if sc else 'default'}")
EOF
}

declare -A selected=() # test name -> 1
table="$(test_table)"
[ -n "$table" ] || die "could not read the test table from $TESTS_DIR/test.c"
in_scenario() { # the names of the table that run in $scenario (a test may name several)
  awk -F'\t' -v sc="$scenario" '{ n = split($3, s, ","); for (i = 1; i <= n; i++) if (s[i] == sc) print $1 }' <<<"$table"
}
broker_tests() { # names that need a broker and run in $scenario
  awk -F'\t' '$2 !~ /TEST_F_LOCAL|TEST_F_MANUAL/ { print $1 }' <<<"$table" | grep -Fx -f <(in_scenario)
}
if [ "$all" = 1 ]; then
  for n in $(broker_tests); do selected[$n]=1; done
else
  if [ -z "$list" ]; then
    list="$(sed -e 's/#.*//' "$HERE/allowlist.txt" | awk 'NF { print $1 }')"
  fi
  bt="$(broker_tests)" insc="$(in_scenario)"
  for item in ${list//,/ }; do
    found=0 other=""
    while IFS= read -r n; do # a number selects its broker tests, a name any test
      [ "$n" = "$item" ] || continue
      found=1
      if grep -qFx "$n" <<<"$insc"; then selected[$n]=1; else other=1; fi
    done < <(cut -f1 <<<"$table")
    while IFS= read -r n; do
      if [[ "$item" =~ ^[0-9]{4}$ && "$n" == "$item"_* ]]; then selected[$n]=1 found=1; fi
    done <<<"$bt"
    if [[ "$item" =~ ^[0-9]{4}$ ]] && [ "$found" = 0 ] &&
      awk -F'\t' -v i="$item" 'index($1, i "_") == 1 { f = 1 } END { exit !f }' <<<"$table"; then
      found=1 other=1 # a number with tests only in other scenarios
    fi
    [ "$found" = 1 ] || die "no test named $item in the suite"
    if [ -n "$other" ] && [ -z "${RDK_SCENARIO_PASS:-}" ]; then
      log "$item: not run, its scenario is not $scenario (see --scenario)"
    fi
  done
fi
if [ ${#selected[@]} = 0 ] && [ -n "${RDK_SCENARIO_PASS:-}" ]; then
  log "scenario $scenario: none of the selected tests runs in it, no broker started"
  exit 0
fi
[ ${#selected[@]} -gt 0 ] || die "no tests selected (in scenario $scenario)"
mapfile -t numbers < <(printf '%s\n' "${!selected[@]}" | cut -c1-4 | sort -u)

# --- broker --------------------------------------------------------------------------------

install_cleanup_trap
broker_pid="" broker_dir="" broker_version="$broker"
stop_broker() { [ -z "$broker_pid" ] || stop_pid "$broker_pid" 60; }
if [ "$broker" != external ]; then
  # Both brokers get group.initial.rebalance.delay.ms=3000, Kafka's default, which is what
  # librdkafka's own harness (trivup) runs its suite with: tests such as 0102 and 0118
  # start two consumers at once and count on them landing in the first generation
  # together. With 0 (the other compat suites' value) the first member's JoinGroup round
  # completes at once and those tests fail whenever the second JoinGroup comes a little
  # later: against Kafka too. RDK_INITIAL_REBALANCE_DELAY_MS overrides it for both.
  # Time retention is off for both: 0052_msg_timestamps (and 0054) produce CreateTime
  # stamps from January 1970 (0052 adds 24 h in ms to a time in seconds), so whichever
  # periodic retention pass (every log.retention.check.interval.ms, 5 min) lands between
  # their produce and consume deletes the records, on Kafka as on Skiff: 0 of 20 consumed.
  settings=(--set "group.initial.rebalance.delay.ms=${RDK_INITIAL_REBALANCE_DELAY_MS:-3000}"
    --set log.retention.ms=-1)
  start=("$COMPAT_DIR/start-skiff.sh" -- "${settings[@]}")
  [ "$broker" = kafka ] && start=("$COMPAT_DIR/kafka/start-kafka.sh" "${settings[@]}")
  # The suite's scenarios/noautocreate.json: the same broker without topic auto-creation.
  # (start-skiff.sh passes what follows its "--" to skiff; start-kafka.sh takes --set too.)
  [ "$scenario" = noautocreate ] && start+=(--set auto.create.topics.enable=false)
  env_out="$("${start[@]}")" || die "could not start $broker"
  eval "$env_out" # sets BOOTSTRAP, PID, WORKDIR, BROKER_VERSION
  # shellcheck disable=SC2153
  bootstrap="$BOOTSTRAP" broker_pid="$PID" broker_dir="$WORKDIR" broker_version="$BROKER_VERSION"
  on_exit stop_broker
  log "$broker_version up at $bootstrap (pid $broker_pid)"
fi

logdir="$REPO_ROOT/target/compat-logs/librdkafka-$broker_version-$scenario-$(date -u +%Y%m%dT%H%M%S)-$$"
mkdir -p "$logdir"
conf="$logdir/test.conf"
cat >"$conf" <<EOF
# Written by compat/librdkafka/run.sh for one run.
bootstrap.servers=$bootstrap
# 2 shared cores: give the suite's own timeouts room.
test.timeout.multiplier=${RDK_TEST_TIMEOUT_MULTIPLIER:-2}
# Fresh topic names on every run, so reruns against one broker never see old records.
test.topic.random=true
EOF

# --- run -----------------------------------------------------------------------------------

# Tests that call Kafka's bin/kafka-topics.sh (test_kafka_topics(): 0045, 0052, 0077) get a
# stand-in doing the same through the Admin API (kafka-path/bin/kafka-topics.sh, run with the
# compat venv's confluent-kafka). Other KAFKA_PATH tools (kafka-acls.sh, the Java test
# programs) are not there: those tests fail as they do without KAFKA_PATH.
ensure_venv >&2
export KAFKA_PATH="$HERE/kafka-path" BROKERS="$bootstrap" SKIFF_COMPAT_PYTHON="$COMPAT_VENV/bin/python"

# A test listed with "timeout=S" in allowlist.txt gets S seconds when that is more than
# --timeout (tests whose own waits are long, such as telemetry push intervals).
declare -A own_limit=()
while read -r name field; do
  case "$field" in timeout=*) own_limit[$name]="${field#timeout=}" ;; esac
done < <(sed -e 's/#.*//' "$HERE/allowlist.txt" | awk 'NF >= 2 { print $1, $2 }')

results="$logdir/results.tsv"
: >"$results"
passed=0 failed=0 skipped=0
log "running ${#selected[@]} test(s) in ${#numbers[@]} test-runner invocation(s), scenario $scenario, TEST_KAFKA_VERSION=$TEST_KAFKA_VERSION, logs in $logdir"
for num in "${numbers[@]}"; do
  out="$logdir/$num.log"
  limit="$per_test_timeout"
  for name in $(printf '%s\n' "${!selected[@]}" | grep "^$num"); do
    if [ -n "${own_limit[$name]:-}" ] && [ "${own_limit[$name]}" -gt "$limit" ]; then
      limit="${own_limit[$name]}"
    fi
  done
  set +e
  # (The outer 2>/dev/null drops bash's own "Aborted" notice when a test aborts the runner.)
  { (cd "$TESTS_DIR" &&
    LD_LIBRARY_PATH="$TESTS_DIR/../src:$TESTS_DIR/../src-cpp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      TESTS="$num" TEST_MODE=bare TEST_SCENARIO="$scenario" RDKAFKA_TEST_CONF="$conf" RDKAFKA_GITVER="2.12.1" \
      timeout -k 10 "$limit" ./test-runner -p1 -L "${quick[@]}") >"$out" 2>&1; } 2>/dev/null
  rc=$?
  set -e
  # The runner's summary table: "| name | STATE | 1.234s | reason".
  plain="$(sed 's/\x1b\[[0-9;]*m//g' "$out")"
  summary="$(awk -F'|' 'NF >= 4 && $3 ~ /PASSED|FAILED|SKIPPED|RUNNING|NOT STARTED/ {
      name = $2; gsub(/^ +| +$/, "", name); st = $3; gsub(/^ +| +$/, "", st)
      d = $4; gsub(/^ +| +$/, "", d); sub(/s$/, "", d)
      why = $5; for (i = 6; i <= NF; i++) why = why "|" $i; gsub(/^ +| +$/, "", why)
      print name "\t" st "\t" d "\t" why }' <<<"$plain")"
  for name in $(printf '%s\n' "${!selected[@]}" | grep "^$num" | sort); do
    line="$(awk -F'\t' -v n="$name" '$1 == n' <<<"$summary" | head -n 1)"
    state="$(cut -f2 <<<"$line")" secs="$(cut -f3 <<<"$line")" why="$(cut -f4 <<<"$line")"
    if [ -z "$line" ] && grep -q "Test $name PASSED" <<<"$plain"; then
      state=PASSED secs="?" why="(passed before the runner was stopped)"
    elif [ -z "$line" ] && { [ $rc = 124 ] || [ $rc = 137 ]; }; then
      last="$( (grep -F "[$name" <<<"$plain" || true) | tail -n 1 | sed 's/^\[[^]]*\] //' | cut -c1-160)"
      state=TIMEOUT secs="$limit"
      why="test-runner killed after ${limit}s; last line: ${last:-(not started)}"
    elif [ -z "$line" ]; then # the runner aborted: take the failed assertion's message
      why="$(awk -v n="### Test \"$name" 'f { print; exit } index($0, n) == 1 { f = 1 }' <<<"$plain" | cut -c1-300)"
      state=FAILED secs="?" why="runner aborted (exit $rc): ${why:-see $out}"
    fi
    case "$state" in
      PASSED) verdict=PASS; passed=$((passed + 1)) ;;
      SKIPPED) verdict=SKIP; skipped=$((skipped + 1)) ;;
      TIMEOUT) verdict=TIMEOUT; failed=$((failed + 1)) ;;
      *) verdict=FAIL; failed=$((failed + 1)) ;;
    esac
    secs="${secs%s}"
    printf '%-7s %-48s %8ss  %s\n' "$verdict" "$name" "$secs" "$why"
    printf '%s\t%s\t%s\t%s\n' "$name" "$verdict" "$secs" "$why" >>"$results"
  done
done

if [ -n "$broker_pid" ] && ! kill -0 "$broker_pid" 2>/dev/null; then
  failed=$((failed + 1))
  echo "FAIL    broker-alive: $broker_version exited during the suite (log in $broker_dir)"
fi
if [ -n "$broker_dir" ]; then
  cp "$broker_dir"/*.log "$logdir/" 2>/dev/null || true
  on_exit "rm -rf '$broker_dir'"
fi
log "results in $results"
echo "librdkafka: $passed passed, $failed failed, $skipped skipped (against $broker_version, scenario $scenario)"
[ -z "${RDK_SCENARIO_PASS:-}" ] || echo "$passed $failed $skipped" >>"$RDK_SCENARIO_PASS"
[ "$failed" = 0 ]
