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

# build_cas_image TAG WORKDIR: the dev variant of the image users build (deploy/kubernetes/images/veil-cas-image)
build_cas_image() {
    "$VEIL_SOURCE_ROOT/deploy/kubernetes/images/veil-cas-image" --dev "$VEIL_BUILD_ROOT/src/cas/veil-cas" "$1"
}

# rootfs_base ROOT: /etc/passwd and /etc/group with the app user 1000, /tmp
rootfs_base() {
    mkdir -p "$1"/{usr/bin,etc,tmp}
    printf 'root:x:0:0:root:/:/bin/false\napp:x:1000:1000:app:/:/bin/false\n' > "$1/etc/passwd"
    printf 'root:x:0:\napp:x:1000:\n' > "$1/etc/group"
    chmod 1777 "$1/tmp"
}

# build_redis_image TAG WORKDIR SIGNER ADDRESS: Debian's redis-server wrapped to attest to the veil-cas at ADDRESS
# ('HOST:PORT key=sha256:PIN') as shop/redis, /data the policy's volume redis_data; image key in WORKDIR/redis.key
build_redis_image() {
    local tag=$1 root=$2/redis-root
    rm -rf "$root"
    rootfs_base "$root"
    mkdir -p "$root/data" && chown 1000:1000 "$root/data"
    cp /usr/bin/redis-server "$root/usr/bin/"
    copy_with_libs "$root" /usr/bin/redis-server
    link_sonames "$root" /usr/bin/redis-server
    "$VEIL_BUILD_ROOT/src/cli/veil" wrap "$root/" -k "$3" -o "$2/redis.veil.tar" -t "$tag" -q \
        --entrypoint /usr/bin/redis-server --arg --port --arg 6379 --arg --dir --arg /data --arg --protected-mode --arg no \
        --user 1000:1000 --volume /data=redis_data --attest "$4" --policy shop/redis --key-out "$2/redis.key" &&
    podman load -i "$2/redis.veil.tar" >/dev/null
}

# build_python_image TAG WORKDIR SIGNER ADDRESS: Debian's python3 (only the modules the app imports) and an HTTP app
# in /app, encrypted; the page it serves comes from an encrypted file. It attests to the veil-cas at ADDRESS as
# shop/python-app and gets DB_PASSWORD from the policy. Image key in WORKDIR/python-app.key.
build_python_image() {
    local tag=$1 root=$2/python-root
    rm -rf "$root"
    rootfs_base "$root"
    mkdir -p "$root/app"
    cat > "$root/app/main.py" <<'PY'
import hashlib, http.server, json, os
MARKER = 'veil-k8s-main-py-marker'
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == '/healthz':
            body = b'ok\n'
        elif self.path == '/secret':
            # proves the secret arrived without revealing it: its length and SHA-256
            pw = os.environ.get('DB_PASSWORD', '').encode()
            body = json.dumps({'length': len(pw), 'sha256': hashlib.sha256(pw).hexdigest()}).encode()
        else:
            body = json.dumps({'app': 'python-app', 'greeting': open('/app/greeting.txt').read().strip()}).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
print('serving on 8080', flush=True)
http.server.ThreadingHTTPServer(('0.0.0.0', 8080), Handler).serve_forever()
PY
    echo "${VEIL_K8S_GREETING:-hello from a confidential python service}" > "$root/app/greeting.txt"
    cp /usr/bin/python3.11 "$root/usr/bin/python3"
    copy_with_libs "$root" /usr/bin/python3.11
    link_sonames "$root" /usr/bin/python3.11
    # the standard library files the app (and python's start-up) load, nothing else
    /usr/bin/python3.11 -I -S -c 'import sys, hashlib, http.server, json, encodings.idna, encodings.latin_1
for m in list(sys.modules.values()):
    f = getattr(m, "__file__", None)
    if f: print(f)' | while read -r f; do
        mkdir -p "$root$(dirname "$f")" && cp "$f" "$root$f"
        case $f in *.so) copy_with_libs "$root" "$f" ;; esac
    done
    "$VEIL_BUILD_ROOT/src/cli/veil" wrap "$root/" -k "$3" -o "$2/python-app.veil.tar" -t "$tag" -q \
        --entrypoint /usr/bin/python3 --arg -I --arg -S --arg -B --arg -u --arg /app/main.py --workdir /app \
        --user 1000:1000 --encrypt /app --attest "$4" --policy shop/python-app --key-out "$2/python-app.key" &&
    podman load -i "$2/python-app.veil.tar" >/dev/null
}
