# SPDX-License-Identifier: Apache-2.0
# Debian's memcached with 4 worker threads, as user memcache (memcached refuses to run as root without -u; the
# image's user is the container way). Nothing of it is on disk: the cache is memory; the image is still measured.

PORT=${MEMCACHED_PORT:-17211}
PORTS=("$PORT")
WRAP_ARGS=(--entrypoint /usr/bin/memcached --arg -l --arg 127.0.0.1 --arg -p --arg "$PORT" --arg -U --arg 0
  --arg -t --arg 4 --arg -m --arg 64 --arg -c --arg 512 --user memcache --encrypt /etc/memcached)
EXERCISED="4 worker threads, user memcache; set/get of 100 keys; memcslap with 8 concurrent clients (16,000 sets, 16,000 gets); stats"
SENTINEL=VEIL-MEMCACHED-SENTINEL-91aa
version() { deb_version memcached; }

build_root() {
  local root=$1
  base_root "$root"
  copy_binary "$root" /usr/bin/memcached
  add_user "$root" memcache 998 998 /nonexistent
  # a configuration note in an encrypted path, so the image has one (memcached takes its options from argv)
  mkdir -p "$root/etc/memcached"
  echo "# $SENTINEL: options are in the manifest's argv" > "$root/etc/memcached/README"
}

mc() { # mc COMMANDS...: send memcached text protocol lines, print the answer
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf '%s\r\n' "$@" quit >&3
  cat <&3
  exec 3<&-
}
ready() { mc version 2>/dev/null | grep -q VERSION; }

smoke() {
  local sets=() gets=() i
  for i in $(seq 100); do sets+=("set k$i 0 0 ${#i}" "$i"); gets+=("get k$i"); done
  check "100 sets are STORED" bash -c "$(declare -f mc); PORT=$PORT; [ \"\$(mc $(printf "'%s' " "${sets[@]}") | grep -c STORED)\" = 100 ]"
  check "100 gets return the values" bash -c "$(declare -f mc); PORT=$PORT; [ \"\$(mc $(printf "'%s' " "${gets[@]}") | grep -c '^VALUE k')\" = 100 ]"
  check "memcslap: 8 concurrent clients, 16,000 sets then 16,000 gets" \
    bash -c "memcslap --servers=127.0.0.1:$PORT --concurrency=8 --execute-number=2000 --test=set >'$work/slap' 2>&1 &&
             memcslap --servers=127.0.0.1:$PORT --concurrency=8 --execute-number=2000 --test=get >>'$work/slap' 2>&1 &&
             [ \"\$(grep -c 'Time total' '$work/slap')\" = 2 ] && ! grep -qi -e fail -e error '$work/slap'"
  check "stats: 4 worker threads" bash -c "$(declare -f mc); PORT=$PORT; mc stats | grep -q 'STAT threads 4'"
  check "memcached runs as memcache" bash -c "$(declare -f mc); PORT=$PORT; mc stats | grep -q 'STAT pid' && pgrep -u 998 -x memcached >/dev/null"
}
