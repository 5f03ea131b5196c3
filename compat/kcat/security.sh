#!/usr/bin/env bash
# kcat over SASL_SSL ("security" suite; Debian's kcat on librdkafka 2.0.2).
#
# Usage: compat/kcat/security.sh [HOST:PORT]   (the PLAINTEXT bootstrap; the broker was
#        started with --sasl-ssl --add-scram 'SCRAM-SHA-512=[name=alice,password=alice-secret]'
#        --plain-user carol=carol-secret; SASL_SSL_BOOTSTRAP and SSL_CA in the environment)
#
# 1. kcat -L as carol (PLAIN) lists the broker at the SASL_SSL address.
# 2. carol produces 50 keyed records (-P -K:) to a new topic and consumes them back (-C -e)
#    exactly, with offsets.
# 3. alice's SCRAM-SHA-512 login fails even with the right password: librdkafka before 2.6.1
#    sends the client nonce twice in its final message (librdkafka#4895), which Kafka 4
#    refuses (CVE-2024-56128) with the generic invalid-credentials message; so must Skiff.
# 4. A wrong PLAIN password: kcat -L fails with the authentication error.
# Exits non-zero with a message naming the first mismatch.
set -euo pipefail

BOOTSTRAP="${1:-${BOOTSTRAP:-}}"
[ -n "$BOOTSTRAP" ] || { echo "usage: $0 HOST:PORT (or set BOOTSTRAP)" >&2; exit 2; }
[ -n "${SASL_SSL_BOOTSTRAP:-}" ] && [ -n "${SSL_CA:-}" ] ||
  { echo "SASL_SSL_BOOTSTRAP and SSL_CA must be set (start the broker with --sasl-ssl)" >&2; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/skiff-compat-kcat-sec.XXXXXX")"
trap 'rm -rf "$work"' EXIT

fail() { echo "kcat security FAILED: $*" >&2; exit 1; }
step() { echo "kcat security: $*" >&2; }
# kc MECHANISM USER PASSWORD KCAT-ARGS...
kc() {
  local mechanism="$1" user="$2" password="$3"; shift 3
  timeout 60 kcat -b "$SASL_SSL_BOOTSTRAP" -X security.protocol=SASL_SSL \
    -X ssl.ca.location="$SSL_CA" -X sasl.mechanisms="$mechanism" \
    -X sasl.username="$user" -X sasl.password="$password" "$@"
}

topic="compat-kcat-sec-$(date +%s)-$$-$RANDOM"

step "metadata (-L) as carol"
kc PLAIN carol carol-secret -L >"$work/meta" 2>&1 || fail "kcat -L: $(cat "$work/meta")"
grep -Eq '^ +broker [0-9]+ at '"$SASL_SSL_BOOTSTRAP"'( |$)' "$work/meta" ||
  fail "kcat -L does not list a broker at $SASL_SSL_BOOTSTRAP:
$(cat "$work/meta")"

step "carol produces 50 records to $topic"
for i in $(seq 0 49); do echo "k$i:v$i"; done >"$work/in"
kc PLAIN carol carol-secret -P -t "$topic" -p 0 -K: -X acks=all <"$work/in" 2>"$work/produce.err" ||
  fail "produce: $(cat "$work/produce.err")"

step "carol consumes them back"
kc PLAIN carol carol-secret -C -t "$topic" -p 0 -o beginning -e -f '%o %k:%s\n' \
  >"$work/out" 2>"$work/consume.err" || fail "consume: $(cat "$work/consume.err")"
for i in $(seq 0 49); do echo "$i k$i:v$i"; done >"$work/expected"
diff -u "$work/expected" "$work/out" >"$work/diff" || fail "consumed records differ:
$(head -20 "$work/diff")"

step "alice's SCRAM-SHA-512 login is refused (librdkafka 2.0.2's doubled nonce)"
if kc SCRAM-SHA-512 alice alice-secret -L -m 10 >"$work/scram" 2>&1; then
  fail "kcat (librdkafka 2.0.2) logged in with SCRAM-SHA-512: the broker accepted a doubled nonce"
fi
grep -q "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512" "$work/scram" ||
  fail "SCRAM refusal without Kafka's message:
$(tail -5 "$work/scram")"

step "a wrong PLAIN password fails"
if kc PLAIN carol wrong-password -L -m 10 >"$work/wrong" 2>&1; then
  fail "kcat -L with a wrong PLAIN password succeeded"
fi
grep -q "Authentication failed: Invalid username or password" "$work/wrong" ||
  fail "no authentication error for PLAIN:
$(tail -5 "$work/wrong")"
echo "kcat security: OK"
