/* SPDX-License-Identifier: Apache-2.0 */
/* az-snp-vtpm evidence: report data into NV, the HCL report out of NV, a quote by the AK, all in one envelope. */
#include "vtpm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "evidence.h"
#include "vtpm-esys.h"

const char *veil_vtpm_tcti(const struct veil_vtpm_options *opts) {
    if (opts && opts->tcti) return opts->tcti;
    const char *env = getenv(VEIL_VTPM_TCTI_ENV);
    return env && *env ? env : VEIL_VTPM_DEFAULT_TCTI;
}

bool veil_vtpm_present(const struct veil_vtpm_options *opts) {
    _cleanup_(veil_vtpm_session_closep) struct veil_vtpm_session *s = NULL;
    size_t size;
    return veil_vtpm_session_open(veil_vtpm_tcti(opts), &s) >= 0 &&
           veil_vtpm_nv_size(s, VEIL_VTPM_HCL_REPORT_INDEX, &size) >= 0 && size > 0;
}

int veil_vtpm_get_evidence(const struct veil_vtpm_options *opts, const uint8_t report_data[VEIL_REPORT_DATA_SIZE],
                           struct veil_buf *out) {
    _cleanup_(veil_vtpm_session_closep) struct veil_vtpm_session *s = NULL;
    int r = veil_vtpm_session_open(veil_vtpm_tcti(opts), &s);
    if (r < 0) return r;
    return veil_vtpm_get_evidence_on(s, opts, report_data, out);
}

int veil_vtpm_get_evidence_on(struct veil_vtpm_session *s, const struct veil_vtpm_options *opts,
                              const uint8_t report_data[VEIL_REPORT_DATA_SIZE], struct veil_buf *out) {
    static const struct veil_vtpm_options defaults = { 0 };
    if (!opts) opts = &defaults;
    /* The HCL refreshes its report with this as "user-data" when the index is written (on Azure). */
    int r = veil_vtpm_nv_write(s, VEIL_VTPM_REPORT_DATA_INDEX, report_data, VEIL_REPORT_DATA_SIZE);
    if (r < 0) {
        char detail[256]; /* veil_err() cannot format its own message into itself */
        snprintf(detail, sizeof(detail), "%s", veil_err_msg());
        return veil_err(r, "writing the report data to NV 0x%08x: %s", VEIL_VTPM_REPORT_DATA_INDEX, detail);
    }

    struct veil_buf hcl = { .limit = VEIL_VTPM_HCL_MAX_SIZE };
    struct veil_buf quote = { .limit = VEIL_EVIDENCE_ITEM_MAX_SIZE }, signature = { .limit = VEIL_EVIDENCE_ITEM_MAX_SIZE };
    r = veil_vtpm_nv_read(s, VEIL_VTPM_HCL_REPORT_INDEX, VEIL_VTPM_HCL_MAX_SIZE, &hcl);
    if (r == -ENOENT)
        r = veil_err(r, "the HCL report index 0x%08x does not exist: not an Azure confidential VM", VEIL_VTPM_HCL_REPORT_INDEX);
    else if (r >= 0 && (hcl.size < 4 || memcmp(hcl.data, "HCLA", 4) != 0))
        r = veil_err(-EBADMSG, "NV 0x%08x does not hold an HCL report (no \"HCLA\" signature)", VEIL_VTPM_HCL_REPORT_INDEX);

    /* The nonce is the whole report data: the verifier reports the quote's extraData as the claims' report data. */
    uint32_t ak = opts->ak_handle ? opts->ak_handle : VEIL_VTPM_AK_HANDLE;
    if (r >= 0)
        r = veil_vtpm_quote(s, ak, opts->pcr_mask ? opts->pcr_mask : VEIL_VTPM_PCRS_ALL, report_data,
                            VEIL_REPORT_DATA_SIZE, &quote, &signature);
    if (r >= 0) {
        struct veil_evidence ev = { .tee = VEIL_TEE_AZURE_SNP_VTPM };
        ev.item[VEIL_EVIDENCE_REPORT] = hcl.data;
        ev.item_size[VEIL_EVIDENCE_REPORT] = hcl.size;
        ev.item[VEIL_EVIDENCE_TPM_QUOTE] = quote.data;
        ev.item_size[VEIL_EVIDENCE_TPM_QUOTE] = quote.size;
        ev.item[VEIL_EVIDENCE_TPM_SIGNATURE] = signature.data;
        ev.item_size[VEIL_EVIDENCE_TPM_SIGNATURE] = signature.size;
        if (opts->certs_size) {
            ev.item[VEIL_EVIDENCE_CERTS] = opts->certs;
            ev.item_size[VEIL_EVIDENCE_CERTS] = opts->certs_size;
        }
        r = veil_evidence_encode(&ev, out);
    }
    veil_buf_done(&hcl);
    veil_buf_done(&quote);
    veil_buf_done(&signature);
    return r;
}
