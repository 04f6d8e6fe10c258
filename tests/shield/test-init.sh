#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# veil-run as the application's init with a static busybox: instant exits are noticed, statuses and
# signals come back, orphans are reaped.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ -x /bin/busybox ] || { echo "1..0 # SKIP busybox-static not installed"; exit 0; }
work=$(mktemp -d /var/tmp/veil-shield-init.XXXXXX)
trap 'rm -rf "$work"' EXIT
image() { # image NAME ARGS...: a root with busybox whose manifest runs ARGS
  local root=$work/$1; shift
  base_root "$root"
  cp /bin/busybox "$root/usr/bin/busybox"
  ln -s busybox "$root/usr/bin/sh"
  local a=()
  for x in "$@"; do a+=(--arg "$x"); done
  "$MKIMAGE" "${a[@]}" --env PATH=/usr/bin --runtime "$VEIL_RUN" "$root" || exit 1
}
image true /usr/bin/busybox true
image false /usr/bin/busybox false
image selfterm /usr/bin/sh -c 'kill -TERM $$; sleep 5'
image orphans /usr/bin/sh -c '(sleep 0.2; exit 3) & (sleep 0.1 &) ; echo parent-done'
# an orphan that keeps calling while the main process exits and veil-run leaves
image busy /usr/bin/sh -c '(while :; do read x < /etc/passwd; done) & i=0; while [ $i -lt 200 ]; do read x < /etc/passwd; i=$((i+1)); done; echo main-done'
echo 1..6
fast=0
for _ in $(seq 20); do timeout 20 "$VEIL_RUN" --root "$work/true" 2>/dev/null && fast=$((fast + 1)); done
check "an app that exits at once is noticed every time (20 of 20 runs)" test $fast -eq 20
timeout 20 "$VEIL_RUN" --root "$work/false" 2>/dev/null
check "exit status 1 passes through" test $? -eq 1
timeout 20 "$VEIL_RUN" --root "$work/selfterm" 2>/dev/null
check "death by SIGTERM gives 143" test $? -eq 143
timeout 20 "$VEIL_RUN" --root "$work/orphans" >"$work/out" 2>/dev/null
check "the main process's exit ends the run; orphans do not hold it up" \
  bash -c "[ $? -eq 0 ] && grep -q parent-done '$work/out'"
busy_ok=0
for _ in $(seq 10); do
  timeout 20 "$VEIL_RUN" --root "$work/busy" >"$work/out" 2>/dev/null && grep -q main-done "$work/out" && busy_ok=$((busy_ok + 1))
done
check "veil-run leaves cleanly while an orphan is still calling (10 of 10 runs)" test $busy_ok -eq 10
image lingering /usr/bin/sh -c '(exec /usr/bin/busybox sleep 3171) & echo started'
timeout 20 "$VEIL_RUN" --root "$work/lingering" >/dev/null 2>&1
left=$(pgrep -f 'busybox sleep 3171')
check "processes the app leaves behind end with it" test -z "$left"
[ -z "$left" ] || kill $left  # our own leftover, by pid
exit $tap_failed
