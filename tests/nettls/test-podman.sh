#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The same in containers: wrapped redis-server and redis-cli images (OCI archives from veil wrap) under podman
# (runc, default seccomp profile, no added capability), veil-run as PID 1 in each: the client's commands succeed
# through attested TLS, a plain client on the host is refused.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

command -v podman >/dev/null || { echo "1..0 # SKIP podman not installed"; exit 0; }
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { echo "1..0 # SKIP redis not installed"; exit 0; }
work=$(mktemp -d /var/tmp/veil-nettls-podman.XXXXXX)
name=veil-nettls-$$
cleanup() {
  podman rm -f "$name-server" >/dev/null 2>&1
  podman rmi -f "localhost/$name-server:latest" "localhost/$name-client:latest" >/dev/null 2>&1
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
port=$(( 20000 + RANDOM % 20000 ))
run() { podman run --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host "$@"; }

make_certs "$work/certs" || { echo "1..0 # certificates failed"; exit 1; }
chmod 644 "$work"/certs/tls-*/key.pem # read by the container's root through a bind mount
"$VEIL" keygen -o "$work/signer.pem" >/dev/null 2>&1
base_root "$work/server-src"
copy_binary "$work/server-src" /usr/bin/redis-server
mkdir -p "$work/server-src/etc/veil"
printf 'listen %s require-client\n' "$port" > "$work/server-src/etc/veil/nettls.conf"
"$VEIL" wrap "$work/server-src" -k "$work/signer.pem" -o "$work/server.tar" -t "localhost/$name-server:latest" -q \
  --entrypoint /usr/bin/redis-server --arg --port --arg "$port" --arg --bind --arg 127.0.0.1 --arg --save --arg '' \
  --arg --protected-mode --arg no >/dev/null 2>&1 || { echo "1..0 # wrap failed"; exit 1; }
base_root "$work/client-src"
copy_binary "$work/client-src" /usr/bin/redis-cli
mkdir -p "$work/client-src/etc/veil"
printf 'connect 127.0.0.1:%s redis\n' "$port" > "$work/client-src/etc/veil/nettls.conf"
"$VEIL" wrap "$work/client-src" -k "$work/signer.pem" -o "$work/client.tar" -t "localhost/$name-client:latest" -q \
  --entrypoint /usr/bin/redis-cli --arg -h --arg 127.0.0.1 --arg -p --arg "$port" >/dev/null 2>&1 || { echo "1..0 # wrap failed"; exit 1; }
podman load -q -i "$work/server.tar" >/dev/null 2>&1 && podman load -q -i "$work/client.tar" >/dev/null 2>&1 ||
  { echo "1..0 # podman load failed"; exit 1; }

echo 1..3
run -d --name "$name-server" -v "$work/certs/tls-redis:/tls:ro" "localhost/$name-server:latest" --dev-tls-dir /tls >/dev/null
check "the server container starts; its veil-run owns the port" \
  bash -c "$(declare -f wait_listen); wait_listen $port && ss -Hltnp 'sport = :$port' | grep -q veil-run"
out=$(printf 'SET k in-containers\nGET k\n' | run --rm -i -v "$work/certs/tls-redis-client:/tls:ro" \
  "localhost/$name-client:latest" --dev-tls-dir /tls 2>"$work/client.log")
check "the client container's commands succeed through attested TLS" test "$(echo $out)" = "OK in-containers"
check "a plain redis-cli on the host is refused" bash -c "! timeout 5 redis-cli -h 127.0.0.1 -p $port GET k 2>&1 | grep -q in-containers"
[ $tap_failed = 0 ] || { podman logs "$name-server" 2>&1 | tail -n 5; tail -n 5 "$work/client.log"; } | sed 's/^/# /'
exit $tap_failed
