/* SPDX-License-Identifier: Apache-2.0 */
/* The registration table of per-TEE evidence verifiers: one line per TEE. */
#include "evidence.h"

/* hwverify adds its lines here (snp, tdx, sgx, az-snp-vtpm), each defined in its own file. */
const struct veil_evidence_verifier veil_evidence_verifiers[] = {
    { VEIL_TEE_SIM, veil_sim_verify_evidence },
    { 0, NULL },
};
