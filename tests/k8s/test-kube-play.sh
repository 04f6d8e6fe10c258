#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The rendered dev overlay runs for real under `podman kube play` (runc): veil-cas passes its probes and a sim
# workload attests to it; the wrapped Redis and Python images serve requests under veil-run with their data
# encrypted on their volume; deleting and re-playing keeps policies, secrets, TLS identity and Redis's data.
set -uo pipefail

: "${VEIL_BUILD_ROOT:?}" "${VEIL_SOURCE_ROOT:?}"
veil="$VEIL_BUILD_ROOT/src/cli/veil"
workload="$VEIL_BUILD_ROOT/tests/cas/cas-workload"
command -v podman >/dev/null && command -v kubectl >/dev/null || { echo "1..0 # SKIP podman or kubectl missing"; exit 0; }
[ -x "$workload" ] || { echo "1..0 # SKIP tests/cas/cas-workload is not built"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs rootful podman (hostPort, named volumes shared with the test)"; exit 0; }

work=$(mktemp -d /var/tmp/veil-kube-play.XXXXXX)
tag=localhost/veil/veil-cas:dev
redis_tag=localhost/veil/examples/redis:veil
python_tag=localhost/veil/examples/python-app:veil
volume=veil-cas-state
# named volumes kube play creates: the claims, the ConfigMap, and the Secrets (podman keeps secret volumes on disk)
volumes=("$volume" redis-data veil-sim-root redis-image-key python-app-image-key)
port=18443
# podman kube play has no --runtime or --ulimit: the test's containers.conf says runc and the limits
cat > "$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$work/containers.conf"

cleanup() {
    podman kube down "$work/dev.yaml" >/dev/null 2>&1
    podman volume rm -f "${volumes[@]}" >/dev/null 2>&1
    podman secret rm redis-image-key python-app-image-key >/dev/null 2>&1
    podman rmi -f "$tag" "$redis_tag" "$python_tag" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; [ -f "$work/out" ] && sed 's/^/# /' "$work/out" | head -30; }
check() { local name=$1; shift; if "$@" >"$work/out" 2>&1; then ok "$name"; else not_ok "$name"; fi; }

for v in "${volumes[@]}"; do
    if podman volume exists "$v" || podman secret inspect "$v" >/dev/null 2>&1; then
        echo "1..0 # SKIP a volume or secret named $v already exists on this machine (not ours to remove)"; exit 0
    fi
done
# the dev overlay publishes these host ports
for hp in 18443 16379 18080; do
    ss -Hltn "sport = :$hp" 2>/dev/null | grep -q . && { echo "1..0 # SKIP host port $hp is in use"; exit 0; }
done
command -v redis-cli >/dev/null || { echo "1..0 # SKIP redis-cli (redis-tools) missing"; exit 0; }
for p in veil-cas redis python-app; do
    podman pod exists "$p-pod-0" && { echo "1..0 # SKIP pod $p-pod-0 already exists (not ours to remove)"; exit 0; }
done
# shellcheck source=images.sh
source "$VEIL_SOURCE_ROOT/tests/k8s/images.sh"
"$veil" keygen -o "$work/signer.pem" >/dev/null 2>&1
sentinel="VEIL-K8S-SENTINEL-$RANDOM$RANDOM"
export VEIL_K8S_GREETING="greeting from an encrypted file"
{ build_cas_image "$tag" "$work" && build_redis_image "$redis_tag" "$work" "$work/signer.pem" &&
  build_python_image "$python_tag" "$work" "$work/signer.pem"; } >"$work/build.log" 2>&1 ||
    { echo "1..0 # SKIP cannot build the images: $(tail -c 300 "$work/build.log")"; exit 0; }

echo "1..19"

# --- what the user does: render the dev overlay, create the sim root ConfigMap from their own platform ---
export VEIL_SIM_DIR="$work/sim"
measurement=$(printf 'ab%.0s' $(seq 32))
"$veil" attest --tee sim --measurement "$measurement" --signer "$measurement" -o "$work/ev" 2>/dev/null
kubectl create configmap veil-sim-root --from-file=root.pem="$VEIL_SIM_DIR/root.pem" --dry-run=client -o yaml \
    >"$work/sim-root.yaml" 2>"$work/out"
kubectl kustomize "$VEIL_SOURCE_ROOT/deploy/kubernetes/overlays/dev" -o "$work/dev.yaml" 2>>"$work/out"
# podman 4.3 refuses to re-create a claim whose volume exists: the re-play leaves the claims out
python3 - "$work/dev.yaml" "$work/replay.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
yaml.safe_dump_all([d for d in docs if d['kind'] != 'PersistentVolumeClaim'], open(sys.argv[2], 'w'), sort_keys=False)
EOF
# The image keys as Secrets. podman's kube play reads a podman secret holding a Secret's YAML and does not
# base64-decode `data`, so the raw key goes in as a YAML !!binary value (in Kubernetes:
# kubectl create secret generic redis-image-key --from-file=image.key=redis.key).
for w in redis python-app; do
    printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: %s-image-key}\ndata:\n  image.key: !!binary %s\n' \
        "$w" "$(base64 -w0 "$work/$w.key")" | podman secret create "$w-image-key" - >/dev/null
done
check "podman kube play runs the whole rendered dev overlay (veil-cas, redis, python-app; runc)" \
    podman kube play --configmap "$work/sim-root.yaml" "$work/dev.yaml"

ready() {
    for _ in $(seq 100); do
        curl -ksf "https://127.0.0.1:$port/readyz" >"$work/readyz" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "no /readyz answer on port $port"; podman logs veil-cas-pod-0-veil-cas 2>&1 | tail -5; return 1
}
check "readiness: /readyz answers over TLS on the hostPort" ready

# podman runs the liveness probe (an exec probe in the dev overlay) as the container's healthcheck
check "liveness: podman's healthcheck (the probe's command, in the container) says healthy" \
    podman healthcheck run veil-cas-pod-0-veil-cas

hardened() {
    local got
    got=$(podman inspect veil-cas-pod-0-veil-cas --format \
        '{{.Config.User}} ro={{.HostConfig.ReadonlyRootfs}} caps={{.EffectiveCaps}} priv={{.HostConfig.Privileged}} {{.HostConfig.SecurityOpt}}')
    echo "$got"
    [[ $got == 65532* && $got == *"ro=true"* && $got == *"caps=[]"* && $got == *"priv=false"* && $got == *no-new-privileges* ]]
}
check "the securityContext reached the container: uid 65532, read-only root, no capabilities, no-new-privileges" hardened

# --- an owner applies a policy; a sim workload attests to the played service ---
state=$(podman volume inspect "$volume" --format '{{.Mountpoint}}')
export VEIL_CAS="127.0.0.1:$port" VEIL_CAS_CERT="$state/tls.crt"
owner=$("$veil" cas keygen --key "$work/owner.key" --cert "$work/owner.crt")
export VEIL_CAS_OWNER_CERT="$work/owner.crt" VEIL_CAS_OWNER_KEY="$work/owner.key"
cat > "$work/policy.yaml" <<EOF
name: shop
owners: [$owner]
secrets:
  db_password: {kind: password, length: 24}
services:
  web:
    measurements: [$measurement]
    tees: [sim]
    env:
      DB_PASSWORD: "{{secret.db_password}}"
EOF
"$veil" cas policy apply -f "$work/policy.yaml" >"$work/apply" 2>&1
check "the owner applies a policy to the played service" grep -q '^version 1' "$work/apply"
hash=$(awk '/^hash/ {print $2}' "$work/apply")
attest() {
    "$workload" --cas "$VEIL_CAS" --cas-cert "$VEIL_CAS_CERT" --sim-dir "$VEIL_SIM_DIR" --measurement "$measurement" \
        --policy shop --service web
}
attest >"$work/attest1" 2>&1
check "a sim workload attests over RA-TLS and receives its secret" grep -q '"DB_PASSWORD":"[A-Za-z0-9]\{24\}"' "$work/attest1"
password=$(grep -o '"DB_PASSWORD":"[^"]*"' "$work/attest1")
cert_before=$(openssl x509 -in "$state/tls.crt" -noout -fingerprint -sha256 2>/dev/null)

# --- the example workloads: wrapped images, veil-run as PID 1, hardened pods ---
redis() { redis-cli -h 127.0.0.1 -p 16379 "$@"; }
serving() {
    for _ in $(seq 100); do
        [ "$(redis PING 2>/dev/null)" = PONG ] && curl -sf http://127.0.0.1:18080/healthz >/dev/null && return 0
        sleep 0.2
    done
    podman logs redis-pod-0-redis 2>&1 | tail -5; podman logs python-app-pod-0-python-app 2>&1 | tail -5; return 1
}
check "the wrapped Redis and Python services serve requests under veil-run" serving
check "veil-run verified each image's manifest and runs in development key mode (says so)" \
    bash -c "podman logs redis-pod-0-redis 2>&1 | grep -q 'DEVELOPMENT MODE' &&
             podman logs python-app-pod-0-python-app 2>&1 | grep -q 'DEVELOPMENT MODE' &&
             podman logs redis-pod-0-redis 2>&1 | grep -q 'measurement [0-9a-f]\{64\}'"
workloads_hardened() {
    local c got
    for c in redis-pod-0-redis python-app-pod-0-python-app; do
        got=$(podman inspect "$c" --format '{{.Config.User}} ro={{.HostConfig.ReadonlyRootfs}} caps={{.EffectiveCaps}} priv={{.HostConfig.Privileged}}')
        echo "$c: $got"
        [[ $got == "1000:1000 ro=true caps=[] priv=false" || $got == "1000 ro=true caps=[] priv=false" ]] || return 1
    done
}
check "the workloads run as uid 1000 with a read-only root and no capabilities" workloads_hardened
check "python-app serves the content of its encrypted /app" \
    bash -c "curl -sf http://127.0.0.1:18080/ | grep -qF '$VEIL_K8S_GREETING'"
# the layers of the wrapped archive are plain tars: a plaintext copy of /app would be found by grep
image_encrypted() {
    grep -qF "$VEIL_K8S_GREETING" "$work/python-root/app/greeting.txt" &&
    ! grep -qF "$VEIL_K8S_GREETING" "$work/python-app.veil.tar" && grep -qF veil-k8s-main-py-marker "$work/python-root/app/main.py" && ! grep -qF veil-k8s-main-py-marker "$work/python-app.veil.tar"
}
check "the image carries /app only as ciphertext (neither the greeting nor main.py in the archive)" image_encrypted
redis_data=$(podman volume inspect redis-data --format '{{.Mountpoint}}')
stored() { [ "$(redis SET veil:k8s "$sentinel")" = OK ] && [ "$(redis SAVE)" = OK ] && [ -s "$redis_data/dump.rdb" ]; }
ciphertext() {
    head -c 8 "$redis_data/dump.rdb" | grep -q VEILPFS || { echo "dump.rdb is not in the encrypted file format"; return 1; }
    ! grep -rqF "$sentinel" "$redis_data" || { echo "the sentinel is in the volume in plaintext"; return 1; }
}
check "Redis stores a value and saves (SAVE)" stored
check "its volume holds only ciphertext: dump.rdb in the encrypted file format, no plaintext sentinel" ciphertext

# --- delete and re-play: the claims' volumes stay, so does everything in them ---
check "podman kube down deletes the pods and keeps the volumes" \
    bash -c "podman kube down '$work/dev.yaml' && ! podman pod exists veil-cas-pod-0 && ! podman pod exists redis-pod-0 &&
             podman volume exists '$volume' && podman volume exists redis-data"
replay() { podman kube play --configmap "$work/sim-root.yaml" "$work/replay.yaml" && ready && serving; }
check "re-played (the Deployments on the existing claims), everything is ready again" replay
"$veil" cas policy show shop >"$work/show" 2>&1
history=$("$veil" cas policy history shop 2>&1)
if grep -q "$hash" <<<"$history" && grep -q 'db_password' "$work/show"; then ok "the policy survived delete + re-play (same version hash)"
else cp "$work/show" "$work/out"; echo "$history" >>"$work/out"; not_ok "the policy survived delete + re-play"; fi
attest >"$work/attest2" 2>&1
check "the workload attests again and receives the same secret" grep -qF "$password" "$work/attest2"
cert_after=$(openssl x509 -in "$state/tls.crt" -noout -fingerprint -sha256 2>/dev/null)
if [ -n "$cert_before" ] && [ "$cert_before" = "$cert_after" ]; then ok "the service kept its TLS identity (clients' pins stay valid)"
else echo "$cert_before / $cert_after" >"$work/out"; not_ok "the service kept its TLS identity"; fi
check "Redis reads its encrypted dump back: the value survived" bash -c "[ \"\$(redis-cli -p 16379 GET veil:k8s)\" = '$sentinel' ]"
