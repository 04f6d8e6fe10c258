#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Incremental write-back: an append + fsync to an encrypted file re-seals only the changed node;
# the other nodes' ciphertext stays byte for byte, and the file still verifies and decrypts.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
HARNESS=$VEIL_BUILD_ROOT/tests/shield/shield-harness
[ -x /usr/bin/python3.11 ] || { echo "1..0 # SKIP no /usr/bin/python3.11"; exit 0; }
work=$(mktemp -d /tmp/veil-shield-wb.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
trust=()
host_python_trust
mkdir -p "$work/enc"
"$VEIL" pfs keygen -o "$work/key" || exit 1
trust+=(--trust /lib --trust /lib64 --trust /usr/lib/python3.11 --passthrough /proc --passthrough /dev
        --passthrough /sys --encrypt "$work/enc" --key "$work/key")
f=$work/enc/f
run() { VEIL_LOG=debug "$HARNESS" "${trust[@]}" --cwd / -- /usr/bin/python3.11 -c "$1" >>"$work/out" 2>"$work/err"; }
echo 1..13
# four whole nodes (256 KiB), then 100 bytes more: the append touches node 4 only
run 'import os
fd = os.open("'"$f"'", os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, bytes(range(256)) * 1024)
os.fsync(fd)'
cp "$f" "$work/before"
run 'import os
fd = os.open("'"$f"'", os.O_WRONLY | os.O_APPEND)
os.write(fd, b"x" * 100)
os.fsync(fd)'
rc=$?
check "the append and fsync run under the supervisor" test $rc -eq 0
check "the fsync re-sealed one node of five (debug log)" grep -q "wrote back $f incrementally: 1 of 5 nodes re-sealed" "$work/err"
check "the four unchanged nodes' ciphertext is byte for byte the same on disk" \
  cmp -n $((4 * 65536)) -i 128 "$work/before" "$f"
check "the file changed on disk (new node, tree and header)" bash -c "! cmp -s '$work/before' '$f'"
check "veil pfs verify accepts the written file" bash -c "'$VEIL' pfs verify --key '$work/key' --path '$f' '$f' >/dev/null"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 1024 + b"x" * 100)' >"$work/expected"
check "it decrypts to exactly the written bytes" \
  bash -c "'$VEIL' pfs decrypt --key '$work/key' --path '$f' '$f' '$work/plain' && cmp '$work/plain' '$work/expected'"
# a sparse 1 GiB file: holes are neither hashed from data nor sealed, and stay holes on disk
g=$work/enc/g
run 'import os
fd = os.open("'"$g"'", os.O_RDWR | os.O_CREAT, 0o600)
os.ftruncate(fd, 1 << 30)
os.pwrite(fd, b"end", (1 << 30) - 3)
os.fsync(fd)
os.pwrite(fd, b"start", 0)
os.fsync(fd)'
check "a sparse file's fsyncs re-seal one node each" \
  test "$(grep -c "wrote back $g incrementally: 1 of 16384 nodes re-sealed" "$work/err")" = 2
check "it stays sparse on disk" test "$(du -k "$g" | cut -f1)" -lt 4096
check "and verifies" bash -c "'$VEIL' pfs verify --key '$work/key' --path '$g' '$g' >/dev/null"
# a 2 MiB file and a 100-byte append: small beside the file, so it is written in place through a journal
h=$work/enc/h
run 'import os
fd = os.open("'"$h"'", os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, bytes(range(256)) * 8192)
os.fsync(fd)'
ino=$(stat -c %i "$h")
run 'import os
fd = os.open("'"$h"'", os.O_WRONLY | os.O_APPEND)
os.write(fd, b"y" * 100)
os.fsync(fd)'
check "an append to a 2 MiB file is written in place (the same inode), and no journal is left" \
  bash -c "[ '$(stat -c %i "$h")' = '$ino' ] && ! ls -a '$work/enc' | grep -q journal"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 8192 + b"y" * 100)' >"$work/expected-h"
check "it decrypts to exactly the written bytes" \
  bash -c "'$VEIL' pfs decrypt --key '$work/key' --path '$h' '$h' '$work/plain-h' && cmp '$work/plain-h' '$work/expected-h'"
check "it verifies" bash -c "'$VEIL' pfs verify --key '$work/key' --path '$h' '$h' >/dev/null"
# a journal a crash left next to a file goes with the file: the app can remove the file, then its directory
mkdir "$work/enc/sub"
run 'import os
fd = os.open("'"$work/enc/sub/x"'", os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, b"x")
os.fsync(fd)'
printf 'left by a crash' > "$work/enc/sub/.veil.$(printf x | sha256sum | cut -c1-32).journal"
run 'import os
os.unlink("'"$work/enc/sub/x"'")
os.rmdir("'"$work/enc/sub"'")
print("removed")'
check "unlinking an encrypted file removes a journal left next to it (its directory can then be removed)" \
  bash -c "grep -q removed '$work/out' && ! [ -e '$work/enc/sub' ]"
[ $tap_failed = 0 ] || { cat "$work/err" | tail -20 >&2; }
exit $tap_failed
