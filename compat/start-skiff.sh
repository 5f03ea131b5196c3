#!/usr/bin/env bash
# Start `skiff serve` on a free loopback port with a fresh temp data dir.
#
# Usage: compat/start-skiff.sh [--port PORT] [--workdir DIR] [--partitions N] [--log-dirs N]
#                             [--set KEY=VALUE]... [--sasl-ssl] [--add-scram SPEC]...
#                             [--plain-user NAME=PASSWORD]...
#                             [-- EXTRA SKIFF ARGS...]
#        compat/start-skiff.sh --restart WORKDIR
# (--restart WORKDIR: start the skiff of an earlier start again, after it was stopped or
# killed, with the same binary, command line, port and data dir)
# (--log-dirs N: N log directories (JBOD, log.dirs), WORKDIR/logs-1 .. logs-N, as
# compat/kafka/start-kafka.sh lays them out)
# (--sasl-ssl, --add-scram, --plain-user: a SASL_SSL listener with test certificates, SCRAM
# users made with `skiff format --add-scram` and PLAIN users, the same settings as
# compat/kafka/start-kafka.sh gives Kafka; see compat/lib.sh)
# (num.partitions defaults to 4, group.initial.rebalance.delay.ms is 0 and
# offsets.topic.num.partitions 4, as in the
# reference Kafka the harness starts)
#
# Uses $SKIFF_BIN if set; otherwise target/release/skiff, built first with
# `cargo build --release` (the repository's default target dir) when it is missing or older
# than the sources. Starts it in the background, waits until it answers Kafka requests
# (ApiVersions, then Metadata listing itself), prints shell-evaluable lines and exits
# (the broker keeps running):
#   BOOTSTRAP=127.0.0.1:PORT
#   PID=<skiff pid>
#   WORKDIR=<temp dir with data/ and skiff.log>
# and with --sasl-ssl also SASL_SSL_BOOTSTRAP=127.0.0.1:PORT and SSL_CA=<CA certificate file>.
# Stop it with `kill PID` (SIGTERM shuts it down gracefully), then remove WORKDIR.
# Env: SKIFF_START_TIMEOUT (seconds, default 60).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

port="" workdir="" partitions=4 log_dirs=1
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --restart)
      restart_broker "$2" skiff.log "${SKIFF_START_TIMEOUT:-60}"
      exit 0 ;;
    --port) port="$2"; shift 2 ;;
    --workdir) workdir="$2"; shift 2 ;;
    --partitions) partitions="$2"; shift 2 ;;
    --log-dirs) log_dirs="$2"; shift 2 ;;
    # As start-kafka.sh's --set: one broker setting (repeatable).
    --set)
      [[ "${2:-}" == ?*=* ]] || die "--set takes KEY=VALUE, got: ${2:-}"
      extra+=(--set "$2"); shift 2 ;;
    --) shift; extra+=("$@"); break ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *)
      parse_security_arg "$1" "${2:-}" || die "unknown argument: $1"
      shift "$SECURITY_SHIFT" ;;
  esac
done

bin="${SKIFF_BIN:-}"
if [ -z "$bin" ]; then
  bin="$REPO_ROOT/target/release/skiff"
  stale=""
  if [ -x "$bin" ]; then
    stale="$(find "$REPO_ROOT/src" "$REPO_ROOT/Cargo.toml" "$REPO_ROOT/Cargo.lock" -newer "$bin" -print -quit 2>/dev/null || true)"
  fi
  if [ ! -x "$bin" ] || [ -n "$stale" ]; then
    log "building skiff (cargo build --release) in $REPO_ROOT"
    (cd "$REPO_ROOT" && env -u CARGO_TARGET_DIR cargo build --release --bin skiff >&2)
  fi
fi
[ -x "$bin" ] || die "no skiff binary at $bin"

[ -n "$port" ] || port="$(free_port)"
made_workdir=0
[ -n "$workdir" ] || made_workdir=1 workdir="$(mktemp -d "${TMPDIR:-/tmp}/skiff-compat-skiff.XXXXXX")"
mkdir -p "$workdir/data"
if [ "$log_dirs" -gt 1 ]; then
  dirs=""
  for ((i = 1; i <= log_dirs; i++)); do mkdir -p "$workdir/logs-$i"; dirs="${dirs:+$dirs,}$workdir/logs-$i"; done
  extra=(--set "log.dirs=$dirs" "${extra[@]}")
fi

listen_args=(--listen "127.0.0.1:$port" --advertised-listener "127.0.0.1:$port")
if [ "$SASL_SSL" = 1 ]; then
  sport="$(free_port)"
  while [ "$sport" = "$port" ]; do sport="$(free_port)"; done
  make_test_pki "$workdir/pki"
  listen_args=(--set "listeners=PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$sport")
  while IFS= read -r line; do listen_args+=(--set "$line"); done < <(security_properties "$sport" "$workdir/pki")
fi
if [ ${#ADD_SCRAM[@]} -gt 0 ]; then
  scram_args=()
  for spec in "${ADD_SCRAM[@]}"; do scram_args+=(--add-scram "$spec"); done
  "$bin" format --data-dir "$workdir/data" "${scram_args[@]}" || die "skiff format --add-scram failed"
fi

log "starting $bin serve on 127.0.0.1:$port (data in $workdir/data)"
started=$SECONDS
broker_cmd=("$bin" serve "${listen_args[@]}" --data-dir "$workdir/data"
  --set "num.partitions=$partitions" --set group.initial.rebalance.delay.ms=0 --set offsets.topic.num.partitions=4 "${extra[@]}")
setsid "${broker_cmd[@]}" >"$workdir/skiff.log" 2>&1 </dev/null &
pid=$!

if ! wait_for_broker "127.0.0.1:$port" "$pid" "${SKIFF_START_TIMEOUT:-60}"; then
  tail -n 40 "$workdir/skiff.log" >&2 || true
  stop_pid "$pid" 10
  keep="$REPO_ROOT/target/compat-logs/skiff-start-failure-$(date -u +%Y%m%dT%H%M%S).log"
  mkdir -p "$(dirname "$keep")"
  cp "$workdir/skiff.log" "$keep" 2>/dev/null || true
  [ "$made_workdir" = 0 ] || rm -rf "$workdir"
  die "skiff did not start (log: $keep)"
fi
log "skiff answered after $((SECONDS - started))s"

{
  echo "BOOTSTRAP=127.0.0.1:$port"
  echo "WORKDIR=$workdir"
  echo "BROKER_VERSION=skiff-$("$bin" --version 2>/dev/null | awk '{print $NF}' || echo unknown)"
  if [ "$SASL_SSL" = 1 ]; then
    echo "SASL_SSL_BOOTSTRAP=127.0.0.1:$sport"
    echo "SSL_CA=$workdir/pki/ca.pem"
  fi
} >"$workdir/broker.env"
save_broker_cmd "$workdir" "$pid" "${broker_cmd[@]}"
echo "PID=$pid"
cat "$workdir/broker.env"
