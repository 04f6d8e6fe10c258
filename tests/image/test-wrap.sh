#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# veil wrap end to end: images built from Debian's busybox-static with podman, wrapped from every input
# kind, loaded back into podman; reproducibility; measurement sensitivity; hostile inputs refused.
set -uo pipefail
veil=${VEIL_BUILD_ROOT:?}/src/cli/veil
src=${VEIL_SOURCE_ROOT:?}/tests/image
work=$(mktemp -d /var/tmp/veil-wrap-test.XXXXXX)
name=localhost/veil-wrap-test-$$
podman_images=()
cleanup() {
    for i in "${podman_images[@]}"; do podman rmi -f "$i" >/dev/null 2>&1; done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && echo "# $2"; }
check() { local what=$1; shift; if "$@" >log 2>&1; then ok "$what"; else not_ok "$what" "$(tail -3 log | tr '\n' ' ')"; fi; }
echo "1..42"

# --- a base image: busybox-static, a user, an application directory ---
mkdir -p root/bin root/etc root/app root/tmp root/usr/lib
cp /bin/busybox root/bin/busybox
for a in sh cat ls echo; do ln -s busybox root/bin/$a; done
ln -s /bin/busybox root/usr/lib/abs-link          # absolute link: resolved inside the image, accepted
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n' > root/etc/passwd
printf 'root:x:0:\napp:x:1000:\n' > root/etc/group
echo "the application's secret" > root/app/data.txt
echo "print('hi')" > root/app/main.py
tar -C root -cf base.tar .
podman import --change 'ENTRYPOINT ["/bin/sh","-c"]' --change 'CMD ["cat /app/data.txt"]' \
    --change 'ENV GREETING=hello' --change 'WORKDIR /app' --change 'USER app' base.tar "$name-base:latest" >/dev/null
podman_images+=("$name-base:latest")
podman save --format oci-archive -o base.oci.tar "$name-base:latest" >/dev/null 2>&1
podman save --format docker-archive -o base.docker.tar "$name-base:latest" >/dev/null 2>&1
podman save --format oci-dir -o base.ocidir "$name-base:latest" >/dev/null 2>&1
check "podman builds and saves the base image (oci, docker, oci-dir)" test -s base.oci.tar -a -s base.docker.tar -a -d base.ocidir

check "veil keygen" "$veil" keygen -o signer.pem
signer=$("$veil" keygen -o other.pem | cut -d' ' -f2)

wrap() { "$veil" wrap "$@" -k signer.pem --runtime /bin/busybox -q; }

# --- every input kind, loaded back into podman ---
i=0
for input in base.oci.tar base.docker.tar base.ocidir; do
    i=$((i + 1))
    format=oci-archive
    [ $input = base.docker.tar ] && format=docker-archive
    check "wrap $input ($format out)" wrap $input -o w$i.tar --format $format -t "$name-w$i:latest" --encrypt /app
    podman load -i w$i.tar >/dev/null 2>&1 && podman_images+=("$name-w$i:latest")
    ep=$(podman image inspect "$name-w$i:latest" --format '{{json .Config.Entrypoint}}' 2>/dev/null)
    label=$(podman image inspect "$name-w$i:latest" --format '{{index .Config.Labels "org.veil.measurement"}}' 2>/dev/null)
    measured=$("$veil" inspect --json w$i.tar | python3 -c 'import json,sys; print(json.load(sys.stdin)["measurement"])')
    if [ "$ep" = '["/veil/veil-run"]' ] && [ -n "$label" ] && [ "$label" = "$measured" ]; then
        ok "podman loads w$i.tar: entrypoint /veil/veil-run, label = veil inspect's measurement"
    else
        not_ok "podman loads w$i.tar" "entrypoint=$ep label=$label inspect=$measured"
    fi
done

# the start-up configuration came from the image config
"$veil" inspect --json w1.tar > w1.json
check "manifest holds the image's entrypoint, cmd, env, workdir, user" python3 - <<'PY'
import json; j = json.load(open("w1.json"))
assert j["argv"] == ["/bin/sh", "-c", "cat /app/data.txt"], j["argv"]
assert "GREETING=hello" in j["env"], j["env"]
assert j["workdir"] == "/app" and j["uid"] == 1000 and j["gid"] == 1000, j
assert j["counts"]["encrypted"] == 2 and j["counts"]["trusted"] >= 3, j["counts"]
assert j["labels_agree"]
PY

# the encrypted file is ciphertext inside the image, the others are the originals
out=$(podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none \
      --user 0 --entrypoint /bin/busybox "$name-w1:latest" sh -c 'head -c 7 /app/data.txt; echo; cat /etc/passwd | head -1' 2>&1)
if [[ "$out" == VEILPFS*root:x:0:0* ]]; then ok "in the container: /app/data.txt is encrypted, /etc/passwd is not"; else not_ok "encrypted in the container" "$out"; fi

# --- the wrapped image runs: a static stand-in for veil-run verifies the manifest and starts the app ---
runtime=$VEIL_BUILD_ROOT/tests/image/veil-test-runtime
"$veil" wrap base.oci.tar -k signer.pem --runtime "$runtime" -q -t "$name-run:latest" -o run.tar \
    --arg 'echo $GREETING from $(/bin/busybox id -u) in $PWD' && podman load -i run.tar >/dev/null 2>&1 &&
    podman_images+=("$name-run:latest")
label=$(podman image inspect "$name-run:latest" --format '{{index .Config.Labels "org.veil.measurement"}}' 2>/dev/null)
out=$(podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none "$name-run:latest" 2>&1)
if [[ "$out" == *"measurement $label"* ]] && [[ "$out" == *"hello from 1000 in /app"* ]] && [ -n "$label" ]; then
    ok "podman run: the runtime computes the labelled measurement in the container and starts the app as its user"
else not_ok "podman run of the wrapped image" "$out"; fi

# --- python3 and its libraries from Debian's files, wrapped from a root directory, run under podman ---
py=$(readlink -f /usr/bin/python3)
mkdir -p pyroot/usr/bin pyroot/usr/lib pyroot/app
cp "$py" pyroot/usr/bin/ && ln -s "$(basename "$py")" pyroot/usr/bin/python3
for l in $(ldd "$py" | grep -o '/[^ ]*'); do mkdir -p "pyroot$(dirname "$l")" && cp -L "$l" "pyroot$l"; done
cp -a "/usr/lib/$(basename "$py")" pyroot/usr/lib/
echo 'import json, os; print("python says", json.dumps({"uid": os.getuid(), "cwd": os.getcwd()}))' > pyroot/app/main.py
"$veil" wrap pyroot -k signer.pem --runtime "$runtime" -q -t "$name-py:latest" -o py.tar \
    --entrypoint python3 --arg main.py --workdir /app --env PATH=/usr/bin --user 4242:4242 &&
    podman load -i py.tar >/dev/null 2>&1 && podman_images+=("$name-py:latest")
out=$(podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none "$name-py:latest" 2>&1)
if [[ "$out" == *'python says {"uid": 4242, "cwd": "/app"}'* ]]; then ok "python3 with its libraries runs in the wrapped image"
else not_ok "python3 in the wrapped image" "$out"; fi

# --- end to end with the real veil-run (when the shield is built): the encrypted file is served decrypted ---
shield=$VEIL_BUILD_ROOT/src/shield/veil-run
if [ -x "$shield" ] && ! grep -q "dynamically linked" <("$veil" wrap root -k signer.pem --runtime "$shield" -q -o probe.tar \
        --entrypoint /bin/sh 2>&1); then
    "$veil" wrap root -k signer.pem --runtime "$shield" -q -t "$name-shield:latest" -o shield.tar \
        --entrypoint /bin/cat --arg /app/data.txt --encrypt /app --key-out shield.key &&
        podman load -i shield.tar >/dev/null 2>&1 && podman_images+=("$name-shield:latest")
    chmod 644 shield.key
    label=$(podman image inspect "$name-shield:latest" --format '{{index .Config.Labels "org.veil.measurement"}}' 2>/dev/null)
    out=$(timeout 60 podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none \
          -v "$work/shield.key:/keys/image.key:ro" "$name-shield:latest" --dev-key-file /keys/image.key \
          --expect-measurement "$label" 2>&1)
    if [[ "$out" == *"the application's secret"* ]] && [[ "$out" == *"measurement $label"* ]] && [ -n "$label" ]; then
        ok "veil-run serves the encrypted file decrypted, its measurement the label's (--expect-measurement)"
    else not_ok "veil-run end to end" "$out"; fi
    # the program itself encrypted: the entrypoint runs from a decrypted, sealed memory file
    cp -a root root-exec && cp /bin/busybox root-exec/app/busybox
    "$veil" wrap root-exec -k signer.pem --runtime "$shield" -q -t "$name-exec:latest" -o exec.tar \
        --entrypoint /app/busybox --arg cat --arg /app/data.txt --encrypt /app --key shield.key &&
        podman load -i exec.tar >/dev/null 2>&1 && podman_images+=("$name-exec:latest")
    out=$(timeout 60 podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none \
          -v "$work/shield.key:/keys/image.key:ro" "$name-exec:latest" --dev-key-file /keys/image.key 2>&1)
    if [[ "$out" == *"the application's secret"* ]]; then
        ok "under podman, an encrypted program as the entrypoint runs (busybox under the encrypted /app)"
    else not_ok "encrypted entrypoint under podman" "$out"; fi
else
    n=$((n + 2)); echo "ok $((n - 1)) - # SKIP veil-run end to end: $shield is not built (or not static: sanitizer build)"
    echo "ok $n - # SKIP encrypted entrypoint under podman: $shield is not built"
fi

# --- a multi-layer image (podman build: a whiteout, a new file, a COPY) ---
printf 'FROM %s\nUSER root\nRUN rm /app/data.txt && echo new > /app/new.txt\nCOPY extra.txt /app/extra.txt\n' "$name-base:latest" > Containerfile
echo extra > extra.txt
podman build --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none -q \
    -t "$name-ml:latest" -f Containerfile . >/dev/null 2>&1 && podman_images+=("$name-ml:latest")
podman save --format oci-archive -o ml.oci.tar "$name-ml:latest" >/dev/null 2>&1
"$veil" wrap ml.oci.tar -k signer.pem --runtime "$runtime" -q -t "$name-mlv:latest" -o mlv.tar --entrypoint /bin/ls --arg /app --user 0
"$veil" inspect --json --files mlv.tar > mlv.json 2>/dev/null
check "multi-layer: kept layers verbatim, whiteout applied in the manifest" python3 - <<'PY'
import json, tarfile
def layers(path):
    t = tarfile.open(path)
    index = json.load(t.extractfile("index.json"))
    m = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
    return [l["digest"] for l in m["layers"]]
src, out = layers("ml.oci.tar"), layers("mlv.tar")
assert len(src) == 3 and out[:3] == src and len(out) == 4, (src, out)
files = {f["path"] for f in json.load(open("mlv.json"))["files"]}
assert "/app/new.txt" in files and "/app/extra.txt" in files and "/app/data.txt" not in files, files
PY
"$veil" wrap ml.oci.tar -k signer.pem --runtime "$runtime" -q -t "$name-mlf:latest" -o mlf.tar --entrypoint /bin/ls --arg /app \
    --user 0 --encrypt /app --key-out mlf.key
check "multi-layer with --encrypt: one flattened layer plus the veil layer" python3 - <<'PY'
import json, tarfile
t = tarfile.open("mlf.tar")
index = json.load(t.extractfile("index.json"))
m = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
assert len(m["layers"]) == 2, m
PY
runs=""
for v in mlv mlf; do
    podman load -i $v.tar >/dev/null 2>&1 && podman_images+=("$name-$v:latest")
    runs+="$(podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none "$name-$v:latest" 2>/dev/null | tr '\n' ' ')|"
done
if [ "$runs" = "extra.txt main.py new.txt |extra.txt main.py new.txt |" ]; then
    ok "both run under podman and see the same /app (whiteout applied by the engine, and by veil wrap)"
else not_ok "multi-layer runs" "$runs"; fi

# --- the application's layers encrypted, the base's kept: a base without /app, then layers that add it ---
cp -a root root-noapp && rm -rf root-noapp/app/* && tar -C root-noapp -cf noapp.tar .
podman import --change 'ENTRYPOINT ["/bin/sh","-c"]' noapp.tar "$name-noapp:latest" >/dev/null && podman_images+=("$name-noapp:latest")
printf 'FROM %s
RUN rm /etc/group && rm -r /usr/lib && mkdir -p /app/sub && echo upper-secret > /app/sub/s.txt
COPY extra.txt /app/extra.txt
' \
    "$name-noapp:latest" > Containerfile.app
podman build --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none -q \
    -t "$name-app:latest" -f Containerfile.app . >/dev/null 2>&1 && podman_images+=("$name-app:latest")
podman save --format oci-archive -o app.oci.tar "$name-app:latest" >/dev/null 2>&1
wrap_app() { "$veil" wrap app.oci.tar -k signer.pem --runtime "${shield_or_runtime}" -q -t "$name-appv:latest" -o "$1" \
    --entrypoint /bin/sh --arg -c --arg 'ls /etc; cat /app/sub/s.txt /app/extra.txt' --user 0 --encrypt /app --key app.key; }
shield_or_runtime=$runtime
[ -x "$shield" ] && ! grep -q "dynamically linked" <(file "$shield") && shield_or_runtime=$shield
head -c 32 /dev/urandom > app.key
wrap_app appv.tar && wrap_app appv2.tar
check "the base layer kept byte for byte, the layers above flattened into one (whiteout included), ciphertext only there" \
  python3 - <<'PY'
import io, json, tarfile
def image(path):
    t = tarfile.open(path)
    index = json.load(t.extractfile("index.json"))
    m = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
    c = json.load(t.extractfile("blobs/sha256/" + m["config"]["digest"][7:]))
    return t, m, c
st, sm, sc = image("app.oci.tar")
ot, om, oc = image("appv.tar")
src, out = [l["digest"] for l in sm["layers"]], [l["digest"] for l in om["layers"]]
assert len(src) >= 2 and len(out) == 3 and out[0] == src[0] and out[1] not in src, (src, out)
assert oc["rootfs"]["diff_ids"][0] == sc["rootfs"]["diff_ids"][0] and len(oc["rootfs"]["diff_ids"]) == 3, oc["rootfs"]
upper = tarfile.open(fileobj=io.BytesIO(ot.extractfile("blobs/sha256/" + out[1][7:]).read()))
names = upper.getnames()
assert "etc/.wh.group" in names and "usr/.wh.lib" in names and "app/sub/s.txt" in names, names
assert "bin/busybox" not in names and not any(n.startswith("usr/lib/") for n in names), names
data = upper.extractfile("app/sub/s.txt").read()
assert b"upper-secret" not in data and data.startswith(b"VEILPFS"), data[:16]
PY
check "... and wrapping it twice gives the same bytes" cmp appv.tar appv2.tar
check "veil inspect verifies it: /etc/group gone, the /app files encrypted" bash -c "'$veil' inspect --json --files appv.tar |
  python3 -c 'import json, sys; f = {x[\"path\"]: x for x in json.load(sys.stdin)[\"files\"]}; assert \"/etc/group\" not in f and \"/usr/lib/abs-link\" not in f and \"/etc/passwd\" in f; assert f[\"/app/sub/s.txt\"][\"class\"] == \"encrypted\", f[\"/app/sub/s.txt\"]'"
if [ "$shield_or_runtime" = "$shield" ]; then
    podman load -i appv.tar >/dev/null 2>&1 && podman_images+=("$name-appv:latest")
    chmod 644 app.key
    out=$(timeout 60 podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none \
          -v "$work/app.key:/keys/image.key:ro" "$name-appv:latest" --dev-key-file /keys/image.key 2>&1)
    if [[ "$out" == *upper-secret* ]] && [[ "$out" == *extra* ]] && [[ "$out" == *passwd* ]] && [[ "$out" != *group* ]]; then
        ok "it runs under podman: the encrypted upper files decrypt, the whited-out base file is gone"
    else not_ok "kept base + flattened upper layers under podman" "$out"; fi
else
    n=$((n + 1)); echo "ok $n - # SKIP kept base + flattened upper layers under podman: no static veil-run"
fi

# --- reproducible: same input, options and key give the same bytes ---
wrap base.oci.tar -o r1.tar -t x:1 && wrap base.oci.tar -o r2.tar -t x:1
check "wrapping twice gives byte-identical archives" cmp r1.tar r2.tar
wrap base.docker.tar -o r3.tar --format docker-archive -t x:1 && wrap base.docker.tar -o r4.tar --format docker-archive -t x:1
check "docker-archive output is byte-identical too" cmp r3.tar r4.tar
wrap base.oci.tar -o k1.tar -t x:1 --encrypt /app --key-out k1.key && wrap base.oci.tar -o k2.tar -t x:1 --encrypt /app --key k1.key
m1=$("$veil" inspect --json k1.tar | python3 -c 'import json,sys; print(json.load(sys.stdin)["measurement"])')
m2=$("$veil" inspect --json k2.tar | python3 -c 'import json,sys; print(json.load(sys.stdin)["measurement"])')
if [ -n "$m1" ] && [ "$m1" = "$m2" ] && [ "$(stat -c %a k1.key)" = 600 ] && [ ! -e k2.tar.key ]; then
    ok "with encryption and the same key (--key): same measurement; key file 0600"
else not_ok "encrypted re-wrap" "$m1 vs $m2"; fi
check "with encryption and the same key (--key): byte-identical archives" cmp k1.tar k2.tar

# --- one byte changed in one file changes the measurement ---
cp -a root root2 && printf 'X' | dd of=root2/app/main.py bs=1 seek=0 conv=notrunc 2>/dev/null
wrap root -o d1.tar --entrypoint /bin/sh --arg -c --arg true -t x:1
wrap root2 -o d2.tar --entrypoint /bin/sh --arg -c --arg true -t x:1
a=$("$veil" inspect --json d1.tar | python3 -c 'import json,sys; print(json.load(sys.stdin)["measurement"])')
b=$("$veil" inspect --json d2.tar | python3 -c 'import json,sys; print(json.load(sys.stdin)["measurement"])')
if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then ok "changing one byte of one file changes the measurement"; else not_ok "measurement sensitivity" "$a $b"; fi
# the same with the changed file encrypted: its ciphertext and the measurement both change
wrap root -o e1.tar --entrypoint /bin/sh --arg -c --arg true -t x:1 --encrypt /app --key k1.key
wrap root2 -o e2.tar --entrypoint /bin/sh --arg -c --arg true -t x:1 --encrypt /app --key k1.key
a=$("$veil" inspect --json e1.tar | python3 -c 'import json,sys; print(json.load(sys.stdin)["measurement"])')
b=$("$veil" inspect --json e2.tar | python3 -c 'import json,sys; print(json.load(sys.stdin)["measurement"])')
if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ] && ! cmp -s e1.tar e2.tar; then
    ok "with --encrypt and --key: one byte changed in an encrypted file changes the measurement and the archive"
else not_ok "encrypted measurement sensitivity" "$a $b"; fi

# --- directory output, decryptable with the image key ---
check "wrap to a directory (-o DIR/)" wrap root -o outdir/ --entrypoint /bin/cat --arg /app/data.txt --encrypt /app
check "veil inspect reads the wrapped directory" "$veil" inspect outdir
"$veil" pfs decrypt --key outdir.key --path /app/data.txt outdir/app/data.txt plain.txt >/dev/null 2>&1
check "the encrypted file decrypts with the image key to the original" cmp plain.txt root/app/data.txt

# --- a sparse file (GNU/pax sparse member) keeps its contents, holes included ---
mkdir -p sparse/bin && cp /bin/busybox sparse/bin/ && ln -s busybox sparse/bin/sh && truncate -s 3M sparse/holes
printf 'middle' | dd of=sparse/holes bs=1 seek=1000000 conv=notrunc 2>/dev/null
tar -S --format=pax -C sparse -cf sparse.tar . && python3 "$src/make-oci.py" sparse-oci sparse.tar
wrap sparse-oci -o sparse-w.tar
want=$(python3 "$src/content-digest.py" sparse/holes)  # 3 MB: digested in chunks
got=$("$veil" inspect --files sparse-w.tar 2>/dev/null | awk '$NF == "/holes" {print $(NF-1)}')
if [ -n "$got" ] && [ "$got" = "$want" ]; then ok "a sparse member is hashed with its holes"; else not_ok "sparse member" "$got vs $want"; fi
printf 'a small file' > small.txt
cli=$("$veil" digest sparse/holes | cut -d' ' -f1) small=$("$veil" digest small.txt | cut -d' ' -f1)
if [ "$cli" = "$want" ] && [ "$small" = "$(sha256sum < small.txt | cut -d' ' -f1)" ] && ! "$veil" digest sparse 2>/dev/null; then
    ok "veil digest: the manifest's digest (chunked for 3 MB, sha256sum's below 1 MiB); a directory refused"
else not_ok "veil digest" "$cli vs $want; small $small"; fi

# --- a rootfs directory without --entrypoint is refused ---
if ! wrap root -o noep.tar 2>/dev/null && [ ! -e noep.tar ]; then ok "rootfs without --entrypoint refused"; else not_ok "rootfs without entrypoint"; fi

# --- hostile inputs: clear error, non-zero exit, no output, no key file ---
hostile_ok=1
for kind in dotdot device symlink-escape duplicate digest-mismatch config-not-json; do
    python3 "$src/make-oci.py" --hostile $kind h-$kind
    if wrap h-$kind -o h-$kind.tar --encrypt /app 2>err-$kind || [ -e h-$kind.tar ] || [ -e h-$kind.tar.key ] || [ ! -s err-$kind ]; then
        hostile_ok=0; echo "# $kind was not refused cleanly: $(cat err-$kind)"
    fi
done
ls -a | grep -q '^\.veil-wrap-' && { hostile_ok=0; echo "# temporary directory left behind"; }
[ $hostile_ok = 1 ] && ok "hostile layers refused (.., device, escaping symlink, duplicate, digest, non-JSON config)" || not_ok "hostile layers"
head -c 100000 base.oci.tar > truncated.tar
if ! wrap truncated.tar -o t.tar 2>err-trunc && [ ! -e t.tar ] && grep -qi 'truncat\|corrupt\|no member' err-trunc; then
    ok "a truncated archive is refused"; else not_ok "truncated archive" "$(cat err-trunc)"; fi
head -c 4096 /dev/urandom > garbage.tar
if ! wrap garbage.tar -o g.tar 2>/dev/null && [ ! -e g.tar ]; then ok "a corrupt archive is refused"; else not_ok "corrupt archive"; fi

# --- kept layers (no --encrypt; the copy is a worker thread's): a digest mismatch, a full disk ---
python3 "$src/make-oci.py" --hostile digest-mismatch keep-bad
if ! wrap keep-bad -o keep-bad.tar 2>err-keep && [ ! -e keep-bad.tar ] && grep -q "does not match" err-keep; then
    ok "kept layers: a digest mismatch is refused, no output"; else not_ok "kept layers, digest mismatch" "$(cat err-keep)"; fi
python3 "$src/make-oci.py" keep-oci base.tar
mkdir full
if unshare -m sh -c "mount -t tmpfs -o size=512k tmpfs full && ! \"$veil\" wrap keep-oci -k signer.pem --runtime /bin/busybox -q \
        --entrypoint /bin/cat -o full/w.tar 2>err-full && [ -z \"\$(ls -A full)\" ]" && grep -q "writing layer.*No space" err-full; then
    ok "kept layers: a full disk during the copy is a clear error, nothing left"; else not_ok "kept layers, full disk" "$(cat err-full)"; fi
mkdir full2
if unshare -m sh -c "mount -t tmpfs -o size=512k tmpfs full2 && ! \"$veil\" wrap keep-oci -k signer.pem --runtime /bin/busybox -q \
        --entrypoint /bin/cat --encrypt /app --key-out full2/w.key -o full2/w.tar 2>err-full2 && [ -z \"\$(ls -A full2)\" ]" &&
   grep -q "No space" err-full2; then
    ok "flattened with --encrypt: a full disk is a clear error, nothing left (no key file either)"; else not_ok "flattened, full disk" "$(cat err-full2)"; fi

# --- veil inspect notices a label that does not match ---
# a label rewritten with every digest fixed up: only the measurement check can notice
python3 - <<'PY'
import hashlib, io, json, tarfile
src = tarfile.open("w1.tar")
files = {m.name: src.extractfile(m).read() for m in src.getmembers() if m.isfile()}
index = json.loads(files["index.json"])
mdig = index["manifests"][0]["digest"][7:]
manifest = json.loads(files["blobs/sha256/" + mdig])
config = json.loads(files["blobs/sha256/" + manifest["config"]["digest"][7:]])
config["config"]["Labels"]["org.veil.measurement"] = "00" * 32
cbytes = json.dumps(config).encode()
cdig = hashlib.sha256(cbytes).hexdigest()
manifest["config"] = {"mediaType": manifest["config"]["mediaType"], "digest": "sha256:" + cdig, "size": len(cbytes)}
mbytes = json.dumps(manifest).encode()
index["manifests"][0].update(digest="sha256:" + hashlib.sha256(mbytes).hexdigest(), size=len(mbytes))
files["blobs/sha256/" + cdig] = cbytes
files["blobs/sha256/" + hashlib.sha256(mbytes).hexdigest()] = mbytes
files["index.json"] = json.dumps(index).encode()
with tarfile.open("relabel.tar", "w") as out:
    for name, data in files.items():
        info = tarfile.TarInfo(name); info.size = len(data); out.addfile(info, io.BytesIO(data))
PY
if ! "$veil" inspect relabel.tar >/dev/null 2>relabel.err && grep -q "do not match" relabel.err; then
    ok "veil inspect refuses a label that does not match the contents"; else not_ok "relabelled image accepted" "$(cat relabel.err)"; fi
mkdir tamper && tar -C tamper -xf w1.tar
cfg=$(python3 -c 'import json; m=json.load(open("tamper/index.json"))["manifests"][0]["digest"][7:]; print(json.load(open("tamper/blobs/sha256/"+m))["config"]["digest"][7:])')
sed -i 's/"org.veil.measurement":"[0-9a-f]*"/"org.veil.measurement":"00"/' tamper/blobs/sha256/$cfg
if ! "$veil" inspect tamper >/dev/null 2>&1; then ok "veil inspect refuses a tampered image config"; else not_ok "tampered label accepted"; fi
# a flipped byte in a wrapped directory's manifest (no archive digests to catch it first)
cp -a outdir outdir2 && printf '\x01' | dd of=outdir2/veil/manifest bs=1 seek=200 conv=notrunc 2>/dev/null
if ! "$veil" inspect outdir2 >/dev/null 2>&1; then ok "veil inspect refuses a tampered manifest"; else not_ok "tampered manifest accepted"; fi
[ "$n" = 37 ] || echo "# ran $n tests"
