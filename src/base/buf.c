/* SPDX-License-Identifier: Apache-2.0 */
/* Growable, limited byte buffers for encoders. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "err.h"

int veil_buf_reserve(struct veil_buf *b, size_t extra) {
    size_t limit = b->limit ? b->limit : VEIL_BUF_DEFAULT_LIMIT;
    size_t need;
    if (veil_size_add(b->size, extra, &need) < 0 || need > limit)
        return veil_err(-E2BIG, "buffer limit of %zu bytes exceeded", limit);
    /* keep one spare byte so printf output stays NUL-terminated */
    if (need + 1 <= b->capacity) return 0;
    size_t cap = b->capacity ? b->capacity : 256;
    while (cap < need + 1) cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return -ENOMEM;
    b->data = p;
    b->capacity = cap;
    return 0;
}

int veil_buf_append(struct veil_buf *b, const void *data, size_t size) {
    int r = veil_buf_reserve(b, size);
    if (r < 0) return r;
    if (size) memcpy(b->data + b->size, data, size);
    b->size += size;
    b->data[b->size] = 0;
    return 0;
}

int veil_buf_append_zeros(struct veil_buf *b, size_t size) {
    int r = veil_buf_reserve(b, size);
    if (r < 0) return r;
    memset(b->data + b->size, 0, size + 1);
    b->size += size;
    return 0;
}

int veil_buf_append_u8(struct veil_buf *b, uint8_t v) {
    return veil_buf_append(b, &v, 1);
}

int veil_buf_append_u16le(struct veil_buf *b, uint16_t v) {
    uint8_t p[2];
    veil_store_u16le(p, v);
    return veil_buf_append(b, p, sizeof(p));
}

int veil_buf_append_u32le(struct veil_buf *b, uint32_t v) {
    uint8_t p[4];
    veil_store_u32le(p, v);
    return veil_buf_append(b, p, sizeof(p));
}

int veil_buf_append_u64le(struct veil_buf *b, uint64_t v) {
    uint8_t p[8];
    veil_store_u64le(p, v);
    return veil_buf_append(b, p, sizeof(p));
}

int veil_buf_append_u32be(struct veil_buf *b, uint32_t v) {
    uint8_t p[4];
    veil_store_u32be(p, v);
    return veil_buf_append(b, p, sizeof(p));
}

int veil_buf_printf(struct veil_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return -EINVAL;
    int r = veil_buf_reserve(b, (size_t)n);
    if (r < 0) return r;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->size, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->size += (size_t)n;
    return 0;
}

uint8_t *veil_buf_steal(struct veil_buf *b, size_t *ret_size) {
    uint8_t *p = b->data;
    if (ret_size) *ret_size = b->size;
    b->data = NULL;
    b->size = b->capacity = 0;
    return p;
}

void veil_buf_done(struct veil_buf *b) {
    free(b->data);
    b->data = NULL;
    b->size = b->capacity = 0;
}
