#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An image made by `veil wrap` (not by the test helper) runs under veil-run: as a directory with --root, and as
# an OCI archive loaded into podman, where veil-run's measurement equals the image's label.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

[ -x "$VEIL" ] && "$VEIL" wrap --help >/dev/null 2>&1 || { echo "1..0 # SKIP veil wrap not built"; exit 0; }
work=$(mktemp -d /var/tmp/veil-shield-wrap.XXXXXX)
name=veil-shield-wrap-$$
image=
cleanup() {
  command -v podman >/dev/null && { podman rm -f -t 0 "$name" >/dev/null 2>&1; [ -n "$image" ] && podman rmi -f "$image" >/dev/null 2>&1; }
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
src=$work/src
SENTINEL=VEIL-WRAP-SENTINEL-4d21

python_root "$src"
mkdir -p "$src/app" "$src/data"
cat > "$src/app/main.py" <<EOF
import os
print("input:", open("/data/input.txt").read().strip())
with open("/data/result.txt", "w") as f:
    f.write("$SENTINEL")
    f.flush()
    os.fsync(f.fileno())
os.rename("/data/result.txt", "/data/final.txt")
print("final:", open("/data/final.txt").read())
EOF
echo "wrapped input" > "$src/data/input.txt"
"$VEIL" keygen -o "$work/signer.pem" >/dev/null 2>&1 || { echo "1..0 # veil keygen failed"; exit 1; }
wrap() { "$VEIL" wrap "$src" -k "$work/signer.pem" --encrypt /app --encrypt /data --entrypoint /usr/bin/python3 \
  --arg /app/main.py --env PATH=/usr/bin -w /app --key "$work/image.key" -q "$@"; }
head -c 32 /dev/urandom > "$work/image.key"
echo 1..6

wrap -o "$work/root/" 2>"$work/wrap.err"
"$VEIL_RUN" --root "$work/root" --dev-key-file "$work/image.key" >"$work/out" 2>"$work/err"
check "a root directory made by veil wrap runs under veil-run --root" \
  bash -c "grep -q 'input: wrapped input' '$work/out' && grep -q 'final: $SENTINEL' '$work/out'"
check "its encrypted output is ciphertext and decrypts under its final path" \
  bash -c "! grep -qa '$SENTINEL' '$work/root/data/final.txt' &&
           '$VEIL' pfs decrypt --key '$work/image.key' --path /data/final.txt '$work/root/data/final.txt' '$work/plain' >/dev/null &&
           grep -q '$SENTINEL' '$work/plain'"

if ! command -v podman >/dev/null; then
  for i in 3 4 5 6; do skip "podman not installed"; done
  exit $tap_failed
fi
wrap -o "$work/image.tar" -t "localhost/$name:latest" 2>>"$work/wrap.err"
image=localhost/$name:latest
check "veil wrap writes an OCI archive that podman loads" bash -c "podman load -q -i '$work/image.tar' >/dev/null 2>&1"
label=$(podman image inspect -f '{{index .Labels "org.veil.measurement"}}' "$image" 2>/dev/null)
podman run --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name "$name" \
  -v "$work/image.key:/keys/image.key:ro" "$image" --dev-key-file /keys/image.key --expect-measurement "$label" \
  >"$work/pout" 2>"$work/perr"
rc=$?
check "the wrapped image runs under podman (runc, no privileges) with --expect-measurement of its label" \
  bash -c "[ $rc -eq 0 ] && grep -q 'final: $SENTINEL' '$work/pout'"
check "veil-run's measurement equals the image label org.veil.measurement" \
  bash -c "[ -n '$label' ] && grep -q 'measurement $label' '$work/perr'"
podman run --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --rm -v "$work/image.key:/keys/image.key:ro" "$image" --dev-key-file /keys/image.key \
  --expect-measurement "$(printf 'f%.0s' {1..64})" >/dev/null 2>"$work/perr2"
rc=$?
check "another expected measurement: veil-run refuses to start the app" \
  bash -c "[ $rc -eq 1 ] && grep -q 'refusing to start: the measurement does not match' '$work/perr2'"
exit $tap_failed
