/* SPDX-License-Identifier: Apache-2.0 */
/* Verifying Azure confidential VM vTPM evidence: HCL report (SEV-SNP), runtime claims, TPM2 quote by the AK. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "claims.h"
#include "collateral.h"

/* The parts of the evidence; the TPM parts may be absent (HCL report only). */
struct veil_azure_evidence {
    const uint8_t *hcl_report;
    size_t hcl_report_size;
    const uint8_t *tpm_quote;      /* TPMS_ATTEST bytes */
    size_t tpm_quote_size;
    const uint8_t *tpm_signature;  /* RSASSA-PKCS1-v1_5 / SHA-256 signature by the AK, raw */
    size_t tpm_signature_size;
    const uint8_t *pcrs;           /* pcrs_count SHA-256 PCR values, PCR 0 first; NULL = not supplied */
    size_t pcrs_count;
};

/* Evidence JSON of the Trustee / az-snp-vtpm kind is at most this large. */
#define VEIL_AZURE_JSON_MAX_SIZE ((size_t)256 << 10)

/*
 * Verify, as of opts->now:
 *   1. the HCL report parses, and its SNP report verifies (snp.h: VCEK, ASK, pinned ARK);
 *   2. the SNP REPORT_DATA equals hash(runtime claims) (the HCL's hash type), zero-padded;
 *   3. the runtime claims are JSON with the vTPM attestation key "HCLAkPub" (RSA JWK);
 *   4. when a TPM quote is given: the AK's signature over it verifies, it is a
 *      TPM_ST_ATTEST_QUOTE, and when PCR values are given, SHA-256 over the selected
 *      PCRs (in index order) equals its pcrDigest.
 * Claims: the SNP claims with tee = az-snp-vtpm; report_data = the TPM quote's
 * extraData (the relying party's nonce), zero-padded, or the runtime claims'
 * user-data when no quote is given; details add runtime_claims, ak_sha256 (of the
 * AK's SubjectPublicKeyInfo), tpm_nonce, pcrs (selected ones, by index).
 */
int veil_azure_verify(const struct veil_azure_evidence *ev, const struct veil_collateral *coll,
                      const struct veil_hw_options *opts, struct veil_claims **ret) _warn_unused_;

/*
 * The same for the JSON evidence of Trustee's az-snp-vtpm attester:
 * {"version":…, "tpm_quote":{"signature":HEX,"message":HEX,"pcrs":[HEX…]},
 *  "hcl_report":BASE64URL, "vcek":BASE64URL(DER)}. The VCEK is added to a copy of the
 * collateral (it is checked against the pinned chain like any other).
 */
int veil_azure_verify_json(const uint8_t *json, size_t size, const struct veil_collateral *coll,
                           const struct veil_hw_options *opts, struct veil_claims **ret) _warn_unused_;
