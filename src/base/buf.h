/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer with a hard size limit, for encoders. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * Encoders append into a veil_buf. The owner sets `limit` (0 means
 * VEIL_BUF_DEFAULT_LIMIT) so that no encoder can be driven to allocate without
 * bound; an append past the limit fails with -E2BIG and leaves the buffer as it was.
 * The buffer owns `data`; veil_buf_done() frees it. Not for secrets (see secbuf.h).
 */
#define VEIL_BUF_DEFAULT_LIMIT ((size_t)1 << 30)

struct veil_buf {
    uint8_t *data;
    size_t size;
    size_t capacity;
    size_t limit;
};

int veil_buf_reserve(struct veil_buf *b, size_t extra) _warn_unused_;
int veil_buf_append(struct veil_buf *b, const void *data, size_t size) _warn_unused_;
int veil_buf_append_u8(struct veil_buf *b, uint8_t v) _warn_unused_;
int veil_buf_append_u16le(struct veil_buf *b, uint16_t v) _warn_unused_;
int veil_buf_append_u32le(struct veil_buf *b, uint32_t v) _warn_unused_;
int veil_buf_append_u64le(struct veil_buf *b, uint64_t v) _warn_unused_;
int veil_buf_append_u32be(struct veil_buf *b, uint32_t v) _warn_unused_;
int veil_buf_append_zeros(struct veil_buf *b, size_t size) _warn_unused_;
/* Append printf-formatted text (no terminating NUL counted in size, but one is kept after it). */
int veil_buf_printf(struct veil_buf *b, const char *fmt, ...) _printf_(2, 3) _warn_unused_;
/* Hand the bytes to the caller (who frees them) and reset the buffer. */
uint8_t *veil_buf_steal(struct veil_buf *b, size_t *ret_size);
void veil_buf_done(struct veil_buf *b);
