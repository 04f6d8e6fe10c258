/* SPDX-License-Identifier: Apache-2.0 */
/* A bounded read cursor: the only way parsers read untrusted bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * A cursor borrows a buffer it does not own. Every read checks the remaining
 * length first and fails with -EBADMSG (leaving the position unchanged) when
 * the input is too short, so parsers never do pointer arithmetic themselves.
 */
struct veil_cursor {
    const uint8_t *data;
    size_t size;
    size_t pos;
};

static inline struct veil_cursor veil_cursor_make(const void *data, size_t size) {
    return (struct veil_cursor){ .data = data, .size = size, .pos = 0 };
}

static inline size_t veil_cursor_remaining(const struct veil_cursor *c) {
    return c->size - c->pos;
}

static inline bool veil_cursor_eof(const struct veil_cursor *c) {
    return c->pos == c->size;
}

int veil_cursor_read(struct veil_cursor *c, void *out, size_t size) _warn_unused_;
int veil_cursor_skip(struct veil_cursor *c, size_t size) _warn_unused_;
/* Point *ret at the next `size` bytes inside the buffer and advance past them. */
int veil_cursor_borrow(struct veil_cursor *c, size_t size, const uint8_t **ret) _warn_unused_;
/* A cursor over the next `size` bytes, advancing this one past them. */
int veil_cursor_sub(struct veil_cursor *c, size_t size, struct veil_cursor *ret) _warn_unused_;
/* Move to an absolute offset (<= size). */
int veil_cursor_seek(struct veil_cursor *c, size_t pos) _warn_unused_;
/* Fail with -EBADMSG unless every byte was consumed. */
int veil_cursor_expect_eof(const struct veil_cursor *c) _warn_unused_;

int veil_cursor_u8(struct veil_cursor *c, uint8_t *ret) _warn_unused_;
int veil_cursor_u16le(struct veil_cursor *c, uint16_t *ret) _warn_unused_;
int veil_cursor_u32le(struct veil_cursor *c, uint32_t *ret) _warn_unused_;
int veil_cursor_u64le(struct veil_cursor *c, uint64_t *ret) _warn_unused_;
int veil_cursor_u16be(struct veil_cursor *c, uint16_t *ret) _warn_unused_;
int veil_cursor_u32be(struct veil_cursor *c, uint32_t *ret) _warn_unused_;
int veil_cursor_u64be(struct veil_cursor *c, uint64_t *ret) _warn_unused_;

/* Explicit-endian loads and stores for fixed layouts. */
static inline uint16_t veil_load_u16le(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t veil_load_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t veil_load_u64le(const uint8_t *p) {
    return (uint64_t)veil_load_u32le(p) | (uint64_t)veil_load_u32le(p + 4) << 32;
}
static inline uint16_t veil_load_u16be(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t veil_load_u32be(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline uint64_t veil_load_u64be(const uint8_t *p) {
    return (uint64_t)veil_load_u32be(p) << 32 | (uint64_t)veil_load_u32be(p + 4);
}
static inline void veil_store_u16le(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void veil_store_u32le(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void veil_store_u64le(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void veil_store_u16be(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void veil_store_u32be(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * (3 - i)));
}
static inline void veil_store_u64be(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * (7 - i)));
}
