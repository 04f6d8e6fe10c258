/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: collateral recognition (PEM, DER, hex CRLs, PCS and combined JSON) and the TCB-level matching on it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evidence/collateral.h"
#include "evidence/dcap-tcb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* gcc does not let (void) silence warn_unused_result */
#define IGNORE(call) do { int _ignored = (call); (void)_ignored; } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct veil_collateral *coll;
    if (veil_collateral_new(&coll) < 0) abort();
    IGNORE(veil_collateral_add(coll, data, size, "fuzz"));
    struct veil_pck_info pck;
    memset(&pck, 0x05, sizeof(pck));
    struct veil_tdx_report_body td;
    memset(&td, 0x03, sizeof(td));
    struct veil_sgx_report_body qe;
    memset(&qe, 0, sizeof(qe));
    for (size_t i = 0; i < coll->items_count; i++) {
        const struct veil_signed_json *item = &coll->items[i];
        if (!item->body || item->body_size != strlen(item->body)) abort();
        json_t *details = json_object(), *advisories = json_array();
        enum veil_tcb_status status;
        IGNORE(veil_dcap_check_window(item->json, 1750000000, "fuzz"));
        IGNORE(veil_dcap_tcb_status(item->json, &pck, &td, &status, advisories, details));
        IGNORE(veil_dcap_tcb_status(item->json, &pck, NULL, &status, advisories, details));
        IGNORE(veil_dcap_qe_status(item->json, &qe, &status, advisories));
        json_decref(details);
        json_decref(advisories);
    }
    veil_collateral_free(coll);
    return 0;
}
