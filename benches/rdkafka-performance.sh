#!/usr/bin/env bash
# Side-by-side throughput of two skiff binaries with librdkafka's own load tool,
# rdkafka_performance: 1 partition, N x 100 B records; rows produce acks=1, produce acks=all
# (skiff fsyncs: log.fsync.policy=always) and consume; medians of R rounds, A and B
# alternating (A, B, A, B, ...), each round on a fresh data dir.
#
#   benches/rdkafka-performance.sh BIN_A BIN_B [ROUNDS] [COUNT]
#
# rdkafka_performance is built from the librdkafka sources that the rdkafka-sys crate
# bundles, against the static library its build made (run `cargo build --release --tests`
# first), into target/rdkafka-performance/.
set -euo pipefail
cd "$(dirname "$0")/.."

A=${1:?first skiff binary}
B=${2:?second skiff binary}
ROUNDS=${3:-5}
COUNT=${4:-1000000}

TOOL=target/rdkafka-performance/rdkafka_performance
build_tool() {
  local out src cfg zstd
  out=$(ls -d target/release/build/rdkafka-sys-*/out 2>/dev/null | head -1)
  src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/rdkafka-sys-*/librdkafka 2>/dev/null | head -1)
  cfg=$(find "$out" -name config.h 2>/dev/null | head -1)
  zstd=$(ls target/release/build/zstd-sys-*/out/libzstd.a 2>/dev/null | head -1)
  if [ -z "$out" ] || [ -z "$src" ] || [ -z "$cfg" ]; then
    echo "build rdkafka-sys first: cargo build --release --tests" >&2
    exit 1
  fi
  local work=target/rdkafka-performance/src
  rm -rf "$work" && mkdir -p "$work/examples"
  cp -r "$src/src" "$work/src"
  cp "$cfg" "$work/config.h"
  cp "$src/examples/rdkafka_performance.c" "$work/examples/"
  (cd "$work/examples" && gcc -O2 -o ../../rdkafka_performance rdkafka_performance.c \
    -I../src -I.. "$OLDPWD/$out/lib/librdkafka.a" ${zstd:+"$OLDPWD/$zstd"} \
    -lssl -lcrypto -lsasl2 -lz -lcurl -lpthread -lm -ldl)
}
[ -x "$TOOL" ] || build_tool

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One round against one binary: prints "acks1 acksall consume" in msgs/s.
round() {
  local bin=$1 dir port pid
  dir=$(mktemp -d)
  port=$(free_port)
  "$bin" serve --data-dir "$dir" --listen "127.0.0.1:$port" --set num.partitions=1 \
    --log-level warn >"$dir.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  local b="127.0.0.1:$port" rate
  rate() { grep -o '[0-9]* msgs/s' | tail -1 | cut -d' ' -f1; }
  local p1 pall c
  p1=$("$TOOL" -P -t t1 -p 0 -s 100 -c "$COUNT" -b "$b" -X acks=1 2>&1 | rate)
  pall=$("$TOOL" -P -t t2 -p 0 -s 100 -c "$COUNT" -b "$b" -X acks=all 2>&1 | rate)
  c=$("$TOOL" -C -t t1 -p 0 -o beginning -c "$COUNT" -b "$b" 2>&1 | rate)
  kill "$pid" && wait "$pid" 2>/dev/null || true
  rm -rf "$dir" "$dir.log"
  echo "$p1 $pall $c"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

declare -a RA RB
for r in $(seq "$ROUNDS"); do
  RA+=("$(round "$A")")
  RB+=("$(round "$B")")
  echo "round $r: A ${RA[-1]} | B ${RB[-1]}" >&2
done

echo "| row (1 partition, $COUNT x 100 B) | A msgs/s | B msgs/s | B/A |"
echo "|---|---:|---:|---:|"
names=("produce acks=1" "produce acks=all" "consume")
for i in 0 1 2; do
  a=$(printf '%s\n' "${RA[@]}" | awk -v f=$((i + 1)) '{print $f}' | median)
  b=$(printf '%s\n' "${RB[@]}" | awk -v f=$((i + 1)) '{print $f}' | median)
  echo "| ${names[$i]} | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b / a}') |"
done
