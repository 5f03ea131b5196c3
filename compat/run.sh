#!/usr/bin/env bash
# Run the compatibility scenarios against one broker.
#
# Usage: compat/run.sh [--skiff | --kafka [--kafka-version V] | --bootstrap HOST:PORT]
#                      [--suite smoke] [--only SCENARIO]... [--keep-logs]
#        compat/run.sh --diff [--only SCENARIO]...   (live differential mode, see below)
#   --skiff       start target/release/skiff (built if missing)   [default]
#   --kafka       start the reference Apache Kafka (KRaft, fetched into target/kafka-libs)
#   --kafka-version  which Apache Kafka --kafka starts: 4.1.1 (the default, the reference of
#                 every suite but share) or another, fetched into target/kafka-libs-VERSION
#                 (the share suite's reference is 4.4.0: --kafka --kafka-version 4.4.0)
#   --bootstrap   use a broker that is already running; nothing is started or stopped
#   --suite       which scenarios (several: comma-separated, e.g. all,franz-go); full runs
#                 every suite below (all, franz-go, then librdkafka's); the others:
#                 smoke (default: the client scenarios; with --only, all is the default),
#                 wire (raw-protocol
#                 probe compared with the reference Kafka's recorded answers), extended
#                 (consumer groups with commits, idempotent producers, transactions),
#                 java-newest (the java, java-groups-admin, java-txn and java-streams(-eos)
#                 scenarios with the newest Java client, JAVA_NEWEST_CLIENT in lib.sh, named
#                 NAME@VERSION, e.g. java-txn@4.4.0), all
#                 (smoke, wire, extended, java-newest and diff), franz-go (franz-go's own pkg/kgo test suite; on demand, not
#                 in all)
#                 librdkafka: librdkafka's own test suite, allow-listed tests (on demand,
#                 not part of "all"; compat/librdkafka/run.sh, which takes more options):
#                 two broker passes, the suite's "default" and "noautocreate" scenarios
#                 (one pass, the default scenario, with --bootstrap)
#                 cli: every `skiff` client verb (compat/cli/cli_suite.py), its --json
#                 output checked against confluent-kafka's AdminClient (on demand, not in
#                 all; builds target/release/skiff unless SKIFF_BIN is set)
#                 diff: the differential observers (compat/diff/: offsets, error codes,
#                 configs, group states seen by the Java client, confluent-kafka and
#                 kafka-python), each
#                 compared with the recorded reference Kafka 4.1.1 observation through
#                 compat/diff/accepted.json (part of "all")
#                 security: clients over SASL_SSL (on demand, not part of "all")
#                 share: share groups (KIP-932) with kafka-clients 4.4.0's KafkaShareConsumer
#                 and Admin and confluent-kafka's ShareConsumer (compat/java/JavaShareGroups.java,
#                 compat/python/confluent_share.py, compat/share/broker-restart.sh); on demand,
#                 not part of "all"; its reference is Kafka 4.4.0 (--kafka-version 4.4.0); the
#                 broker (either) starts with SHARE_START_ARGS (lib.sh); with the
#                 diff-java-share observer (compat/diff/JavaShareObserve.java) compared
#                 with its recording against Kafka 4.4.0
#                 acl: clients under Kafka's StandardAuthorizer (on demand, alone: the
#                 security suite's broker with the authorizer on and User:ANONYMOUS, the
#                 PLAINTEXT listener, a super user)
#   --only        run just the named scenario(s): kcat, confluent-kafka, kafka-python, java,
#                 kafkajs, franz-go, wire-probe, confluent-groups, kafka-python-groups,
#                 java-groups-admin, kafka-python-admin, confluent-txn, kafka-python-txn,
#                 java-txn, kafkajs-groups, franz-go-groups, franz-go-848,
#                 franz-go-idempotent, java-streams, java-streams-eos, java-fetch-sessions,
#                 quota-confluent, quota-kafka-python, quota-java, quota-kafkajs,
#                 quota-franz-go, kgo-tests, java@4.4.0, java-groups-admin@4.4.0,
#                 java-txn@4.4.0, java-streams@4.4.0, java-streams-eos@4.4.0 (the version:
#                 JAVA_NEWEST_CLIENT),
#                 diff-java-offsets, diff-java-errors, diff-java-configs, diff-java-groups,
#                 diff-confluent-offsets, diff-confluent-errors, diff-confluent-configs,
#                 diff-confluent-groups, diff-kafka-python-admin, diff-java-features,
#                 diff-kafka-python-features, diff-java-cluster, diff-kafka-python-cluster,
#                 diff-java-telemetry, diff-java-quotas, diff-compare-selftest,
#                 java-share-basic, python-share-basic, java-share-explicit,
#                 python-share-explicit, java-share-member-kill, java-share-admin,
#                 share-broker-restart, diff-java-share (the share suite)
#   --keep-logs   keep the broker's temp dir even when everything passed
#   --diff        live differential mode: start the reference Kafka, run the diff observers,
#                 stop it, start Skiff, run them again, compare (compat/diff/run.sh, which
#                 also takes --runs N, --record, --kafka-only, --skiff-only); --only takes the
#                 diff scenario names with or without the "diff-" prefix
#
# Prints one PASS/FAIL line per scenario and a closing "compat: N passed, M failed" line;
# exits non-zero if any scenario failed or the broker died. Scenario output goes to
# target/compat-logs/<broker>-<suite>-<time>/<scenario>.log (its last 60 lines are printed on failure).
# Env: COMPAT_SCENARIO_TIMEOUT (seconds per scenario, default 300).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

broker=skiff bootstrap="" suite="" keep_logs=0 diff_mode=0
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --skiff) broker=skiff; shift ;;
    --kafka) broker=kafka; shift ;;
    --kafka-version) select_kafka_version "$2"; shift 2 ;;
    --bootstrap) broker=external; bootstrap="$2"; shift 2 ;;
    --suite) suite="$2"; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --keep-logs) keep_logs=1; shift ;;
    --diff) diff_mode=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# Without --suite: the smoke suite, or every suite of "all" when scenarios are named with --only.
if [ -z "$suite" ]; then
  suite=smoke
  [ ${#only[@]} -eq 0 ] || suite=all
fi

# Which broker the scenarios run against (compat/diff/check.sh compares the reference Kafka
# with its own recording without the accepted differences).
export COMPAT_BROKER="$broker"

# The live differential mode has its own runner (two brokers, one after the other).
if [ "$diff_mode" = 1 ]; then
  diff_args=()
  for name in "${only[@]}"; do diff_args+=(--only "${name#diff-}"); done
  exec "$COMPAT_DIR/diff/run.sh" "${diff_args[@]}"
fi

# Every suite: all and franz-go's tests against one broker, then librdkafka's suite (its
# own runner starts its own brokers).
if [ "$suite" = full ]; then
  target=("--$broker")
  [ "$broker" != external ] || target=(--bootstrap "$bootstrap")
  status=0
  "$0" "${target[@]}" --suite all,franz-go || status=1
  "$COMPAT_DIR/librdkafka/run.sh" "${target[@]}" || status=1
  [ "$status" = 0 ] && echo "compat full: every suite passed" || echo "compat full: some suite failed"
  exit "$status"
fi

# librdkafka's own test suite has its own runner and report.
if [ "$suite" = librdkafka ]; then
  case "$broker" in
    external) exec "$COMPAT_DIR/librdkafka/run.sh" --bootstrap "$bootstrap" ;;
    *) exec "$COMPAT_DIR/librdkafka/run.sh" "--$broker" ;;
  esac
fi

PY="$COMPAT_VENV/bin/python"
# Scenario table for each suite: name|command (run from the repo root, bootstrap appended).
smoke=(
  "kcat|$COMPAT_DIR/kcat/smoke.sh"
  "confluent-kafka|$PY $COMPAT_DIR/python/confluent_smoke.py"
  "kafka-python|$PY $COMPAT_DIR/python/kafka_python_smoke.py"
  "java|$COMPAT_DIR/java/scenario.sh JavaSmoke.java"
  "kafkajs|$COMPAT_DIR/node/scenario.sh smoke.js --no-group"
  "franz-go|$COMPAT_DIR/go/scenario.sh"
)
wire=(
  "wire-probe|$PY $COMPAT_DIR/wire/probe.py --expect $COMPAT_DIR/wire/reference-kafka-4.1.1.json"
)
extended=(
  "confluent-groups|$PY $COMPAT_DIR/python/confluent_groups.py"
  "kafka-python-groups|$PY $COMPAT_DIR/python/kafka_python_groups.py"
  "java-groups-admin|$COMPAT_DIR/java/scenario.sh JavaGroupsAdmin.java"
  "kafka-python-admin|$PY $COMPAT_DIR/python/kafka_python_admin.py"
  "confluent-txn|$PY $COMPAT_DIR/python/confluent_txn.py"
  "kafka-python-txn|$PY $COMPAT_DIR/python/kafka_python_txn.py"
  "java-txn|$COMPAT_DIR/java/scenario.sh JavaTxn.java"
  "kafkajs-groups|$COMPAT_DIR/node/scenario.sh smoke.js"
  "franz-go-groups|$COMPAT_DIR/go/scenario.sh -group"
  "franz-go-848|$COMPAT_DIR/go/scenario.sh -group -group-protocol consumer"
  "franz-go-idempotent|$COMPAT_DIR/go/scenario.sh -idempotent"
  "java-streams|$COMPAT_DIR/java/scenario.sh JavaStreamsWordCount.java"
  "java-streams-eos|$COMPAT_DIR/java/scenario.sh JavaStreamsWordCount.java --eos"
  "java-fetch-sessions|$COMPAT_DIR/java/scenario.sh JavaFetchSessions.java"
  "quota-confluent|$COMPAT_DIR/quota.sh confluent"
  "quota-kafka-python|$COMPAT_DIR/quota.sh kafka-python"
  "quota-java|$COMPAT_DIR/quota.sh java"
  "quota-kafkajs|$COMPAT_DIR/quota.sh kafkajs"
  "quota-franz-go|$COMPAT_DIR/quota.sh franz-go"
)
# The Java scenarios again with the newest Java client alone on the class path (lib.sh's
# JAVA_NEWEST_CLIENT; the brokers stay the reference Kafka 4.1.1 and Skiff).
newest_java="$COMPAT_DIR/java/scenario.sh --client $JAVA_NEWEST_CLIENT"
java_newest=(
  "java@$JAVA_NEWEST_CLIENT|$newest_java JavaSmoke.java"
  "java-groups-admin@$JAVA_NEWEST_CLIENT|$newest_java JavaGroupsAdmin.java"
  "java-txn@$JAVA_NEWEST_CLIENT|$newest_java JavaTxn.java"
  "java-streams@$JAVA_NEWEST_CLIENT|$newest_java JavaStreamsWordCount.java"
  "java-streams-eos@$JAVA_NEWEST_CLIENT|$newest_java JavaStreamsWordCount.java --eos"
)
franz_go=(
  "kgo-tests|$COMPAT_DIR/go/kgo-tests.sh"
)
# Scenarios over a SASL_SSL listener: the broker starts with the security settings below
# (the same for Kafka and Skiff); not part of `all`, whose broker has one PLAINTEXT listener.
security=(
  "security|$PY $COMPAT_DIR/python/confluent_security.py"
  "java-security|$COMPAT_DIR/java/scenario.sh JavaSecurity.java"
  "kcat-security|$COMPAT_DIR/kcat/security.sh"
  "kafka-python-security|$PY $COMPAT_DIR/python/kafka_python_security.py"
  "java-tokens|$COMPAT_DIR/java/scenario.sh JavaTokens.java"
)
# The `skiff` CLI's verbs (compat/cli/), their JSON checked against confluent-kafka's
# AdminClient; on demand (not part of `all`).
cli=(
  "cli|$PY $COMPAT_DIR/cli/cli_suite.py"
)
# Share groups (KIP-932): on demand, not part of `all`; the reference is Kafka 4.4.0 (the Java
# client too, whichever broker: SHARE_JAVA_CLIENT in lib.sh). The broker (Kafka or Skiff)
# starts with lib.sh's SHARE_START_ARGS. The diff observers of share groups (observe.sh
# --suite NAME says share) run here too, compared with their recording against Kafka 4.4.0.
share_java="$COMPAT_DIR/java/scenario.sh --client $SHARE_JAVA_CLIENT JavaShareGroups.java"
share=(
  "java-share-basic|$share_java --basic"
  "python-share-basic|$PY $COMPAT_DIR/python/confluent_share.py --basic"
  "java-share-explicit|$share_java --explicit"
  "python-share-explicit|$PY $COMPAT_DIR/python/confluent_share.py --explicit"
  "java-share-member-kill|$share_java --member-kill"
  "java-share-admin|$share_java --admin"
  "share-broker-restart|$COMPAT_DIR/share/broker-restart.sh $share_java"
)
SECURITY_START_ARGS=(--sasl-ssl --add-scram "SCRAM-SHA-512=[name=alice,password=alice-secret]"
  --plain-user carol=carol-secret)
# Scenarios under Kafka's StandardAuthorizer: the security suite's broker with the authorizer
# on and User:ANONYMOUS (the PLAINTEXT listener, and Kafka's controller listener) a super
# user, so a PLAINTEXT client is the administrator. Not part of `all`.
acl=(
  "confluent-acls|$PY $COMPAT_DIR/python/confluent_acls.py"
  "java-acls|$COMPAT_DIR/java/scenario.sh JavaAcls.java"
)
ACL_START_ARGS=("${SECURITY_START_ARGS[@]}"
  --set authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
  --set super.users=User:ANONYMOUS)
# The differential observers, compared with the recorded reference Kafka (compat/diff/).
# observe.sh --suite names each one's suite here: diff (this suite's plain broker), share (the
# share suite's broker and Kafka 4.4.0), or none (its broker needs two log dirs: only
# compat/diff/run.sh, which starts its brokers so, runs it).
diff=("diff-compare-selftest|python3 $COMPAT_DIR/diff/test_compare.py")
while read -r name; do
  case "$("$COMPAT_DIR/diff/observe.sh" --suite "$name")" in
    diff) diff+=("diff-$name|$COMPAT_DIR/diff/check.sh $name") ;;
    share) share+=("diff-$name|$COMPAT_DIR/diff/check.sh $name") ;;
  esac
done < <("$COMPAT_DIR/diff/observe.sh" --list)
scenarios=()
IFS=, read -r -a suite_names <<<"$suite"
for one in "${suite_names[@]}"; do
  case "$one" in
    smoke) scenarios+=("${smoke[@]}") ;;
    wire) scenarios+=("${wire[@]}") ;;
    extended) scenarios+=("${extended[@]}") ;;
    java-newest) scenarios+=("${java_newest[@]}") ;;
    all) scenarios+=("${smoke[@]}" "${wire[@]}" "${extended[@]}" "${java_newest[@]}" "${diff[@]}") ;;
    diff) scenarios+=("${diff[@]}") ;;
    security) scenarios+=("${security[@]}") ;;
    acl) scenarios+=("${acl[@]}") ;;
    cli) scenarios+=("${cli[@]}") ;;
    share) scenarios+=("${share[@]}") ;;
    franz-go)
      scenarios+=("${franz_go[@]}")
      # franz-go's own suite compiles and runs for minutes: a longer per-scenario timeout.
      export COMPAT_SCENARIO_TIMEOUT="${COMPAT_SCENARIO_TIMEOUT:-900}"
      ;;
    *) die "unknown suite: $one (known: smoke, wire, extended, java-newest, all, franz-go, diff, security, acl, cli, share, librdkafka, full)" ;;
  esac
done
# `--only security` (or another security scenario, or cli, or a share one) brings in its suite.
for entry in "${security[@]}" "${cli[@]}" "${share[@]}"; do
  if [[ " ${only[*]} " == *" ${entry%%|*} "* ]] && [[ ! " ${scenarios[*]} " == *"$entry"* ]]; then
    scenarios+=("$entry")
  fi
done
# `--only confluent-acls` (or another ACL scenario) brings in the acl suite.
for entry in "${acl[@]}"; do
  if [[ " ${only[*]} " == *" ${entry%%|*} "* ]] && [[ ! " ${scenarios[*]} " == *"$entry"* ]]; then
    scenarios+=("$entry")
  fi
done
start_args=()
for entry in "${security[@]}"; do
  if [[ " ${scenarios[*]} " == *"$entry"* ]]; then start_args=("${SECURITY_START_ARGS[@]}"); fi
done
for entry in "${acl[@]}"; do
  if [[ " ${scenarios[*]} " == *"$entry"* ]]; then
    # The ACL scenarios need the authorizer; the security ones cannot run beside them.
    for other in "${security[@]}"; do
      [[ ! " ${scenarios[*]} " == *"$other"* ]] || die "the acl suite runs alone (its broker has the authorizer on)"
    done
    start_args=("${ACL_START_ARGS[@]}")
  fi
done

for entry in "${share[@]}"; do
  if [[ " ${scenarios[*]} " == *"$entry"* ]]; then start_args+=("${SHARE_START_ARGS[@]}"); break; fi
done

install_cleanup_trap
ensure_venv
command -v kcat >/dev/null || die "kcat is not installed (apt-get install kcat)"
# Install the kafkajs packages, build the franz-go scenario and fetch a Java client's jars
# before the broker starts, so a cold first run (npm ci compiles zstd-napi; go build compiles
# franz-go; Maven downloads) is not timed.
for entry in "${scenarios[@]}"; do
  name="${entry%%|*}" cmd="${entry#*|}"
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $name "* ]]; then continue; fi
  case "$cmd" in
    "$COMPAT_DIR/node/scenario.sh"*) "$COMPAT_DIR/node/scenario.sh" --prepare || die "compat/node: npm ci failed" ;;
    "$COMPAT_DIR/go/scenario.sh"*) "$COMPAT_DIR/go/scenario.sh" --prepare || die "compat/go: go build failed" ;;
    # shellcheck disable=SC2086
    "$COMPAT_DIR/java/scenario.sh --client "*) $cmd --prepare || die "compat/java: mvn failed" ;;
    # The CLI under test: $SKIFF_BIN, or target/release/skiff built now (also for --kafka).
    "$PY $COMPAT_DIR/cli/"*)
      [ -n "${SKIFF_BIN:-}" ] || (cd "$REPO_ROOT" && env -u CARGO_TARGET_DIR cargo build --release --bin skiff >&2) ||
        die "cargo build --release --bin skiff failed" ;;
  esac
done

broker_pid="" broker_dir="" broker_version="$broker" remove_broker_dir=0
# The broker's pid: a scenario may have restarted it (share-broker-restart, through
# start-kafka.sh/start-skiff.sh --restart, which record the new one in WORKDIR/broker.pid).
current_broker_pid() {
  if [ -n "$broker_dir" ] && [ -f "$broker_dir/broker.pid" ]; then cat "$broker_dir/broker.pid"; else echo "$broker_pid"; fi
}
# Stop the broker this script started, then drop its temp dir unless it is kept for logs.
stop_broker() {
  broker_pid="$(current_broker_pid)"
  [ -z "$broker_pid" ] || stop_pid "$broker_pid" 60
  [ "$remove_broker_dir" = 0 ] || [ -z "$broker_dir" ] || rm -rf "$broker_dir"
}
if [ "$broker" != external ]; then
  start="$COMPAT_DIR/start-skiff.sh"
  [ "$broker" = kafka ] && start="$COMPAT_DIR/kafka/start-kafka.sh"
  t0=$SECONDS
  env_out="$("$start" "${start_args[@]}")" || die "could not start $broker"
  eval "$env_out" # sets BOOTSTRAP, PID, WORKDIR, BROKER_VERSION (and SASL_SSL_BOOTSTRAP, SSL_CA)
  export SASL_SSL_BOOTSTRAP="${SASL_SSL_BOOTSTRAP:-}" SSL_CA="${SSL_CA:-}"
  # shellcheck disable=SC2153
  bootstrap="$BOOTSTRAP" broker_pid="$PID" broker_dir="$WORKDIR" broker_version="$BROKER_VERSION"
  on_exit stop_broker
  # A scenario that restarts the broker (share-broker-restart) finds it here.
  export COMPAT_BROKER_WORKDIR="$broker_dir"
  log "$broker_version up at $bootstrap (pid $broker_pid) in $((SECONDS - t0))s"
fi

run_id="$broker_version-$suite-$(date -u +%Y%m%dT%H%M%S)"
logdir="$REPO_ROOT/target/compat-logs/$run_id"
mkdir -p "$logdir"

passed=0 failed=0 failed_names=()
suite_t0=$(date +%s.%N)
for entry in "${scenarios[@]}"; do
  name="${entry%%|*}" cmd="${entry#*|}"
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $name "* ]]; then continue; fi
  t0=$(date +%s.%N)
  set +e
  # $cmd is a command line from the table above: split it into words on purpose.
  # shellcheck disable=SC2086
  (cd "$REPO_ROOT" && BOOTSTRAP="$bootstrap" timeout "${COMPAT_SCENARIO_TIMEOUT:-300}" $cmd "$bootstrap") \
    >"$logdir/$name.log" 2>&1
  rc=$?
  set -e
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc = 0 ]; then
    passed=$((passed + 1))
    printf 'PASS  %-26s %6ss  %s\n' "$name" "$secs" "$broker_version"
  else
    failed=$((failed + 1)) failed_names+=("$name")
    [ $rc = 124 ] && echo "(timed out after ${COMPAT_SCENARIO_TIMEOUT:-300}s)" >>"$logdir/$name.log"
    printf 'FAIL  %-26s %6ss  %s  (exit %s, log %s)\n' "$name" "$secs" "$broker_version" "$rc" "$logdir/$name.log"
    sed 's/^/    | /' "$logdir/$name.log" | tail -n 60
  fi
done

[ -z "$broker_pid" ] || broker_pid="$(current_broker_pid)"
if [ -n "$broker_pid" ] && ! kill -0 "$broker_pid" 2>/dev/null; then
  failed=$((failed + 1)) failed_names+=("broker-alive")
  echo "FAIL  broker-alive          $broker_version exited during the suite (log in $broker_dir)"
fi
suite_secs=$(awk -v a="$suite_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

if [ -n "$broker_dir" ]; then
  if [ "$failed" -gt 0 ] || [ "$keep_logs" = 1 ]; then
    cp "$broker_dir"/*.log "$logdir/" 2>/dev/null || true
    log "broker logs copied to $logdir (broker dir kept: $broker_dir)"
  else
    remove_broker_dir=1
  fi
fi

log "suite $suite against $broker_version took ${suite_secs}s; logs in $logdir"
[ "$failed" = 0 ] || log "failed: ${failed_names[*]}"
echo "compat: $passed passed, $failed failed"
[ "$failed" = 0 ]
