#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The rendered dev overlay runs for real under `podman kube play` (runc): veil-cas passes its probes; the wrapped
# Redis and Python images, pinned to the service's pre-made TLS key, attest to it from their pods under veil-run
# (sim TEE), receive their keys and secrets, and serve requests with their data encrypted on their volume;
# deleting and re-playing keeps policies, secrets, volume versions and Redis's data, and the workloads attest again.
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
volumes=("$volume" redis-data veil-sim-root veil-cas-tls veil-sim-platform)
port=18443
# the pods' network, made by the test so that its gateway (the workloads' way to the service's hostPort) is known
network=veil-kube-play
# podman kube play has no --runtime or --ulimit: the test's containers.conf says runc and the limits
cat > "$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$work/containers.conf"

cleanup() {
    [ -n "${KEEP:-}" ] && { echo "# kept: $work (podman kube down $work/dev.yaml, then remove the volumes, secrets, images)"; return; }
    podman kube down "$work/dev.yaml" >/dev/null 2>&1
    podman volume rm -f "${volumes[@]}" >/dev/null 2>&1
    podman secret rm veil-cas-tls veil-sim-platform >/dev/null 2>&1
    podman rmi -f "$tag" "$redis_tag" "$python_tag" >/dev/null 2>&1
    [ -n "${made_network:-}" ] && podman network rm -f "$network" >/dev/null 2>&1
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
podman network exists "$network" && { echo "1..0 # SKIP a podman network named $network already exists (not ours)"; exit 0; }
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
# The service's TLS identity is made before anything is deployed: the images pin its key. The workloads reach
# the service at its hostPort through the gateway of the pods' network (podman kube play has no Service IPs;
# the address in a manifest is numeric: veil-run resolves no names).
podman network create "$network" >/dev/null 2>&1 && made_network=1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=veil-cas \
    -keyout "$work/tls.key" -out "$work/tls.crt" >/dev/null 2>&1
pin=$("$veil" cas fingerprint "$work/tls.crt")
gateway=$(podman network inspect "$network" --format '{{range .Subnets}}{{.Gateway}} {{end}}' 2>/dev/null | awk '{print $1}')
[ -n "$pin" ] && [ -n "$gateway" ] || { echo "1..0 # SKIP no TLS key pin ($pin) or no gateway of podman's network ($gateway)"; exit 0; }
address="$gateway:$port key=$pin"
sentinel="VEIL-K8S-SENTINEL-$RANDOM$RANDOM"
export VEIL_K8S_GREETING="greeting from an encrypted file"
{ build_cas_image "$tag" "$work" && build_redis_image "$redis_tag" "$work" "$work/signer.pem" "$address" &&
  build_python_image "$python_tag" "$work" "$work/signer.pem" "$address"; } >"$work/build.log" 2>&1 ||
    { echo "1..0 # SKIP cannot build the images: $(tail -c 300 "$work/build.log")"; exit 0; }

echo "1..22"

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
# The Secrets: the service's TLS identity and the sim platform the workloads' evidence comes from. podman's kube
# play reads a podman secret holding a Secret's YAML and does not base64-decode `data`, so the files go in as
# YAML !!binary values (in Kubernetes: kubectl create secret tls veil-cas-tls --cert=tls.crt --key=tls.key;
# kubectl create secret generic veil-sim-platform --from-file="$VEIL_SIM_DIR").
secret() {
    local name=$1 dir=$2 f; shift 2
    { printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: %s}\ndata:\n' "$name"
      for f in "$@"; do printf '  %s: !!binary %s\n' "$f" "$(base64 -w0 "$dir/$f")"; done
    } | podman secret create "$name" - >/dev/null
}
secret veil-cas-tls "$work" tls.crt tls.key
secret veil-sim-platform "$VEIL_SIM_DIR" ak.key ak.pem root.pem
m_redis=$(podman image inspect -f '{{index .Labels "org.veil.measurement"}}' "$redis_tag")
m_python=$(podman image inspect -f '{{index .Labels "org.veil.measurement"}}' "$python_tag")
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
check "podman kube play runs the whole rendered dev overlay (veil-cas, redis, python-app; runc)" \
    podman kube play --network "$network" --configmap "$work/sim-root.yaml" "$work/dev.yaml"

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

# --- an owner applies a policy naming the images' measurements; until then the workloads' attestation is
# refused (404) and their pods restart, as they would crash-loop in Kubernetes ---
export VEIL_CAS="127.0.0.1:$port" VEIL_CAS_CERT="$work/tls.crt"
owner=$("$veil" cas keygen --key "$work/owner.key" --cert "$work/owner.crt")
export VEIL_CAS_OWNER_CERT="$work/owner.crt" VEIL_CAS_OWNER_KEY="$work/owner.key"
cat > "$work/policy.yaml" <<EOF
name: shop
owners: [$owner]
secrets:
  db_password: {kind: password, length: 24}
  python_image_key: {kind: random, size: 32, value: "$(hex "$work/python-app.key")"}
  redis_data_key: {kind: random, size: 32}
images:
  python_app: {key: python_image_key}
volumes:
  redis_data: {key: redis_data_key}
services:
  web:
    measurements: [$measurement]
    tees: [sim]
    env:
      DB_PASSWORD: "{{secret.db_password}}"
  python-app:
    measurements: [$m_python]
    tees: [sim]
    image: python_app
    env:
      DB_PASSWORD: "{{secret.db_password}}"
  redis:
    measurements: [$m_redis]
    tees: [sim]
    volumes: [redis_data]
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

# --- the example workloads: wrapped images, veil-run as PID 1 attesting from its pod, hardened pods ---
redis() { redis-cli -h 127.0.0.1 -p 16379 "$@"; }
serving() {
    for _ in $(seq 200); do
        [ "$(redis PING 2>/dev/null)" = PONG ] && curl -sf http://127.0.0.1:18080/healthz >/dev/null && return 0
        sleep 0.2
    done
    podman logs redis-pod-0-redis 2>&1 | tail -5; podman logs python-app-pod-0-python-app 2>&1 | tail -5; return 1
}
check "the wrapped Redis and Python services serve requests under veil-run" serving
# accepted: the service's audit log names each workload's service and measurement
audited() {
    local audit; audit=$("$veil" cas audit shop 2>&1)
    for s in "python-app.*$m_python" "redis.*$m_redis"; do
        grep 'attest.accepted' <<<"$audit" | grep -q "$s" || { echo "no attest.accepted for $s"; tail -c 800 <<<"$audit"; return 1; }
    done
}
check "both workloads attested from their pods (attest.accepted with their measurements in veil-cas's audit)" audited
check "veil-run said so in each pod: attested with the sim TEE (development, says so)" \
    bash -c "for c in redis-pod-0-redis python-app-pod-0-python-app; do
               podman logs \$c 2>&1 | grep -q 'attested: policy version' && podman logs \$c 2>&1 | grep -q 'DEVELOPMENT MODE' || exit 1
             done"
# the secret reached the application: its length and SHA-256 (never the value) match what the sim workload got
pw_sha=$(printf '%s' "${password#*:}" | tr -d '"' | sha256sum | cut -d' ' -f1)
check "python-app received DB_PASSWORD from the policy (24 characters, same SHA-256 as the sim workload's)" \
    bash -c "curl -sf http://127.0.0.1:18080/secret | grep -q '\"length\": 24, \"sha256\": \"$pw_sha\"'"
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
volume_version() { "$veil" cas volume show shop 2>/dev/null | awk '$1 == "redis_data" {print $2}'; }
saved_version=$(volume_version)
check "veil-run reported the volume's write-backs to the service (redis_data at version ${saved_version:-none})" \
    test "${saved_version:-0}" -ge 1

# --- delete and re-play: the claims' volumes stay, so does everything in them ---
check "podman kube down deletes the pods and keeps the volumes" \
    bash -c "podman kube down '$work/dev.yaml' && ! podman pod exists veil-cas-pod-0 && ! podman pod exists redis-pod-0 &&
             podman volume exists '$volume' && podman volume exists redis-data"
accepted_before=$("$veil" cas audit shop 2>&1 | grep -c 'attest.accepted.*python-app')
replay() { podman kube play --network "$network" --configmap "$work/sim-root.yaml" "$work/replay.yaml" && ready && serving; }
check "re-played (the Deployments on the existing claims), everything is ready again" replay
"$veil" cas policy show shop >"$work/show" 2>&1
history=$("$veil" cas policy history shop 2>&1)
if grep -q "$hash" <<<"$history" && grep -q 'db_password' "$work/show"; then ok "the policy survived delete + re-play (same version hash)"
else cp "$work/show" "$work/out"; echo "$history" >>"$work/out"; not_ok "the policy survived delete + re-play"; fi
attest >"$work/attest2" 2>&1
check "the workload attests again and receives the same secret" grep -qF "$password" "$work/attest2"
reattested() {
    local after; after=$("$veil" cas audit shop 2>&1 | grep -c 'attest.accepted.*python-app')
    [ "$after" -gt "$accepted_before" ] || { echo "attest.accepted for python-app: $accepted_before before, $after after"; return 1; }
    curl -sf http://127.0.0.1:18080/secret | grep -q "\"sha256\": \"$pw_sha\""
}
check "the re-played python-app attested again (a new attest.accepted) and has the same secret" reattested
check "the re-played Redis was let in with its volume (not refused as rolled back) and reads its encrypted dump back" bash -c "[ \"\$(redis-cli -p 16379 GET veil:k8s)\" = '$sentinel' ]"
