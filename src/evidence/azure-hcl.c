/* SPDX-License-Identifier: Apache-2.0 */
/* Reads the Azure HCL report through the bounded cursor. */
#include "azure-hcl.h"

#include <assert.h>
#include <string.h>

#include "base/cursor.h"
#include "base/err.h"

static_assert(VEIL_HCL_HEADER_SIZE + VEIL_HCL_HW_REPORT_SIZE == VEIL_HCL_REQUEST_OFFSET,
              "the IGVM request data follows the 1184-byte hardware report");

#define FIELD(call, name)                                                                          \
    do {                                                                                           \
        int _r = (call);                                                                           \
        if (_r < 0) return veil_err(_r, "HCL report: truncated at %s (offset 0x%zx)", name, c.pos); \
    } while (0)

int veil_azure_hcl_parse(const uint8_t *data, size_t size, struct veil_azure_hcl *ret) {
    if (size > VEIL_HCL_MAX_SIZE) return veil_err(-EBADMSG, "HCL report: %zu bytes is over the limit", size);
    struct veil_cursor c = veil_cursor_make(data, size);
    struct veil_azure_hcl h = { 0 };
    uint8_t magic[4];
    uint32_t status, data_size, data_version, var_size;
    FIELD(veil_cursor_read(&c, magic, 4), "signature");
    if (memcmp(magic, "HCLA", 4) != 0) return veil_err(-EBADMSG, "HCL report: signature is not \"HCLA\"");
    FIELD(veil_cursor_u32le(&c, &h.version), "version");
    FIELD(veil_cursor_u32le(&c, &h.report_size), "report_size");
    FIELD(veil_cursor_u32le(&c, &h.request_type), "request_type");
    FIELD(veil_cursor_u32le(&c, &status), "status");
    FIELD(veil_cursor_skip(&c, 12), "reserved");
    FIELD(veil_cursor_borrow(&c, VEIL_HCL_HW_REPORT_SIZE, &h.hw_report), "hardware report");
    FIELD(veil_cursor_u32le(&c, &data_size), "request data_size");
    FIELD(veil_cursor_u32le(&c, &data_version), "request version");
    FIELD(veil_cursor_u32le(&c, &h.report_type), "report_type");
    FIELD(veil_cursor_u32le(&c, &h.hash_type), "report_data_hash_type");
    FIELD(veil_cursor_u32le(&c, &var_size), "variable_data_size");
    if (h.report_type != VEIL_HCL_REPORT_TYPE_SNP)
        return veil_err(-EBADMSG, "HCL report: report_type is %u, only 2 (SEV-SNP) is supported", h.report_type);
    if (h.hash_type < 1 || h.hash_type > 3)
        return veil_err(-EBADMSG, "HCL report: report_data_hash_type is %u, expected 1, 2 or 3", h.hash_type);
    if ((uint64_t)var_size + VEIL_HCL_REQUEST_HEADER_SIZE != data_size)
        return veil_err(-EBADMSG, "HCL report: data_size %u is not 20 + variable_data_size %u", data_size, var_size);
    if ((uint64_t)VEIL_HCL_REQUEST_OFFSET + data_size != h.report_size)
        return veil_err(-EBADMSG, "HCL report: report_size %u does not match the request data end 0x%llx", h.report_size,
                        (unsigned long long)VEIL_HCL_REQUEST_OFFSET + data_size);
    h.runtime_claims_size = var_size;
    FIELD(veil_cursor_borrow(&c, var_size, &h.runtime_claims), "runtime claims");
    /* The NV index is read whole: what follows is padding, and must carry nothing. */
    while (!veil_cursor_eof(&c)) {
        uint8_t b;
        FIELD(veil_cursor_u8(&c, &b), "padding");
        if (b) return veil_err(-EBADMSG, "HCL report: non-zero byte at 0x%zx after report_size", c.pos - 1);
    }
    *ret = h;
    return 0;
}
