#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attested start-up end to end over loopback with the sim TEE: veil-run attests to a real veil-cas before
# starting a wrapped Python service, which gets its database password, TLS files and image key from the
# service; two services talk mutual TLS with policy-CA certificates; another measurement is refused (reason
# in the output and the audit log); a rolled-back volume is refused until its owner accepts it.
set -uo pipefail
. "$VEIL_SOURCE_ROOT/tests/shield/lib.sh"
. "$VEIL_SOURCE_ROOT/tests/attest/lib.sh"

WORK=$(mktemp -d /var/tmp/veil-attest.XXXXXX)
CAS_PID= API_PID=
cleanup() {
  [ -n "$API_PID" ] && kill -9 "$API_PID" 2>/dev/null
  [ -n "$CAS_PID" ] && kill "$CAS_PID" 2>/dev/null && wait "$CAS_PID" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
fail_with() { echo "# $*"; }
show() { sed 's/^/#   /' "$@" | tail -15; }

echo 1..24
Z=$(printf '0%.0s' $(seq 64))
"$VEIL" attest --tee sim --sim-dir "$WORK/sim" --measurement "$Z" --signer "$Z" -o "$WORK/ev" 2>/dev/null
# the service presents an RA-TLS certificate (sim) for its stable key: workloads may pin either
cas_start "$WORK/cas" "$WORK/cas.log" --sim-root "$WORK/sim/root.pem" --ratls-sim "$WORK/sim"
check "veil-cas listens on loopback" test -n "$CAS_PORT"
PIN=$("$VEIL" cas fingerprint "$WORK/cas/tls.crt")
ADDR="127.0.0.1:$CAS_PORT key=$PIN"
CAS_M=$(sha256sum "$VEIL_BUILD_ROOT/src/cas/veil-cas" | cut -d' ' -f1)
export VEIL_CAS=127.0.0.1:$CAS_PORT VEIL_CAS_CERT=$WORK/cas/tls.crt
export VEIL_CAS_OWNER_CERT=$WORK/owner.crt VEIL_CAS_OWNER_KEY=$WORK/owner.key
OWNER=$("$VEIL" cas keygen --key "$WORK/owner.key" --cert "$WORK/owner.crt")

"$VEIL" keygen -o "$WORK/signer.pem" >/dev/null 2>&1
head -c 32 /dev/urandom > "$WORK/image.key"
KEYHEX=$(od -An -tx1 -v "$WORK/image.key" | tr -d ' \n')
app_root "$WORK/src"
API_M=$(app_wrap "$WORK/src" "$WORK/api/" "$ADDR" shop/api "$WORK/image.key" --volume /data=data)
# web verifies the service by its RA-TLS measurement instead of a key pin
WEB_M=$(app_wrap "$WORK/src" "$WORK/web/" "127.0.0.1:$CAS_PORT measurement=$CAS_M" shop/web "$WORK/image.key")
FAKE_M=$(app_wrap "$WORK/src" "$WORK/fake/" "127.0.0.1:$CAS_PORT measurement=$(printf 'ab%.0s' $(seq 32))" shop/web "$WORK/image.key")
OTHER_M=$(app_wrap "$WORK/src" "$WORK/other/" "$ADDR" shop/api "$WORK/image.key" --volume /data=data -e EXTRA=1)
check "three images wrapped with the service address, two measurements in the policy and one not" \
  bash -c "[ ${#API_M} -eq 64 ] && [ ${#WEB_M} -eq 64 ] && [ ${#OTHER_M} -eq 64 ] && [ $API_M != $OTHER_M ]"
API_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export API_PORT
app_policy "$OWNER" "$KEYHEX" "$API_M" "$WEB_M" > "$WORK/policy.yaml"
sed "s/value: \"$KEYHEX\"/value: \"${KEYHEX:2}\"/" "$WORK/policy.yaml" > "$WORK/short.yaml"
check "an imported image key of the wrong length is refused when the policy is applied, with its line" \
  bash -c "! '$VEIL' cas policy apply -f '$WORK/short.yaml' >'$WORK/short.out' 2>&1 &&
           grep -q 'line [0-9]*: random secret .image_key.: value must be 64 hex digits' '$WORK/short.out'" || show "$WORK/short.out"
check "the owner applies the policy" bash -c "'$VEIL' cas policy apply -f '$WORK/policy.yaml' >/dev/null"

# start_api: veil-run in the background; waits until the app serves (0) or veil-run exits (1)
RUNS=0
start_api() {
  RUNS=$((RUNS + 1))
  [ -f "$WORK/api.err" ] && cat "$WORK/api.err" >> "$WORK/api.err.all"
  "$VEIL_RUN" --root "$WORK/api" --sim-dir "$WORK/sim" >"$WORK/api.out" 2>"$WORK/api.err" &
  API_PID=$!
  for _ in $(seq 600); do
    grep -q "app: serving" "$WORK/api.out" 2>/dev/null && return 0
    kill -0 "$API_PID" 2>/dev/null || { wait "$API_PID"; API_RC=$?; API_PID=; return 1; }
    sleep 0.05
  done
  return 1
}
get() { python3 - "$API_PORT" "$1" <<'PY'
import ssl, sys, urllib.request
ctx = ssl._create_unverified_context()
print(urllib.request.urlopen("https://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), context=ctx, timeout=20).read().decode().strip())
PY
}
stop_api() { [ -n "$API_PID" ] && { wait "$API_PID"; API_RC=$?; API_PID=; }; }

start_api
reply=$(get /hello 2>&1)
check "api attests, starts with its image key from the service, and serves HTTPS" \
  bash -c "[[ '$reply' == 'hello anonymous, visit 1' ]] && grep -q 'attested: policy version 1' '$WORK/api.err'" \
  || { show "$WORK/api.err"; echo "#   reply: $reply"; }
check "the database password is in its environment (24 characters; the value is never printed)" \
  grep -q "db password received: 24 characters" "$WORK/api.out"
check "its TLS certificate and key are files, served from memory and absent from the disk" \
  bash -c "grep -q '/etc/tls/key.pem: [1-9][0-9]* bytes' '$WORK/api.out' && [ -z \"\$(ls -A '$WORK/api/etc/tls')\" ]"

"$VEIL_RUN" --root "$WORK/web" --sim-dir "$WORK/sim" >"$WORK/web.out" 2>"$WORK/web.err"
check "web and api talk mutual TLS with policy-CA certificates (api names its client 'web')" \
  grep -q "reply from api: hello web, visit 2" "$WORK/web.out" || show "$WORK/web.err" "$WORK/web.out"
stop_api
check "api exits 0 after /quit" test "${API_RC:-1}" -eq 0 || show "$WORK/api.err"
volume_version() { "$VEIL" cas volume show shop 2>/dev/null | awk '$1 == "data" {print $2}'; }
V1=$(volume_version)
check "every write-back was reported: the service holds a version of volume data for each fsync (3) and the exit" \
  test "${V1:-0}" -ge 4 || echo "#   version: $V1"

"$VEIL_RUN" --root "$WORK/fake" --sim-dir "$WORK/sim" >"$WORK/fake.out" 2>"$WORK/fake.err"
rc=$?
check "a service whose RA-TLS measurement is not the one in the manifest is not trusted: nothing is sent, nothing starts" \
  bash -c "[ $rc -eq 1 ] && grep -q \"attestation failed: the attestation service's RA-TLS certificate was refused\" '$WORK/fake.err' &&
           ! grep -q 'app:' '$WORK/fake.out'" || show "$WORK/fake.err"
check "... and the service saw no attestation from it" bash -c "! '$VEIL' cas audit shop | grep -q '$FAKE_M'"

"$VEIL_RUN" --root "$WORK/other" --sim-dir "$WORK/sim" >"$WORK/other.out" 2>"$WORK/other.err"
rc=$?
check "an image with another measurement is refused before the app starts, with the service's reason" \
  bash -c "[ $rc -eq 1 ] && grep -q 'refusing to start: attestation failed: the attestation service refused (HTTP 403): .*measurement' '$WORK/other.err' &&
           ! grep -q 'app:' '$WORK/other.out'" || show "$WORK/other.err"
audit=$("$VEIL" cas audit shop 2>&1)
check "the refusal is in the audit log with its reason and the claimed measurement" \
  bash -c "grep 'attest.refused' <<<'$audit' | grep -q '$OTHER_M'" || echo "#   $(tail -c 600 <<<"$audit")"

# rollback: keep a copy of the volume, let the app write and fsync, put the copy back
cp -a "$WORK/api/data" "$WORK/data.copy"
start_api && get /quit >/dev/null 2>&1
stop_api
V2=$(volume_version)
check "the app writes its volume again: the service's version grows" test "${V2:-0}" -gt "$V1"
rm -rf "$WORK/api/data" && cp -a "$WORK/data.copy" "$WORK/api/data"
start_api
check "the restored (rolled-back) volume is refused at the next start" \
  bash -c "[ '${API_RC:-0}' -eq 1 ] && grep -q 'refusing to start: attestation failed: .*(HTTP 409)' '$WORK/api.err'" || show "$WORK/api.err"
check "the refusal is audited" bash -c "'$VEIL' cas audit shop | grep 'attest.refused' | grep -qi 'volume'"
check "the owner accepts the restored version explicitly" bash -c "'$VEIL' cas volume accept shop data $V1 >/dev/null"
start_api
reply=$(get /quit 2>&1)
stop_api
check "after the owner's acceptance the app starts and continues from the restored data" \
  bash -c "[[ '$reply' == 'hello anonymous, visit 4' ]]" || { show "$WORK/api.err"; echo "#   reply: $reply"; }
# one file of the volume put back alone (the version file is current): the service cannot see it, veil-run can
cp -a "$WORK/api/data/visits" "$WORK/visits.copy"
start_api && get /quit >/dev/null 2>&1
stop_api
cp -a "$WORK/visits.copy" "$WORK/api/data/visits"
start_api
reply=$(get /hello 2>&1)
[ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null
stop_api
check "a single file of the volume rolled back is refused at its first open (the volume's table of versions)" \
  bash -c "grep -q 'refusing encrypted file /data/visits: version [0-9]* but volume data recorded [0-9]*: rolled back' '$WORK/api.err' &&
           [[ '$reply' != hello* ]]" || { show "$WORK/api.err"; echo "#   reply: $reply"; }
rm -f "$WORK/api/data/visits"
start_api
reply=$(get /quit 2>&1)
stop_api
check "with the file deleted on the host the app starts its count again (a deletion by the host is not detected)" \
  bash -c "[[ '$reply' == 'hello anonymous, visit 1' ]]" || { show "$WORK/api.err"; echo "#   reply: $reply"; }

head -c 32 /dev/urandom > "$WORK/dev.key"
"$VEIL_RUN" --root "$WORK/api" --dev-key-file "$WORK/dev.key" >"$WORK/dev.out" 2>"$WORK/dev.err"
rc=$?
check "with a service in the manifest the development key file is refused" \
  bash -c "[ $rc -eq 1 ] && grep -q 'names an attestation service; --dev-key-file is for images without one' '$WORK/dev.err'"
kill "$CAS_PID" 2>/dev/null; wait "$CAS_PID" 2>/dev/null
"$VEIL_RUN" --root "$WORK/api" --sim-dir "$WORK/sim" >"$WORK/down.out" 2>"$WORK/down.err"
rc=$?
check "with the service unreachable the app does not start (fail closed)" \
  bash -c "[ $rc -eq 1 ] && grep -q 'attestation failed: no response from the attestation service' '$WORK/down.err' && [ ! -s '$WORK/down.out' ]"
cas_start "$WORK/cas" "$WORK/cas.log" --sim-root "$WORK/sim/root.pem" --ratls-sim "$WORK/sim"
check "the audit chain verifies" bash -c "'$VEIL' cas audit --verify >/dev/null"
exit $tap_failed
