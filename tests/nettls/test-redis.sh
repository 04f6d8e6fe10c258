#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Debian's redis-server and redis-cli, unmodified, each wrapped and under veil-run with network rules naming the
# port: the client's commands succeed over mutually attested TLS 1.3; a loopback capture of the port shows TLS
# and no Redis command; unattested clients (plain redis-cli, openssl s_client without a policy certificate) get
# nothing; a server that fails the client's verification is a refused connection.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { echo "1..0 # SKIP redis not installed"; exit 0; }
command -v tcpdump >/dev/null || { echo "1..0 # SKIP tcpdump not installed (scripts/setup)"; exit 0; }
[ -x "$VEIL" ] || { echo "1..0 # SKIP veil not built"; exit 0; }
work=$(mktemp -d /var/tmp/veil-nettls-redis.XXXXXX)
server=
cleanup() {
  capture_stop
  [ -n "$server" ] && kill "$server" 2>/dev/null
  wait 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
port=$(( 20000 + RANDOM % 20000 ))
SENTINEL=VEILNETTLSSENTINEL$RANDOM

make_certs "$work/certs" || { echo "1..0 # certificates failed"; exit 1; }
"$VEIL" keygen -o "$work/signer.pem" >/dev/null 2>&1 || { echo "1..0 # keygen failed"; exit 1; }

# the server: port $port served only through attested TLS, clients must be services of the policy
base_root "$work/server-src"
copy_binary "$work/server-src" /usr/bin/redis-server
mkdir -p "$work/server-src/etc/veil" "$work/server-src/data"
printf '# served through attested TLS\nlisten %s require-client\n' "$port" > "$work/server-src/etc/veil/nettls.conf"
"$VEIL" wrap "$work/server-src" -k "$work/signer.pem" -o "$work/server/" -q --entrypoint /usr/bin/redis-server \
  --arg --port --arg "$port" --arg --bind --arg 127.0.0.1 --arg --save --arg '' --arg --protected-mode --arg no \
  --arg --dir --arg /data >/dev/null 2>&1 || { echo "1..0 # wrap failed"; exit 1; }
# the client: commands on stdin, its connection to the port reached through attested TLS to service "redis"
base_root "$work/client-src"
copy_binary "$work/client-src" /usr/bin/redis-cli
mkdir -p "$work/client-src/etc/veil"
printf 'connect 127.0.0.1:%s redis\n' "$port" > "$work/client-src/etc/veil/nettls.conf"
"$VEIL" wrap "$work/client-src" -k "$work/signer.pem" -o "$work/client/" -q --entrypoint /usr/bin/redis-cli \
  --arg -h --arg 127.0.0.1 --arg -p --arg "$port" >/dev/null 2>&1 || { echo "1..0 # wrap failed"; exit 1; }

echo 1..10
client() { # client TLS-DIR: run the wrapped redis-cli with stdin as its commands
  timeout 20 "$VEIL_RUN" --root "$work/client" --dev-tls-dir "$work/certs/$1" 2>>"$work/client.log"
}

capture_start "$work/capture.pcap" "$port" || not_ok "tcpdump starts"
"$VEIL_RUN" --root "$work/server" --dev-tls-dir "$work/certs/tls-redis" >"$work/server.log" 2>&1 &
server=$!
check "wrapped redis-server starts under veil-run; veil-run owns the port" \
  bash -c "$(declare -f wait_listen); wait_listen $port && ss -Hltnp 'sport = :$port' | grep -q veil-run"

big=$(head -c 100000 /dev/zero | tr '\0' x)
printf 'SET %s hello-over-tls\nGET %s\nSET big %s\nSTRLEN big\nPING\n' "$SENTINEL" "$SENTINEL" "$big" | client tls-redis-client > "$work/out"
check "the wrapped redis-cli's commands succeed through attested TLS (SET, GET, a 100 kB value, PING)" \
  bash -c "[ \"\$(tr -d '\r' < '$work/out' | tr '\n' ' ')\" = 'OK hello-over-tls OK 100000 PONG ' ]"

seq 1 300 | sed "s/.*/INCR $SENTINEL-counter/" | client tls-redis-client > "$work/out2"
check "300 commands in one connection (pipelined by redis-cli) arrive in order" bash -c "[ \"\$(tail -1 '$work/out2')\" = 300 ]"
capture_stop
check "the loopback capture of port $port holds TLS records and no Redis command or key in plaintext" \
  capture_check "$work/capture.pcap" "$SENTINEL"

check "a plain redis-cli (unattested) connecting to the port gets no answer" \
  bash -c "! timeout 5 redis-cli -h 127.0.0.1 -p $port GET '$SENTINEL' 2>&1 | grep -q hello"
check "openssl s_client without a policy certificate gets no answer" \
  bash -c "! printf 'GET $SENTINEL\r\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:$port -CAfile '$work/certs/policy-ca.pem' 2>&1 | grep -q hello"
check "openssl s_client with a certificate of another CA gets no answer" \
  bash -c "! printf 'GET $SENTINEL\r\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:$port -cert '$work/certs/impostor.pem' -key '$work/certs/impostor.key' -CAfile '$work/certs/policy-ca.pem' 2>&1 | grep -q hello"
check "(control) openssl s_client with a policy certificate is answered" \
  bash -c "printf 'GET $SENTINEL\r\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:$port -cert '$work/certs/redis-client.pem' -key '$work/certs/redis-client.key' -CAfile '$work/certs/policy-ca.pem' 2>/dev/null | grep -q hello"

echo "GET $SENTINEL" | client tls-foreign-trust > "$work/out3" 2>&1
check "a server that fails the client's verification: the app's connect() is refused, no data" \
  bash -c "grep -q 'Connection refused' '$work/client.log' && ! grep -q hello '$work/out3'"

# the same server with a certificate for another service name: refused by the client
kill "$server"; wait "$server" 2>/dev/null
"$VEIL_RUN" --root "$work/server" --dev-tls-dir "$work/certs/tls-wrongname" >>"$work/server.log" 2>&1 &
server=$!
wait_listen "$port"
: > "$work/client.log"
echo "PING" | client tls-redis-client > "$work/out4" 2>&1
check "a server of the policy under another service name: connect() refused" \
  bash -c "grep -q 'Connection refused' '$work/client.log' && ! grep -q PONG '$work/out4'"
exit $tap_failed
