#!/usr/bin/env bash
# Build (if needed) and run the franz-go scenario of compat/go/.
#
# Usage: compat/go/scenario.sh [-group] HOST:PORT
#        compat/go/scenario.sh --prepare     (only build)
# The binary goes to target/compat-go/smoke; Go's module and build caches stay in their
# usual places outside the repository (GOMODCACHE, GOCACHE).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../target/compat-go"
bin="$out/smoke"
mkdir -p "$out"
if [ ! -x "$bin" ] || [ -n "$(find "$here" -name '*.go' -newer "$bin" -print -quit)" ] ||
  [ "$here/go.mod" -nt "$bin" ] || [ "$here/go.sum" -nt "$bin" ]; then
  echo "building compat/go/smoke" >&2
  (cd "$here" && go build -o "$bin" ./smoke)
fi
[ "${1:-}" != --prepare ] || exit 0
exec "$bin" "$@"
