#!/usr/bin/env bash
# Runs Skiff's fuzz targets (cargo-fuzz, nightly toolchain) for a while each.
#
# Usage: tests/fuzz/run.sh [-t SECONDS] [-r RUNS] [TARGET...]
#   -t SECONDS  time per target (default 60: the quick run)
#   -r RUNS     stop each target after RUNS executions instead (e.g. -r 10000000)
#   TARGET      request_frames, record_batches, storage_recovery, sasl_exchange (default: all)
#
# Each corpus (tests/fuzz/corpus/TARGET, not committed) is seeded at run time: the targets
# write their own seeds (SKIFF_FUZZ_SEEDS), and request_frames also gets the compat wire
# probe's requests (probe_seeds.py). The fuzz crate is a workspace of its own, built in
# $CARGO_TARGET_DIR/fuzz (default target/fuzz), never by `cargo test` at the top.
# Crashes land in tests/fuzz/artifacts/TARGET; the script fails if any target found one.
# The last line of each target's output, with its executions and execs/s, is printed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

secs=60
runs=""
while getopts "t:r:" opt; do
  case "$opt" in
    t) secs="$OPTARG" ;;
    r) runs="$OPTARG" ;;
    *) echo "usage: $0 [-t SECONDS] [-r RUNS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(request_frames record_batches storage_recovery sasl_exchange)
fi

target_dir="${CARGO_TARGET_DIR:-$root/target}/fuzz"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
# No sanitizer: Skiff forbids unsafe code; panics, overflow checks (debug assertions), hangs
# and RSS are what libFuzzer watches here. FUZZ_SANITIZER=address adds ASan for the C codecs.
sanitizer="${FUZZ_SANITIZER:-none}"
fuzz=(cargo +nightly fuzz)
common=(--fuzz-dir tests/fuzz -s "$sanitizer" --target-dir "$target_dir")
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
"${fuzz[@]}" build "${common[@]}"

failed=0
for t in "${targets[@]}"; do
  corpus="tests/fuzz/corpus/$t"
  mkdir -p "$corpus" "tests/fuzz/artifacts/$t"
  if [ "$t" = request_frames ]; then
    python3 tests/fuzz/probe_seeds.py "$corpus" >/dev/null
  fi
  extra=(-rss_limit_mb=2048 -timeout=20 -print_final_stats=1)
  case "$t" in
    record_batches) extra+=(-max_len=1048576) ;;
    storage_recovery) extra+=(-max_len=65536) ;;
    request_frames) extra+=(-max_len=65536) ;;
    sasl_exchange) extra+=(-max_len=4096) ;;
  esac
  if [ -n "$runs" ]; then extra+=(-runs="$runs"); else extra+=(-max_total_time="$secs"); fi
  log="$target_dir/$t.log"
  mkdir -p "$target_dir"
  start=$(date +%s)
  if TMPDIR="${FUZZ_TMPDIR:-/dev/shm}" SKIFF_FUZZ_SEEDS="$root/$corpus" RUST_LOG=off \
    "${fuzz[@]}" run "${common[@]}" "$t" "$corpus" -- "${extra[@]}" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=1
  fi
  elapsed=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  echo "fuzz $t: $status, ${execs:-?} executions in ${elapsed}s (${rate:-?}/s), peak RSS ${rss:-?} MB, corpus $(ls "$corpus" | wc -l) inputs"
  if [ "$status" != ok ]; then
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
  fi
done
exit $failed
