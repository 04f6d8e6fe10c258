#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# veil-cas end to end over loopback with real TLS 1.3 and sim RA-TLS workloads: owners, predecessors,
# secrets, refusals with reasons, volume rollback, kill -9 under load, audit verify and tamper detection.
set -uo pipefail
B=${VEIL_BUILD_ROOT:?}
VEIL=$B/src/cli/veil
CAS=$B/src/cas/veil-cas
WL=$B/tests/cas/cas-workload
T=$(mktemp -d /tmp/veil-cas-e2e.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    [ -n "${LOAD:-}" ] && kill "$LOAD" "$LOAD2" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

echo "1..31"

start() {
    rm -f "$T/port"
    ${SERVE:-$CAS} --state "$T/state" --port "${PORT:-0}" --port-file "$T/port" --threads 2 "$@" 2>>"$T/cas.log" &
    PID=$!
    for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    PORT=$(cat "$T/port" 2>/dev/null)
    export VEIL_CAS=127.0.0.1:$PORT VEIL_CAS_CERT=$T/state/tls.crt
}
SIMROOT="--sim-root $T/sim/root.pem"
wl() { "$WL" --cas "$VEIL_CAS" --cas-cert "$VEIL_CAS_CERT" --sim-dir "$T/sim" "$@"; }

M=$(printf 'ab%.0s' $(seq 32))
M_OTHER=$(printf 'cd%.0s' $(seq 32))
M_API=$(printf "ef%.0s" $(seq 32))
# the sim platform: created by the first workload run (its root is what the service trusts)
"$WL" --cas 127.0.0.1:1 --cas-cert /dev/null --sim-dir "$T/sim" --measurement "$M" --policy x --service y >/dev/null 2>&1

start $SIMROOT
check "daemon listens" test -n "$PORT"
out=$(wl --no-cert --get /healthz); check "healthz answers without a client certificate" grep -q '"ok"' <<<"$out"
out=$(wl --no-cert --get /readyz); check "readyz answers" grep -q '"ready"' <<<"$out"

OWNER=$("$VEIL" cas keygen --key "$T/owner.key" --cert "$T/owner.crt")
"$VEIL" cas keygen --key "$T/other.key" --cert "$T/other.crt" >/dev/null
export VEIL_CAS_OWNER_CERT=$T/owner.crt VEIL_CAS_OWNER_KEY=$T/owner.key
policy() {
    cat <<EOF
name: shop
owners: [$OWNER]
secrets:
  db_password: {kind: password, length: 24}
  api_token: {kind: imported, value: "imported-token-8c1f"}
  image_key: {kind: random, size: 32}
  data_key: {kind: random, size: 32}
  ca: {kind: x509_ca, common_name: shop CA}
  web_cert: {kind: x509, issuer: ca, common_name: web, dns: [web, localhost]}
  api_cert: {kind: x509, issuer: ca, common_name: api, dns: [api]}
images:
  web: {key: image_key}
volumes:
  data: {key: data_key}
services:
  web:
    measurements: [$M]
    tees: [sim]
    env:
      DB_PASSWORD: "{{secret.db_password}}"
      TOKEN: "{{secret.api_token}}"
    argv: ["--port", "$1"]
    files:
      /etc/tls/cert.pem: "{{secret.web_cert.chain}}"
      /etc/tls/key.pem: {content: "{{secret.web_cert.key}}", mode: "0400"}
    image: web
    volumes: [data]
  api:
    measurements: [$M_API]
    tees: [sim]
    files:
      /tls/cert.pem: "{{secret.api_cert.cert}}"
      /tls/key.pem: "{{secret.api_cert.key}}"
      /tls/ca.pem: "{{secret.api_cert.ca}}"
  hw-only:
    measurements: [$M]
EOF
}
policy 8443 >"$T/v1.yaml"
policy 9443 >"$T/v2.yaml"

out=$("$VEIL" cas policy apply -f "$T/v1.yaml" 2>&1)
check "owner applies a new policy" grep -q '^version 1' <<<"$out"
H1=$(awk '/^hash/ {print $2}' <<<"$out")

out=$("$VEIL" cas policy apply -f "$T/v2.yaml" --replaces "$H1" --cert "$T/other.crt" --key "$T/other.key" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "not an owner" <<<"$out"; then ok "update by a non-owner is refused"; else bad "update by a non-owner is refused" "$out"; fi
OTHER_FP=$(openssl x509 -in "$T/other.crt" -outform DER | sha256sum | cut -d' ' -f1)
printf 'name: fp\nowners: [%s]\nservices:\n  a:\n    measurements: [%s]\n' "$OTHER_FP" "$M" >"$T/fp.yaml"
out=$("$VEIL" cas policy apply -f "$T/fp.yaml" --cert "$T/other.crt" --key "$T/other.key" 2>&1)
check "an owner listed by certificate fingerprint applies a policy" grep -q '^version 1' <<<"$out"
out=$("$VEIL" cas policy apply -f "$T/v2.yaml" --replaces "$(printf '0%.0s' $(seq 64))" 2>&1)
if [ $? -ne 0 ] && grep -q "409.*current version's hash" <<<"$out"; then ok "update naming the wrong predecessor is refused"; else bad "wrong predecessor" "$out"; fi
out=$("$VEIL" cas policy apply -f "$T/v2.yaml" 2>&1)
if [ $? -ne 0 ]; then ok "update naming no predecessor is refused"; else bad "no predecessor" "$out"; fi
printf 'name: shop\nowners: [%s]\nservices:\n  a:\n    measurements: [%s]\n    env: {X: "{{secret.nope}}"}\n' "$OWNER" "$M" >"$T/bad.yaml"
out=$("$VEIL" cas policy apply -f "$T/bad.yaml" 2>&1)
if [ $? -ne 0 ] && grep -q "line 6: environment value refers to unknown secret 'nope'" <<<"$out"; then ok "unknown template name refused at apply time, with its line"; else bad "unknown template" "$out"; fi
out=$("$VEIL" cas policy apply -f "$T/v2.yaml" --replaces "$H1" 2>&1)
check "owner update naming the current hash is applied" grep -q '^version 2' <<<"$out"
out=$("$VEIL" cas policy history shop 2>&1)
check "history keeps both versions" test "$(grep -cE '^[12] ' <<<"$out")" = 2
out=$("$VEIL" cas policy diff shop 2>&1)
check "diff shows the change" grep -q '^+    argv: \["--port", "9443"\]' <<<"$out"

out=$(wl --measurement "$M" --policy shop --service web --volume data=0)
if grep -q '^status 200' <<<"$out" && grep -q '"DB_PASSWORD":"[A-Za-z0-9]\{24\}"' <<<"$out" &&
   grep -q '"TOKEN":"imported-token-8c1f"' <<<"$out" && grep -q '"argv":\["--port","9443"\]' <<<"$out" &&
   grep -q '"image":"[0-9a-f]\{64\}"' <<<"$out" && grep -q '"path":"/etc/tls/key.pem"' <<<"$out"; then
    ok "attested workload receives env, argv, files and keys"
else bad "attested workload receives its configuration" "$out"; fi
PW=$(grep -o '"DB_PASSWORD":"[^"]*"' <<<"$out" | cut -d'"' -f4)
CERT=$(grep -o '"path":"/etc/tls/cert.pem","content_base64":"[^"]*"' <<<"$out" | cut -d'"' -f8 | base64 -d)
if grep -q "BEGIN CERTIFICATE" <<<"$CERT" && [ "$(grep -c 'BEGIN CERTIFICATE' <<<"$CERT")" = 2 ]; then
    ok "leaf certificate and policy CA delivered as a chain"
else bad "certificate chain" "$CERT"; fi

# two services of one policy authenticate each other with mutual TLS under the policy CA
file_of() { grep -o "\"path\":\"$2\",\"content_base64\":\"[^\"]*\"" <<<"$1" | cut -d'"' -f8 | base64 -d; }
API=$(wl --measurement "$M_API" --policy shop --service api)
mkdir -p "$T/mtls"
file_of "$API" /tls/cert.pem >"$T/mtls/api.crt"
file_of "$API" /tls/key.pem >"$T/mtls/api.key"
file_of "$API" /tls/ca.pem >"$T/mtls/ca.crt"
file_of "$out" /etc/tls/key.pem >"$T/mtls/web.key"
file_of "$out" /etc/tls/cert.pem | openssl x509 -out "$T/mtls/web.crt" 2>/dev/null
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mtls() {
    printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -connect "127.0.0.1:$MPORT" -cert "$1" -key "$2" \
        -CAfile "$T/mtls/ca.crt" -verify_return_error -verify_hostname api -servername api -quiet 2>/dev/null | head -1
}
# api serves, requiring a client certificate from the policy CA
openssl s_server -accept "127.0.0.1:$MPORT" -cert "$T/mtls/api.crt" -key "$T/mtls/api.key" -CAfile "$T/mtls/ca.crt" \
    -Verify 1 -verify_return_error -tls1_3 -www >/dev/null 2>&1 &
SSERVER=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$MPORT") 2>/dev/null && break; sleep 0.05; done
# the foreign certificate first: the policy one succeeding afterwards shows the server was up throughout
res_bad=$(mtls "$T/owner.crt" "$T/owner.key")
res=$(mtls "$T/mtls/web.crt" "$T/mtls/web.key")
kill $SSERVER 2>/dev/null
wait $SSERVER 2>/dev/null
if grep -q "200 ok" <<<"$res" && ! grep -q "200 ok" <<<"$res_bad"; then
    ok "two services talk mutual TLS with policy-CA certificates (a foreign client certificate is refused)"
else bad "mutual TLS between services" "with policy cert: $res" "with foreign cert: $res_bad"; fi

out=$(wl --measurement "$M_OTHER" --policy shop --service web)
if grep -q '^status 403' <<<"$out" && grep -q "measurement $M_OTHER not allowed" <<<"$out"; then
    ok "mismatched measurement refused with the reason"
else bad "mismatched measurement" "$out"; fi
out=$(wl --measurement "$M" --policy shop --service hw-only)
if grep -q '^status 403' <<<"$out" && grep -q "sim must be listed explicitly" <<<"$out"; then
    ok "sim refused where the policy does not name it"
else bad "sim not written" "$out"; fi
out=$(wl --no-cert --policy shop --service web)
check "attest without a client certificate is refused" grep -q '^status 401' <<<"$out"

out=$(wl --measurement "$M" --policy shop --service web --report data=5)
check "workload reports a new volume version" grep -q '^status 200' <<<"$out"
out=$(wl --measurement "$M" --policy shop --service web --volume data=4)
if grep -q '^status 409' <<<"$out" && grep -q "rolled back" <<<"$out"; then ok "rolled-back volume refused at start"; else bad "rollback" "$out"; fi
"$VEIL" cas volume accept shop data 4 >/dev/null 2>&1
out=$(wl --measurement "$M" --policy shop --service web --volume data=4)
check "owner accepts the older version explicitly" grep -q '^status 200' <<<"$out"

out=$("$VEIL" cas audit shop 2>&1)
if grep -q "attest.refused.*measurement $M_OTHER not allowed" <<<"$out" && grep -q "attest.accepted" <<<"$out" &&
   ! grep -q "$PW" <<<"$out"; then
    ok "audit log has the refusal reason and released secret names, never values"
else bad "audit content" "$out"; fi

# kill -9 under load: every acknowledged volume version and policy version survives
H=$("$VEIL" cas policy history shop 2>/dev/null | awk 'NR == 2 {print $2}')
(
    v=10
    while :; do
        if wl --measurement "$M" --policy shop --service web --report data=$v 2>/dev/null | grep -q '^status 200'; then
            echo $v >"$T/acked"
        fi
        v=$((v + 1))
    done
) &
LOAD=$!
(
    # owners update the policy at the same time, each update naming the previous one
    i=0
    while :; do
        { policy 9443; echo "# update $i"; } >"$T/vn.yaml"
        out=$("$VEIL" cas policy apply -f "$T/vn.yaml" --replaces "$H" 2>/dev/null) || continue
        H=$(awk '/^hash/ {print $2}' <<<"$out")
        awk '/^version/ {print $2}' <<<"$out" >"$T/acked-policy"
        i=$((i + 1))
    done
) &
LOAD2=$!
sleep 1.5
kill -9 "$PID"
wait "$PID" 2>/dev/null
sleep 0.3
kill "$LOAD" "$LOAD2" 2>/dev/null
wait "$LOAD" "$LOAD2" 2>/dev/null
LOAD=
ACKED=$(cat "$T/acked" 2>/dev/null || echo 0)
ACKED_POLICY=$(cat "$T/acked-policy" 2>/dev/null || echo 0)
SERVE="$VEIL cas serve" start $SIMROOT  # the same daemon, started as `veil cas serve`
out=$("$VEIL" cas volume show shop 2>&1)
STORED=$(awk '/^data/ {print $2}' <<<"$out")
if [ -n "$STORED" ] && [ "$ACKED" -gt 10 ] && [ "$STORED" -ge "$ACKED" ]; then
    ok "restart after kill -9 under load keeps every acknowledged volume version ($ACKED acked, $STORED stored)"
else bad "kill -9 volume durability" "acked=$ACKED stored=$STORED" "$out"; fi
out=$("$VEIL" cas policy show shop 2>&1 >/dev/null)
CUR=$(sed -n 's/.* version \([0-9]*\) hash.*/\1/p' <<<"$out")
if [ -n "$CUR" ] && [ "$ACKED_POLICY" -gt 2 ] && [ "$CUR" -ge "$ACKED_POLICY" ]; then
    ok "restart (as veil cas serve) after kill -9 keeps every acknowledged policy version ($ACKED_POLICY acked, $CUR current)"
else bad "kill -9 policy durability" "acked=$ACKED_POLICY current=$CUR" "$out"; fi

# secrets are not on disk in the clear
if ! grep -qa -- "$PW" "$T"/state/cas.db* && ! grep -qa "imported-token-8c1f" "$T"/state/cas.db* &&
   ! grep -qa "PRIVATE KEY" "$T"/state/cas.db*; then
    ok "no secret in the database files"
else bad "plaintext secret found in the database"; fi

out=$("$VEIL" cas audit --verify 2>&1)
check "audit chain verifies" grep -q "audit chain intact" <<<"$out"
HEAD0=$(sed -n 's/.*head \([0-9]*:[0-9a-f]*\)$/\1/p' <<<"$out")

# a whole-database rollback keeps a consistent chain; the head an owner recorded exposes it
kill "$PID"; wait "$PID" 2>/dev/null
cp -a "$T/state" "$T/state.bak"
start $SIMROOT
wl --measurement "$M" --policy shop --service web --volume data=100000 >/dev/null
HEAD1=$("$VEIL" cas audit --verify 2>&1 | sed -n 's/.*head \([0-9]*:[0-9a-f]*\)$/\1/p')
kill "$PID"; wait "$PID" 2>/dev/null
rm -rf "$T/state"; mv "$T/state.bak" "$T/state"
start $SIMROOT
out=$("$VEIL" cas audit --verify --expect "$HEAD1" 2>&1)
rc=$?
"$VEIL" cas audit --verify --expect "$HEAD0" >/dev/null 2>&1
rc0=$?
if [ -n "$HEAD1" ] && [ $rc -ne 0 ] && [ $rc0 -eq 0 ] && grep -q "audit chain intact" <<<"$out" &&
   grep -q "does NOT hold the recorded entry" <<<"$out"; then
    ok "a rolled-back database verifies on its own but not against the head an owner recorded"
else bad "audit rollback detection" "head1=$HEAD1 rc=$rc" "$out"; fi

# the service's own RA-TLS identity: workloads verify its measurement; owners keep their key pin
kill "$PID"; wait "$PID" 2>/dev/null
start $SIMROOT --ratls-sim "$T/sim"
CAS_M=$(sha256sum "$CAS" | cut -d' ' -f1)
out=$("$WL" --cas "$VEIL_CAS" --cas-measurement "$CAS_M" --sim-dir "$T/sim" --measurement "$M" --policy shop \
    --service web --volume data=100000 2>&1)
out_bad=$("$WL" --cas "$VEIL_CAS" --cas-measurement "$M_OTHER" --sim-dir "$T/sim" --measurement "$M" --policy shop \
    --service web --volume data=100000 2>&1)
owner=$("$VEIL" cas volume show shop 2>&1)
if grep -q '^status 200' <<<"$out" && grep -q "RA-TLS certificate was refused.*measurement" <<<"$out_bad" &&
   grep -q '^data ' <<<"$owner"; then
    ok "workloads verify the service's RA-TLS measurement; a wrong expectation is refused; owners still connect"
else bad "service RA-TLS identity" "$out" "$out_bad" "$owner"; fi

# recovery: the sealing root is lost; an owner's key recovers the master key, nothing else changes
kill "$PID"; wait "$PID" 2>/dev/null
start $SIMROOT --recovery-cert "$T/owner.crt"
kill "$PID"; wait "$PID" 2>/dev/null
rm -f "$T/state/sim-seal.key"
"$CAS" --state "$T/state" --port 0 --threads 2 2>"$T/lost.log"
lost_rc=$?
start $SIMROOT --recover-with "$T/owner.key"
out=$(wl --measurement "$M" --policy shop --service web --volume data=100000)
pw_after=$(grep -o '"DB_PASSWORD":"[^"]*"' <<<"$out" | cut -d'"' -f4)
if [ $lost_rc -ne 0 ] && grep -q "sealing root .* is missing" "$T/lost.log" && [ "$pw_after" = "$PW" ]; then
    ok "a lost sealing root is refused, then recovered with the owner's key: the same secrets are served"
else bad "recovery" "rc=$lost_rc $(cat "$T/lost.log")" "$out"; fi

# without --sim-root the service refuses sim evidence whatever the policy says
kill "$PID"; wait "$PID" 2>/dev/null
start
out=$(wl --measurement "$M" --policy shop --service web)
if grep -q '^status 403' <<<"$out" && grep -q "sim" <<<"$out"; then ok "sim evidence refused when the service trusts no sim root"; else bad "no sim root" "$out"; fi

# tamper with one audit entry behind the service's back
kill "$PID"; wait "$PID" 2>/dev/null
python3 - "$T/state/cas.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("DROP TRIGGER audit_no_update; UPDATE audit SET detail='{\"service\":\"web\"}' WHERE seq=3;")
db.commit()
EOF
start $SIMROOT
out=$("$VEIL" cas audit --verify 2>&1)
if [ $? -ne 0 ] && grep -q "BROKEN at entry 3" <<<"$out"; then ok "a tampered audit entry is detected"; else bad "tamper detection" "$out"; fi
kill "$PID"; wait "$PID" 2>/dev/null; PID=

[ $fails -eq 0 ]
