#!/usr/bin/env bash
# Observe one differential scenario against a running broker and compare the observation
# with the recorded reference Kafka's (compat/diff/reference-kafka-VERSION/SCENARIO.json, the
# version observe.sh --kafka-version names: 4.1.1, or 4.4.0 for java-share), honouring
# compat/diff/accepted.json. This is what compat/run.sh's `diff` suite runs (and its share
# suite for java-share, whose broker starts with the settings observe.sh --start-args names).
#
# Usage: compat/diff/check.sh SCENARIO HOST:PORT
# The observation is kept as target/compat-diff/last/SCENARIO.json. With COMPAT_BROKER=kafka
# (set by compat/run.sh --kafka) the accepted differences are not applied. Exits non-zero on an
# unaccepted difference, a stale accepted entry, or an observer that failed.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
if [ $# -ne 2 ]; then echo "usage: $0 SCENARIO HOST:PORT" >&2; exit 2; fi
scenario="$1" bootstrap="$2"
reference="$COMPAT_DIR/diff/reference-kafka-$("$COMPAT_DIR/diff/observe.sh" --kafka-version "$scenario")/$scenario.json"
[ -f "$reference" ] || die "no recorded reference $reference (record it: compat/diff/run.sh --record)"
outdir="$REPO_ROOT/target/compat-diff/last"
mkdir -p "$outdir"
rm -f "$outdir/$scenario.json"
"$COMPAT_DIR/diff/observe.sh" "$scenario" "$bootstrap" "$outdir/$scenario.json"
# Against the reference Kafka itself (compat/run.sh --kafka) nothing is accepted: the
# observation must equal the recording.
if [ "${COMPAT_BROKER:-}" = kafka ]; then
  exec python3 "$COMPAT_DIR/diff/compare.py" --no-accepted "$reference" "$outdir/$scenario.json"
fi
exec python3 "$COMPAT_DIR/diff/compare.py" --accepted "$COMPAT_DIR/diff/accepted.json" \
  "$reference" "$outdir/$scenario.json"
