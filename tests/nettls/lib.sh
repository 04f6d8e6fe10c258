# SPDX-License-Identifier: Apache-2.0
# Helpers for the nettls tests: a policy CA with service certificates, wrapped roots, and a capture checker.

. "$VEIL_SOURCE_ROOT/tests/shield/lib.sh"

# make_certs DIR: policy-ca with leaves "redis", "redis-client", "web", "web-client"; other-ca with an impostor
# claiming "redis"; a policy-CA leaf for the wrong service. tls-NAME/ holds cert.pem key.pem ca.pem for veil-run.
make_certs() {
  local d=$1
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    ca() {
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" -days 2 \
        -subj "/CN=$1" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
    }
    leaf() { # leaf FILE CA SERVICE
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null &&
      printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$3" > "$1.ext" &&
      openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" -days 2 \
        -extfile "$1.ext" 2>/dev/null
    }
    ca policy-ca && ca other-ca &&
    leaf redis policy-ca redis && leaf redis-client policy-ca redis-client && leaf web policy-ca web &&
    leaf web-client policy-ca web-client && leaf impostor other-ca redis && leaf wrongname policy-ca cache || exit 1
    for s in redis redis-client web web-client impostor wrongname; do
      mkdir -p "tls-$s" && cp "$s.pem" "tls-$s/cert.pem" && cp "$s.key" "tls-$s/key.pem" && cp policy-ca.pem "tls-$s/ca.pem"
      chmod 600 "tls-$s/key.pem"
    done
    # a client that trusts another CA: every server of the policy fails its verification
    mkdir -p tls-foreign-trust && cp redis-client.pem tls-foreign-trust/cert.pem && cp redis-client.key tls-foreign-trust/key.pem &&
      cp other-ca.pem tls-foreign-trust/ca.pem
  )
}

# wait_listen PORT: until something listens on 127.0.0.1:PORT (at most 10 s)
wait_listen() {
  for _ in $(seq 200); do ss -Hltn "sport = :$1" | grep -q LISTEN && return 0; sleep 0.05; done
  return 1
}

# capture_start FILE PORT...: tcpdump on loopback, only these ports; waits until it listens
capture_pid=
capture_start() {
  local file=$1; shift
  local filter="" p
  for p in "$@"; do filter="${filter:+$filter or }tcp port $p"; done
  tcpdump -i lo -U --immediate-mode -n -s 0 -w "$file" "$filter" 2>"$file.log" &
  capture_pid=$!
  for _ in $(seq 200); do grep -q 'listening on' "$file.log" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
capture_stop() {
  [ -n "$capture_pid" ] || return 0
  sleep 0.3 # the last segments
  kill -INT "$capture_pid" 2>/dev/null; wait "$capture_pid" 2>/dev/null; capture_pid=
}

# capture_check FILE SENTINEL: the TCP payloads hold TLS records (a handshake and application data), and
# SENTINEL appears in none of them. Prints what it found.
capture_check() {
  python3 - "$1" "$2" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
sentinel = sys.argv[2].encode()
magic, = struct.unpack('<I', data[:4])
assert magic in (0xa1b2c3d4, 0xa1b23c4d), 'not a pcap file'
link, = struct.unpack('<I', data[20:24])
off, payloads = 24, []
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack('<IIII', data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if link == 1: pkt = pkt[14:]          # Ethernet (loopback on Linux)
    elif link == 113: pkt = pkt[16:]      # Linux cooked
    if not pkt: continue
    if pkt[0] >> 4 == 4: ip = (pkt[0] & 15) * 4; proto = pkt[9]
    elif pkt[0] >> 4 == 6: ip = 40; proto = pkt[6]
    else: continue
    if proto != 6: continue
    tcp = (pkt[ip + 12] >> 4) * 4
    p = pkt[ip + tcp:]
    if p: payloads.append(p)
stream = b''.join(payloads)
handshake = sum(1 for p in payloads if p[:2] == b'\x16\x03')
appdata = sum(1 for p in payloads if p[:3] == b'\x17\x03\x03')
print(f'# {len(payloads)} payload segments, {handshake} start a TLS handshake record, {appdata} start TLS application data; sentinel seen: {sentinel in stream}')
sys.exit(0 if payloads and handshake > 0 and appdata > 0 and sentinel not in stream else 1)
PY
}
