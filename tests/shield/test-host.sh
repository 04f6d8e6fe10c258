#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Debian's python3 from the host's own root (`/`) under the supervisor with a hand-built policy table:
# libraries served as verified memfds, unknown files refused, /tmp encrypted with the run's key.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
HARNESS=$VEIL_BUILD_ROOT/tests/shield/shield-harness
[ -x /usr/bin/python3.11 ] || { echo "1..0 # SKIP no /usr/bin/python3.11"; exit 0; }
work=$(mktemp -d /tmp/veil-shield-host.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
trust=()
host_python_trust
trust+=(--trust /lib --trust /lib64 --trust /usr/lib/python3.11 --passthrough /proc --passthrough /dev
        --passthrough /sys --ephemeral /tmp --secret /run/secrets/token=SECRET-TOKEN-VALUE)
echo 1..5
"$HARNESS" "${trust[@]}" --cwd / -- /usr/bin/python3.11 -c '
import json, os
maps = open("/proc/self/maps").read()
print("memfd-libc", "/memfd:libc.so.6" in maps)
try:
    open("/etc/passwd")
except PermissionError:
    print("passwd denied")
open("'"$work"'/scratch", "w").write("SCRATCH-SENTINEL-0b7e")
print("scratch", open("'"$work"'/scratch").read())
print("secret", open("/run/secrets/token").read())
try:
    open("/run/secrets/token", "w")
except OSError as e:
    print("secret write errno", e.errno)
' >"$work/out" 2>"$work/err"
rc=$?
check "python3 from the host root runs under the supervisor" test $rc -eq 0
check "its shared libraries are served from verified memfds" grep -q "memfd-libc True" "$work/out"
check "a file outside the policy is refused (EACCES) and logged" \
  bash -c "grep -q 'passwd denied' '$work/out' && grep -q 'denied open of /etc/passwd' '$work/err'"
check "an ephemeral file reads back in the run and is ciphertext on disk" \
  bash -c "grep -q 'scratch SCRATCH-SENTINEL-0b7e' '$work/out' && ! grep -q SCRATCH-SENTINEL '$work/scratch'"
check "a secret is a read-only memory file the disk never had" \
  bash -c "grep -q 'secret SECRET-TOKEN-VALUE' '$work/out' && grep -q 'secret write errno 30' '$work/out' && [ ! -e /run/secrets/token ]"
exit $tap_failed
