/* SPDX-License-Identifier: Apache-2.0 */
/* Buffers for keys and plaintext: wiped on free, locked in RAM where allowed, kept out of core dumps. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/*
 * A secbuf lives in its own anonymous mapping so that madvise(MADV_DONTDUMP)
 * and mlock() apply to it alone. mlock() is best effort: RLIMIT_MEMLOCK is small
 * in containers, and a failed lock is recorded in `locked` rather than fatal.
 * The owner frees it with veil_secbuf_free(), which wipes every byte first.
 */
struct veil_secbuf {
    uint8_t *data;
    size_t size;      /* bytes the owner asked for */
    size_t map_size;  /* page-rounded mapping size */
    int locked;       /* 1 when mlock() succeeded */
};

int veil_secbuf_new(size_t size, struct veil_secbuf **ret) _warn_unused_;
/* Allocate and fill with a copy of data. */
int veil_secbuf_dup(const void *data, size_t size, struct veil_secbuf **ret) _warn_unused_;
/* Grow or shrink, keeping min(old,new) bytes; the old mapping is wiped. */
int veil_secbuf_resize(struct veil_secbuf *b, size_t size) _warn_unused_;
void veil_secbuf_free(struct veil_secbuf *b);

static inline void veil_secbuf_freep(struct veil_secbuf **b) {
    if (*b) veil_secbuf_free(*b);
}
#define _cleanup_secbuf_ _cleanup_(veil_secbuf_freep)

/* Wipe memory in a way the compiler cannot elide. */
void veil_wipe(void *p, size_t size);
