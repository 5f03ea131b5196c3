#!/usr/bin/env bash
# Run the end-to-end benchmark and keep its output.
#
# Usage: benches/run-e2e.sh [e2e flags...]     e.g. benches/run-e2e.sh --both --scale 0.1
#
# Same as `cargo bench --bench e2e -- FLAGS`, plus: the result tables go to
# target/bench-logs/e2e-<UTC time>.md and the whole output (progress lines, broker
# complaints) to the .log beside it. Respects CARGO_TARGET_DIR.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -gt 0 ] || set -- --help
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$root/target/bench-logs"
out="$root/target/bench-logs/e2e-$stamp"
cd "$root"
set +e
if [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  cargo bench --bench e2e -- --help
  exit $?
fi
cargo bench --bench e2e -- "$@" --out "$out.md" 2>&1 | tee "$out.log"
rc=${PIPESTATUS[0]}
set -e
echo "tables: $out.md  log: $out.log" >&2
exit "$rc"
