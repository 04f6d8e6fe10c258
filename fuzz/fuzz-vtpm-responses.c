/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the vTPM evidence path fed arbitrary TPM2 responses (a hostile TPM, or swtpm/mssim over a network). */
/*
 * Input: a sequence of responses, each a u16le length and that many bytes, returned in
 * order to whatever commands the path sends (NV_ReadPublic, NV_Write, GetCapability,
 * NV_Read, ReadPublic, Quote, ...). The seeds are the responses of a real swtpm to one
 * whole `veil attest --tee az-snp-vtpm`, so mutations reach every step. tpm2-tss
 * unmarshals the responses; what is checked here is that nothing on the way crashes,
 * leaks or overreads, and that success means a well-formed envelope.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_tcti.h>

#include "base/cursor.h"
#include "evidence/evidence.h"
#include "evidence/vtpm-esys.h"
#include "evidence/vtpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_tcti {
    TSS2_TCTI_CONTEXT_COMMON_V2 common; /* first: tss2 casts the context to it */
    struct veil_cursor responses;
    bool command_pending;
};

static TSS2_RC fuzz_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command) {
    (void)size;
    (void)command;
    ((struct fuzz_tcti *)ctx)->command_pending = true;
    return TSS2_RC_SUCCESS;
}

static TSS2_RC fuzz_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response, int32_t timeout) {
    (void)timeout;
    struct fuzz_tcti *t = (struct fuzz_tcti *)ctx;
    if (!t->command_pending) return TSS2_TCTI_RC_BAD_SEQUENCE;
    struct veil_cursor c = t->responses;
    uint16_t length;
    const uint8_t *bytes;
    if (veil_cursor_u16le(&c, &length) < 0 || veil_cursor_borrow(&c, length, &bytes) < 0) return TSS2_TCTI_RC_IO_ERROR;
    if (!response) { /* a size query */
        *size = length;
        return TSS2_RC_SUCCESS;
    }
    if (*size < length) return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
    memcpy(response, bytes, length);
    *size = length;
    t->responses = c;
    t->command_pending = false;
    return TSS2_RC_SUCCESS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setenv("TSS2_LOG", "all+NONE", 1);
    struct fuzz_tcti tcti = {
        .common.v1 = {
            .magic = 0x7665696c7470ULL,
            .version = 2,
            .transmit = fuzz_transmit,
            .receive = fuzz_receive,
        },
        .responses = veil_cursor_make(data, size),
    };
    struct veil_vtpm_session *s;
    if (veil_vtpm_session_on((TSS2_TCTI_CONTEXT *)&tcti, &s) < 0) return 0;
    uint8_t report_data[VEIL_REPORT_DATA_SIZE];
    for (size_t i = 0; i < sizeof(report_data); i++) report_data[i] = (uint8_t)i;
    struct veil_buf out = { 0 };
    struct veil_vtpm_options opts = { 0 };
    if (veil_vtpm_get_evidence_on(s, &opts, report_data, &out) == 0) {
        struct veil_evidence ev;
        if (veil_evidence_decode(out.data, out.size, &ev) < 0 || ev.tee != VEIL_TEE_AZURE_SNP_VTPM ||
            ev.item_size[VEIL_EVIDENCE_REPORT] < 4 || memcmp(ev.item[VEIL_EVIDENCE_REPORT], "HCLA", 4) != 0 ||
            ev.item_size[VEIL_EVIDENCE_TPM_QUOTE] == 0 || ev.item_size[VEIL_EVIDENCE_TPM_SIGNATURE] == 0)
            abort();
    }
    veil_buf_done(&out);
    veil_vtpm_session_close(s);
    return 0;
}
