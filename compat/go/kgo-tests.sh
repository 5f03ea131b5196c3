#!/usr/bin/env bash
# franz-go's own pkg/kgo test suite (unit and integration tests) against a broker.
#
# Usage: compat/go/kgo-tests.sh HOST:PORT   (or BOOTSTRAP=HOST:PORT in the environment)
#
# Takes the franz-go version pinned in compat/go/go.mod, copies that module's source from the
# Go module cache (downloaded with `go mod download` if missing) to target/franz-go-src/, and
# runs `go test ./pkg/kgo` there with the suite's own knobs:
#   KGO_SEEDS=HOST:PORT  KGO_TEST_RF=1 (single node)  KGO_TEST_RECORDS (default 20000; the
#   suite's default is 500000 records per ETL test)  KGO_LOG_LEVEL (default none)
# Env: KGO_TESTS_RUN (a `go test -run` regex, default all), KGO_TESTS_SKIP (a `-skip` regex),
#      KGO_TESTS_TIMEOUT (go test -timeout, default 8m; Kafka needs about 100 s).
# Prints each failed or skipped test with its first message, then
# "kgo-tests: N passed, M failed, K skipped";
# exits non-zero if a test failed or go test did. Full output: target/franz-go-src/kgo-test.log.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bootstrap="${1:-${BOOTSTRAP:-}}"
[ -n "$bootstrap" ] || { echo "usage: $0 HOST:PORT (or set BOOTSTRAP)" >&2; exit 2; }

mod=github.com/twmb/franz-go
version="$(cd "$here" && go list -m -f '{{.Version}}' "$mod")"
(cd "$here" && go mod download "$mod")
src="$(cd "$here" && go list -m -f '{{.Dir}}' "$mod")"
[ -d "$src/pkg/kgo" ] || { echo "kgo-tests: no pkg/kgo in $src" >&2; exit 1; }
work="$root/target/franz-go-src/franz-go-$version"
if [ ! -f "$work/go.mod" ]; then
  mkdir -p "$(dirname "$work")"
  rm -rf "$work.tmp"
  cp -r "$src" "$work.tmp"
  chmod -R u+w "$work.tmp"
  mv "$work.tmp" "$work"
fi
log="$root/target/franz-go-src/kgo-test.log"
echo "kgo-tests: franz-go $version pkg/kgo against $bootstrap (log $log)" >&2

args=(test -count=1 -v -timeout "${KGO_TESTS_TIMEOUT:-8m}")
[ -z "${KGO_TESTS_RUN:-}" ] || args+=(-run "$KGO_TESTS_RUN")
[ -z "${KGO_TESTS_SKIP:-}" ] || args+=(-skip "$KGO_TESTS_SKIP")
set +e
(cd "$work" && KGO_SEEDS="$bootstrap" KGO_TEST_RF=1 KGO_TEST_RECORDS="${KGO_TEST_RECORDS:-20000}" \
  KGO_LOG_LEVEL="${KGO_LOG_LEVEL:-none}" go "${args[@]}" ./pkg/kgo) >"$log" 2>&1
rc=$?
set -e
# Top-level failures with the first message each printed, and skips with their reason
# (passes are only counted; subtests are indented and left out).
awk '
  # The first message each test (or subtest) logged, ignoring topic clean-up lines; a failed
  # top-level test is shown with the message of its first failed subtest, if it has one.
  /^=== (RUN|CONT|NAME) / { cur = $3; next }
  /^ +[a-z0-9_]+_test\.go:[0-9]+:/ && cur != "" && !(cur in first) && !/NOT DELETING|deleting topic/ {
    l = $0; sub(/^ +/, "", l); first[cur] = substr(l, 1, 240)
  }
  /^ +--- FAIL: / { top = $3; sub(/\/.*/, "", top); if (!(top in sub_msg) && ($3 in first)) sub_msg[top] = $3 ": " first[$3] }
  /^--- (FAIL|SKIP): / { n++; line[n] = substr($0, 5); name[n] = $3 }
  END {
    for (i = 1; i <= n; i++) {
      print line[i]
      if (name[i] in sub_msg) print "      " sub_msg[name[i]]
      else if (name[i] in first) print "      " first[name[i]]
    }
  }
' "$log" || true
if [ $rc != 0 ]; then
  grep -E '^(panic:|FAIL|ok|\*\*\* Test killed)' "$log" | head -20 >&2 || true
fi
pass=$(grep -cE '^--- PASS' "$log" || true)
fail=$(grep -cE '^--- FAIL' "$log" || true)
skip=$(grep -cE '^--- SKIP' "$log" || true)
if [ $rc != 0 ] && [ "$fail" = 0 ]; then fail=1; fi # a panic or timeout fails without a --- FAIL line
echo "kgo-tests: $pass passed, $fail failed, $skip skipped"
[ $rc = 0 ]
