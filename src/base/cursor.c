/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded reads over untrusted bytes. */
#include "cursor.h"

#include <string.h>

#include "err.h"

int veil_cursor_borrow(struct veil_cursor *c, size_t size, const uint8_t **ret) {
    if (size > veil_cursor_remaining(c))
        return veil_err(-EBADMSG, "input truncated: need %zu bytes at offset %zu, have %zu", size,
                        c->pos, veil_cursor_remaining(c));
    *ret = c->data + c->pos;
    c->pos += size;
    return 0;
}

int veil_cursor_read(struct veil_cursor *c, void *out, size_t size) {
    const uint8_t *p;
    int r = veil_cursor_borrow(c, size, &p);
    if (r < 0) return r;
    if (size) memcpy(out, p, size);
    return 0;
}

int veil_cursor_skip(struct veil_cursor *c, size_t size) {
    const uint8_t *p;
    return veil_cursor_borrow(c, size, &p);
}

int veil_cursor_sub(struct veil_cursor *c, size_t size, struct veil_cursor *ret) {
    const uint8_t *p;
    int r = veil_cursor_borrow(c, size, &p);
    if (r < 0) return r;
    *ret = veil_cursor_make(p, size);
    return 0;
}

int veil_cursor_seek(struct veil_cursor *c, size_t pos) {
    if (pos > c->size) return veil_err(-EBADMSG, "offset %zu beyond input of %zu bytes", pos, c->size);
    c->pos = pos;
    return 0;
}

int veil_cursor_expect_eof(const struct veil_cursor *c) {
    if (!veil_cursor_eof(c))
        return veil_err(-EBADMSG, "%zu unexpected trailing bytes", veil_cursor_remaining(c));
    return 0;
}

#define DEFINE_INT_READER(name, type, load, width)                                                 \
    int name(struct veil_cursor *c, type *ret) {                                                   \
        const uint8_t *p;                                                                          \
        int r = veil_cursor_borrow(c, width, &p);                                                  \
        if (r < 0) return r;                                                                       \
        *ret = load(p);                                                                            \
        return 0;                                                                                  \
    }

static inline uint8_t load_u8(const uint8_t *p) {
    return p[0];
}

DEFINE_INT_READER(veil_cursor_u8, uint8_t, load_u8, 1)
DEFINE_INT_READER(veil_cursor_u16le, uint16_t, veil_load_u16le, 2)
DEFINE_INT_READER(veil_cursor_u32le, uint32_t, veil_load_u32le, 4)
DEFINE_INT_READER(veil_cursor_u64le, uint64_t, veil_load_u64le, 8)
DEFINE_INT_READER(veil_cursor_u16be, uint16_t, veil_load_u16be, 2)
DEFINE_INT_READER(veil_cursor_u32be, uint32_t, veil_load_u32be, 4)
DEFINE_INT_READER(veil_cursor_u64be, uint64_t, veil_load_u64be, 8)
