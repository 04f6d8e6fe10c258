/* SPDX-License-Identifier: Apache-2.0 */
/* DER TLV reading for certificate extensions: every byte goes through the cursor. */
#include "collateral-der.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"

int veil_der_read(struct veil_cursor *c, uint8_t *ret_tag, struct veil_cursor *ret_value) {
    uint8_t tag, first;
    int r = veil_cursor_u8(c, &tag);
    if (r < 0) return veil_err(r, "DER: missing tag at offset %zu", c->pos);
    if ((tag & 0x1f) == 0x1f) return veil_err(-EBADMSG, "DER: multi-byte tag 0x%02x unsupported", tag);
    r = veil_cursor_u8(c, &first);
    if (r < 0) return veil_err(r, "DER: missing length at offset %zu", c->pos);
    size_t length = first;
    if (first & 0x80) {
        unsigned n = first & 0x7f;
        if (n == 0 || n > 3) return veil_err(-EBADMSG, "DER: length form 0x%02x unsupported", first);
        length = 0;
        for (unsigned i = 0; i < n; i++) {
            uint8_t b;
            r = veil_cursor_u8(c, &b);
            if (r < 0) return veil_err(r, "DER: truncated length");
            length = length << 8 | b;
        }
    }
    if (length > VEIL_DER_MAX_LENGTH) return veil_err(-EBADMSG, "DER: length %zu over the limit", length);
    r = veil_cursor_sub(c, length, ret_value);
    if (r < 0) return veil_err(r, "DER: value of tag 0x%02x truncated (%zu bytes declared)", tag, length);
    *ret_tag = tag;
    return 0;
}

int veil_der_expect(struct veil_cursor *c, uint8_t tag, struct veil_cursor *ret_value) {
    uint8_t got;
    struct veil_cursor value;
    size_t at = c->pos;
    int r = veil_der_read(c, &got, &value);
    if (r < 0) return r;
    if (got != tag) {
        c->pos = at;
        return veil_err(-EBADMSG, "DER: expected tag 0x%02x, got 0x%02x", tag, got);
    }
    *ret_value = value;
    return 0;
}

int veil_der_uint(struct veil_cursor value, uint64_t *ret) {
    size_t size = veil_cursor_remaining(&value);
    if (size == 0) return veil_err(-EBADMSG, "DER: empty INTEGER");
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++) {
        uint8_t b;
        int r = veil_cursor_u8(&value, &b);
        if (r < 0) return r;
        if (i == 0 && (b & 0x80)) return veil_err(-EBADMSG, "DER: negative INTEGER");
        if (i == 0 && b == 0 && size > 1) continue; /* sign padding */
        if (v >> 56) return veil_err(-EBADMSG, "DER: INTEGER wider than 64 bits");
        v = v << 8 | b;
    }
    *ret = v;
    return 0;
}

int veil_der_oid_equals(struct veil_cursor value, const char *oid) {
    /* Render the encoded OID as dotted text (X.690 8.19), then compare. */
    char text[128] = "";
    size_t used = 0;
    uint64_t arc = 0;
    bool first = true;
    while (!veil_cursor_eof(&value)) {
        uint8_t b;
        if (veil_cursor_u8(&value, &b) < 0) return 0;
        if (arc >> 56) return 0;
        arc = arc << 7 | (b & 0x7f);
        if (b & 0x80) continue;
        int n;
        if (first) {
            unsigned top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
            n = snprintf(text + used, sizeof(text) - used, "%u.%llu", top,
                         (unsigned long long)(arc - 40 * top));
            first = false;
        } else
            n = snprintf(text + used, sizeof(text) - used, ".%llu", (unsigned long long)arc);
        if (n < 0 || (size_t)n >= sizeof(text) - used) return 0;
        used += (size_t)n;
        arc = 0;
    }
    return !first && arc == 0 && strcmp(text, oid) == 0;
}
