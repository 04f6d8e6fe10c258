#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `veil attest` / `veil verify` end to end with the sim TEE: exit codes, refusal reasons, no partial output.
set -uo pipefail
veil="$VEIL_BUILD_ROOT/src/cli/veil"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export VEIL_SIM_DIR="$tmp/sim"
m=$(printf 'ab%.0s' {1..32}); s=$(printf 'cd%.0s' {1..32})
n=0; failed=0
check() { # name, then a command that must succeed
  local name=$1; shift
  n=$((n + 1))
  if "$@" >"$tmp/out.new" 2>"$tmp/err"; then mv "$tmp/out.new" "$tmp/out"; echo "ok $n - $name"; else echo "not ok $n - $name"; sed 's/^/# /' "$tmp/err"; failed=1; fi
}
refuses() { # name, expected stderr words, command that must exit 1
  local name=$1 words=$2; shift 2
  n=$((n + 1))
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ $rc -eq 1 ] && grep -q -- "$words" "$tmp/err"; then echo "ok $n - $name"
  else echo "not ok $n - $name (rc=$rc)"; sed 's/^/# /' "$tmp/err"; failed=1; fi
}
echo 1..16
check "attest sim" "$veil" attest --tee sim --measurement "$m" --signer "$s" --security-version 3 --report-data 00ff -o "$tmp/ev"
check "platform created on first use" test -f "$tmp/sim/root.pem" -a -f "$tmp/sim/ak.key"
refuses "sim refused by default" "does not allow the sim TEE" "$veil" verify "$tmp/ev"
check "verify --allow-sim" "$veil" verify "$tmp/ev" --allow-sim
check "claims printed" grep -q "measurement: $m" "$tmp/out"
check "json output" bash -c "'$veil' verify '$tmp/ev' --allow-sim --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"accepted\"] and d[\"claims\"][\"security_version\"]==3 and d[\"claims\"][\"report_data\"].startswith(\"00ff00\")'"
echo "{\"version\":1,\"tees\":[\"sim\"],\"measurements\":[\"$m\"],\"signers\":[\"$s\"],\"min_security_version\":3}" >"$tmp/good.json"
echo "{\"version\":1,\"tees\":[\"sim\"],\"signers\":[\"$m\"]}" >"$tmp/bad.json"
check "policy accepts" "$veil" verify "$tmp/ev" --policy "$tmp/good.json"
refuses "policy refuses wrong signer, claims still printed" "signer $s is not in the allowed list" "$veil" verify "$tmp/ev" --policy "$tmp/bad.json"
check "refused claims on stdout" grep -q "verdict: refused" "$tmp/out"
cp "$tmp/ev" "$tmp/tampered"; printf '\x01' | dd of="$tmp/tampered" bs=1 seek=100 conv=notrunc 2>/dev/null
refuses "tampered evidence" "signature does not verify" "$veil" verify "$tmp/tampered" --allow-sim
VEIL_SIM_DIR="$tmp/other" "$veil" attest --tee sim --measurement "$m" --signer "$s" -o "$tmp/foreign" 2>/dev/null
refuses "another sim platform" "not issued by a trusted sim root" "$veil" verify "$tmp/foreign" --allow-sim
n=$((n + 1))
if ! "$veil" attest --tee sim --measurement "$m" --signer "$s" --sim-dir /proc/nonexistent/sim -o "$tmp/none" 2>/dev/null && [ ! -e "$tmp/none" ]; then
  echo "ok $n - failed attest leaves no output"; else echo "not ok $n - failed attest leaves no output"; failed=1; fi
n=$((n + 1))
"$veil" attest --tee sim -o "$tmp/x" 2>/dev/null; rc=$?
if [ $rc -eq 2 ]; then echo "ok $n - sim needs measurement and signer"; else echo "not ok $n - sim needs measurement and signer"; failed=1; fi
tail -c +23 "$tmp/ev" >"$tmp/raw-sim"
check "import raw sim evidence" "$veil" attest --tee sim --report "$tmp/raw-sim" -o "$tmp/imported"
check "imported evidence verifies" "$veil" verify "$tmp/imported" --allow-sim
check "import SNP report with PEM chain as DER" python3 - "$veil" "$VEIL_VECTORS" "$tmp/snp" <<'PY'
import struct, subprocess, sys
veil, vectors, out = sys.argv[1:]
subprocess.run([veil, "attest", "--tee", "snp", "--report", vectors + "/snp/milan-v2-report.bin",
                "--certs", vectors + "/snp/milan-ask-ark.testcer", "-o", out], check=True)
d = open(out, "rb").read()
assert d[:8] == b"VEILEVD\0" and struct.unpack_from("<HH", d, 8) == (1, 2)
items, pos = {}, 16
while pos < len(d):
    t, n = struct.unpack_from("<HI", d, pos); items[t] = d[pos + 6:pos + 6 + n]; pos += 6 + n
assert items[1] == open(vectors + "/snp/milan-v2-report.bin", "rb").read()
assert items[2][0] == 0x30 and len(items[2]) > 1000, "certificates not converted to DER"
PY
exit $failed
