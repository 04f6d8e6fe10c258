#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `veil verify` on the real hardware vectors (SNP, TDX, SGX, Azure vTPM) with offline collateral and a pinned time.
set -uo pipefail
veil="$VEIL_BUILD_ROOT/src/cli/veil"
V="$VEIL_VECTORS"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0; failed=0
accepts() { # name, python assertion on the JSON output (d), then the veil verify arguments
  local name=$1 assertion=$2; shift 2
  n=$((n + 1))
  "$veil" verify "$@" --json >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ $rc -eq 0 ] && python3 -c "import json,sys; d=json.load(open('$tmp/out')); c=d['claims']; assert $assertion" 2>>"$tmp/err"
  then echo "ok $n - $name"; else echo "not ok $n - $name (rc=$rc)"; sed 's/^/# /' "$tmp/err"; failed=1; fi
}
refuses() { # name, expected stderr words, then the veil verify arguments (must exit 1)
  local name=$1 words=$2; shift 2
  n=$((n + 1))
  "$veil" verify "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ $rc -eq 1 ] && grep -q -- "$words" "$tmp/err"; then echo "ok $n - $name"
  else echo "not ok $n - $name (rc=$rc)"; sed 's/^/# /' "$tmp/err"; failed=1; fi
}
echo "{\"version\":1,\"debug\":true}" >"$tmp/debug.json"
echo "{\"version\":1,\"tcb_statuses\":[\"UpToDate\",\"Unknown\"]}" >"$tmp/unknown.json"
echo 1..16
accepts "snp milan v2 (debug allowed by policy)" "c['tee']=='snp' and c['measurement'].startswith('b07af962') and c['report_data'].startswith('0102030405')" \
  "$V/snp/milan-v2-report.bin" --collateral "$V/snp" --at 2025-06-01T00:00:00Z --policy "$tmp/debug.json"
refuses "snp debug guest refused by the default policy" "debug" "$V/snp/milan-v2-report.bin" --collateral "$V/snp" --at 2025-06-01T00:00:00Z
accepts "snp milan v3 vlek" "c['details']['signing_key']=='vlek' and c['measurement'].startswith('8922ebbd')" \
  "$V/snp/milan-v3-vlek-report.bin" --collateral "$V/snp" --at 2025-06-01T00:00:00Z
refuses "snp vlek expired" "VLEK certificate expired" "$V/snp/milan-v3-vlek-report.bin" --collateral "$V/snp" --at 2026-06-01T00:00:00Z
accepts "tdx v4 phala" "c['tee']=='tdx' and c['measurement'].startswith('91eb2b44') and c['details']['fmspc']=='b0c06f000000'" \
  "$V/tdx/phala_tdx_quote.dat" --collateral "$V/tdx" --at 2025-06-20T00:00:00Z
refuses "tdx v4 phala, stale collateral" "stale" "$V/tdx/phala_tdx_quote.dat" --collateral "$V/tdx" --at 2025-09-01T00:00:00Z
accepts "tdx v4 SPR, Unknown TCB accepted by policy" "c['tcb_status']=='Unknown' and c['measurement'].startswith('6363b804')" \
  "$V/tdx/tdx_prod_quote_SPR_E4.dat" --collateral "$V/tdx" --at 2023-06-20T00:00:00Z --policy "$tmp/unknown.json"
refuses "tdx v4 SPR, Unknown TCB refused by default" "TCB status Unknown" "$V/tdx/tdx_prod_quote_SPR_E4.dat" --collateral "$V/tdx" --at 2023-06-20T00:00:00Z
accepts "sgx v3 phala" "c['tee']=='sgx' and c['report_data'].startswith('48656c6c6f2c20776f726c6421') and c['signer'].startswith('815f42f1')" \
  "$V/sgx/phala_sgx_quote.dat" --collateral "$V/sgx" --at 2025-06-20T00:00:00Z
accepts "azure evidence json" "c['tee']=='az-snp-vtpm' and c['measurement'].startswith('5b0ce64a') and len(c['details']['pcrs'])==24" \
  "$V/az-snp-vtpm/evidence-v2.json" --collateral "$V/snp" --at 2025-06-01T00:00:00Z
accepts "azure hcl report" "c['tee']=='az-snp-vtpm' and c['details']['runtime_claims']['vm-configuration']['secure-boot']" \
  "$V/az-snp-vtpm/hcl-report.bin" --collateral "$V/az-snp-vtpm" --at 2025-06-01T00:00:00Z
# the same evidence wrapped in envelopes by `veil attest --report`, collateral inside or beside
wrap() { "$veil" attest "$@" 2>"$tmp/err" || sed 's/^/# /' "$tmp/err"; }
wrap --tee snp --report "$V/snp/milan-v3-vlek-report.bin" --certs "$V/snp/milan-v3-vlek.der" -o "$tmp/snp.ev"
accepts "envelope: snp with the VLEK inside, ASVK/ARK from --trust-dir" "c['details']['signing_key']=='vlek'" \
  "$tmp/snp.ev" --trust-dir "$V/snp" --at 2025-06-01T00:00:00Z
wrap --tee tdx --report "$V/tdx/phala_tdx_quote.dat" --collateral "$V/tdx/phala_tdx_quote_collateral.json" -o "$tmp/tdx.ev"
accepts "envelope: tdx with its collateral inside" "c['tee']=='tdx' and c['tcb_status']=='UpToDate'" "$tmp/tdx.ev" --at 2025-06-20T00:00:00Z
wrap --tee sgx --report "$V/sgx/phala_sgx_quote.dat" --collateral "$V/sgx/phala_sgx_quote_collateral.json" -o "$tmp/sgx.ev"
refuses "envelope: sgx, collateral stale a year later" "stale" "$tmp/sgx.ev" --at 2026-06-20T00:00:00Z
wrap --tee az-snp-vtpm --report "$V/az-snp-vtpm/hcl-report.bin" --certs "$V/az-snp-vtpm/vcek.pem" -o "$tmp/az.ev"
accepts "envelope: azure hcl report with its chain" "c['tee']=='az-snp-vtpm'" "$tmp/az.ev" --at 2025-06-01T00:00:00Z
head -c 1000 "$V/snp/milan-v2-report.bin" >"$tmp/short.bin"
refuses "not evidence at all" "not raw hardware evidence" "$tmp/short.bin" --collateral "$V/snp"
exit $failed
