#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The TLS identity from veil-cas: redis-server and redis-cli, wrapped with the attestation service's address,
# attest (sim TEE) and receive their policy-CA certificates as secret files; the client's commands succeed
# through attested TLS; a wrapped client whose policy service lacks the certificate files refuses to start.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$VEIL_SOURCE_ROOT/tests/attest/lib.sh"

command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { echo "1..0 # SKIP redis not installed"; exit 0; }
[ -x "$VEIL_BUILD_ROOT/src/cas/veil-cas" ] || { echo "1..0 # SKIP veil-cas not built"; exit 0; }
WORK=$(mktemp -d /var/tmp/veil-nettls-cas.XXXXXX)
CAS_PID= server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  [ -n "$CAS_PID" ] && kill "$CAS_PID" 2>/dev/null
  wait 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
port=$(( 20000 + RANDOM % 20000 ))

echo 1..4
Z=$(printf '0%.0s' $(seq 64))
"$VEIL" attest --tee sim --sim-dir "$WORK/sim" --measurement "$Z" --signer "$Z" -o "$WORK/ev" 2>/dev/null
cas_start "$WORK/cas" "$WORK/cas.log" --sim-root "$WORK/sim/root.pem" --ratls-sim "$WORK/sim"
PIN=$("$VEIL" cas fingerprint "$WORK/cas/tls.crt")
ADDR="127.0.0.1:$CAS_PORT key=$PIN"
export VEIL_CAS=127.0.0.1:$CAS_PORT VEIL_CAS_CERT=$WORK/cas/tls.crt
export VEIL_CAS_OWNER_CERT=$WORK/owner.crt VEIL_CAS_OWNER_KEY=$WORK/owner.key
OWNER=$("$VEIL" cas keygen --key "$WORK/owner.key" --cert "$WORK/owner.crt")
"$VEIL" keygen -o "$WORK/signer.pem" >/dev/null 2>&1

measure() { awk '/^measurement/ {print $2}'; }
base_root "$WORK/server-src"
copy_binary "$WORK/server-src" /usr/bin/redis-server
mkdir -p "$WORK/server-src/etc/veil"
printf 'listen %s require-client\n' "$port" > "$WORK/server-src/etc/veil/nettls.conf"
SERVER_M=$("$VEIL" wrap "$WORK/server-src" -k "$WORK/signer.pem" -o "$WORK/server/" --attest "$ADDR" --policy tls/redis \
  --entrypoint /usr/bin/redis-server --arg --port --arg "$port" --arg --bind --arg 127.0.0.1 --arg --save --arg '' \
  --arg --protected-mode --arg no 2>/dev/null | measure)
base_root "$WORK/client-src"
copy_binary "$WORK/client-src" /usr/bin/redis-cli
mkdir -p "$WORK/client-src/etc/veil"
printf 'connect 127.0.0.1:%s redis\n' "$port" > "$WORK/client-src/etc/veil/nettls.conf"
CLIENT_M=$("$VEIL" wrap "$WORK/client-src" -k "$WORK/signer.pem" -o "$WORK/client/" --attest "$ADDR" --policy tls/client \
  --entrypoint /usr/bin/redis-cli --arg -h --arg 127.0.0.1 --arg -p --arg "$port" 2>/dev/null | measure)
BARE_M=$("$VEIL" wrap "$WORK/client-src" -k "$WORK/signer.pem" -o "$WORK/bare/" --attest "$ADDR" --policy tls/bare \
  --entrypoint /usr/bin/redis-cli --arg -h --arg 127.0.0.1 --arg -p --arg "$port" --arg PING 2>/dev/null | measure)
cat > "$WORK/policy.yaml" <<POLICY
name: tls
owners: [$OWNER]
secrets:
  ca: {kind: x509_ca, common_name: tls CA}
  redis_cert: {kind: x509, issuer: ca, common_name: redis, dns: [redis]}
  client_cert: {kind: x509, issuer: ca, common_name: client, dns: [client]}
services:
  redis:
    measurements: [$SERVER_M]
    tees: [sim]
    files:
      /etc/veil/tls/cert.pem: "{{secret.redis_cert.chain}}"
      /etc/veil/tls/key.pem: {content: "{{secret.redis_cert.key}}", mode: "0400"}
      /etc/veil/tls/ca.pem: "{{secret.ca.cert}}"
  client:
    measurements: [$CLIENT_M]
    tees: [sim]
    files:
      /etc/veil/tls/cert.pem: "{{secret.client_cert.chain}}"
      /etc/veil/tls/key.pem: {content: "{{secret.client_cert.key}}", mode: "0400"}
      /etc/veil/tls/ca.pem: "{{secret.ca.cert}}"
  bare:
    measurements: [$BARE_M]
    tees: [sim]
POLICY
check "the owner applies a policy with a CA and a certificate per service" \
  bash -c "'$VEIL' cas policy apply -f '$WORK/policy.yaml' >/dev/null 2>'$WORK/apply.err'"

"$VEIL_RUN" --root "$WORK/server" --sim-dir "$WORK/sim" >"$WORK/server.log" 2>&1 &
server=$!
check "redis-server attests and veil-run serves its port with the policy certificate" wait_listen "$port"
out=$(printf 'SET nettls-cas works\nGET nettls-cas\n' | timeout 20 "$VEIL_RUN" --root "$WORK/client" --sim-dir "$WORK/sim" 2>"$WORK/client.log")
check "redis-cli attests, and its commands succeed through TLS between the two policy certificates" \
  bash -c "[ \"\$(echo '$out' | tr '\n' ' ')\" = 'OK works ' ]"
timeout 20 "$VEIL_RUN" --root "$WORK/bare" --sim-dir "$WORK/sim" >"$WORK/bare.out" 2>"$WORK/bare.log"
check "a service the policy gives no certificate files refuses to start (network rules without identity)" \
  bash -c "! grep -q PONG '$WORK/bare.out' && grep -q 'delivered no /etc/veil/tls/cert.pem' '$WORK/bare.log'"
[ $tap_failed = 0 ] || { tail -n 5 "$WORK/server.log" "$WORK/client.log" "$WORK/apply.err" | sed 's/^/# /'; }
exit $tap_failed
