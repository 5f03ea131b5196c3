#!/usr/bin/env bash
# One "quota" scenario: sets a 1 MB/s producer_byte_rate quota on a client id, runs one
# client family's producer under it (it must see throttle_time_ms, lose nothing and keep its
# connection), then removes the quota.
#
# Usage: compat/quota.sh confluent|kafka-python|java|kafkajs|franz-go HOST:PORT
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
family="${1:-}" bootstrap="${2:-${BOOTSTRAP:-}}"
[ -n "$family" ] && [ -n "$bootstrap" ] || { echo "usage: $0 FAMILY HOST:PORT" >&2; exit 2; }
ensure_venv
PY="$COMPAT_VENV/bin/python"
client_id="skiff-quota-$family-$$"
"$PY" "$COMPAT_DIR/python/client_quota.py" set "$bootstrap" "$client_id" 1048576
status=0
case "$family" in
  confluent) "$PY" "$COMPAT_DIR/python/quota_confluent.py" "$bootstrap" "$client_id" || status=$? ;;
  kafka-python) "$PY" "$COMPAT_DIR/python/quota_kafka_python.py" "$bootstrap" "$client_id" || status=$? ;;
  java) "$COMPAT_DIR/java/scenario.sh" JavaQuota.java "$bootstrap" "--client-id=$client_id" || status=$? ;;
  kafkajs) "$COMPAT_DIR/node/scenario.sh" quota.js "$bootstrap" "$client_id" || status=$? ;;
  franz-go) "$COMPAT_DIR/go/scenario.sh" -quota "$client_id" "$bootstrap" || status=$? ;;
  *) echo "unknown family: $family" >&2; status=2 ;;
esac
"$PY" "$COMPAT_DIR/python/client_quota.py" remove "$bootstrap" "$client_id" || status=1
exit "$status"
