#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `veil pfs` from the command line: round trips, and clear errors with no output left behind (TAP).
set -uo pipefail
veil=${VEIL_BUILD_ROOT:?}/src/cli/veil
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

# run CMD... : sets $rc, $out (stdout) and $err (stderr)
run() {
  "$@" >"$work/.out" 2>"$work/.err"
  rc=$?
  out=$(cat "$work/.out")
  err=$(cat "$work/.err")
}
# fails NAME PATTERN NOFILE CMD...: non-zero exit, stderr matches PATTERN, NOFILE does not exist
fails() {
  local name=$1 pattern=$2 nofile=$3; shift 3
  run "$@"
  if [ "$rc" -ne 0 ] && [[ "$err" == *"$pattern"* ]] && [ ! -e "$nofile" ] &&
     [ -z "$(ls -A "$work" | grep '^\.' | grep -v '^\.out$\|^\.err$')" ]; then
    ok "$name"
  else
    not_ok "$name"
    echo "# rc=$rc stderr: $err"
  fi
}

echo "1..26"
k="$work/key"
run "$veil" pfs keygen -o "$k"
check "keygen makes a 32-byte key" [ "$rc" -eq 0 -a "$(stat -c %s "$k")" = 32 ]
check "the key file is mode 0600" [ "$(stat -c %a "$k")" = 600 ]
fails "keygen refuses to overwrite a key" "already exists" "$work/none" "$veil" pfs keygen -o "$k"

head -c 200000 /dev/urandom >"$work/plain"
run "$veil" pfs encrypt --key "$k" --path /data/x "$work/plain" "$work/x.enc"
check "encrypt" [ "$rc" -eq 0 -a -s "$work/x.enc" ]
run "$veil" pfs decrypt --key "$k" --path /data/x "$work/x.enc" "$work/out"
check "decrypt gives the plaintext back" cmp -s "$work/plain" "$work/out"
run "$veil" pfs verify --key "$k" --path /data/x --version 1 "$work/x.enc"
check "verify with the version pinned" [ "$rc" -eq 0 ] && [[ "$out" == *"OK (version 1, 200000 bytes)"* ]]
run "$veil" pfs info "$work/x.enc"
check "info without a key says it checked nothing" [ "$rc" -eq 0 ] && [[ "$out" == *"authenticated:   NO"* && "$out" == *"size:            200000 bytes"* ]]
run "$veil" pfs info --key "$k" --path /data/x "$work/x.enc"
check "info with the key" [ "$rc" -eq 0 ] && [[ "$out" == *"authenticated:   yes"* && "$out" == *"data nodes:      4 x 65536"* ]]
: >"$work/empty"
run "$veil" pfs encrypt --key "$k" --path /e --version 7 "$work/empty" "$work/e.enc"
run "$veil" pfs decrypt --key "$k" --path /e --version 7 "$work/e.enc" "$work/e.out"
check "an empty file round-trips with version 7" [ "$rc" -eq 0 -a -f "$work/e.out" -a ! -s "$work/e.out" ]

rm -f "$work/out"
"$veil" pfs keygen -o "$work/other" >/dev/null
fails "wrong key" "integrity check failed at the header (wrong key, tampered or swapped file)" "$work/out" \
  "$veil" pfs decrypt --key "$work/other" --path /data/x "$work/x.enc" "$work/out"
fails "wrong logical path (renamed file)" "integrity check failed" "$work/out" \
  "$veil" pfs decrypt --key "$k" --path /data/y "$work/x.enc" "$work/out"
fails "pinned version differs (rollback)" "expected 2 (rolled back or replaced)" "$work/out" \
  "$veil" pfs decrypt --key "$k" --path /data/x --version 2 "$work/x.enc" "$work/out"
cp "$work/x.enc" "$work/t.enc"
printf '\x5a' | dd of="$work/t.enc" bs=1 seek=$((128 + 65536 * 2 + 77)) conv=notrunc status=none
fails "tampered data node: decrypt names the node" "integrity check failed at data node 2" "$work/out" \
  "$veil" pfs decrypt --key "$k" --path /data/x "$work/t.enc" "$work/out"
fails "tampered data node: verify" "data node 2" "$work/out" "$veil" pfs verify --key "$k" --path /data/x "$work/t.enc"
echo previous >"$work/keep"
run "$veil" pfs decrypt --key "$k" --path /data/x "$work/t.enc" "$work/keep"
check "a failed decrypt leaves an existing output untouched" [ "$rc" -ne 0 -a "$(cat "$work/keep")" = previous ]
head -c 150000 "$work/x.enc" >"$work/short.enc"
fails "truncated file" "truncated or extended" "$work/out" "$veil" pfs decrypt --key "$k" --path /data/x "$work/short.enc" "$work/out"

fails "missing input (decrypt)" "No such file or directory" "$work/out" \
  "$veil" pfs decrypt --key "$k" --path /data/x "$work/missing.enc" "$work/out"
fails "missing input (encrypt)" "No such file or directory" "$work/out" \
  "$veil" pfs encrypt --key "$k" --path /data/x "$work/missing" "$work/out"
fails "missing key file" "No such file or directory" "$work/out" \
  "$veil" pfs encrypt --key "$work/nokey" --path /data/x "$work/plain" "$work/out"
head -c 31 /dev/urandom >"$work/badkey"
fails "a key file of the wrong size" "must be exactly 32 raw bytes" "$work/out" \
  "$veil" pfs encrypt --key "$work/badkey" --path /data/x "$work/plain" "$work/out"
mkdir "$work/adir"
fails "directory as input (encrypt)" "is a directory" "$work/out" \
  "$veil" pfs encrypt --key "$k" --path /data/x "$work/adir" "$work/out"
fails "directory as input (decrypt)" "is a directory" "$work/out" \
  "$veil" pfs decrypt --key "$k" --path /data/x "$work/adir" "$work/out"
fails "directory as output" "is a directory" "$work/out" \
  "$veil" pfs decrypt --key "$k" --path /data/x "$work/x.enc" "$work/adir"
fails "unwritable output (no such directory)" "No such file or directory" "$work/nodir/out" \
  "$veil" pfs encrypt --key "$k" --path /data/x "$work/plain" "$work/nodir/out"
fails "not an encrypted file" "not an encrypted veil file" "$work/out" \
  "$veil" pfs decrypt --key "$k" --path /data/x "$work/plain" "$work/out"
run "$veil" pfs encrypt --key "$k" "$work/plain" "$work/out"
check "missing --path is a usage error (exit 2), no output" [ "$rc" -eq 2 -a ! -e "$work/out" ]
exit $failed
