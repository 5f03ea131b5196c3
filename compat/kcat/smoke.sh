#!/usr/bin/env bash
# kcat smoke scenario (Debian's kcat on librdkafka 2.0.2).
#
# Usage: compat/kcat/smoke.sh [HOST:PORT]   (or BOOTSTRAP=HOST:PORT in the environment)
#
# 1. kcat -L lists the broker at the bootstrap address.
# 2. Produces keyed records to a new, auto-created topic in five runs, one per compression
#    codec (none, gzip, snappy, lz4, zstd), with duplicate header keys, an empty key, a null
#    key, an empty value and a null value; partition 0 gets four runs, partition 1 one run.
# 3. Consumes both partitions back (-e, -f) and compares keys, values, lengths (null vs
#    empty), headers and offsets exactly; also from an offset inside a compressed batch and
#    relative to the end.
# 4. Queries offsets by time (-Q): by each record's timestamp, past the last one, and the
#    logical -1 (latest) / -2 (earliest).
# Exits non-zero with a message naming the first mismatch.
set -euo pipefail

BOOTSTRAP="${1:-${BOOTSTRAP:-}}"
[ -n "$BOOTSTRAP" ] || { echo "usage: $0 HOST:PORT (or set BOOTSTRAP)" >&2; exit 2; }
KCAT_TIMEOUT="${KCAT_TIMEOUT:-60}"
work="$(mktemp -d "${TMPDIR:-/tmp}/skiff-compat-kcat.XXXXXX")"
trap 'rm -rf "$work"' EXIT

fail() { echo "kcat smoke FAILED: $*" >&2; exit 1; }
step() { echo "kcat smoke: $*" >&2; }
kc() { timeout "$KCAT_TIMEOUT" kcat -b "$BOOTSTRAP" "$@"; }

topic="compat-kcat-$(date +%s)-$$-$RANDOM"

# --- 1. metadata --------------------------------------------------------------------------
step "metadata (-L)"
kc -L >"$work/meta" 2>&1 || fail "kcat -L exited non-zero: $(cat "$work/meta")"
grep -Eq '^ +broker [0-9]+ at '"$BOOTSTRAP"'( |$)' "$work/meta" ||
  fail "kcat -L does not list a broker at $BOOTSTRAP:
$(cat "$work/meta")"

# --- 2. produce ---------------------------------------------------------------------------
# Each run: partition, codec, extra kcat flags, input lines (key:value, -K:).
produce() {
  local part="$1" codec="$2"; shift 2
  local -a flags=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  printf '%s\n' "$@" >"$work/in"
  kc -P -t "$topic" -p "$part" -K: -z "$codec" "${flags[@]}" -X message.send.max.retries=5 \
    -X topic.request.required.acks=-1 <"$work/in" 2>"$work/produce.err" ||
    fail "produce ($codec, partition $part) failed: $(cat "$work/produce.err")"
  # kcat reports delivery failures on stderr but may still exit 0.
  if grep -qi "error\|failed" "$work/produce.err"; then
    fail "produce ($codec, partition $part) reported: $(cat "$work/produce.err")"
  fi
}

step "produce 5 runs (none/gzip/snappy/lz4/zstd) to $topic"
# librdkafka sends a batch uncompressed when compression does not shrink it, so every
# compressed run carries one long, compressible value.
# Run 1, none: duplicate header key h, an empty header value, empty key, null key, empty value.
produce 0 none -H h=a -H h=b -H e= -- "k0:v0" "k1:value-one" ":emptykey" "nullkey" "k4:"
# Run 2, gzip: one header; -Z turns an empty value into a null value.
produce 0 gzip -H trace=gz -Z -- "k5:$(printf 'x%.0s' {1..300})" "k6:v6" "k7:"
# Run 3, snappy: no headers.
produce 0 snappy -- "k8:v8" "k9:v9" "k10:$(printf 's%.0s' {1..300})" "k11:v11"
# Run 4, lz4: repeated header key three times.
produce 0 lz4 -H r=1 -H r=2 -H r=3 -- "k12:$(printf 'l%.0s' {1..300})" "k13:v13"
# Run 5, zstd, on partition 1: offsets start again from 0 there.
produce 1 zstd -H z=zstd -- "p1k0:p1v0" "p1k1:$(printf 'z%.0s' {1..300})" "p1k2:p1v2"

# --- 3. consume ---------------------------------------------------------------------------
fmt='%p|%o|%K|%k|%S|%s|%h\n'
consume() { # partition, start offset, output file
  kc -C -t "$topic" -p "$1" -o "$2" -e -q -f "$fmt" >"$3" 2>"$work/consume.err" ||
    fail "consume partition $1 from $2 failed: $(cat "$work/consume.err")"
}
x300="$(printf 'x%.0s' {1..300})"
cat >"$work/expect0" <<EOF
0|0|2|k0|2|v0|h=a,h=b,e=
0|1|2|k1|9|value-one|h=a,h=b,e=
0|2|0||8|emptykey|h=a,h=b,e=
0|3|-1||7|nullkey|h=a,h=b,e=
0|4|2|k4|0||h=a,h=b,e=
0|5|2|k5|300|$x300|trace=gz
0|6|2|k6|2|v6|trace=gz
0|7|2|k7|-1||trace=gz
0|8|2|k8|2|v8|
0|9|2|k9|2|v9|
0|10|3|k10|300|$(printf 's%.0s' {1..300})|
0|11|3|k11|3|v11|
0|12|3|k12|300|$(printf 'l%.0s' {1..300})|r=1,r=2,r=3
0|13|3|k13|3|v13|r=1,r=2,r=3
EOF
cat >"$work/expect1" <<EOF
1|0|4|p1k0|4|p1v0|z=zstd
1|1|4|p1k1|300|$(printf 'z%.0s' {1..300})|z=zstd
1|2|4|p1k2|4|p1v2|z=zstd
EOF

step "consume partition 0 and 1 from the beginning"
consume 0 beginning "$work/got0"
diff -u "$work/expect0" "$work/got0" >&2 || fail "partition 0 differs from what was produced (diff above)"
consume 1 beginning "$work/got1"
diff -u "$work/expect1" "$work/got1" >&2 || fail "partition 1 differs from what was produced (diff above)"

step "consume from inside a compressed batch (offset 9) and the last 3 (-o -3)"
consume 0 9 "$work/got-mid"
diff -u <(sed -n '10,$p' "$work/expect0") "$work/got-mid" >&2 ||
  fail "consume from offset 9 differs (diff above)"
consume 0 -3 "$work/got-tail"
diff -u <(tail -n 3 "$work/expect0") "$work/got-tail" >&2 ||
  fail "consume of the last 3 records differs (diff above)"

# --- 4. offsets by time -------------------------------------------------------------------
step "offsets for times (-Q)"
kc -C -t "$topic" -p 0 -o beginning -e -q -f '%o %T\n' >"$work/ts0" 2>"$work/consume.err" ||
  fail "consume timestamps failed: $(cat "$work/consume.err")"
[ "$(wc -l <"$work/ts0")" = 14 ] || fail "expected 14 timestamps on partition 0, got: $(cat "$work/ts0")"
query() { # timestamp -> prints offset
  local out
  out="$(kc -Q -t "$topic:0:$1" 2>&1)" || fail "kcat -Q $topic:0:$1 failed: $out"
  sed -n "s/^$topic \[0\] offset \(-\?[0-9]\+\)\$/\1/p" <<<"$out" | grep . ||
    fail "kcat -Q $topic:0:$1 printed no offset: $out"
}
while read -r off ts; do
  [ "$ts" -gt 0 ] || fail "record $off has timestamp $ts"
  # Expected: the first offset whose timestamp is >= ts (timestamps are monotonic here).
  want="$(awk -v t="$ts" '$2 >= t { print $1; exit }' "$work/ts0")"
  got="$(query "$ts")"
  [ "$got" = "$want" ] || fail "-Q at timestamp $ts (record $off): want offset $want, got $got"
done < <(cat "$work/ts0")
max_ts="$(awk '{ print $2 }' "$work/ts0" | sort -n | tail -n1)"
got="$(query $((max_ts + 1)))"
[ "$got" = -1 ] || fail "-Q past the last timestamp: want -1, got $got"
got="$(query -1)"
[ "$got" = 14 ] || fail "-Q -1 (latest): want 14, got $got"
got="$(query -2)"
[ "$got" = 0 ] || fail "-Q -2 (earliest): want 0, got $got"

step "metadata of $topic"
kc -L -t "$topic" >"$work/tmeta" 2>&1 || fail "kcat -L -t failed: $(cat "$work/tmeta")"
grep -Eq "topic \"$topic\" with [0-9]+ partitions" "$work/tmeta" ||
  fail "topic $topic missing from metadata: $(cat "$work/tmeta")"
grep -Eq '^ +partition 1, leader [0-9]+' "$work/tmeta" ||
  fail "partition 1 of $topic has no leader: $(cat "$work/tmeta")"

echo "kcat smoke: OK (topic $topic)"
