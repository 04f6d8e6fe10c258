# SPDX-License-Identifier: Apache-2.0
# Shared by tests/attest and scripts/demo: the application's root filesystem, the veil-cas daemon, the policy.

# app_root ROOT: Debian's python3 with ssl, and the app in /app; /data is the (empty) encrypted volume
app_root() {
  local root=$1
  python_root "$root"
  copy_binary "$root" /usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so \
    /usr/lib/python3.11/lib-dynload/_hashlib.cpython-311-x86_64-linux-gnu.so
  mkdir -p "$root/app" "$root/data" "$root/etc/tls"
  cp "$VEIL_SOURCE_ROOT/tests/attest/app.py" "$root/app/main.py"
}

# cas_start STATE LOG [veil-cas options...]: start veil-cas on a free loopback port; sets CAS_PID, CAS_PORT
cas_start() {
  local state=$1 log=$2; shift 2
  mkdir -p "$state"
  rm -f "$state/port"
  "$VEIL_BUILD_ROOT/src/cas/veil-cas" --state "$state" --port "${CAS_PORT:-0}" --port-file "$state/port" --threads 2 \
    "$@" 2>>"$log" &
  CAS_PID=$!
  for _ in $(seq 200); do [ -s "$state/port" ] && break; sleep 0.05; done
  CAS_PORT=$(cat "$state/port" 2>/dev/null)
  [ -n "$CAS_PORT" ]
}

# app_wrap SRC OUT ADDRESS POLICY/SERVICE KEY [veil wrap options...]: wrap the app; prints the measurement
app_wrap() {
  local src=$1 out=$2 address=$3 service=$4 key=$5; shift 5
  "$VEIL" wrap "$src" -k "$WORK/signer.pem" --encrypt /app --entrypoint /usr/bin/python3 \
    --arg /app/main.py --env PATH=/usr/bin -w /app --key "$key" --attest "$address" --policy "$service" \
    -o "$out" "$@" | awk '/^measurement/ {print $2}'
}

# app_policy OWNER IMAGE_KEY_HEX API_MEASUREMENT WEB_MEASUREMENT: an api service (HTTPS, volume /data)
# and its client web, in mutual TLS with certificates from the policy CA
app_policy() {
  local owner=$1 image_key=$2 api=$3 web=$4
  cat <<POLICY
name: shop
owners: [$owner]
secrets:
  db_password: {kind: password, length: 24}
  image_key: {kind: random, size: 32, value: "$image_key"}
  data_key: {kind: random, size: 32}
  ca: {kind: x509_ca, common_name: shop CA}
  api_cert: {kind: x509, issuer: ca, common_name: api, dns: [api, localhost]}
  web_cert: {kind: x509, issuer: ca, common_name: web, dns: [web]}
images:
  app: {key: image_key}
volumes:
  data: {key: data_key}
services:
  api:
    measurements: [$api]
    tees: [sim]
    env: {DB_PASSWORD: "{{secret.db_password}}"}
    argv: [serve, "${API_PORT:-9443}"]
    files:
      /etc/tls/cert.pem: "{{secret.api_cert.chain}}"
      /etc/tls/key.pem: {content: "{{secret.api_cert.key}}", mode: "0400"}
      /etc/tls/ca.pem: "{{secret.ca.cert}}"
    image: app
    volumes: [data]
  web:
    measurements: [$web]
    tees: [sim]
    env: {DB_PASSWORD: "{{secret.db_password}}"}
    argv: [client, "${API_PORT:-9443}", api]
    files:
      /etc/tls/cert.pem: "{{secret.web_cert.chain}}"
      /etc/tls/key.pem: {content: "{{secret.web_cert.key}}", mode: "0400"}
      /etc/tls/ca.pem: "{{secret.ca.cert}}"
    image: app
POLICY
}
