#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `veil-run --root DIR` as an unprivileged developer (no CAP_SYS_CHROOT): a user namespace maps the manifest's
# user onto the developer's ids; the app runs, writes an encrypted file, and gains nothing outside.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || { echo "1..0 # SKIP setpriv not installed"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root to switch to an unprivileged user"; exit 0; }
setpriv --reuid=65534 --regid=65534 --clear-groups unshare -U true 2>/dev/null ||
  { echo "1..0 # SKIP unprivileged user namespaces are disabled"; exit 0; }
work=$(mktemp -d /var/tmp/veil-shield-unpriv.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
root=$work/root
python_root "$root"
mkdir -p "$root/app" "$root/data"
cat > "$root/app/main.py" <<'EOF2'
import os
with open("/data/out.txt", "w") as f:
    f.write("UNPRIV-SENTINEL-77aa")
print("uid", os.getuid(), "read back", open("/data/out.txt").read())
EOF2
"$MKIMAGE" --arg /usr/bin/python3 --arg /app/main.py --env PATH=/usr/bin --cwd /app --encrypt /app --encrypt /data \
  --runtime "$VEIL_RUN" --key-out "$work/image.key" "$root" || { echo "1..0 # mkimage failed"; exit 1; }
chmod 644 "$work/image.key"
chown 65534:65534 "$root/data"
echo 1..3
setpriv --reuid=65534 --regid=65534 --clear-groups "$VEIL_RUN" --root "$root" --dev-key-file "$work/image.key" \
  >"$work/out" 2>"$work/err"
rc=$?
check "an unprivileged user runs a wrapped root directory" bash -c "[ $rc -eq 0 ] && grep -q 'read back UNPRIV-SENTINEL-77aa' '$work/out'"
check "the app sees the manifest's user (root) inside its user namespace only" \
  bash -c "grep -q '^uid 0 ' '$work/out' && [ \"\$(stat -c %u '$root/data/out.txt')\" = 65534 ]"
check "its file on disk is ciphertext" bash -c "! grep -qa UNPRIV-SENTINEL '$root/data/out.txt'"
exit $tap_failed
