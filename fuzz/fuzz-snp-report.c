/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the SEV-SNP report parser, the SNP certificate table, and verification against an empty collateral. */
#include <stdint.h>
#include <stdlib.h>

#include "evidence/collateral.h"
#include "evidence/snp-certtable.h"
#include "evidence/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* gcc does not let (void) silence warn_unused_result */
#define IGNORE(call) do { int _ignored = (call); (void)_ignored; } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct veil_snp_report r;
    if (veil_snp_report_parse(data, size, &r) == 0) {
        if (r.version != 2 && r.version != 3 && r.version != 5) abort();
        struct veil_snp_tcb t = veil_snp_tcb_decode(r.reported_tcb, veil_snp_report_product(&r));
        (void)t;
    }
    struct veil_collateral *coll;
    if (veil_collateral_new(&coll) < 0) abort();
    IGNORE(veil_snp_certtable_add(data, size, coll));
    /* whatever the table held, the report cannot verify without a pinned chain */
    struct veil_hw_options opts = { .now = 1750000000, .allow_debug = true };
    struct veil_claims *claims = NULL;
    if (veil_snp_verify(data, size, coll, &opts, &claims) == 0) abort();
    veil_collateral_free(coll);
    return 0;
}
