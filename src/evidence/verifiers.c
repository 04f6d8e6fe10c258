/* SPDX-License-Identifier: Apache-2.0 */
/* The registration table of per-TEE evidence verifiers: one line per TEE. */
#include "collateral-verifiers.h"
#include "evidence.h"

/* hwverify adds its lines here (snp, tdx, sgx, az-snp-vtpm), each defined in its own file. */
const struct veil_evidence_verifier veil_evidence_verifiers[] = {
    { VEIL_TEE_SIM, veil_sim_verify_evidence },
    { VEIL_TEE_SNP, veil_snp_verify_evidence },
    { VEIL_TEE_TDX, veil_tdx_verify_evidence },
    { VEIL_TEE_SGX, veil_sgx_verify_evidence },
    { VEIL_TEE_AZURE_SNP_VTPM, veil_azure_verify_evidence },
    { 0, NULL },
};
