# SPDX-License-Identifier: Apache-2.0
# Debian's redis-server as user redis, with an append-only file (`appendfsync always`) on the encrypted volume /data.

PORT=${REDIS_PORT:-17379}
PORTS=("$PORT")
VOLUMES=(/data)
VOLUME_OWNER=999:999
WRAP_ARGS=(--entrypoint /usr/bin/redis-server --arg /etc/redis/redis.conf --user redis -w /data --encrypt /data)
EXERCISED="AOF with appendfsync always on an encrypted volume (multi-part AOF: base, incr, manifest); 2,000 SETs; BGREWRITEAOF (forked child, renames); BGSAVE; restart from the AOF; files verify with veil pfs"
SENTINEL=VEIL-REDIS-SENTINEL-3b9e
version() { deb_version redis-server; }

build_root() {
  local root=$1
  base_root "$root"
  copy_binary "$root" /usr/bin/redis-server
  add_user "$root" redis 999 999 /data
  mkdir -p "$root/data" "$root/etc/redis"
  chown 999:999 "$root/data"
  cat > "$root/etc/redis/redis.conf" <<CONF
bind 127.0.0.1
port $PORT
dir /data
appendonly yes
appendfsync always
save ""
daemonize no
logfile ""
protected-mode no
CONF
}

cli() { redis-cli -p "$PORT" "$@"; }
ready() { cli ping 2>/dev/null | grep -q PONG; }
aof_idle() { for _ in $(seq 300); do cli info persistence | grep -q 'aof_rewrite_in_progress:0' && cli info persistence | grep -q 'rdb_bgsave_in_progress:0' && return 0; sleep 0.1; done; return 1; }

# verify_all DIR KEY: every regular file below the host directory DIR decrypts under its image path (below /data)
verify_all() {
  local dir=$1 f n=0
  while IFS= read -r f; do
    "$VEIL" pfs verify --key "$key" --path "/data${f#"$dir"}" "$f" >/dev/null 2>&1 || { echo "# does not verify: $f"; return 1; }
    n=$((n + 1))
  done < <(find "$dir" -type f)
  [ "$n" -gt 0 ]
}

smoke() {
  for i in $(seq 1 1000); do echo "SET key:$i $SENTINEL-$i"; done | cli >/dev/null
  check "BGREWRITEAOF (a forked child writes the new base, then renames) succeeds" \
    bash -c "redis-cli -p $PORT bgrewriteaof >/dev/null && for _ in \$(seq 300); do redis-cli -p $PORT info persistence | grep -q 'aof_rewrite_in_progress:0' && break; sleep 0.1; done;
             redis-cli -p $PORT info persistence | grep -q 'aof_last_bgrewrite_status:ok'"
  for i in $(seq 1001 2000); do echo "SET key:$i $SENTINEL-$i"; done | cli >/dev/null
  check "BGSAVE succeeds" bash -c "redis-cli -p $PORT bgsave >/dev/null; for _ in \$(seq 300); do redis-cli -p $PORT info persistence | grep -q 'rdb_bgsave_in_progress:0' && break; sleep 0.1; done;
             redis-cli -p $PORT info persistence | grep -q 'rdb_last_bgsave_status:ok'"
  check "2,000 keys acknowledged" bash -c "[ \"\$(redis-cli -p $PORT dbsize)\" = 2000 ]"
}

# after the server stopped: the files on the volume are ciphertext that verifies; a restart reads the AOF back
after() {
  check "every file on the volume is ciphertext and verifies (veil pfs verify)" \
    bash -c "! grep -rqa '$SENTINEL' '$(host_path /data)' && $(declare -f verify_all); key='$key' VEIL='$VEIL' verify_all '$(host_path /data)'"
}

after_restart() {
  check "after a restart every acknowledged key is back (read from the encrypted AOF)" \
    bash -c "[ \"\$(redis-cli -p $PORT dbsize)\" = 2000 ] && [ \"\$(redis-cli -p $PORT get key:2000)\" = '$SENTINEL-2000' ]"
}
