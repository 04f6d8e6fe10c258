#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The rendered dev overlay's veil-cas runs for real under `podman kube play` (runc): probes pass, a sim workload
# attests to it, and deleting and re-playing it keeps its policies, secrets and TLS identity (the volume persists).
set -uo pipefail

: "${VEIL_BUILD_ROOT:?}" "${VEIL_SOURCE_ROOT:?}"
veil="$VEIL_BUILD_ROOT/src/cli/veil"
workload="$VEIL_BUILD_ROOT/tests/cas/cas-workload"
command -v podman >/dev/null && command -v kubectl >/dev/null || { echo "1..0 # SKIP podman or kubectl missing"; exit 0; }
[ -x "$workload" ] || { echo "1..0 # SKIP tests/cas/cas-workload is not built"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs rootful podman (hostPort, named volumes shared with the test)"; exit 0; }

work=$(mktemp -d /var/tmp/veil-kube-play.XXXXXX)
tag=localhost/veil/veil-cas:dev
volume=veil-cas-state
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
    podman kube down "$work/cas.yaml" >/dev/null 2>&1
    podman volume rm -f "$volume" veil-sim-root >/dev/null 2>&1
    podman rmi -f "$tag" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; [ -f "$work/out" ] && sed 's/^/# /' "$work/out" | head -30; }
check() { local name=$1; shift; if "$@" >"$work/out" 2>&1; then ok "$name"; else not_ok "$name"; fi; }

if podman volume exists "$volume" || podman volume exists veil-sim-root || podman pod exists veil-cas-pod-0; then
    echo "1..0 # SKIP a veil-cas pod or volume already exists on this machine (not ours to remove)"; exit 0
fi
# shellcheck source=images.sh
source "$VEIL_SOURCE_ROOT/tests/k8s/images.sh"
build_cas_image "$tag" "$work" >"$work/build.log" 2>&1 || { echo "1..0 # SKIP cannot build the image: $(tail -c 300 "$work/build.log")"; exit 0; }

echo "1..11"

# --- what the user does: render the dev overlay, create the sim root ConfigMap from their own platform ---
export VEIL_SIM_DIR="$work/sim"
measurement=$(printf 'ab%.0s' $(seq 32))
"$veil" attest --tee sim --measurement "$measurement" --signer "$measurement" -o "$work/ev" 2>/dev/null
kubectl create configmap veil-sim-root --from-file=root.pem="$VEIL_SIM_DIR/root.pem" --dry-run=client -o yaml \
    >"$work/sim-root.yaml" 2>"$work/out"
kubectl kustomize "$VEIL_SOURCE_ROOT/deploy/kubernetes/overlays/dev" -o "$work/dev.yaml" 2>>"$work/out"
# the service's part of the rendering (the example workloads need wrapped images: see docs/kubernetes.md)
python3 - "$work/dev.yaml" "$work/cas.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cas = [d for d in docs if d['metadata'].get('labels', {}).get('app.kubernetes.io/name') == 'veil-cas']
yaml.safe_dump_all(cas, open(sys.argv[2], 'w'), sort_keys=False)
# podman 4.3 refuses to re-create a claim whose volume exists: the re-play leaves the claim out
yaml.safe_dump_all([d for d in cas if d['kind'] != 'PersistentVolumeClaim'], open(sys.argv[2] + '.replay', 'w'), sort_keys=False)
EOF
check "podman kube play runs the rendered veil-cas (Deployment + PVC, runc)" \
    podman kube play --configmap "$work/sim-root.yaml" "$work/cas.yaml"

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

# --- delete and re-play: the claim's volume stays, so does everything in it ---
check "podman kube down deletes the pod and keeps the volume" \
    bash -c "podman kube down '$work/cas.yaml' && ! podman pod exists veil-cas-pod-0 && podman volume exists '$volume'"
replay() { podman kube play --configmap "$work/sim-root.yaml" "$work/cas.yaml.replay" && ready; }
check "re-played (the Deployment on the existing claim), veil-cas is ready again" replay
"$veil" cas policy show shop >"$work/show" 2>&1
history=$("$veil" cas policy history shop 2>&1)
if grep -q "$hash" <<<"$history" && grep -q 'db_password' "$work/show"; then ok "the policy survived delete + re-play (same version hash)"
else cp "$work/show" "$work/out"; echo "$history" >>"$work/out"; not_ok "the policy survived delete + re-play"; fi
attest >"$work/attest2" 2>&1
check "the workload attests again and receives the same secret" grep -qF "$password" "$work/attest2"
cert_after=$(openssl x509 -in "$state/tls.crt" -noout -fingerprint -sha256 2>/dev/null)
if [ -n "$cert_before" ] && [ "$cert_before" = "$cert_after" ]; then ok "the service kept its TLS identity (clients' pins stay valid)"
else echo "$cert_before / $cert_after" >"$work/out"; not_ok "the service kept its TLS identity"; fi
