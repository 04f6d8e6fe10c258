#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Azure vTPM evidence path end to end against a real software TPM (swtpm) prepared like an Azure CVM's vTPM.
set -uo pipefail

veil="$VEIL_BUILD_ROOT/src/cli/veil"
forge="$VEIL_BUILD_ROOT/tests/evidence/test-vtpm-forge"
work=$(mktemp -d /tmp/veil-vtpm.XXXXXX)
swtpm_pid=""
cleanup() {
    [ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && sed 's/^/# /' "$2"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
expect() { local name=$1; shift; if "$@" >"$work/out" 2>&1; then ok "$name"; else not_ok "$name" "$work/out"; fi; }
# expect_fail NAME NEEDLE CMD...: CMD exits 1 and says NEEDLE
expect_fail() {
    local name=$1 needle=$2; shift 2
    "$@" >"$work/out" 2>&1
    local rc=$?
    if [ $rc -eq 1 ] && grep -qF -- "$needle" "$work/out"; then ok "$name"; else echo "# exit $rc" >>"$work/out"; not_ok "$name" "$work/out"; fi
}

echo "1..13"

# --- a software TPM, as the test's own process, on a unix socket ---
mkdir "$work/state"
sock="$work/tpm.sock"
swtpm socket --tpm2 --tpmstate dir="$work/state" --server type=unixio,path="$sock" \
    --ctrl type=unixio,path="$sock.ctrl" --flags startup-clear --log file="$work/swtpm.log" &
swtpm_pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && [ -S "$sock.ctrl" ] && break; sleep 0.1; done
export TPM2TOOLS_TCTI="swtpm:path=$sock" TSS2_LOG="all+NONE"
tcti="swtpm:path=$sock"

# --- prepare it like Azure's vTPM: the AK persisted at 0x81000003, the HCL report in NV 0x01400001 ---
report_data=$(openssl rand -hex 64)
prepare() {
    tpm2_createprimary -Q -C o -G rsa2048:rsassa-sha256:null \
        -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign|noda" -c "$work/ak.ctx" &&
    tpm2_evictcontrol -Q -C o -c "$work/ak.ctx" 0x81000003 &&
    tpm2_readpublic -Q -c 0x81000003 -f pem -o "$work/ak.pem" &&
    "$forge" "$work/ak.pem" "$report_data" "$work" &&
    tpm2_nvdefine -Q -C o -s "$(stat -c %s "$work/hcl.bin")" -a "ownerread|ownerwrite|authread|authwrite" 0x01400001 &&
    tpm2_nvwrite -Q -C o -i "$work/hcl.bin" 0x01400001
}
expect "swtpm prepared as an Azure vTPM (AK 0x81000003, HCL report in NV 0x01400001)" prepare

# --- acquisition ---
expect "veil attest --tee az-snp-vtpm obtains evidence from the TPM" \
    "$veil" attest --tee az-snp-vtpm --tcti "$tcti" --report-data "$report_data" --certs "$work/chain.pem" -o "$work/ev"

nv=$(tpm2_nvread -C o -s 64 0x01400002 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
if [ "$nv" = "$report_data" ]; then ok "the report data was written to NV 0x01400002 (defined by veil, it did not exist)"
else echo "# NV 0x01400002: $nv" >"$work/out"; not_ok "the report data was written to NV 0x01400002" "$work/out"; fi

# Split the envelope (docs/evidence.md) and check it with tools that are not veil's.
split_envelope() {
    python3 - "$1" "$work" <<'EOF'
import struct, sys
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'VEILEVD\0', 'magic'
version, tee = struct.unpack_from('<HH', data, 8)
assert version == 1 and tee == 5, (version, tee)
pos, names = 16, {1: 'report', 2: 'certs', 6: 'quote', 7: 'sig'}
while pos < len(data):
    t, n = struct.unpack_from('<HI', data, pos)
    open(f'{sys.argv[2]}/item.{names.get(t, t)}', 'wb').write(data[pos + 6:pos + 6 + n])
    pos += 6 + n
EOF
}
check_items() {
    split_envelope "$work/ev" &&
    cmp "$work/item.report" "$work/hcl.bin" &&
    python3 - "$work/chain.pem" "$work/item.certs" <<'EOF'
import base64, re, sys
pem = open(sys.argv[1]).read()
der = b''.join(base64.b64decode(b) for b in re.findall(r'-----BEGIN CERTIFICATE-----(.*?)-----END', pem, re.S))
assert der == open(sys.argv[2], 'rb').read(), 'CERTS is not the chain as concatenated DER'
EOF
}
expect "the envelope is az-snp-vtpm: REPORT = the NV index's HCL report, CERTS = the VCEK chain" check_items

# TPMS_ATTEST (TPM2 Part 2, 10.12.12): magic, TPM_ST_ATTEST_QUOTE, signer name, extraData = our report data, SHA-256 PCRs 0-23.
check_quote() {
    openssl dgst -sha256 -verify "$work/ak.pem" -signature "$work/item.sig" "$work/item.quote" &&
    python3 - "$work/item.quote" "$report_data" <<'EOF'
import struct, sys
q = open(sys.argv[1], 'rb').read()
magic, typ = struct.unpack_from('>IH', q, 0)
assert magic == 0xff544347 and typ == 0x8018, (hex(magic), hex(typ))
pos = 6
n, = struct.unpack_from('>H', q, pos); pos += 2 + n           # qualifiedSigner
n, = struct.unpack_from('>H', q, pos); extra = q[pos + 2:pos + 2 + n]; pos += 2 + n
assert extra.hex() == sys.argv[2], extra.hex()
pos += 17 + 8                                                   # clockInfo, firmwareVersion
count, alg, size = struct.unpack_from('>IHB', q, pos)
assert (count, alg, size) == (1, 0x000b, 3) and q[pos + 7:pos + 10] == b'\xff\xff\xff', q[pos:pos + 10].hex()
EOF
}
expect "the quote verifies under the AK (openssl), nonce = report data, PCRs 0-23 SHA-256" check_quote

# --- the Azure verifier, trusting the test's own ARK from trust/ask_ark_milan.pem ---
verify_trusted() {
    "$veil" verify "$work/ev" --trust-dir "$work/trust" --collateral-dir "$work/collateral" --json "$@"
}
verify_trusted >"$work/verify.json" 2>"$work/verify.err"
rc=$?
if [ $rc -eq 0 ] && python3 - "$work/verify.json" "$report_data" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
c = j['claims']
assert j['verified'] and j['accepted'], j
assert c['tee'] == 'az-snp-vtpm', c['tee']
assert c['report_data'] == sys.argv[2], c['report_data']
assert c['details']['ark'] == 'trust directory: ask_ark_milan.pem', c['details'].get('ark')
EOF
then
    ok "veil verify accepts it with the test's ARK as trust root: tee az-snp-vtpm, report data = nonce"
else
    echo "# exit $rc" >>"$work/verify.json"; cat "$work/verify.err" >>"$work/verify.json"
    not_ok "veil verify accepts it with the test's ARK as trust root" "$work/verify.json"
fi

# By default only AMD's pinned ARKs are roots: the same evidence is refused.
expect_fail "without --trust-dir the test hierarchy is refused (AMD's ARKs are pinned)" "is not a pinned AMD ARK" \
    "$veil" verify "$work/ev" --collateral-dir "$work/collateral"

# A flipped bit in the quote: the AK's signature no longer verifies.
python3 - "$work/ev" "$work/ev.tampered" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read()); pos = 16
while pos < len(d):
    t, n = struct.unpack_from('<HI', d, pos)
    if t == 6: d[pos + 6 + 40] ^= 1
    pos += 6 + n
open(sys.argv[2], 'wb').write(d)
EOF
expect_fail "a flipped bit in the TPM quote is refused" "TPM quote signature" \
    "$veil" verify "$work/ev.tampered" --trust-dir "$work/trust" --collateral-dir "$work/collateral"

# --- selection and failures ---
auto_pick() {
    VEIL_TPM_TCTI="$tcti" "$veil" attest --tee auto --report-data 00 -o "$work/ev.auto" &&
    [ "$(od -An -j10 -N2 -tu2 "$work/ev.auto" | tr -d ' ')" = 5 ]
}
expect "--tee auto picks the vTPM when the HCL report index exists (\$VEIL_TPM_TCTI)" auto_pick

no_output() { [ ! -e "$work/$1" ] || { echo "# $1 was written"; return 1; }; }
expect_fail "an unreachable TPM is a clear error" "cannot open the TPM" \
    "$veil" attest --tee az-snp-vtpm --tcti "swtpm:path=$work/nonexistent.sock" -o "$work/ev.none"
tpm2_evictcontrol -Q -C o -c 0x81000003 >/dev/null 2>&1
expect_fail "without the AK at 0x81000003: refused, naming it" "attestation key 0x81000003 does not exist" \
    "$veil" attest --tee az-snp-vtpm --tcti "$tcti" -o "$work/ev.noak"
tpm2_nvundefine -Q -C o 0x01400001 >/dev/null 2>&1
expect_fail "without NV 0x01400001: not an Azure confidential VM" "not an Azure confidential VM" \
    "$veil" attest --tee az-snp-vtpm --tcti "$tcti" -o "$work/ev.nohcl"
if no_output ev.none && no_output ev.noak && no_output ev.nohcl; then ok "no output file after any failure"
else not_ok "no output file after any failure"; fi
