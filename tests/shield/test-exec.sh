#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An encrypted entrypoint: a compiled program (and a script) under an encrypted /app runs from a sealed
# memory file holding its plaintext; its interpreter is still verified; tampering is refused at start.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/veil-shield-exec.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
echo 1..9

command -v cc >/dev/null || { echo "1..0 # SKIP no C compiler for the test program"; exit 0; }
# the test program: prints its argv[0] and what its first argument names
printf '%s\n' '#include <stdio.h>' \
  'int main(int argc, char **argv) { printf("argv0=%s\n", argv[0]); if (argc > 1) { FILE *f = fopen(argv[1], "r");' \
  'char line[256]; if (f && fgets(line, sizeof(line), f)) printf("read=%s", line); } return 0; }' > "$work/hello.c"
cc -O2 -o "$work/hello" "$work/hello.c" || { echo "Bail out! cannot build the test program"; exit 1; }

# mkroot NAME ENTRYPOINT ARGS...: /bin/sh and libc trusted, /app (the program, a script, data) encrypted
mkroot() {
  local root=$work/$1; shift
  base_root "$root"
  copy_binary "$root" /bin/sh "$work/hello"
  rm -f "$root$work/hello"
  mkdir -p "$root/app/bin"
  cp "$work/hello" "$root/app/bin/hello"
  echo "an encrypted line" > "$root/app/data.txt"
  printf '#!/bin/sh\necho "script says $1, from $0"\n' > "$root/app/run.sh"
  chmod 755 "$root/app/run.sh"
  local args=()
  for a in "$@"; do args+=(--arg "$a"); done
  "$MKIMAGE" "${args[@]}" --env PATH=/usr/bin --cwd / --encrypt /app --runtime "$VEIL_RUN" --key-out "$root.key" "$root" \
    >/dev/null || return 1
  echo "$root"
}
# a private mount namespace with the host's /proc and /dev in the root: a script runs as /dev/fd/N
run() {
  unshare -m sh -c 'mount --rbind /proc "$1/proc" && mount --rbind /dev "$1/dev" && exec "$2" --root "$1" --dev-key-file "$1.key"' \
    - "$1" "$VEIL_RUN" >"$work/out" 2>"$work/err"
}

root=$(mkroot elf /app/bin/hello /app/data.txt) || { echo "Bail out! mkimage failed"; exit 1; }
run "$root"; rc=$?
check "an encrypted ELF entrypoint runs (from a sealed memory file) and reads an encrypted file" \
  bash -c "[ $rc -eq 0 ] && grep -qx 'read=an encrypted line' '$work/out'"
check "... while on disk it is ciphertext" bash -c "! head -c 4 '$root/app/bin/hello' | grep -q ELF"
check "argv[0] is the path the manifest names" grep -qx "argv0=/app/bin/hello" "$work/out"

root=$(mkroot script /app/run.sh hello) || { echo "Bail out! mkimage failed"; exit 1; }
run "$root"; rc=$?
check "an encrypted script entrypoint runs under its trusted interpreter" \
  bash -c "[ $rc -eq 0 ] && grep -q 'script says hello' '$work/out'"

# a flipped byte in the encrypted binary: refused before anything runs, naming the file
root=$(mkroot tamper /app/bin/hello) || { echo "Bail out! mkimage failed"; exit 1; }
printf '\xff' | dd of="$root/app/bin/hello" bs=1 seek=300 conv=notrunc 2>/dev/null
run "$root"; rc=$?
check "a tampered encrypted entrypoint: veil-run refuses to start, naming it" \
  bash -c "[ $rc -ne 0 ] && grep -q 'refusing to start /app/bin/hello' '$work/err' && ! [ -s '$work/out' ]"
check "... and the tampering is logged" grep -q "refusing encrypted file /app/bin/hello" "$work/err"

# its interpreter (ld.so) is a trusted file the kernel opens itself: still verified
root=$(mkroot interp /app/bin/hello) || { echo "Bail out! mkimage failed"; exit 1; }
# the copy in the root (the root's own symlinks point at absolute paths: never follow them on the host)
ld=$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
[ -f "$ld" ] && [ ! -L "$ld" ] || { echo "Bail out! no copy of ld.so in the test root"; exit 1; }
printf '\xff' | dd of="$ld" bs=1 seek=5000 conv=notrunc 2>/dev/null
run "$root"; rc=$?
check "a tampered interpreter of an encrypted entrypoint: refused" \
  bash -c "[ $rc -ne 0 ] && grep -q 'ld-linux-x86-64.so.2 does not match its digest' '$work/err'"

# the wrong key: the entrypoint cannot be decrypted
root=$(mkroot wrongkey /app/bin/hello) || { echo "Bail out! mkimage failed"; exit 1; }
head -c 32 /dev/urandom > "$root.key"
run "$root"; rc=$?
check "the wrong key: refused to start, nothing ran" bash -c "[ $rc -ne 0 ] && ! [ -s '$work/out' ]"

# not executable
root=$(mkroot noexec /app/bin/hello) || { echo "Bail out! mkimage failed"; exit 1; }
chmod 644 "$root/app/bin/hello"
run "$root"; rc=$?
check "an encrypted entrypoint without execute permission: refused" \
  bash -c "[ $rc -ne 0 ] && grep -q 'is not executable' '$work/err'"
[ $tap_failed = 0 ] || { tail -5 "$work/err" >&2; }
exit $tap_failed
