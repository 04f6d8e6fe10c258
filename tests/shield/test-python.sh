#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Debian's python3 under veil-run --root: encrypted /app and /data, rename, fsync, fork, exec, exit codes,
# signals, the host's argv/env kept out, no plaintext on disk, tampering refused.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

work=$(mktemp -d /var/tmp/veil-shield-python.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
root=$work/root
key=$work/image.key
SENTINEL=VEIL-SENTINEL-$(od -An -N8 -tx1 /dev/urandom | tr -d " \n")  # random: no file holds it beforehand

python_root "$root"
copy_binary "$root" /usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so  # libffi
mkdir -p "$root/app/lib" "$root/data"
cat > "$root/app/lib/helper.py" <<'EOF'
GREETING = "hello from an encrypted module"
EOF
cat > "$root/app/main.py" <<'EOF'
import os, signal, subprocess, sys, time
sys.path.insert(0, "/app/lib")
import helper
scenario = open("/app/scenario").read().split()
what = scenario[0]
if what == "main":
    sentinel = scenario[1]
    print(helper.GREETING)
    print("input:", open("/data/input.txt").read().strip())
    with open("/data/report.tmp", "w") as f:
        f.write(sentinel + "\n" * 3 + sentinel * 1000)
        f.flush()
        os.fsync(f.fileno())
    os.rename("/data/report.tmp", "/data/report.txt")
    st = os.stat("/data/report.txt")
    print("report size", st.st_size)
    import tempfile
    for d in ("/tmp", "/data"):
        with tempfile.TemporaryFile(dir=d) as f:  # O_TMPFILE where the kernel has it
            f.write(sentinel.encode() * 100)
            f.seek(0)
            assert f.read(len(sentinel)) == sentinel.encode()
    fd = os.open("/data", os.O_TMPFILE | os.O_RDWR, 0o600)
    os.write(fd, sentinel.encode())
    print("tmpfile read back:", os.pread(fd, len(sentinel), 0) == sentinel.encode())
    os.close(fd)
    with open("/tmp/scratch", "w") as f:
        f.write(sentinel)
    assert open("/tmp/scratch").read() == sentinel
    with open("/data/report.txt", "a") as f:
        f.write("appended")
    print("appended size", os.path.getsize("/data/report.txt"))
    try:
        open("/data/report.txt", "x")
        print("O_EXCL not honoured")
    except FileExistsError:
        print("O_EXCL ok")
    # fork: the child writes, the parent reads it back through a new open
    pid = os.fork()
    if pid == 0:
        with open("/data/child.txt", "w") as f:
            f.write("from the child " + sentinel)
        os._exit(0)
    os.waitpid(pid, 0)
    print("child wrote:", open("/data/child.txt").read()[:15])
    # exec of a trusted binary (python itself), in a grandchild
    out = subprocess.run([sys.executable, "-c", "print(6*7)"],
                         capture_output=True, text=True).stdout.strip()
    print("exec:", out)
    # a trusted "#!" script, exec'd through its interpreter (vfork + exec inside subprocess)
    print("script:", subprocess.run(["/usr/bin/hello"], capture_output=True, text=True).stdout.strip())
    # threads opening, writing and reading encrypted files at once
    import threading
    def worker(i):
        with open("/data/t%d.txt" % i, "w") as f:
            f.write(("thread %d " % i) * 100)
        assert open("/data/t%d.txt" % i).read().startswith("thread %d " % i)
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    print("threads:", sorted(os.listdir("/data")).count("t7.txt"), sum(os.path.getsize("/data/t%d.txt" % i) for i in range(8)))
    os.mkdir("/data/dir")
    os.rmdir("/data/dir")
    os.unlink("/data/child.txt")
    print("env:", sorted(k for k in os.environ if k != "LC_CTYPE"))
    print("argv:", sys.argv)
    try:
        open("/usr/bin/python3.11", "r+b")
    except OSError as e:
        print("trusted write:", e.errno)
elif what == "exit":
    sys.exit(int(scenario[1]))
elif what == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
elif what == "term":
    def handler(sig, frame):
        print("handler ran for", sig, flush=True)
        sys.exit(42)
    signal.signal(signal.SIGTERM, handler)
    open("/tmp/ready", "w").close()
    print("waiting", flush=True)
    time.sleep(30)
    sys.exit(3)
elif what == "mmap":
    import mmap
    pid = os.fork()
    if pid == 0:
        fd = os.open("/data/mapped.bin", os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, 4096)
        m = mmap.mmap(fd, 4096)
        m[0:len(scenario[1])] = scenario[1].encode()
        m.close()
        os.close(fd)
        os._exit(0)
    os.waitpid(pid, 0)
    print("child done", flush=True)
    time.sleep(4)
elif what == "semantics":
    import errno
    def t(name, fn, expect=None):
        try:
            r = fn()
            ok = (expect is None and r is not False) or (expect is not None and r == expect)
            print("SEM", name, "ok" if ok else "FAIL got %r" % (r,))
        except OSError as e:
            print("SEM", name, "ok" if expect == ("errno", e.errno) else "FAIL errno %d" % e.errno)
    def write(p, data, mode="w"):
        with open(p, mode) as f:
            f.write(data)
    write("/data/s.txt", "0123456789")
    t("truncate-path", lambda: (os.truncate("/data/s.txt", 4), os.stat("/data/s.txt").st_size, open("/data/s.txt").read())[1:], (4, "0123"))
    t("lstat-size", lambda: os.lstat("/data/s.txt").st_size, 4)
    t("o-trunc", lambda: (write("/data/s.txt", ""), os.path.getsize("/data/s.txt"))[1], 0)
    t("o-directory-on-file", lambda: os.open("/data/s.txt", os.O_RDONLY | os.O_DIRECTORY), ("errno", errno.ENOTDIR))
    t("trailing-slash-on-file", lambda: os.open("/data/s.txt/", os.O_RDONLY), ("errno", errno.ENOTDIR))
    t("o-creat-missing-dir", lambda: open("/data/nodir/x", "w"), ("errno", errno.ENOENT))
    t("readdir-sees-new-file", lambda: "s.txt" in os.listdir("/data"))
    t("hard-link-refused", lambda: os.link("/data/s.txt", "/data/s2.txt"), ("errno", errno.EPERM))
    os.mkdir("/data/d")
    write("/data/d/f", "x")
    t("dir-rename-exdev", lambda: os.rename("/data/d", "/data/e"), ("errno", errno.EXDEV))
    write("/data/n1", "one")
    write("/data/n2", "two")
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    def renameat2(a, b, flags):
        if libc.syscall(316, -100, a.encode(), -100, b.encode(), flags) != 0:
            raise OSError(ctypes.get_errno(), "renameat2")
        return True
    t("rename-noreplace", lambda: renameat2("/data/n1", "/data/n2", 1), ("errno", errno.EEXIST))
    t("rename-replace", lambda: (os.rename("/data/n1", "/data/n2"), open("/data/n2").read())[1], "one")
    write("/tmp/eph", "ephemeral")
    t("rename-ephemeral-to-encrypted", lambda: (os.rename("/tmp/eph", "/data/from-tmp"), open("/data/from-tmp").read())[1], "ephemeral")
    fd = os.open("/data/n2", os.O_RDONLY)
    os.unlink("/data/n2")
    t("read-after-unlink", lambda: os.read(fd, 10), b"one")
    t("unlinked-is-gone", lambda: os.path.exists("/data/n2"), False)
    os.symlink("/data/from-tmp", "/tmp/link")
    t("symlink-in-tmp-followed", lambda: open("/tmp/link").read(), "ephemeral")
    t("o-nofollow", lambda: os.open("/tmp/link", os.O_RDONLY | os.O_NOFOLLOW), ("errno", errno.ELOOP))
    t("readlink-manifest", lambda: os.readlink("/usr/bin/python3"), "python3.11")
    t("trusted-access-w", lambda: os.access("/usr/bin/python3.11", os.W_OK), False)
    t("trusted-chmod", lambda: os.chmod("/usr/bin/python3.11", 0o777), ("errno", errno.EROFS))
    t("mkdir-in-image-dir", lambda: os.mkdir("/usr/newdir"), ("errno", errno.EACCES))
    t("mkdir-existing-image-dir", lambda: os.mkdir("/usr/bin"), ("errno", errno.EEXIST))
    t("unknown-missing", lambda: open("/etc/nonexistent"), ("errno", errno.ENOENT))
    t("dotdot-stays-in-root", lambda: open("/../../../usr/../app/lib/helper.py").read().startswith("GREETING"))
    t("relative-with-cwd", lambda: (os.chdir("/data"), open("from-tmp").read())[1], "ephemeral")
    t("dirfd-relative", lambda: os.read(os.open("from-tmp", os.O_RDONLY, dir_fd=os.open("/data", os.O_RDONLY)), 20), b"ephemeral")
    t("statx-size", lambda: os.stat("/data/from-tmp").st_size, 9)
    t("o-path-points-at-the-copy", lambda: os.fstat(os.open("/data/from-tmp", os.O_PATH)).st_size, 9)
    t("o-path-unknown-refused", lambda: os.open("/etc/shadow", os.O_PATH), ("errno", errno.EACCES))
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
    def exhaust():
        fds = []
        try:
            while True:
                fds.append(os.open("/data/from-tmp", os.O_RDONLY))
        finally:
            for fd in fds:
                os.close(fd)
    t("emfile-when-injecting", exhaust, ("errno", errno.EMFILE))
elif what == "periodic":
    f = open("/data/periodic.txt", "w")
    f.write(scenario[1])
    f.flush()  # to the memfd; no fsync, and the file stays open
    print("written", flush=True)
    time.sleep(4)
    f.close()
elif what == "read":
    try:
        print("read:", open(scenario[1]).read()[:20])
    except OSError as e:
        print("read failed:", e.errno)
elif what == "digest":
    import hashlib
    try:
        print("digest:", hashlib.sha256(open(scenario[1], "rb").read()).hexdigest())
    except OSError as e:
        print("digest failed:", e.errno)
EOF
echo "input for the app" > "$root/data/input.txt"
# a trusted file large enough to be copied and hashed on two threads (trusted-copy.c)
mkdir -p "$root/usr/share/veil-test"
head -c $((6 << 20)) /dev/urandom > "$root/usr/share/veil-test/big.bin"
printf '#!/usr/bin/python3\nprint("trusted script ran")\n' > "$root/usr/bin/hello"
chmod 755 "$root/usr/bin/hello"
scenario() { printf '%s' "$*" > "$work/scenario"; "$VEIL" pfs encrypt --key "$key" --path /app/scenario "$work/scenario" "$root/app/scenario" >/dev/null; }

"$MKIMAGE" --arg /usr/bin/python3 --arg /app/main.py --env PATH=/usr/bin --env LANG=C.UTF-8 --cwd /app \
  --encrypt /app --encrypt /data --runtime "$VEIL_RUN" --key-out "$key" "$root" || { echo "1..0 # mkimage failed"; exit 1; }
echo "not in the manifest" > "$root/etc/shadow"
echo 1..66

run() { FOO=host-secret "$VEIL_RUN" --root "$root" --dev-key-file "$key" "$@" >"$work/out" 2>"$work/err"; }

scenario main "$SENTINEL"
run; rc=$?
cp "$work/out" "$work/out.main"
check "python3 runs with encrypted /app (script and imported module)" grep -q "hello from an encrypted module" "$work/out"
[ $rc -eq 0 ] || { cat "$work/out" "$work/err" >&2; }
check "reads an encrypted data file" grep -q "input: input for the app" "$work/out"
check "stat reports the plaintext size" grep -q "report size $(( ${#SENTINEL} * 1001 + 3 ))" "$work/out"
check "O_TMPFILE files live in memory (read back; the sentinel scan below finds nothing)" grep -q "tmpfile read back: True" "$work/out"
check "O_APPEND appends, O_EXCL refuses an existing file" bash -c "grep -q 'appended size $(( ${#SENTINEL} * 1001 + 11 ))' '$work/out' && grep -q 'O_EXCL ok' '$work/out'"
check "fork: the child's file is seen by the parent" grep -q "child wrote: from the child" "$work/out"
check "exec of a trusted binary from a child process" grep -q "exec: 42" "$work/out"
check "exec of a trusted #! script" grep -q "script: trusted script ran" "$work/out"
check "threads create, write and read encrypted files concurrently" grep -q "threads: 1 7200" "$work/out"
check "the host's environment and arguments do not reach the app" \
  bash -c "grep -q \"env: \\['LANG', 'PATH'\\]\" '$work/out' && grep -q \"argv: \\['/app/main.py'\\]\" '$work/out'"
check "trusted files cannot be opened for writing (EROFS)" grep -q "trusted write: 30" "$work/out"
check "the renamed file on disk is ciphertext" bash -c "! grep -q '$SENTINEL' '$root/data/report.txt'"
check "veil pfs decrypt opens it with the image key under its new path" \
  bash -c "'$VEIL' pfs decrypt --key '$key' --path /data/report.txt '$root/data/report.txt' '$work/plain' >/dev/null 2>&1 && grep -q '$SENTINEL' '$work/plain' && tail -c 8 '$work/plain' | grep -q appended"
check "... and not under its old path" \
  bash -c "! '$VEIL' pfs decrypt --key '$key' --path /data/report.tmp '$root/data/report.txt' '$work/plain2' 2>/dev/null"
check "no plaintext sentinel anywhere in the image storage or /tmp" \
  bash -c "! grep -rqa '$SENTINEL' '$root' /tmp 2>/dev/null"
check "exit code 0 passes through" test $rc -eq 0

check "with nothing to check it against, the measurement is not computed (nor logged)" bash -c "! grep -q measurement '$work/err'"
m=$("$VEIL" inspect "$root" | awk '$1 == "measurement" { print $2 }')
scenario exit 0
zero=$(printf '0%.0s' {1..64})
check "-v logs the measurement, and it is the one veil inspect prints" \
  bash -c "'$VEIL_RUN' -v --root '$root' --dev-key-file '$key' 2>&1 >/dev/null | grep -q 'measurement $m signer'"
check "OpenSSL settings from the host environment: refused, naming the variable" \
  bash -c "! OPENSSL_ia32cap=0 '$VEIL_RUN' --root '$root' --dev-key-file '$key' >/dev/null 2>'$work/err1' &&
           grep -q 'refusing to start: OPENSSL_ia32cap is set' '$work/err1'"
check "--expect-measurement: veil inspect's measurement is accepted, another one refused" \
  bash -c "[ -n '$m' ] && '$VEIL_RUN' --root '$root' --dev-key-file '$key' --expect-measurement '$m' >/dev/null 2>&1 &&
           ! '$VEIL_RUN' --root '$root' --dev-key-file '$key' --expect-measurement $zero 2>'$work/err2' &&
           grep -q 'refusing to start: the measurement does not match' '$work/err2'"
"$VEIL_RUN" --root "$root" >/dev/null 2>"$work/err3"
check "no key for an image that needs one: refused, saying which" \
  bash -c "[ $? -eq 1 ] && grep -q \"needs the key 'image'\" '$work/err3'"
head -c 32 /dev/urandom > "$work/wrong.key"
"$VEIL_RUN" --root "$root" --dev-key-file "$work/wrong.key" >/dev/null 2>"$work/err4"
check "a wrong key: the app cannot open its encrypted script, and it is logged" \
  bash -c "[ $? -ne 0 ] && grep -q 'refusing encrypted file /app/main.py' '$work/err4'"
check "host arguments are refused" bash -c "! '$VEIL_RUN' --root '$root' --dev-key-file '$key' extra 2>/dev/null"
scenario exit 7; run
check "exit code 7 passes through" test $? -eq 7
scenario kill; run
check "death by SIGKILL gives 137" test $? -eq 137

scenario mmap "mapped-$SENTINEL"
"$VEIL_RUN" --root "$root" --dev-key-file "$key" --writeback-seconds 1 >"$work/out" 2>"$work/err" &
vr=$!
mapped_on_disk() {
  "$VEIL" pfs decrypt --key "$key" --path /data/mapped.bin "$root/data/mapped.bin" "$work/mapped" >/dev/null 2>&1 &&
    grep -q "mapped-$SENTINEL" "$work/mapped"
}
for _ in $(seq 600); do grep -q "child done" "$work/out" 2>/dev/null && break; sleep 0.05; done
# the parent sleeps 4 s after its child exits; the copy must reach the disk meanwhile
for _ in $(seq 70); do mapped_on_disk && break; sleep 0.05; done
check "a file written only through mmap by a child reaches the disk after its last user exits" mapped_on_disk
wait $vr

scenario periodic "periodic-$SENTINEL"
"$VEIL_RUN" --root "$root" --dev-key-file "$key" --writeback-seconds 1 >"$work/out" 2>"$work/err" &
vr=$!
for _ in $(seq 600); do grep -q written "$work/out" 2>/dev/null && break; sleep 0.05; done
periodic_on_disk() {
  "$VEIL" pfs decrypt --key "$key" --path /data/periodic.txt "$root/data/periodic.txt" "$work/periodic" >/dev/null 2>&1 &&
    grep -q "periodic-$SENTINEL" "$work/periodic"
}
for _ in $(seq 60); do periodic_on_disk && break; sleep 0.05; done
check "written data reaches the disk, encrypted, by the periodic write-back while the file is still open" periodic_on_disk
wait $vr

scenario term
FOO=x "$VEIL_RUN" --root "$root" --dev-key-file "$key" >"$work/out" 2>"$work/err" &
vr=$!
for _ in $(seq 600); do grep -q waiting "$work/out" 2>/dev/null && break; sleep 0.05; done
kill -TERM $vr; wait $vr; rc=$?
check "SIGTERM is forwarded, the app's handler runs, its status comes back" \
  bash -c "[ $rc -eq 42 ] && grep -q 'handler ran for 15' '$work/out'"

scenario semantics; run
while read -r _ name result; do
  if [ "$result" = ok ]; then ok "semantics: $name"; else not_ok "semantics: $name ($result)"; fi
done < <(grep '^SEM ' "$work/out")
[ "$(grep -c '^SEM ' "$work/out")" -eq 29 ] || { not_ok "semantics: all 29 checks ran"; cat "$work/err" >&2; }

# --- tampering -------------------------------------------------------------------------------------------
cp "$root/data/input.txt" "$work/input.good"
printf '\x01' | dd of="$root/data/input.txt" bs=1 seek=200 conv=notrunc 2>/dev/null
printf '\xff' | dd of="$root/data/input.txt" bs=1 seek=$(( $(stat -c %s "$root/data/input.txt") - 40 )) conv=notrunc 2>/dev/null
scenario read /data/input.txt; run
check "a flipped byte in an encrypted file: the app's open fails with EACCES, and it is logged" \
  bash -c "grep -q 'read failed: 13' '$work/out' && grep -q 'refusing encrypted file /data/input.txt' '$work/err'"
cp "$work/input.good" "$root/data/input.txt"
cp "$root/app/lib/helper.py" "$root/data/input.txt"
run
check "an encrypted file copied over another is refused" grep -q 'read failed: 13' "$work/out"
cp "$work/input.good" "$root/data/input.txt"

big=$root/usr/share/veil-test/big.bin
scenario digest /usr/share/veil-test/big.bin; run
check "a 6 MiB trusted file (copied and hashed on two threads) reads back whole" \
  grep -q "digest: $(sha256sum "$big" | cut -d' ' -f1)" "$work/out"
cp "$big" "$work/big.good"
printf 'X' | dd of="$big" bs=1 seek=$((5 << 20)) conv=notrunc 2>/dev/null
run
check "a flipped byte at 5 MiB of it: the open fails with EACCES, naming the file" \
  bash -c "grep -q 'digest failed: 13' '$work/out' && grep -q 'refusing trusted file /usr/share/veil-test/big.bin' '$work/err'"
cp "$work/big.good" "$big"

# --- interrupted write-backs: old ciphertext temporaries are swept; fresh ones and other names stay ---
stale=$root/data/.veil.0123456789abcdef.tmp fresh=$root/data/.veil.fedcba9876543210.tmp other=$root/data/.veil.not-ours.tmp
for f in "$stale" "$fresh" "$other"; do echo "ciphertext of an interrupted write-back" > "$f"; done
touch -d '-2 minutes' "$stale" "$other"
scenario read /data/input.txt; run
check "a write-back temporary from before the run is removed and logged; a fresh one and other names stay" \
  bash -c "[ ! -e '$stale' ] && [ -e '$fresh' ] && [ -e '$other' ] && grep -q 'removed .*/data/.veil.0123456789abcdef.tmp' '$work/err'"
rm -f "$fresh" "$other"

libc=$(cd "$root" && ls usr/lib/x86_64-linux-gnu/libc.so.6)
cp "$root/$libc" "$work/libc.good"
printf 'X' | dd of="$root/$libc" bs=1 seek=5000 conv=notrunc 2>/dev/null
scenario exit 0; run; rc=$?
check "a tampered shared library: refused, naming the file" \
  bash -c "[ $rc -ne 0 ] && grep -q 'refusing trusted file /usr/lib/x86_64-linux-gnu/libc.so.6' '$work/err'"
cp "$work/libc.good" "$root/$libc"
# the main binary (6.8 MB) is hashed in 1 MiB chunks on every core: a byte in its last chunk counts too
cp "$root/usr/bin/python3.11" "$work/python.good"
printf 'X' | dd of="$root/usr/bin/python3.11" bs=1 seek=$(( $(stat -c %s "$root/usr/bin/python3.11") - 100 )) conv=notrunc 2>/dev/null
run; rc=$?
check "a byte changed in the last 1 MiB chunk of the main binary: refused before it runs" \
  bash -c "[ $rc -eq 1 ] && grep -q 'refusing to start /usr/bin/python3.*python3.11.*does not match' '$work/err'"
cp "$work/python.good" "$root/usr/bin/python3.11"
printf 'X' | dd of="$root/usr/bin/python3.11" bs=1 seek=5000 conv=notrunc 2>/dev/null
run; rc=$?
check "a tampered main binary: veil-run refuses to start, naming the file" \
  bash -c "[ $rc -eq 1 ] && grep -q 'refusing to start /usr/bin/python3.*python3.11' '$work/err'"
printf 'X' | dd of="$root/veil/manifest" bs=1 seek=100 conv=notrunc 2>/dev/null
run; rc=$?
check "a tampered manifest: refused with a clear message" \
  bash -c "[ $rc -eq 1 ] && grep -q 'refusing to start: manifest' '$work/err'"
exit $tap_failed
