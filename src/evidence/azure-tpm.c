/* SPDX-License-Identifier: Apache-2.0 */
/* Reads a TPMS_ATTEST quote through the bounded cursor (TCG TPM2 Part 2, 10.12.12). */
#include "azure-tpm.h"

#include <string.h>

#include "base/cursor.h"
#include "base/err.h"

#define FIELD(call, name)                                                                          \
    do {                                                                                           \
        int _r = (call);                                                                           \
        if (_r < 0) return veil_err(_r, "TPM quote: truncated at %s (offset %zu)", name, c.pos);   \
    } while (0)

/* A TPM2B: u16 size (at most `max`), then the bytes. */
static int tpm2b(struct veil_cursor *cur, size_t max, const char *name, uint8_t *out, size_t *ret_size) {
    struct veil_cursor c = *cur;
    uint16_t size;
    FIELD(veil_cursor_u16be(&c, &size), name);
    if (size > max) return veil_err(-EBADMSG, "TPM quote: %s is %u bytes, at most %zu", name, size, max);
    if (out)
        FIELD(veil_cursor_read(&c, out, size), name);
    else
        FIELD(veil_cursor_skip(&c, size), name);
    if (ret_size) *ret_size = size;
    *cur = c;
    return 0;
}

int veil_tpm_quote_parse(const uint8_t *data, size_t size, struct veil_tpm_quote *ret) {
    if (size > VEIL_TPM_QUOTE_MAX_SIZE) return veil_err(-EBADMSG, "TPM quote: %zu bytes is over the limit", size);
    struct veil_cursor c = veil_cursor_make(data, size);
    struct veil_tpm_quote q;
    memset(&q, 0, sizeof(q));
    uint32_t magic, count;
    uint16_t type;
    uint8_t safe;
    FIELD(veil_cursor_u32be(&c, &magic), "magic");
    if (magic != VEIL_TPM_GENERATED_VALUE)
        return veil_err(-EBADMSG, "TPM quote: magic is 0x%08x, expected TPM_GENERATED_VALUE 0xff544347", magic);
    FIELD(veil_cursor_u16be(&c, &type), "type");
    if (type != VEIL_TPM_ST_ATTEST_QUOTE)
        return veil_err(-EBADMSG, "TPM quote: type is 0x%04x, expected TPM_ST_ATTEST_QUOTE 0x8018", type);
    int r = tpm2b(&c, 2 + 64, "qualifiedSigner", NULL, NULL);
    if (r < 0) return r;
    r = tpm2b(&c, sizeof(q.extra_data), "extraData", q.extra_data, &q.extra_data_size);
    if (r < 0) return r;
    FIELD(veil_cursor_u64be(&c, &q.clock), "clockInfo.clock");
    FIELD(veil_cursor_u32be(&c, &q.reset_count), "clockInfo.resetCount");
    FIELD(veil_cursor_u32be(&c, &q.restart_count), "clockInfo.restartCount");
    FIELD(veil_cursor_u8(&c, &safe), "clockInfo.safe");
    FIELD(veil_cursor_u64be(&c, &q.firmware_version), "firmwareVersion");
    FIELD(veil_cursor_u32be(&c, &count), "pcrSelect.count");
    if (count != 1) return veil_err(-EBADMSG, "TPM quote: %u PCR banks selected, expected 1", count);
    uint8_t select_size, select[4] = { 0 };
    FIELD(veil_cursor_u16be(&c, &q.pcr_hash), "pcrSelections.hash");
    FIELD(veil_cursor_u8(&c, &select_size), "pcrSelections.sizeofSelect");
    if (select_size < 1 || select_size > 3)
        return veil_err(-EBADMSG, "TPM quote: sizeofSelect is %u, expected 1 to 3 (24 PCRs)", select_size);
    FIELD(veil_cursor_read(&c, select, select_size), "pcrSelections.pcrSelect");
    q.pcr_mask = (uint32_t)select[0] | (uint32_t)select[1] << 8 | (uint32_t)select[2] << 16;
    r = tpm2b(&c, sizeof(q.pcr_digest), "pcrDigest", q.pcr_digest, &q.pcr_digest_size);
    if (r < 0) return r;
    r = veil_cursor_expect_eof(&c);
    if (r < 0) return veil_err(r, "TPM quote: %zu bytes after pcrDigest", veil_cursor_remaining(&c));
    *ret = q;
    return 0;
}
