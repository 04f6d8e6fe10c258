# SPDX-License-Identifier: Apache-2.0
# Helpers for the shield's integration tests: TAP output and small root filesystems built from the host's Debian files.

: "${VEIL_BUILD_ROOT:?}" "${VEIL_SOURCE_ROOT:?}"
VEIL_RUN=$VEIL_BUILD_ROOT/src/shield/veil-run
MKIMAGE=$VEIL_BUILD_ROOT/tests/shield/shield-mkimage
VEIL=$VEIL_BUILD_ROOT/src/cli/veil

tap_n=0
tap_failed=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=1; echo "not ok $tap_n - $*"; }
check() { # check NAME COMMAND...: ok when the command succeeds
  local name=$1; shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $* # SKIP"; }

# host_python_trust: append to the array `trust` the harness options that trust the host's python3.11,
# its loader and every shared library it loads (each by its /usr path and by its resolved path)
host_python_trust() {
  local f
  for f in /usr/bin/python3.11 /usr/lib64/ld-linux-x86-64.so.2 $(ldd /usr/bin/python3.11 | grep -o '/lib/x86_64[^ ]*'); do
    case $f in /lib/*) f=/usr$f ;; esac
    trust+=(--trust "$f" --trust "$(readlink -f "$f")")
  done
}

# copy_binary ROOT PATH...: the files and every shared library they need, with their symlinks
copy_binary() {
  local root=$1; shift
  local f lib
  for f in "$@"; do
    copy_path "$root" "$f"
    for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do copy_path "$root" "$lib"; done
  done
}

# copy_path ROOT PATH: the path (following and recreating symlinks), with /usr merged as on Debian
copy_path() {
  local root=$1 p=$2
  case $p in /lib/*|/lib64/*|/bin/*|/sbin/*) p=/usr$p ;; esac
  while [ -L "$p" ]; do
    mkdir -p "$root$(dirname "$p")"
    [ -e "$root$p" ] || [ -L "$root$p" ] || cp -P "$p" "$root$p"
    local t; t=$(readlink "$p")
    case $t in /*) p=$t ;; *) p=$(dirname "$p")/$t ;; esac
    case $p in /lib/*|/lib64/*|/bin/*|/sbin/*) p=/usr$p ;; esac
  done
  mkdir -p "$root$(dirname "$p")"
  [ -e "$root$p" ] || cp -a "$p" "$root$p"
}

# base_root ROOT: the merged-/usr layout and the directories every image has
base_root() {
  local root=$1
  mkdir -p "$root"/usr/bin "$root"/usr/lib "$root"/usr/lib64 "$root"/etc "$root"/tmp "$root"/run "$root"/proc \
    "$root"/sys "$root"/dev "$root"/var/tmp
  ln -sfn usr/bin "$root/bin"; ln -sfn usr/lib "$root/lib"; ln -sfn usr/lib64 "$root/lib64"
  chmod 1777 "$root/tmp" "$root/var/tmp"
  echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
}

# python_root ROOT: Debian's python3 with its standard library (no tests, no GUI)
python_root() {
  local root=$1
  base_root "$root"
  copy_binary "$root" /usr/bin/python3.11
  ln -sfn python3.11 "$root/usr/bin/python3"
  cp -a /usr/lib/python3.11 "$root/usr/lib/"
  rm -rf "$root"/usr/lib/python3.11/{test,idlelib,tkinter,lib2to3,ensurepip,pydoc_data,distutils}
}
