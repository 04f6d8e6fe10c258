# SPDX-License-Identifier: Apache-2.0
# Builds the local images the dev overlay names, from this build tree and the host's Debian files (no registry).
# Sourced by the kube play test; needs VEIL_BUILD_ROOT.

# copy_with_libs ROOT FILE...: each file at its path under ROOT, with every shared library ldd names
copy_with_libs() {
    local root=$1 f lib; shift
    for f in "$@"; do
        for lib in "$f" $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
            lib=$(readlink -f "$lib")
            mkdir -p "$root$(dirname "$lib")"
            cp -n "$lib" "$root$lib"
        done
    done
    # the dynamic loader at the path binaries ask for
    mkdir -p "$root/lib64"
    [ -e "$root/lib64/ld-linux-x86-64.so.2" ] || ln -s "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$root/lib64/ld-linux-x86-64.so.2"
}

# ldd prints sonames' resolved paths; binaries ask for the soname, so link each soname to the copied file
link_sonames() {
    local root=$1 f lib soname
    for f in "${@:2}"; do
        ldd "$f" 2>/dev/null | awk '/=> \// {print $1, $3}' | while read -r soname lib; do
            local dir; dir=$(dirname "$lib")
            mkdir -p "$root$dir"
            [ -e "$root$dir/$soname" ] || ln -s "$(readlink -f "$lib")" "$root$dir/$soname"
        done
    done
}

# build_cas_image TAG WORKDIR: veil-cas (uid 65532, state in /var/lib/veil-cas), and for the probes curl and a
# /bin/sh (busybox): podman turns a probe into a CMD-SHELL healthcheck, run by /bin/sh inside the container
build_cas_image() {
    local tag=$1 root=$2/cas-root
    rm -rf "$root"
    mkdir -p "$root"/{usr/bin,etc,tmp,var/lib/veil-cas,etc/veil/sim,etc/ssl/certs}
    cp "$VEIL_BUILD_ROOT/src/cas/veil-cas" "$root/usr/bin/veil-cas"
    cp /usr/bin/curl "$root/usr/bin/curl"
    cp /bin/busybox "$root/usr/bin/busybox"
    ln -s busybox "$root/usr/bin/sh"
    ln -s usr/bin "$root/bin"
    copy_with_libs "$root" "$root/usr/bin/veil-cas" /usr/bin/curl
    link_sonames "$root" "$VEIL_BUILD_ROOT/src/cas/veil-cas" /usr/bin/curl
    printf 'root:x:0:0:root:/:/usr/bin/false\nveil-cas:x:65532:65532:veil-cas:/var/lib/veil-cas:/usr/bin/false\n' > "$root/etc/passwd"
    printf 'root:x:0:\nveil-cas:x:65532:\n' > "$root/etc/group"
    chmod 1777 "$root/tmp"
    # a named volume mounted here starts as a copy of this directory, owner included
    chown 65532:65532 "$root/var/lib/veil-cas"
    chmod 0700 "$root/var/lib/veil-cas"
    tar -C "$root" --numeric-owner -cf "$2/cas-root.tar" . &&
    podman import --change 'ENTRYPOINT ["/usr/bin/veil-cas"]' --change 'CMD []' --change 'USER 65532:65532' \
        --change 'WORKDIR /var/lib/veil-cas' "$2/cas-root.tar" "$tag" >/dev/null
}
