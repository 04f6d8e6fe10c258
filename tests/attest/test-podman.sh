#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attested start-up in a real container engine: a Debian python3 image imported into podman, wrapped by
# `veil wrap` as an OCI archive, loaded, and run with `podman run --runtime runc`; veil-run (PID 1) attests
# to veil-cas on the host's loopback, the app serves with its secrets; its volume is a host directory.
set -uo pipefail
. "$VEIL_SOURCE_ROOT/tests/shield/lib.sh"
. "$VEIL_SOURCE_ROOT/tests/attest/lib.sh"
command -v podman >/dev/null || { echo "1..0 # SKIP podman not installed"; exit 0; }

WORK=$(mktemp -d /var/tmp/veil-attest-podman.XXXXXX)
TAG=localhost/veil-attest-podman-$$
NAME=veil-attest-podman-$$
CAS_PID=
cleanup() {
  podman rm -f -t 0 "$NAME" >/dev/null 2>&1
  podman rmi -f "$TAG:src" "$TAG:veil" >/dev/null 2>&1
  [ -n "$CAS_PID" ] && kill "$CAS_PID" 2>/dev/null && wait "$CAS_PID" 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
show() { sed 's/^/#   /' "$@" | tail -15; }

echo 1..4
Z=$(printf '0%.0s' $(seq 64))
"$VEIL" attest --tee sim --sim-dir "$WORK/sim" --measurement "$Z" --signer "$Z" -o "$WORK/ev" 2>/dev/null
cas_start "$WORK/cas" "$WORK/cas.log" --sim-root "$WORK/sim/root.pem"
export VEIL_CAS=127.0.0.1:$CAS_PORT VEIL_CAS_CERT=$WORK/cas/tls.crt
export VEIL_CAS_OWNER_CERT=$WORK/owner.crt VEIL_CAS_OWNER_KEY=$WORK/owner.key
OWNER=$("$VEIL" cas keygen --key "$WORK/owner.key" --cert "$WORK/owner.crt")
"$VEIL" keygen -o "$WORK/signer.pem" >/dev/null 2>&1
head -c 32 /dev/urandom > "$WORK/image.key"

app_root "$WORK/rootfs"
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
podman import -q "$WORK/rootfs.tar" "$TAG:src" >/dev/null 2>&1 &&
  podman save -q --format oci-archive -o "$WORK/app.oci.tar" "$TAG:src" >/dev/null 2>&1
M=$(app_wrap "$WORK/app.oci.tar" "$WORK/app.veil.tar" "127.0.0.1:$CAS_PORT key=$("$VEIL" cas fingerprint "$WORK/cas/tls.crt")" \
  shop/api "$WORK/image.key" --volume /data=data -t "$TAG:veil")
label=$(podman load -q -i "$WORK/app.veil.tar" >/dev/null 2>&1 &&
        podman image inspect -f '{{index .Labels "org.veil.measurement"}}' "$TAG:veil" 2>/dev/null)
check "a podman image wrapped with a service address loads, labelled with its measurement" \
  bash -c "[ ${#M} -eq 64 ] && [ '$label' = '$M' ]"

export API_PORT
API_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
app_policy "$OWNER" "$(od -An -tx1 -v "$WORK/image.key" | tr -d ' \n')" "$M" "$Z" > "$WORK/policy.yaml"
"$VEIL" cas policy apply -f "$WORK/policy.yaml" >/dev/null

mkdir -p "$WORK/data"
podman run --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host --name "$NAME" \
  -v "$WORK/sim:/sim:ro" -v "$WORK/data:/data" "$TAG:veil" --sim-dir /sim >"$WORK/out" 2>"$WORK/err" &
pid=$!
for _ in $(seq 600); do grep -q "app: serving" "$WORK/out" 2>/dev/null && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
reply=$(python3 - "$API_PORT" <<'PY' 2>&1
import ssl, sys, urllib.request
ctx = ssl._create_unverified_context()
print(urllib.request.urlopen("https://127.0.0.1:%s/quit" % sys.argv[1], context=ctx, timeout=30).read().decode().strip())
PY
)
wait $pid
rc=$?
check "veil-run attests from inside the container and the app serves with the service's certificate" \
  bash -c "[ '$reply' = 'hello anonymous, visit 1' ] && [ $rc -eq 0 ] && grep -q 'attested: policy version 1' '$WORK/err' &&
           grep -q 'db password received: 24 characters' '$WORK/out'" || { show "$WORK/err"; echo "#   reply: $reply"; }
check "the volume on the host holds only ciphertext and the version file" \
  bash -c "[ \$(stat -c %s '$WORK/data/visits') -gt 100 ] && '$VEIL' pfs info '$WORK/data/visits' >/dev/null &&
           '$VEIL' pfs info '$WORK/data/.veil-volume' >/dev/null"
v=$("$VEIL" cas volume show shop | awk '$1 == "data" {print $2}')
check "its write-backs were reported from the container (version $v)" test "${v:-0}" -ge 1
exit $tap_failed
