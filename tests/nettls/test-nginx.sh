#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Debian's nginx and a Python HTTP client (urllib, plain http://), unmodified, each wrapped and under veil-run
# with network rules naming the port: the client gets the page over mutually attested TLS 1.3; the capture of
# the port shows TLS and neither the request path nor the page; unattested clients (curl, plain and TLS) get nothing.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || { echo "1..0 # SKIP nginx not installed"; exit 0; }
command -v tcpdump >/dev/null || { echo "1..0 # SKIP tcpdump not installed (scripts/setup)"; exit 0; }
work=$(mktemp -d /var/tmp/veil-nettls-nginx.XXXXXX)
server= plain_server=
cleanup() {
  capture_stop
  [ -n "$server" ] && kill "$server" 2>/dev/null
  [ -n "$plain_server" ] && kill "$plain_server" 2>/dev/null
  wait 2>/dev/null
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
port=$(( 20000 + RANDOM % 20000 ))
open_port=$(( port + 1 ))   # nginx's second port, not in the rules: plain HTTP as before
plain_port=$(( port + 2 ))  # a native server the client reaches without a rule
SENTINEL=VEILNGINXSENTINEL$RANDOM
make_certs "$work/certs" || { echo "1..0 # certificates failed"; exit 1; }
"$VEIL" keygen -o "$work/signer.pem" >/dev/null 2>&1

base_root "$work/server-src"
copy_binary "$work/server-src" /usr/sbin/nginx
mkdir -p "$work/server-src/etc/veil" "$work/server-src/etc/nginx" "$work/server-src/srv" "$work/server-src/var/log/nginx"
echo "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin" >> "$work/server-src/etc/passwd"
echo "nogroup:x:65534:" > "$work/server-src/etc/group"
echo "page-$SENTINEL" > "$work/server-src/srv/$SENTINEL.txt"
cat > "$work/server-src/etc/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
error_log stderr;
pid /tmp/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path /tmp/body; proxy_temp_path /tmp/proxy; fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi; scgi_temp_path /tmp/scgi;
  default_type text/plain;
  server { listen 127.0.0.1:$port; root /srv; }
  server { listen 127.0.0.1:$open_port; root /srv; }
}
CONF
printf 'listen %s require-client\n' "$port" > "$work/server-src/etc/veil/nettls.conf"
"$VEIL" wrap "$work/server-src" -k "$work/signer.pem" -o "$work/server/" -q --entrypoint /usr/sbin/nginx \
  --arg -c --arg /etc/nginx/nginx.conf >/dev/null 2>&1 || { echo "1..0 # wrap failed"; exit 1; }

python_root "$work/client-src"
mkdir -p "$work/client-src/app" "$work/client-src/etc/veil"
cat > "$work/client-src/app/get.py" <<PY
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:$port/$SENTINEL.txt", timeout=20).read().decode().strip())
print(urllib.request.urlopen("http://127.0.0.1:$plain_port/unprotected.txt", timeout=20).read().decode().strip())
import errno, socket
try:  # TCP Fast Open would connect inside sendto(), past the rules
    socket.socket().sendto(b"GET / HTTP/1.0\\r\\n\\r\\n", socket.MSG_FASTOPEN, ("127.0.0.1", $port))
    print("fastopen: sent")
except OSError as e:
    print("fastopen: EOPNOTSUPP" if e.errno == errno.EOPNOTSUPP else "fastopen: errno %d" % e.errno)
PY
printf 'connect 127.0.0.1:%s web\n' "$port" > "$work/client-src/etc/veil/nettls.conf"
"$VEIL" wrap "$work/client-src" -k "$work/signer.pem" -o "$work/client/" -q --entrypoint /usr/bin/python3 \
  --arg /app/get.py --env PATH=/usr/bin >/dev/null 2>&1 || { echo "1..0 # wrap failed"; exit 1; }

echo 1..8
mkdir -p "$work/plain-www" && echo "unprotected-page" > "$work/plain-www/unprotected.txt"
python3 -m http.server -b 127.0.0.1 -d "$work/plain-www" "$plain_port" >/dev/null 2>&1 &
plain_server=$!
wait_listen "$plain_port" || not_ok "a plain HTTP server starts"
capture_start "$work/capture.pcap" "$port" || not_ok "tcpdump starts"
"$VEIL_RUN" --root "$work/server" --dev-tls-dir "$work/certs/tls-web" >"$work/server.log" 2>&1 &
server=$!
check "wrapped nginx starts under veil-run; veil-run owns the port" \
  bash -c "$(declare -f wait_listen); wait_listen $port && ss -Hltnp 'sport = :$port' | grep -q veil-run"
out=$(timeout 30 "$VEIL_RUN" --root "$work/client" --dev-tls-dir "$work/certs/tls-web-client" 2>"$work/client.log")
check "the wrapped Python client's plain http:// request is answered through attested TLS" \
  test "$(echo "$out" | head -n 1)" = "page-$SENTINEL"
check "the same client reaches a destination not in its rules in plain HTTP, unchanged" \
  test "$(echo "$out" | sed -n 2p)" = "unprotected-page"
check "TCP Fast Open (a connect inside sendto) is refused with EOPNOTSUPP" test "$(echo "$out" | sed -n 3p)" = "fastopen: EOPNOTSUPP"
capture_stop
check "the loopback capture of port $port holds TLS records, not the request path or the page" \
  capture_check "$work/capture.pcap" "$SENTINEL"
check "curl over plain HTTP (unattested) gets no page" \
  bash -c "! curl -s -m 5 http://127.0.0.1:$port/$SENTINEL.txt | grep -q page"
check "curl over HTTPS without a policy certificate gets no page" \
  bash -c "! curl -s -m 5 -k https://127.0.0.1:$port/$SENTINEL.txt | grep -q page"
check "nginx's port not in the rules serves plain HTTP as before (nginx bound it itself)" \
  bash -c "curl -s -m 5 http://127.0.0.1:$open_port/$SENTINEL.txt | grep -q 'page-$SENTINEL' && ss -Hltnp 'sport = :$open_port' | grep -q nginx"
[ $tap_failed = 0 ] || tail -n 5 "$work/server.log" "$work/client.log" | sed 's/^/# /'
exit $tap_failed
