/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the DCAP quote parser (SGX v3, TDX v4/v5), the PCK chain in it and the PCK certificate's SGX extension. */
#include <stdint.h>
#include <stdlib.h>

#include "evidence/collateral-x509.h"
#include "evidence/dcap-quote.h"
#include "evidence/pck-cert.h"
#include "evidence/sgx.h"
#include "evidence/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* gcc does not let (void) silence warn_unused_result */
#define IGNORE(call) do { int _ignored = (call); (void)_ignored; } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct veil_dcap_quote q;
    if (veil_dcap_quote_parse(data, size, &q) == 0) {
        if (q.signed_size > size || q.pck_chain_size > size) abort();
        STACK_OF(X509) *chain = sk_X509_new_null();
        if (chain && veil_certs_parse(q.pck_chain, q.pck_chain_size, chain) == 0) {
            struct veil_pck_info info;
            IGNORE(veil_pck_info_parse(sk_X509_value(chain, 0), &info));
        }
        veil_x509_stack_free(chain);
    }
    /* the full verifiers, with no collateral: they must refuse, never crash */
    struct veil_collateral *coll;
    if (veil_collateral_new(&coll) < 0) abort();
    struct veil_hw_options opts = { .now = 1750000000 };
    struct veil_claims *claims = NULL;
    if (veil_tdx_verify(data, size, coll, &opts, &claims) == 0 || veil_sgx_verify(data, size, coll, &opts, &claims) == 0)
        abort();
    veil_collateral_free(coll);
    return 0;
}
