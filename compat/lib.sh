# shellcheck shell=bash
# Shared helpers for the compat scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
# Every function is safe under `set -euo pipefail`.

# Repository root (the directory holding Cargo.toml), whatever the caller's cwd.
COMPAT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$COMPAT_DIR/.." && pwd)"
export COMPAT_DIR REPO_ROOT

# Where the Python clients live (created on demand by ensure_venv).
COMPAT_VENV="${COMPAT_VENV:-$REPO_ROOT/target/compat-venv}"
export COMPAT_VENV

log() { printf '[compat %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# free_port: print a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# free_ports N: print N distinct free ports, one per line (all held open until printed,
# so the same port is never handed out twice).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
for s in socks:
    s.close()
EOF
}

# probe_api_versions HOST:PORT: send one ApiVersions v0 request over raw TCP and succeed
# when a well-formed answer with error code 0 comes back. Proves the port speaks Kafka.
probe_api_versions() {
  python3 - "$1" <<'EOF'
import socket, struct, sys
host, port = sys.argv[1].rsplit(":", 1)
client_id = b"skiff-compat-probe"
# Request header v1: api_key=18 (ApiVersions), api_version=0, correlation_id, client_id.
body = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id
try:
    with socket.create_connection((host, int(port)), timeout=2) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        def read(n):
            buf = b""
            while len(buf) < n:
                chunk = s.recv(n - len(buf))
                if not chunk:
                    raise EOFError("connection closed")
                buf += chunk
            return buf
        (size,) = struct.unpack(">i", read(4))
        resp = read(size)
        corr, err = struct.unpack(">ih", resp[:6])
        sys.exit(0 if corr == 7 and err == 0 else 1)
except Exception:
    sys.exit(1)
EOF
}

# wait_for_broker HOST:PORT PID [TIMEOUT_S]: wait until the broker answers ApiVersions and
# lists itself in a Metadata response (kcat -L), or fail if PID died or the time ran out.
wait_for_broker() {
  local bootstrap="$1" pid="$2" timeout="${3:-120}"
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker process $pid exited before answering on $bootstrap"
      return 1
    fi
    if probe_api_versions "$bootstrap" &&
      kcat -b "$bootstrap" -L -m 5 2>/dev/null | grep -q " at $bootstrap"; then
      return 0
    fi
    sleep 0.5
  done
  log "broker on $bootstrap did not answer within ${timeout}s"
  return 1
}

# stop_pid PID [GRACE_S]: SIGTERM, wait up to GRACE_S (default 30) for a graceful exit,
# then SIGKILL. Only ever the one process id it was given.
stop_pid() {
  local pid="$1" grace="${2:-30}"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "process $pid ignored SIGTERM for ${grace}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # Reap it if it is our child; harmless otherwise.
  wait "$pid" 2>/dev/null || true
}

# Cleanup registry: on_exit CMD... appends a command run (in reverse order) when the shell
# exits, whatever the reason. install_cleanup_trap sets the traps once.
_COMPAT_CLEANUP=()
on_exit() { _COMPAT_CLEANUP+=("$*"); }
_compat_run_cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#_COMPAT_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${_COMPAT_CLEANUP[i]}" || true
  done
  exit "$rc"
}
install_cleanup_trap() {
  trap _compat_run_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# ensure_venv: create target/compat-venv with compat/requirements.txt if missing or stale.
ensure_venv() {
  local stamp="$COMPAT_VENV/.requirements.txt"
  if [ ! -x "$COMPAT_VENV/bin/python" ]; then
    log "creating $COMPAT_VENV"
    python3 -m venv "$COMPAT_VENV"
  fi
  if ! cmp -s "$COMPAT_DIR/requirements.txt" "$stamp"; then
    log "installing compat/requirements.txt into $COMPAT_VENV"
    "$COMPAT_VENV/bin/pip" install -q -r "$COMPAT_DIR/requirements.txt"
    cp "$COMPAT_DIR/requirements.txt" "$stamp"
  fi
}

# ensure_kafka_libs: Apache Kafka's jars (broker, Java client and Kafka Streams, see
# compat/kafka/pom.xml) in $KAFKA_LIBS, fetched with Maven on first use or when the pom or
# the version changed (the stamp is a copy of the pom the jars were fetched with, and the
# version). The version is $COMPAT_KAFKA_VERSION: the pom's own (KAFKA_DEFAULT_VERSION, the
# reference for every suite, in target/kafka-libs/) unless select_kafka_version picked another
# (the share suite's 4.4.0, in target/kafka-libs-VERSION/).
KAFKA_DEFAULT_VERSION=4.1.1
# select_kafka_version VERSION: the reference Kafka the harness starts and whose jars
# ensure_kafka_libs fetches (exported, so the scripts run.sh starts see it too).
select_kafka_version() {
  local version="$1"
  [[ "$version" =~ ^[0-9]+(\.[0-9]+)*(-[A-Za-z0-9.]+)?$ ]] || die "not a Kafka version: $version"
  COMPAT_KAFKA_VERSION="$version"
  if [ "$version" = "$KAFKA_DEFAULT_VERSION" ]; then
    KAFKA_LIBS="$REPO_ROOT/target/kafka-libs"
  else
    KAFKA_LIBS="$REPO_ROOT/target/kafka-libs-$version"
  fi
  export COMPAT_KAFKA_VERSION KAFKA_LIBS
}
select_kafka_version "${COMPAT_KAFKA_VERSION:-$KAFKA_DEFAULT_VERSION}"
ensure_kafka_libs() {
  local pom="$COMPAT_DIR/kafka/pom.xml" stamp="$KAFKA_LIBS/.pom.xml"
  local version="$COMPAT_KAFKA_VERSION" mvn_log="$KAFKA_LIBS-mvn.log"
  if ! cmp -s "$pom" "$stamp" || ! ls "$KAFKA_LIBS/kafka_2.13-$version.jar" >/dev/null 2>&1 ||
    ! ls "$KAFKA_LIBS"/kafka-streams-*.jar >/dev/null 2>&1; then
    log "fetching Apache Kafka $version jars into $KAFKA_LIBS"
    rm -rf "$KAFKA_LIBS"
    mkdir -p "$REPO_ROOT/target"
    if ! mvn -q -B -f "$pom" -Dkafka.version="$version" -Dkafka.libs.dir="$KAFKA_LIBS" \
      dependency:copy-dependencies >"$mvn_log" 2>&1; then
      cat "$mvn_log" >&2
      die "mvn could not fetch Kafka $version's jars (compat/kafka/pom.xml)"
    fi
    cp "$pom" "$stamp"
  fi
}

# The Java client versions the matrix runs: the reference broker's own (4.1.1, from
# target/kafka-libs/) and the newest kafka-clients/kafka-streams on Maven Central, whose
# scenarios run.sh names NAME@VERSION (the java-newest suite). Bumping the newest client is
# this one line.
JAVA_NEWEST_CLIENT=4.4.0
export JAVA_NEWEST_CLIENT

# Share groups (KIP-932): their reference Kafka and Java client, and the settings both brokers
# start with for them (compat/run.sh's share suite, compat/diff's java-share observer). A 5 s
# acquisition lock (Kafka's minimum lowered to 1 s) so an unacknowledged record comes back
# quickly, and records archived after their 3rd delivery (the minimum limit is 2).
SHARE_KAFKA_VERSION=4.4.0
SHARE_JAVA_CLIENT=4.4.0
# shellcheck disable=SC2034 # used by the scripts that source this file
SHARE_START_ARGS=(--set group.share.record.lock.duration.ms=5000
  --set group.share.min.record.lock.duration.ms=1000
  --set group.share.delivery.count.limit=3)
export SHARE_KAFKA_VERSION SHARE_JAVA_CLIENT

# ensure_kafka_client_libs VERSION: kafka-clients and kafka-streams VERSION alone (see
# compat/java/client-pom.xml) in target/kafka-client-libs-VERSION/, fetched with Maven on first
# use or when the pom changed (the stamp is a copy of the pom the jars were fetched with).
# Prints the folder. The broker's jars in $KAFKA_LIBS are left alone.
ensure_kafka_client_libs() {
  local version="$1"
  [[ "$version" =~ ^[0-9]+(\.[0-9]+)*(-[A-Za-z0-9.]+)?$ ]] || die "not a client version: $version"
  local pom="$COMPAT_DIR/java/client-pom.xml" dir="$REPO_ROOT/target/kafka-client-libs-$version"
  local stamp="$dir/.pom.xml"
  if ! cmp -s "$pom" "$stamp" || ! ls "$dir"/kafka-clients-"$version".jar >/dev/null 2>&1 ||
    ! ls "$dir"/kafka-streams-"$version".jar >/dev/null 2>&1; then
    log "fetching kafka-clients and kafka-streams $version into $dir"
    rm -rf "$dir"
    mkdir -p "$REPO_ROOT/target"
    if ! mvn -q -B -f "$pom" -Dkafka.client.version="$version" -Dkafka.libs.dir="$dir" \
      dependency:copy-dependencies >"$dir.mvn.log" 2>&1; then
      cat "$dir.mvn.log" >&2
      die "mvn could not fetch the Java client $version (compat/java/client-pom.xml)"
    fi
    cp "$pom" "$stamp"
  fi
  printf '%s\n' "$dir"
}

# The security settings both start scripts take, so Kafka and Skiff run with the same ones:
#   --sasl-ssl             a SASL_SSL listener besides PLAINTEXT, with a CA and a server
#                          certificate for 127.0.0.1 made in WORKDIR/pki (openssl), mechanisms
#                          SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN
#   --add-scram SPEC       a SCRAM user made before the first start, in kafka-storage's syntax
#                          (SCRAM-SHA-512=[name=alice,password=alice-secret]); repeatable
#   --plain-user NAME=PW   a PLAIN user of the SASL_SSL listener (its JAAS line); repeatable
# parse_security_arg consumes one of them ("$1" "$2") into SASL_SSL, ADD_SCRAM, PLAIN_USERS
# and returns 0, or returns 1 if "$1" is not one of them.
SASL_SSL=0 ADD_SCRAM=() PLAIN_USERS=()
parse_security_arg() {
  case "$1" in
    --sasl-ssl) SASL_SSL=1; SECURITY_SHIFT=1 ;;
    --add-scram) ADD_SCRAM+=("$2"); SECURITY_SHIFT=2 ;;
    --plain-user)
      [[ "$2" == ?*=* ]] || die "--plain-user takes NAME=PASSWORD, got: $2"
      PLAIN_USERS+=("$2"); SECURITY_SHIFT=2 ;;
    *) return 1 ;;
  esac
}

# make_test_pki DIR: DIR/ca.pem (a CA) and DIR/server.pem (a PKCS#8 key and a certificate
# for 127.0.0.1 and localhost signed by it, in one file: Kafka's PEM key store).
make_test_pki() {
  local dir="$1"
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=skiff compat CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in server.key -out server.pk8
    cat server.pk8 server.crt >server.pem
  ) || die "openssl could not make the test certificates in $dir"
}

# plain_jaas: the PlainLoginModule JAAS line of PLAIN_USERS.
plain_jaas() {
  local line="org.apache.kafka.common.security.plain.PlainLoginModule required" kv
  for kv in "${PLAIN_USERS[@]}"; do line+=" user_${kv%%=*}=\"${kv#*=}\""; done
  printf '%s;' "$line"
}

# security_properties PORT PKI_DIR: the broker settings of the SASL_SSL listener on PORT, one
# per line, the same for Kafka and Skiff (listeners themselves are the caller's).
security_properties() {
  local scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
  cat <<EOF2
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN,OAUTHBEARER
listener.name.sasl_ssl.plain.sasl.jaas.config=$(plain_jaas)
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
delegation.token.secret.key=compat-delegation-token-secret
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$scram
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$scram
ssl.keystore.type=PEM
ssl.keystore.location=$2/server.pem
EOF2
}

# save_broker_cmd WORKDIR PID CMD...: remember how the broker in WORKDIR was started (its
# command line, NUL-separated, in WORKDIR/broker.cmd) and its pid (WORKDIR/broker.pid), for
# restart_broker. start-kafka.sh and start-skiff.sh call it.
save_broker_cmd() {
  local workdir="$1" pid="$2"
  shift 2
  printf '%s\0' "$@" >"$workdir/broker.cmd"
  echo "$pid" >"$workdir/broker.pid"
}

# restart_broker WORKDIR LOG_NAME TIMEOUT_S: start the broker of an earlier start in WORKDIR
# again (after it stopped or was killed) with the same command line, so the same ports and
# data; its output is appended to WORKDIR/LOG_NAME. Waits until it answers, updates
# WORKDIR/broker.pid and prints the start script's shell-evaluable lines with the new PID.
restart_broker() {
  local workdir="$1" log_name="$2" timeout="$3" old_pid pid bootstrap
  [ -f "$workdir/broker.cmd" ] && [ -f "$workdir/broker.env" ] ||
    die "no broker was started in $workdir (no broker.cmd / broker.env)"
  old_pid="$(cat "$workdir/broker.pid")"
  ! kill -0 "$old_pid" 2>/dev/null || die "the broker of $workdir still runs (pid $old_pid)"
  local cmd=()
  mapfile -d '' cmd <"$workdir/broker.cmd"
  bootstrap="$(sed -n 's/^BOOTSTRAP=//p' "$workdir/broker.env")"
  log "restarting the broker of $workdir on $bootstrap"
  echo "--- restart $(date -u +%Y-%m-%dT%H:%M:%SZ) ---" >>"$workdir/$log_name"
  local started=$SECONDS
  setsid "${cmd[@]}" >>"$workdir/$log_name" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$workdir/broker.pid"
  if ! wait_for_broker "$bootstrap" "$pid" "$timeout"; then
    tail -n 40 "$workdir/$log_name" >&2 || true
    stop_pid "$pid" 10
    die "the broker of $workdir did not come back"
  fi
  log "broker answered after $((SECONDS - started))s (pid $pid)"
  echo "PID=$pid"
  cat "$workdir/broker.env"
}
