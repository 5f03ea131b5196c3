#!/usr/bin/env bash
# Start the reference Apache Kafka broker: one KRaft node in combined mode
# (process.roles=broker,controller) on free loopback ports, in a fresh temp dir.
#
# Usage: compat/kafka/start-kafka.sh [--port PORT] [--workdir DIR] [--partitions N]
#                                    [--log-dirs N] [--set KEY=VALUE]... [--sasl-ssl]
#                                    [--add-scram SPEC]... [--plain-user NAME=PASSWORD]...
#                                    [--kafka-version VERSION]
#        compat/kafka/start-kafka.sh --restart WORKDIR
#   --log-dirs  N log directories (JBOD), WORKDIR/logs-1 .. logs-N, instead of WORKDIR/data
#   --set  a server.properties entry, replacing the default one of that key (repeatable),
#          e.g. --set auto.create.topics.enable=false
#   --sasl-ssl, --add-scram, --plain-user: a SASL_SSL listener with test certificates, SCRAM
#          users (kafka-storage format --add-scram) and PLAIN users, as compat/lib.sh describes
#          them; compat/start-skiff.sh takes the same
#
# Fetches Kafka's jars into target/kafka-libs/ on first use (Maven, cached), formats the
# storage, starts the broker in the background, waits until it answers Kafka requests, then
# prints shell-evaluable lines on stdout and exits (the broker keeps running):
#   BOOTSTRAP=127.0.0.1:PORT
#   PID=<java pid>
#   WORKDIR=<temp dir with server.properties, data/ and kafka.log>
# and with --sasl-ssl also SASL_SSL_BOOTSTRAP=127.0.0.1:PORT and SSL_CA=<CA certificate file>.
# Stop it with `kill PID` (it shuts down cleanly on SIGTERM), then remove WORKDIR.
# Env: KAFKA_HEAP_OPTS (default -Xmx512m -Xms256m), KAFKA_JVM_OPTS (extra JVM flags),
#      KAFKA_START_TIMEOUT (seconds, default 180).
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

port="" workdir="" partitions=4 log_dirs=1
overrides=()
while [ $# -gt 0 ]; do
  case "$1" in
    --kafka-version) select_kafka_version "$2"; shift 2 ;;
    --restart)
      restart_broker "$2" kafka.log "${KAFKA_START_TIMEOUT:-180}"
      exit 0 ;;
    --port) port="$2"; shift 2 ;;
    --workdir) workdir="$2"; shift 2 ;;
    --partitions) partitions="$2"; shift 2 ;;
    --log-dirs) log_dirs="$2"; shift 2 ;;
    --set)
      [[ "$2" == ?*=* ]] || die "--set takes KEY=VALUE, got: $2"
      overrides+=("$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *)
      parse_security_arg "$1" "${2:-}" || die "unknown argument: $1"
      shift "$SECURITY_SHIFT" ;;
  esac
done

ensure_kafka_libs
LIBS="$KAFKA_LIBS"
kafka_jar="$(find "$LIBS" -maxdepth 1 -name "kafka_2.13-*.jar" | head -n1)"
KAFKA_VERSION="$(basename "$kafka_jar" .jar)"; KAFKA_VERSION="${KAFKA_VERSION#kafka_2.13-}"

mapfile -t ports < <(free_ports 3)
[ -n "$port" ] || port="${ports[0]}"
cport="${ports[1]}"
[ "$cport" != "$port" ] || cport="$(free_port)"
sport="${ports[2]}"
made_workdir=0
[ -n "$workdir" ] || made_workdir=1 workdir="$(mktemp -d "${TMPDIR:-/tmp}/skiff-compat-kafka.XXXXXX")"
mkdir -p "$workdir/data"
dirs="$workdir/data"
if [ "$log_dirs" -gt 1 ]; then
  dirs=""
  for ((i = 1; i <= log_dirs; i++)); do mkdir -p "$workdir/logs-$i"; dirs="${dirs:+$dirs,}$workdir/logs-$i"; done
fi
listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
advertised="PLAINTEXT://127.0.0.1:$port"
protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
if [ "$SASL_SSL" = 1 ]; then
  make_test_pki "$workdir/pki"
  listeners+=",SASL_SSL://127.0.0.1:$sport"
  advertised+=",SASL_SSL://127.0.0.1:$sport"
  protocols+=",SASL_SSL:SASL_SSL"
fi

cat >"$workdir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$dirs
num.partitions=$partitions
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
EOF
[ "$SASL_SSL" = 0 ] || security_properties "$sport" "$workdir/pki" >>"$workdir/server.properties"
for kv in "${overrides[@]}"; do # drop the default line of the key, append the override
  awk -v k="${kv%%=*}" 'index($0, k "=") != 1' "$workdir/server.properties" >"$workdir/server.properties.new"
  echo "$kv" >>"$workdir/server.properties.new"
  mv "$workdir/server.properties.new" "$workdir/server.properties"
done

cat >"$workdir/log4j2.yaml" <<EOF
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.controller
        level: WARN
EOF

# The *_OPTS variables hold several JVM flags: split them on spaces on purpose.
# shellcheck disable=SC2206
JAVA_ARGS=(
  ${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:ActiveProcessorCount=2
  -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$workdir/log4j2.yaml"
  -Dkafka.logs.dir="$workdir"
  ${KAFKA_JVM_OPTS:-}
  -cp "$LIBS/*"
)

# A leading '-' would be read as an option by kafka-storage: draw until it isn't one.
cluster_id="$(python3 -c 'import base64, uuid
while True:
    c = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not c.startswith("-"):
        print(c)
        break')"
scram_args=()
for spec in "${ADD_SCRAM[@]}"; do scram_args+=(--add-scram "$spec"); done
log "formatting KRaft storage (Kafka $KAFKA_VERSION, cluster $cluster_id) in $workdir"
java "${JAVA_ARGS[@]}" kafka.tools.StorageTool format \
  --cluster-id "$cluster_id" --config "$workdir/server.properties" "${scram_args[@]}" \
  >"$workdir/format.log" 2>&1 || { cat "$workdir/format.log" >&2; die "kafka-storage format failed"; }

log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$port (controller on :$cport)"
started=$SECONDS
broker_cmd=(java "${JAVA_ARGS[@]}" kafka.Kafka "$workdir/server.properties")
setsid "${broker_cmd[@]}" >"$workdir/kafka.log" 2>&1 </dev/null &
pid=$!

if ! wait_for_broker "127.0.0.1:$port" "$pid" "${KAFKA_START_TIMEOUT:-180}"; then
  tail -n 40 "$workdir/kafka.log" >&2 || true
  stop_pid "$pid" 10
  keep="$REPO_ROOT/target/compat-logs/kafka-start-failure-$(date -u +%Y%m%dT%H%M%S).log"
  mkdir -p "$(dirname "$keep")"
  cp "$workdir/kafka.log" "$keep" 2>/dev/null || true
  [ "$made_workdir" = 0 ] || rm -rf "$workdir"
  die "Kafka did not start (log: $keep)"
fi
log "Kafka answered after $((SECONDS - started))s"

{
  echo "BOOTSTRAP=127.0.0.1:$port"
  echo "WORKDIR=$workdir"
  echo "BROKER_VERSION=kafka-$KAFKA_VERSION"
  if [ "$SASL_SSL" = 1 ]; then
    echo "SASL_SSL_BOOTSTRAP=127.0.0.1:$sport"
    echo "SSL_CA=$workdir/pki/ca.pem"
  fi
} >"$workdir/broker.env"
save_broker_cmd "$workdir" "$pid" "${broker_cmd[@]}"
echo "PID=$pid"
cat "$workdir/broker.env"
