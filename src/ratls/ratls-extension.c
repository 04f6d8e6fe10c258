/* SPDX-License-Identifier: Apache-2.0 */
/* The evidence extension's value: one CBOR tag (RFC 8949 §3.4) around one byte string, minimal encodings only. */
#include "base/cursor.h"
#include "base/err.h"
#include "ratls.h"

#define CBOR_MAJOR_BYTES 2
#define CBOR_MAJOR_TAG 6

static int put_head(struct veil_buf *out, uint8_t major, uint64_t value) {
    int r;
    if (value < 24) return veil_buf_append_u8(out, (uint8_t)(major << 5 | value));
    if (value <= UINT8_MAX) {
        r = veil_buf_append_u8(out, (uint8_t)(major << 5 | 24));
        return r < 0 ? r : veil_buf_append_u8(out, (uint8_t)value);
    }
    if (value <= UINT16_MAX) {
        uint8_t b[2];
        veil_store_u16be(b, (uint16_t)value);
        r = veil_buf_append_u8(out, (uint8_t)(major << 5 | 25));
        return r < 0 ? r : veil_buf_append(out, b, sizeof(b));
    }
    if (value <= UINT32_MAX) {
        r = veil_buf_append_u8(out, (uint8_t)(major << 5 | 26));
        return r < 0 ? r : veil_buf_append_u32be(out, (uint32_t)value);
    }
    uint8_t b[8];
    veil_store_u64be(b, value);
    r = veil_buf_append_u8(out, (uint8_t)(major << 5 | 27));
    return r < 0 ? r : veil_buf_append(out, b, sizeof(b));
}

/* One CBOR head; refuses indefinite lengths and non-minimal (non-preferred) encodings. */
static int get_head(struct veil_cursor *c, uint8_t *ret_major, uint64_t *ret_value) {
    uint8_t first;
    if (veil_cursor_u8(c, &first) < 0) return veil_err(-EBADMSG, "RA-TLS extension: truncated CBOR");
    uint8_t info = first & 0x1f;
    uint64_t v;
    if (info < 24)
        v = info;
    else if (info == 24) {
        uint8_t b;
        if (veil_cursor_u8(c, &b) < 0) return veil_err(-EBADMSG, "RA-TLS extension: truncated CBOR");
        v = b;
        if (v < 24) return veil_err(-EBADMSG, "RA-TLS extension: non-minimal CBOR length");
    } else if (info == 25) {
        uint16_t b;
        if (veil_cursor_u16be(c, &b) < 0) return veil_err(-EBADMSG, "RA-TLS extension: truncated CBOR");
        v = b;
        if (v <= UINT8_MAX) return veil_err(-EBADMSG, "RA-TLS extension: non-minimal CBOR length");
    } else if (info == 26) {
        uint32_t b;
        if (veil_cursor_u32be(c, &b) < 0) return veil_err(-EBADMSG, "RA-TLS extension: truncated CBOR");
        v = b;
        if (v <= UINT16_MAX) return veil_err(-EBADMSG, "RA-TLS extension: non-minimal CBOR length");
    } else if (info == 27) {
        if (veil_cursor_u64be(c, &v) < 0) return veil_err(-EBADMSG, "RA-TLS extension: truncated CBOR");
        if (v <= UINT32_MAX) return veil_err(-EBADMSG, "RA-TLS extension: non-minimal CBOR length");
    } else
        return veil_err(-EBADMSG, "RA-TLS extension: unsupported CBOR head 0x%02x", first);
    *ret_major = first >> 5;
    *ret_value = v;
    return 0;
}

int veil_ratls_extension_encode(const uint8_t *envelope, size_t size, struct veil_buf *out) {
    size_t start = out->size;
    int r = put_head(out, CBOR_MAJOR_TAG, VEIL_RATLS_CBOR_TAG);
    if (r >= 0) r = put_head(out, CBOR_MAJOR_BYTES, size);
    if (r >= 0) r = veil_buf_append(out, envelope, size);
    if (r < 0) out->size = start;
    return r;
}

int veil_ratls_extension_parse(const uint8_t *data, size_t size, const uint8_t **ret_envelope, size_t *ret_size) {
    struct veil_cursor c = veil_cursor_make(data, size);
    uint8_t major;
    uint64_t value;
    int r = get_head(&c, &major, &value);
    if (r < 0) return r;
    if (major != CBOR_MAJOR_TAG) return veil_err(-EBADMSG, "RA-TLS extension: not a CBOR tag");
    if (value != VEIL_RATLS_CBOR_TAG)
        return veil_err(-EBADMSG, "RA-TLS extension: evidence format tag %llu is not veil's", (unsigned long long)value);
    r = get_head(&c, &major, &value);
    if (r < 0) return r;
    if (major != CBOR_MAJOR_BYTES) return veil_err(-EBADMSG, "RA-TLS extension: tagged item is not a byte string");
    if (value > VEIL_EVIDENCE_MAX_SIZE) return veil_err(-EBADMSG, "RA-TLS extension: evidence too large");
    const uint8_t *envelope;
    if (veil_cursor_borrow(&c, (size_t)value, &envelope) < 0) return veil_err(-EBADMSG, "RA-TLS extension: evidence truncated");
    if (veil_cursor_expect_eof(&c) < 0) return veil_err(-EBADMSG, "RA-TLS extension: trailing bytes");
    *ret_envelope = envelope;
    *ret_size = (size_t)value;
    return 0;
}
