/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the Azure HCL report parser, the TPM2 quote parser and the vTPM evidence JSON reader. */
#include <stdint.h>
#include <stdlib.h>

#include "evidence/azure-hcl.h"
#include "evidence/azure-tpm.h"
#include "evidence/azure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* gcc does not let (void) silence warn_unused_result */
#define IGNORE(call) do { int _ignored = (call); (void)_ignored; } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct veil_azure_hcl hcl;
    if (veil_azure_hcl_parse(data, size, &hcl) == 0 && hcl.runtime_claims_size > size) abort();
    struct veil_tpm_quote q;
    if (veil_tpm_quote_parse(data, size, &q) == 0 && (q.extra_data_size > 64 || q.pcr_digest_size > 64)) abort();
    struct veil_collateral *coll;
    if (veil_collateral_new(&coll) < 0) abort();
    struct veil_hw_options opts = { .now = 1750000000 };
    struct veil_claims *claims = NULL;
    struct veil_azure_evidence ev = { .hcl_report = data, .hcl_report_size = size };
    /* no AMD chain in the collateral: nothing can verify */
    if (veil_azure_verify(&ev, coll, &opts, &claims) == 0 || veil_azure_verify_json(data, size, coll, &opts, &claims) == 0)
        abort();
    veil_collateral_free(coll);
    return 0;
}
