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
echo 1..4
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
exit $tap_failed
