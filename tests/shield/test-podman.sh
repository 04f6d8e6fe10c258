#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The wrapped python image under `podman run --runtime runc` without privileges: veil-run is PID 1 with root `/`,
# the app runs, SIGTERM reaches its handler, a `podman exec` root shell cannot read veil-run's memory.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

command -v podman >/dev/null || { echo "1..0 # SKIP podman not installed"; exit 0; }
work=$(mktemp -d /var/tmp/veil-shield-podman.XXXXXX)
tag=veil-shield-test:$$
name=veil-shield-test-$$
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1
  podman rmi -f "$tag" >/dev/null 2>&1
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
root=$work/root
key=$work/image.key
SENTINEL=VEIL-PODMAN-SENTINEL-9e1b
PODMAN_RUN=(podman run --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

python_root "$root"
# a shell for `podman exec` (the attacker's tool, not used by the app)
copy_path "$root" /bin/busybox
ln -sfn busybox "$root/usr/bin/sh"
mkdir -p "$root/app" "$root/data"
cat > "$root/app/main.py" <<EOF
import os, signal, sys, time
def handler(sig, frame):
    print("handler ran for", sig, flush=True)
    sys.exit(42)
signal.signal(signal.SIGTERM, handler)
print("input:", open("/data/input.txt").read().strip(), flush=True)
with open("/data/out.txt", "w") as f:
    f.write("$SENTINEL")
    f.flush()
    os.fsync(f.fileno())
for path in ("/data/root-only.txt", "/etc/root-only.conf"):
    try:
        open(path).read()
        print("root-only: readable", path, flush=True)
    except PermissionError:
        print("root-only: EACCES", path, flush=True)
print("uid", os.getuid(), "pid", os.getpid(), "ready", flush=True)
while True:
    time.sleep(1)
EOF
echo "input inside the container" > "$root/data/input.txt"
echo "for root only" > "$root/data/root-only.txt"
chmod 600 "$root/data/root-only.txt"
echo "trusted, for root only" > "$root/etc/root-only.conf"
chmod 600 "$root/etc/root-only.conf"
chown 1000:1000 "$root/data"
# the app runs as an unprivileged user: the supervisor must still read its memory without CAP_SYS_PTRACE
"$MKIMAGE" --arg /usr/bin/python3 --arg -u --arg /app/main.py --env PATH=/usr/bin --cwd /app --user 1000:1000 \
  --encrypt /app --encrypt /data --runtime "$VEIL_RUN" --key-out "$key" "$root" || { echo "1..0 # mkimage failed"; exit 1; }
# /data becomes a volume (its encrypted files stay on the host), the rest is the image
mv "$root/data" "$work/data" && mkdir "$root/data"
tar -C "$root" -cf "$work/rootfs.tar" . || exit 1
if ! podman import --change 'ENTRYPOINT ["/veil/veil-run"]' --change 'CMD []' "$work/rootfs.tar" "$tag" >/dev/null 2>"$work/import.err"; then
  echo "1..0 # SKIP podman import failed: $(head -c 200 "$work/import.err")"
  exit 0
fi
echo 1..8

"${PODMAN_RUN[@]}" -d --name "$name" -v "$key:/keys/image.key:ro" -v "$work/data:/data" "$tag" \
  --dev-key-file /keys/image.key >/dev/null 2>"$work/run.err"
for _ in $(seq 600); do podman logs "$name" 2>/dev/null | grep -q ready && break; sleep 0.1; done
podman logs "$name" >"$work/log" 2>&1
check "the wrapped image runs under podman (runc, no privileges, no added capabilities)" grep -q ready "$work/log"
check "the app (uid 1000) reads its encrypted data inside the container" \
  bash -c "grep -q 'input: input inside the container' '$work/log' && grep -q 'uid 1000 pid' '$work/log'"
check "the image's permission bits still apply to files the shield opens for the app (encrypted and trusted)" \
  bash -c "grep -q 'root-only: EACCES /data/root-only.txt' '$work/log' && grep -q 'root-only: EACCES /etc/root-only.conf' '$work/log'"
check "veil-run is PID 1 and runs the app in development mode loudly" \
  bash -c "podman exec '$name' sh -c 'tr \"\\\\0\" \" \" < /proc/1/cmdline' | grep -q veil-run && grep -q 'DEVELOPMENT MODE' '$work/log'"

# the attacker: a root shell in the same container with the default capabilities
# (the fd numbers can be listed; what they point to, and the memory files they are, cannot be opened)
podman exec "$name" sh -c 'cat /proc/1/mem >/dev/null; echo mem=$?; cat /proc/1/maps >/dev/null; echo maps=$?;
  cat /proc/1/environ >/dev/null; echo environ=$?; n=0; opened=0;
  for f in /proc/1/fd/*; do n=$((n+1)); readlink "$f" && opened=$((opened+1)); cat "$f" >/dev/null 2>&1 && opened=$((opened+1)); done;
  echo fds=$n opened=$opened' >"$work/exec" 2>&1
check "a podman exec root shell cannot read veil-run's memory, maps, environment or memory files" \
  bash -c "grep -q 'mem=1' '$work/exec' && grep -q 'maps=1' '$work/exec' && grep -q 'environ=1' '$work/exec' && grep -qE 'fds=([3-9]|[1-9][0-9]+) opened=0' '$work/exec'"

podman stop -t 10 "$name" >/dev/null 2>&1
rc=$(podman wait "$name" 2>/dev/null || podman inspect -f '{{.State.ExitCode}}' "$name")
podman logs "$name" >"$work/log" 2>&1
check "podman stop: SIGTERM reaches the app's handler through veil-run" grep -q "handler ran for 15" "$work/log"
check "the app's exit status is the container's (42)" test "$rc" = 42
check "the file the app wrote is ciphertext on the host and decrypts under its path" \
  bash -c "! grep -qa '$SENTINEL' '$work/data/out.txt' && '$VEIL' pfs decrypt --key '$key' --path /data/out.txt '$work/data/out.txt' '$work/out.plain' >/dev/null && grep -q '$SENTINEL' '$work/out.plain'"
exit $tap_failed
