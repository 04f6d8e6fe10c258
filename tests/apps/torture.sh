#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash consistency under veil-run: SIGKILL the app or veil-run at a random moment while it writes and fsyncs
# (Redis with an AOF and `appendfsync always`; SQLite with synchronous=FULL), on encrypted paths; after each kill
# every encrypted file must verify (veil pfs verify) and, after a restart, every acknowledged write must be there.
#
#   tests/apps/torture.sh [KILLS]      (default 20: half Redis, half SQLite; scripts/torture runs 1,000+)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../examples/lib.sh"

kills=${1:-${VEIL_TORTURE_KILLS:-20}}
command -v redis-cli >/dev/null || { echo "1..0 # SKIP redis-tools not installed"; exit 0; }
work=$(mktemp -d /var/tmp/veil-torture.XXXXXX)
vpid=
cleanup() {
  [ -n "$vpid" ] && { kill -KILL "$vpid" 2>/dev/null; wait "$vpid" 2>/dev/null; }
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
key=$work/image.key
signer=$work/signer.pem
REDIS_PORT=${TORTURE_REDIS_PORT:-$(( 21000 + RANDOM % 9000 ))}

# ---------------------------------------------------------------- the images
example_load redis
PORT=$REDIS_PORT build_root "$work/redis-src" >/dev/null 2>&1 || { echo "1..0 # building the redis root failed"; exit 1; }
# small AOF rewrites, so kills also land in rewrites (fork, new base, renames, manifest); with a larger
# TORTURE_AOF_REWRITE_MIN (e.g. 32mb) the AOF grows past the point where write-backs go in place (a journal)
printf 'auto-aof-rewrite-min-size %s\nauto-aof-rewrite-percentage 50\n' "${TORTURE_AOF_REWRITE_MIN:-256kb}" \
  >> "$work/redis-src/etc/redis/redis.conf"
example_wrap "$work/redis-src" "$work/redis/" "$key" "$signer" 2>"$work/wrap.err" || { echo "1..0 # wrap failed: $(cat "$work/wrap.err")"; exit 1; }

python_root "$work/sqlite-src"
copy_binary "$work/sqlite-src" /usr/lib/python3.11/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so
mkdir -p "$work/sqlite-src/app" "$work/sqlite-src/data"
cat > "$work/sqlite-src/app/writer.py" <<'PY'
# each committed transaction inserts the next sequence number and rewrites a counter row; "ack N" after COMMIT
import sqlite3, sys
db = sqlite3.connect("/data/t.db", isolation_level=None)
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY, val TEXT)")
db.execute("CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY, n INTEGER)")
db.execute("INSERT OR IGNORE INTO c VALUES (1, 0)")
ok = db.execute("PRAGMA integrity_check").fetchone()[0]
count, top = db.execute("SELECT count(*), coalesce(max(seq), 0) FROM t").fetchone()
n = db.execute("SELECT n FROM c WHERE id = 1").fetchone()[0]
print("state", ok, count, top, n, flush=True)
i = top + 1
while True:
    db.execute("BEGIN")
    db.execute("INSERT INTO t VALUES (?, ?)", (i, "value-%d-%s" % (i, "x" * (i % 300))))
    db.execute("UPDATE c SET n = ? WHERE id = 1", (i,))
    db.execute("COMMIT")
    print("ack", i, flush=True)
    i += 1
PY
saved=("${WRAP_ARGS[@]}")
WRAP_ARGS=(--entrypoint /usr/bin/python3 --arg -u --arg /app/writer.py --env PATH=/usr/bin -w /data
  --encrypt /app --encrypt /data)
example_wrap "$work/sqlite-src" "$work/sqlite/" "$key" "$signer" 2>"$work/wrap.err" || { echo "1..0 # wrap failed: $(cat "$work/wrap.err")"; exit 1; }
WRAP_ARGS=("${saved[@]}")

# ---------------------------------------------------------------- helpers
# verify_dir ROOT: every regular file below ROOT/data decrypts under its path; prints what failed. veil-run's own
# temporary files of a write-back that a kill interrupted (.veil.*.tmp, never renamed into place) are counted apart.
stale=0 journals=0
verify_dir() {
  local root=$1 f bad=0
  while IFS= read -r f; do
    case ${f##*/} in
      .veil.*.tmp) stale=$((stale + 1)); rm -f "$f"; continue ;;
      .veil.*.journal) journals=$((journals + 1)); continue ;; # an in-place write-back the kill interrupted:
    esac                                                       # opening its file (below) finishes it
    "$VEIL" pfs verify --key "$key" --path "${f#"$root"}" "$f" >/dev/null 2>"$work/verify.err" ||
      { echo "# corrupted: ${f#"$root"}: $(head -c 200 "$work/verify.err")"; bad=$((bad + 1)); }
  done < <(find "$root/data" -type f)
  return $bad
}
rand_delay() { printf '0.%03d' $(( 50 + RANDOM % 900 )); } # 50..949 ms
# kill_one: SIGKILL the app (veil-run's child) or veil-run itself, at random; echoes which
kill_one() {
  local app; app=$(pgrep -P "$vpid" | head -1)
  if [ $((RANDOM % 2)) -eq 0 ] && [ -n "$app" ]; then kill -KILL "$app"; echo app; else kill -KILL "$vpid"; echo veil-run; fi
}
wait_gone() { wait "$vpid" 2>/dev/null; vpid=; for _ in $(seq 100); do ss -Hltn "sport = :$REDIS_PORT" | grep -q . || return 0; sleep 0.05; done; }

corrupt=0; lost=0; failures=0; done_kills=0; app_kills=0; run_kills=0
redis_kills=$(( kills / 2 )); sqlite_kills=$(( kills - redis_kills ))
echo 1..4

# ---------------------------------------------------------------- Redis
state=$work/redis-state.json
for n in $(seq "$redis_kills"); do
  "$VEIL_RUN" --root "$work/redis" --dev-key-file "$key" >>"$work/redis.log" 2>&1 &
  vpid=$!
  up=0
  for _ in $(seq 400); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && { up=1; break; }; sleep 0.05; done
  if [ $up = 0 ]; then
    echo "# redis did not restart after kill $n: $(tail -3 "$work/redis.log" | tr '\n' ' ')"; failures=$((failures + 1))
    kill -KILL "$vpid" 2>/dev/null; wait_gone; verify_dir "$work/redis" || corrupt=$((corrupt + $?)); continue
  fi
  python3 "$here/torture-redis-client.py" check "$REDIS_PORT" "$state" >"$work/check.out" 2>&1 || {
    lost=$((lost + $(sed -n 's/.*keys, \([0-9]*\) lost/\1/p' "$work/check.out" | tail -1) + 0)); sed 's/^/# /' "$work/check.out" | head -6; }
  python3 "$here/torture-redis-client.py" load "$REDIS_PORT" "$state" &
  client=$!
  sleep "$(rand_delay)"
  case $(kill_one) in app) app_kills=$((app_kills + 1)) ;; *) run_kills=$((run_kills + 1)) ;; esac
  done_kills=$((done_kills + 1))
  wait "$client"
  wait_gone
  verify_dir "$work/redis" || corrupt=$((corrupt + $?))
  [ $((n % 100)) -eq 0 ] && echo "# redis: $n kills, $corrupt corrupted, $lost lost so far"
done
# the last check, after the last kill
"$VEIL_RUN" --root "$work/redis" --dev-key-file "$key" >>"$work/redis.log" 2>&1 &
vpid=$!
for _ in $(seq 400); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
python3 "$here/torture-redis-client.py" check "$REDIS_PORT" "$state" >"$work/check.out" 2>&1 || {
  lost=$((lost + $(sed -n 's/.*keys, \([0-9]*\) lost/\1/p' "$work/check.out" | tail -1) + 0)); sed 's/^/# /' "$work/check.out" | head -6; }
redis_acked=$(python3 -c "import json; print(json.load(open('$state'))['next'] - 1)" 2>/dev/null)
redis-cli -p "$REDIS_PORT" shutdown >/dev/null 2>&1; wait_gone
redis_summary="redis: $redis_kills kills, $redis_acked SETs sent, $corrupt corrupted files, $lost lost acknowledged writes, $failures failed restarts"
echo "# $redis_summary"
[ $corrupt -eq 0 ] && [ $lost -eq 0 ] && [ $failures -eq 0 ] && [ "$redis_kills" -gt 0 ] && ok "$redis_summary" || not_ok "$redis_summary"
check "the AOF on disk is ciphertext" bash -c "! grep -rqa -e 'k:1' -e SET '$work/redis/data'"

# ---------------------------------------------------------------- SQLite
corrupt=0; lost=0; failures=0; acked=0
log=$work/sqlite.out
for n in $(seq $((sqlite_kills + 1))); do
  : > "$log"
  "$VEIL_RUN" --root "$work/sqlite" --dev-key-file "$key" >"$log" 2>>"$work/sqlite.err" &
  vpid=$!
  for _ in $(seq 400); do grep -q '^ack ' "$log" && break; kill -0 "$vpid" 2>/dev/null || break; sleep 0.02; done
  read -r _ ok count top counter < <(grep -m1 '^state ' "$log")
  if [ "${ok:-}" != ok ] || [ "${count:-0}" != "${top:-x}" ] || [ "${counter:-0}" != "${top:-x}" ] || [ "${top:-0}" -lt "$acked" ]; then
    echo "# after kill $((n - 1)): integrity '${ok:-}', $count rows, top $top, counter $counter, $acked acknowledged"
    [ "${top:-0}" -lt "$acked" ] 2>/dev/null && lost=$((lost + acked - top)) || failures=$((failures + 1))
  fi
  [ "$n" -gt "$sqlite_kills" ] && { kill -TERM "$vpid"; wait "$vpid" 2>/dev/null; vpid=; break; }
  sleep "$(rand_delay)"
  case $(kill_one) in app) app_kills=$((app_kills + 1)) ;; *) run_kills=$((run_kills + 1)) ;; esac
  done_kills=$((done_kills + 1))
  wait "$vpid" 2>/dev/null; vpid=
  last=$(grep '^ack ' "$log" | tail -1 | cut -d' ' -f2)
  [ -n "$last" ] && acked=$last
  verify_dir "$work/sqlite" || corrupt=$((corrupt + $?))
  [ $((n % 100)) -eq 0 ] && echo "# sqlite: $n kills, $acked acknowledged, $corrupt corrupted, $lost lost so far"
done
sqlite_summary="sqlite: $sqlite_kills kills, $acked transactions acknowledged, $corrupt corrupted files, $lost lost acknowledged commits, $failures bad restarts"
echo "# $sqlite_summary"
[ $corrupt -eq 0 ] && [ $lost -eq 0 ] && [ $failures -eq 0 ] && [ "$acked" -gt 0 ] && ok "$sqlite_summary" || not_ok "$sqlite_summary"
check "the database on disk is ciphertext" bash -c "[ -s '$work/sqlite/data/t.db' ] && ! grep -qa -e 'value-1-' -e 'SQLite format' '$work/sqlite/data/t.db'"
echo "# total: $done_kills kills ($app_kills of the app, $run_kills of veil-run); $stale interrupted write-backs left a temporary file, $journals a journal (finished by the next open)"
exit $tap_failed
