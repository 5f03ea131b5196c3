#!/usr/bin/env bash
# Run a kafkajs scenario of compat/node/ (installing its pinned packages first if needed).
#
# Usage: compat/node/scenario.sh SCRIPT.js HOST:PORT [ARGS...]
#        compat/node/scenario.sh --prepare      (only install the packages)
# Installs package-lock.json's exact versions with `npm ci` into compat/node/node_modules
# (gitignored) when it is missing or older than the lock file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
script="${1:?usage: $0 SCRIPT.js HOST:PORT [ARGS...] | --prepare}"
shift
stamp="$here/node_modules/.package-lock.json"
if [ ! -d "$here/node_modules" ] || [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ]; then
  echo "installing compat/node packages (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --foreground-scripts >&2)
fi
[ "$script" != --prepare ] || exit 0
export KAFKAJS_NO_PARTITIONER_WARNING=1
exec node "$here/$script" "$@"
