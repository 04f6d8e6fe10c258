/* SPDX-License-Identifier: Apache-2.0 */
/* TDX quote claims: MRTD, RTMRs, owner fields, TD attributes, TCB status. */
#include "tdx.h"

#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "dcap.h"

static bool nonzero(const uint8_t *p, size_t size) {
    for (size_t i = 0; i < size; i++)
        if (p[i]) return true;
    return false;
}

int veil_tdx_verify(const uint8_t *quote, size_t size, const struct veil_collateral *coll,
                    const struct veil_hw_options *opts, struct veil_claims **ret) {
    struct veil_dcap_verified v;
    int r = veil_dcap_verify_quote(quote, size, true, coll, opts, &v);
    if (r < 0) return r;
    const struct veil_tdx_report_body *td = &v.quote.td;
    bool debug = td->td_attributes[0] & VEIL_TDX_ATTR_DEBUG;
    r = veil_hw_check_report_data(opts, td->report_data, "TDX quote");
    if (r >= 0) r = veil_dcap_check_policy(&v, opts);
    if (r >= 0 && debug && !(opts && opts->allow_debug))
        r = veil_err(-EPERM, "TD is a debug TD (TDATTRIBUTES.DEBUG set) and debug TEEs are not allowed");
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    if (r >= 0) r = veil_claims_new(VEIL_TEE_TDX, &c);
    if (r < 0) {
        veil_dcap_verified_done(&v);
        return r;
    }
    memcpy(c->measurement, td->mr_td, 48);
    c->measurement_size = 48;
    if (nonzero(td->mr_owner, 48)) {
        memcpy(c->signer, td->mr_owner, 48);
        c->signer_size = 48;
    }
    c->debug = debug;
    c->tcb_status = v.tcb_status;
    memcpy(c->report_data, td->report_data, 64);
    json_decref(c->details);
    c->details = TAKE_PTR(v.details);
    json_t *d = c->details;
    for (int i = 0; i < 4; i++) {
        char key[8] = "rtmr0";
        key[4] = (char)('0' + i);
        json_object_set_new(d, key, veil_claims_hex_json(td->rtmr[i], 48));
    }
    json_object_set_new(d, "mrtd", veil_claims_hex_json(td->mr_td, 48));
    json_object_set_new(d, "mrconfigid", veil_claims_hex_json(td->mr_config_id, 48));
    json_object_set_new(d, "mrowner", veil_claims_hex_json(td->mr_owner, 48));
    json_object_set_new(d, "mrownerconfig", veil_claims_hex_json(td->mr_owner_config, 48));
    json_object_set_new(d, "mrseam", veil_claims_hex_json(td->mr_seam, 48));
    json_object_set_new(d, "mrsignerseam", veil_claims_hex_json(td->mr_signer_seam, 48));
    json_object_set_new(d, "seam_attributes", veil_claims_hex_json(td->seam_attributes, 8));
    json_object_set_new(d, "td_attributes", veil_claims_hex_json(td->td_attributes, 8));
    json_object_set_new(d, "xfam", veil_claims_hex_json(td->xfam, 8));
    json_object_set_new(d, "tee_tcb_svn", veil_claims_hex_json(td->tee_tcb_svn, 16));
    if (v.quote.body_type == 3) {
        json_object_set_new(d, "tee_tcb_svn2", veil_claims_hex_json(td->tee_tcb_svn2, 16));
        json_object_set_new(d, "mrservicetd", veil_claims_hex_json(td->mr_service_td, 48));
    }
    *ret = TAKE_PTR(c);
    return 0;
}
