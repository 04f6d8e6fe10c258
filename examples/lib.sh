# SPDX-License-Identifier: Apache-2.0
# Shared by the examples: where veil is, the shield tests' helpers for building a root file system from the host's
# Debian files (copy_binary, copy_path, base_root, python_root), and how an example is built and wrapped.

EXAMPLES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${VEIL_SOURCE_ROOT:=$(dirname "$EXAMPLES")}"
: "${VEIL_BUILD_ROOT:=$VEIL_SOURCE_ROOT/build}"
export VEIL_SOURCE_ROOT VEIL_BUILD_ROOT
. "$VEIL_SOURCE_ROOT/tests/shield/lib.sh"

# add_user ROOT NAME UID GID HOME: a passwd and a group entry (the image has no adduser)
add_user() {
  local root=$1 name=$2 uid=$3 gid=$4 home=$5
  grep -q "^$name:" "$root/etc/passwd" 2>/dev/null || echo "$name:x:$uid:$gid:$name:$home:/usr/sbin/nologin" >> "$root/etc/passwd"
  [ -f "$root/etc/group" ] || echo "root:x:0:" > "$root/etc/group"
  grep -q "^$name:" "$root/etc/group" || echo "$name:x:$gid:" >> "$root/etc/group"
}

# deb_version PACKAGE: the installed Debian version (for the compatibility matrix)
deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

# example_load NAME: defines the example's build_root, WRAP_ARGS, VOLUMES, PORTS, ready, smoke, ...
example_load() {
  unset -f build_root ready smoke version after after_restart
  unset NEEDS_PROC VOLUME_OWNER
  WRAP_ARGS=(); VOLUMES=(); PORTS=(); EXERCISED=
  . "$EXAMPLES/$1/image.sh"
}

# example_wrap SRC OUT KEY SIGNER [wrap options...]: wrap the example's root directory (OUT ending in / for a
# directory, else an OCI archive), with the image key KEY (made if missing)
example_wrap() {
  local src=$1 out=$2 key=$3 signer=$4; shift 4
  [ -s "$signer" ] || "$VEIL" keygen -o "$signer" >/dev/null 2>&1 || return 1
  [ -s "$key" ] || { head -c 32 /dev/urandom > "$key" && chmod 600 "$key"; } || return 1
  "$VEIL" wrap "$src" -k "$signer" --key "$key" -q -o "$out" "${WRAP_ARGS[@]}" "$@"
}

# example_src NAME CACHE: prints the example's source root in CACHE, built (or rebuilt when the example's definition
# or the host's packages changed) by its build_root; the example must be loaded
example_src() {
  local w=$1 cache=$2 stamp src
  mkdir -p "$cache"
  stamp=$( (echo "${PORTS[*]}"; cat "$EXAMPLES/$w/image.sh" "$EXAMPLES/lib.sh" "$VEIL_SOURCE_ROOT/tests/shield/lib.sh" /var/lib/dpkg/status) | sha256sum | cut -c1-16)
  src=$cache/$w-src
  if [ "$(cat "$src/.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$src" "$src.tmp"
    build_root "$src.tmp" >"$cache/$w-build.log" 2>&1 || return 1
    echo "$stamp" > "$src.tmp/.stamp"
    mv "$src.tmp" "$src"
  fi
  echo "$src"
}
