/* SPDX-License-Identifier: Apache-2.0 */
/* The hardware verifiers behind the evidence interface: envelope adapters and raw-format detection. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "evidence.h"

/*
 * Adapters for the registration table (verifiers.c). Each gathers collateral from
 * opts->collateral_dir, opts->trust_dir and the envelope's CERTS (concatenated DER),
 * AUXBLOB (SNP certificate table) and COLLATERAL items, then runs the verifier.
 * TCB status, debug and advisories are left to the policy (veil_policy_check):
 * the verifiers accept every status here and record it in the claims.
 */
int veil_snp_verify_evidence(const struct veil_evidence *ev, const struct veil_verify_options *opts,
                             struct veil_claims **ret_claims) _warn_unused_;
int veil_tdx_verify_evidence(const struct veil_evidence *ev, const struct veil_verify_options *opts,
                             struct veil_claims **ret_claims) _warn_unused_;
int veil_sgx_verify_evidence(const struct veil_evidence *ev, const struct veil_verify_options *opts,
                             struct veil_claims **ret_claims) _warn_unused_;
/* Azure: REPORT = HCL report, TPM_QUOTE / TPM_SIGNATURE; or RUNTIME_DATA = Trustee evidence JSON. */
int veil_azure_verify_evidence(const struct veil_evidence *ev, const struct veil_verify_options *opts,
                               struct veil_claims **ret_claims) _warn_unused_;

/*
 * Recognise raw hardware evidence by its bytes: a 1184-byte SNP report (version 2, 3
 * or 5), a DCAP quote (SGX v3, TDX v4/v5, SGX v4/v5), an Azure HCL report ("HCLA"), or
 * Trustee's Azure vTPM evidence JSON. -EBADMSG when it is none of them.
 */
int veil_hw_detect(const uint8_t *data, size_t size, enum veil_tee *ret) _warn_unused_;
/* Detect, wrap as an envelope in memory and verify (what `veil verify FILE` does for non-envelopes). */
int veil_hw_verify_raw(const uint8_t *data, size_t size, const struct veil_verify_options *opts,
                       struct veil_claims **ret_claims) _warn_unused_;
