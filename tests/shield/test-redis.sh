#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Debian's redis-server under veil-run --root with `dir` on an encrypted path: SET, BGSAVE (fork), SAVE,
# restart, the keys come back, and the RDB on disk is ciphertext.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { echo "1..0 # SKIP redis not installed"; exit 0; }
work=$(mktemp -d /var/tmp/veil-shield-redis.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
root=$work/root
key=$work/image.key
port=$(( 20000 + RANDOM % 20000 ))
SENTINEL=VEIL-REDIS-SENTINEL-$(od -An -N8 -tx1 /dev/urandom | tr -d " \n")  # random: no file holds it beforehand

base_root "$root"
copy_binary "$root" /usr/bin/redis-server
mkdir -p "$root/data" "$root/etc/redis"
cat > "$root/etc/redis/redis.conf" <<EOF
bind 127.0.0.1
port $port
dir /data
dbfilename dump.rdb
save ""
appendonly no
daemonize no
logfile ""
protected-mode no
EOF
"$MKIMAGE" --arg /usr/bin/redis-server --arg /etc/redis/redis.conf --cwd /data --encrypt /data \
  --runtime "$VEIL_RUN" --key-out "$key" "$root" || { echo "1..0 # mkimage failed"; exit 1; }
echo 1..7

cli() { redis-cli -p "$port" "$@"; }
start() {
  "$VEIL_RUN" --root "$root" --dev-key-file "$key" >>"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do cli ping 2>/dev/null | grep -q PONG && return 0; sleep 0.05; done
  return 1
}
stop() { cli shutdown nosave >/dev/null 2>&1; wait "$pid"; local rc=$?; pid=; return $rc; }

check "redis-server starts under veil-run" start
for i in $(seq 1 200); do echo "SET key:$i $SENTINEL-$i"; done | cli >/dev/null
cli bgsave >/dev/null
for _ in $(seq 600); do [ "$(cli info persistence | grep -c 'rdb_bgsave_in_progress:0')" = 1 ] && break; sleep 0.05; done
check "BGSAVE (a forked child) succeeds" bash -c "redis-cli -p $port info persistence | grep -q 'rdb_last_bgsave_status:ok'"
cli set after-bgsave yes >/dev/null
check "SAVE succeeds" bash -c "redis-cli -p $port save | grep -q OK"
stop
check "the RDB on disk is ciphertext (no key or value in it)" \
  bash -c "[ -s '$root/data/dump.rdb' ] && ! grep -qa -e '$SENTINEL' -e 'key:1' -e REDIS '$root/data/dump.rdb'"
check "veil pfs decrypts the RDB under its path" \
  bash -c "'$VEIL' pfs decrypt --key '$key' --path /data/dump.rdb '$root/data/dump.rdb' '$work/dump.plain' >/dev/null && head -c 5 '$work/dump.plain' | grep -q REDIS"
start
check "after a restart the keys are back" \
  bash -c "[ \"\$(redis-cli -p $port get key:200)\" = '$SENTINEL-200' ] && [ \"\$(redis-cli -p $port get after-bgsave)\" = yes ] && [ \"\$(redis-cli -p $port dbsize)\" = 201 ]"
stop
check "no plaintext anywhere in the image storage or /tmp" bash -c "! grep -rqa '$SENTINEL' '$root' /tmp 2>/dev/null"
exit $tap_failed
