#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every overlay renders with kubectl's kustomize, parses as Kubernetes objects with kubectl, and passes the schema check.
set -uo pipefail

src="$VEIL_SOURCE_ROOT/deploy/kubernetes"
checker="$VEIL_SOURCE_ROOT/tests/k8s/check-manifests.py"
work=$(mktemp -d /tmp/veil-kustomize.XXXXXX)
trap 'rm -rf "$work"' EXIT
command -v kubectl >/dev/null || { echo "1..0 # SKIP kubectl is not installed"; exit 0; }

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; [ -f "$work/out" ] && sed 's/^/# /' "$work/out" | head -40; }
check() { local name=$1; shift; if "$@" >"$work/out" 2>&1; then ok "$name"; else not_ok "$name"; fi; }

# `kubectl apply --dry-run=client` still GETs the live object from a server, so the parse uses
# `kubectl create --dry-run=client -o yaml`, which needs only the REST mapping of each kind. That mapping
# comes from a discovery cache listing the kinds veil deploys (and nothing else: an unknown kind or a
# misspelt apiVersion is refused); no server is contacted (the kubeconfig names a closed port).
cache="$work/cache/discovery/127.0.0.1_9"
mkdir -p "$cache/v1" "$cache/apps/v1" "$cache/networking.k8s.io/v1"
cat > "$cache/servergroups.json" <<'JSON'
{"kind":"APIGroupList","apiVersion":"v1","groups":[
 {"name":"","versions":[{"groupVersion":"v1","version":"v1"}],"preferredVersion":{"groupVersion":"v1","version":"v1"}},
 {"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},
 {"name":"networking.k8s.io","versions":[{"groupVersion":"networking.k8s.io/v1","version":"v1"}],"preferredVersion":{"groupVersion":"networking.k8s.io/v1","version":"v1"}}]}
JSON
resource() { printf '{"name":"%s","singularName":"%s","namespaced":%s,"kind":"%s","verbs":["create","get","list","patch","update","delete"]}' "$@"; }
printf '{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"v1","resources":[%s,%s,%s,%s]}\n' \
    "$(resource namespaces namespace false Namespace)" "$(resource services service true Service)" \
    "$(resource persistentvolumeclaims persistentvolumeclaim true PersistentVolumeClaim)" \
    "$(resource configmaps configmap true ConfigMap)" > "$cache/v1/serverresources.json"
printf '{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[%s,%s]}\n' \
    "$(resource deployments deployment true Deployment)" "$(resource statefulsets statefulset true StatefulSet)" \
    > "$cache/apps/v1/serverresources.json"
printf '{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"networking.k8s.io/v1","resources":[%s]}\n' \
    "$(resource networkpolicies networkpolicy true NetworkPolicy)" > "$cache/networking.k8s.io/v1/serverresources.json"
cat > "$work/kubeconfig" <<'YAML'
apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "https://127.0.0.1:9"}}]
contexts: [{name: offline, context: {cluster: offline, user: offline}}]
users: [{name: offline, user: {token: offline}}]
current-context: offline
YAML
kube() { KUBECONFIG="$work/kubeconfig" kubectl --cache-dir "$work/cache" "$@"; }

# parse FILE: kubectl decodes every object; the count must match the documents rendered
parse() {
    kube create --dry-run=client --validate=false -o yaml -f "$1" >"$1.parsed" || return 1
    local want got
    want=$(grep -c '^kind:' "$1")
    got=$(python3 -c 'import sys, yaml; d = list(yaml.safe_load_all(open(sys.argv[1]))); print(sum(len(x["items"]) if x.get("kind") == "List" else 1 for x in d if x))' "$1.parsed")
    [ "$want" = "$got" ] || { echo "rendered $want objects, kubectl decoded $got"; return 1; }
}

echo "1..11"
for overlay in dev aks-cvm; do
    out="$work/$overlay.yaml"
    check "$overlay: kubectl kustomize renders" kubectl kustomize "$src/overlays/$overlay" -o "$out"
    check "$overlay: kubectl parses every object (create --dry-run=client, no server)" parse "$out"
    check "$overlay: schema and security check" python3 "$checker" "$overlay" "$out"
    check "$overlay: the check catches each known mistake" python3 "$checker" --self-test "$overlay" "$out"
done
check "the base renders too (the overlays' common part)" kubectl kustomize "$src/base" -o "$work/base.yaml"

# kubectl refuses what it cannot map: proof that the parse step can fail
printf 'apiVersion: apps/v1\nkind: Deploymnt\nmetadata: {name: x}\n' > "$work/typo.yaml"
if parse "$work/typo.yaml" >"$work/out" 2>&1; then not_ok "a misspelt kind is refused by the parse step"
else ok "a misspelt kind is refused by the parse step"; fi

# the dev overlay is what podman kube play gets: no kind it cannot run
check "dev renders only kinds podman kube play runs or ignores" \
    python3 -c 'import sys, yaml; k = {d["kind"] for d in yaml.safe_load_all(open(sys.argv[1])) if d}; sys.exit(bool(k - {"Deployment", "PersistentVolumeClaim", "Service", "ConfigMap"}))' "$work/dev.yaml"
