/* SPDX-License-Identifier: Apache-2.0 */
/* SGX quote claims: MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN, debug, TCB status. */
#include "sgx.h"

#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "dcap.h"

int veil_sgx_verify(const uint8_t *quote, size_t size, const struct veil_collateral *coll,
                    const struct veil_hw_options *opts, struct veil_claims **ret) {
    struct veil_dcap_verified v;
    int r = veil_dcap_verify_quote(quote, size, false, coll, opts, &v);
    if (r < 0) return r;
    const struct veil_sgx_report_body *e = &v.quote.enclave;
    bool debug = e->attributes[0] & VEIL_SGX_FLAG_DEBUG;
    r = veil_hw_check_report_data(opts, e->report_data, "SGX quote");
    if (r >= 0) r = veil_dcap_check_policy(&v, opts);
    if (r >= 0 && debug && !(opts && opts->allow_debug))
        r = veil_err(-EPERM, "enclave is a debug enclave (ATTRIBUTES.DEBUG set) and debug TEEs are not allowed");
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    if (r >= 0) r = veil_claims_new(VEIL_TEE_SGX, &c);
    if (r < 0) {
        veil_dcap_verified_done(&v);
        return r;
    }
    memcpy(c->measurement, e->mr_enclave, 32);
    c->measurement_size = 32;
    memcpy(c->signer, e->mr_signer, 32);
    c->signer_size = 32;
    c->product_id = e->isv_prod_id;
    c->security_version = e->isv_svn;
    c->debug = debug;
    c->tcb_status = v.tcb_status;
    memcpy(c->report_data, e->report_data, 64);
    json_decref(c->details);
    c->details = TAKE_PTR(v.details);
    json_t *d = c->details;
    json_object_set_new(d, "mrenclave", veil_claims_hex_json(e->mr_enclave, 32));
    json_object_set_new(d, "mrsigner", veil_claims_hex_json(e->mr_signer, 32));
    json_object_set_new(d, "isv_prod_id", json_integer(e->isv_prod_id));
    json_object_set_new(d, "isv_svn", json_integer(e->isv_svn));
    json_object_set_new(d, "attributes", veil_claims_hex_json(e->attributes, 16));
    json_object_set_new(d, "misc_select", json_integer(e->misc_select));
    json_object_set_new(d, "cpu_svn", veil_claims_hex_json(e->cpu_svn, 16));
    json_object_set_new(d, "config_id", veil_claims_hex_json(e->config_id, 64));
    json_object_set_new(d, "config_svn", json_integer(e->config_svn));
    *ret = TAKE_PTR(c);
    return 0;
}
