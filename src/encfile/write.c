/* SPDX-License-Identifier: Apache-2.0 */
/* Writing: changed nodes wait, decrypted, in a table of secbuf-backed buffers until the next flush. */
#include <limits.h>
#include <string.h>

#include "base/err.h"
#include "handle.h"

static size_t slot_of(uint64_t index) {
    /* Fibonacci hashing; the table size is a power of two */
    return (size_t)((index * UINT64_C(0x9E3779B97F4A7C15)) >> 40) & (ENCFILE_DIRTY_TABLE_SIZE - 1);
}

uint8_t *encfile_dirty_find(const struct veil_encfile *f, uint64_t index) {
    if (!f->dirty_count) return NULL;
    for (size_t s = slot_of(index);; s = (s + 1) & (ENCFILE_DIRTY_TABLE_SIZE - 1)) {
        if (!f->dirty[s].data) return NULL;
        if (f->dirty[s].index == index) return f->dirty[s].data;
    }
}

static void dirty_insert(struct veil_encfile *f, uint64_t index, uint8_t *data) {
    size_t s = slot_of(index);
    while (f->dirty[s].data) s = (s + 1) & (ENCFILE_DIRTY_TABLE_SIZE - 1);
    f->dirty[s] = (struct encfile_dirty){ .index = index, .data = data };
    f->dirty_count++;
}

static int node_buffer(struct veil_encfile *f, uint8_t **ret) {
    if (!f->free_count) {
        struct veil_secbuf *slab;
        if (f->slab_count == ELEMENTSOF(f->slabs)) return -ENOBUFS;
        int r = veil_secbuf_new(ENCFILE_SLAB_NODES * ENCFILE_NODE_SIZE, &slab);
        if (r < 0) return r;
        f->slabs[f->slab_count++] = slab;
        for (size_t i = 0; i < ENCFILE_SLAB_NODES; i++) f->free_nodes[f->free_count++] = slab->data + i * ENCFILE_NODE_SIZE;
    }
    *ret = f->free_nodes[--f->free_count];
    return 0;
}

static void node_release(struct veil_encfile *f, uint8_t *data) {
    veil_wipe(data, ENCFILE_NODE_SIZE);
    f->free_nodes[f->free_count++] = data;
}

void encfile_dirty_clear(struct veil_encfile *f) {
    if (!f->dirty) return;
    for (size_t s = 0; s < ENCFILE_DIRTY_TABLE_SIZE; s++)
        if (f->dirty[s].data) node_release(f, f->dirty[s].data);
    memset(f->dirty, 0, ENCFILE_DIRTY_TABLE_SIZE * sizeof(*f->dirty));
    f->dirty_count = 0;
}

void encfile_dirty_free(struct veil_encfile *f) {
    encfile_dirty_clear(f);
    free(f->dirty);
    f->dirty = NULL;
    for (size_t i = 0; i < f->slab_count; i++) veil_secbuf_free(f->slabs[i]);
    f->slab_count = f->free_count = 0;
}

/* Drop dirty nodes at or above `first` (after a shrink); the table is rebuilt without them. */
static void dirty_drop_from(struct veil_encfile *f, uint64_t first) {
    if (!f->dirty_count) return;
    struct encfile_dirty keep[ENCFILE_DIRTY_MAX];
    size_t n = 0;
    for (size_t s = 0; s < ENCFILE_DIRTY_TABLE_SIZE; s++) {
        if (!f->dirty[s].data) continue;
        if (f->dirty[s].index >= first)
            node_release(f, f->dirty[s].data);
        else
            keep[n++] = f->dirty[s];
    }
    memset(f->dirty, 0, ENCFILE_DIRTY_TABLE_SIZE * sizeof(*f->dirty));
    f->dirty_count = 0;
    for (size_t i = 0; i < n; i++) dirty_insert(f, keep[i].index, keep[i].data);
}

/* The writable buffer of node `index`, filled with its current contents unless the caller overwrites all of it. */
static int dirty_get(struct veil_encfile *f, uint64_t index, bool overwrite, uint8_t **ret) {
    uint8_t *d = encfile_dirty_find(f, index);
    int r;
    if (d) {
        *ret = d;
        return 0;
    }
    if (f->dirty_count >= ENCFILE_DIRTY_MAX) {
        /* bound memory: the changes so far become a version of their own */
        r = veil_encfile_flush(f);
        if (r < 0) return r;
    }
    if (!f->dirty) {
        f->dirty = calloc(ENCFILE_DIRTY_TABLE_SIZE, sizeof(*f->dirty));
        if (!f->dirty) return -ENOMEM;
    }
    r = node_buffer(f, &d);
    if (r < 0) return r;
    if (overwrite)
        memset(d, 0, ENCFILE_NODE_SIZE);
    else {
        r = encfile_view_node(f, index, d);
        if (r < 0) {
            node_release(f, d);
            return r;
        }
    }
    dirty_insert(f, index, d);
    f->cache_valid = false;
    *ret = d;
    return 0;
}

static int resize(struct veil_encfile *f, uint64_t size) {
    uint64_t old = f->size;
    uint8_t *d;
    int r;
    if (size > VEIL_ENCFILE_MAX_SIZE)
        return veil_err(-EFBIG, "size %llu is larger than the format's limit", (unsigned long long)size);
    if (size == old) return 0;
    f->cache_valid = false;
    if (size > old) {
        /* the old last node grows: it must be re-sealed at its new length */
        if (old % ENCFILE_NODE_SIZE) {
            r = dirty_get(f, old / ENCFILE_NODE_SIZE, false, &d);
            if (r < 0) return r;
        }
    } else {
        uint64_t keep = (size + ENCFILE_NODE_SIZE - 1) / ENCFILE_NODE_SIZE;
        d = NULL;
        if (size % ENCFILE_NODE_SIZE) {
            r = dirty_get(f, size / ENCFILE_NODE_SIZE, false, &d);
            if (r < 0) return r;
        }
        dirty_drop_from(f, keep);
        f->keep_below = MIN(f->keep_below, keep);
        if (d) memset(d + size % ENCFILE_NODE_SIZE, 0, ENCFILE_NODE_SIZE - size % ENCFILE_NODE_SIZE);
    }
    f->size = size;
    f->changed = true;
    return 0;
}

int veil_encfile_truncate(struct veil_encfile *f, uint64_t size) {
    int r = encfile_check_usable(f);
    if (r < 0) return r;
    if (!f->writable) return veil_err(-EROFS, "encrypted file opened read-only");
    return resize(f, size);
}

ssize_t veil_encfile_pwrite(struct veil_encfile *f, const void *buf, size_t size, uint64_t offset) {
    const uint8_t *in = buf;
    int r = encfile_check_usable(f);
    if (r < 0) return r;
    if (!f->writable) return veil_err(-EROFS, "encrypted file opened read-only");
    if (size > SSIZE_MAX || offset > VEIL_ENCFILE_MAX_SIZE || size > VEIL_ENCFILE_MAX_SIZE - offset)
        return veil_err(-EFBIG, "write past the format's size limit");
    if (!size) return 0;
    if (offset + size > f->size) {
        r = resize(f, offset + size);
        if (r < 0) return r;
    }
    f->cache_valid = false;
    for (size_t done = 0; done < size;) {
        uint64_t pos = offset + done, index = pos / ENCFILE_NODE_SIZE;
        size_t at = (size_t)(pos % ENCFILE_NODE_SIZE), n = MIN(ENCFILE_NODE_SIZE - at, size - done);
        uint64_t node_end = MIN(ENCFILE_NODE_SIZE, f->size - index * ENCFILE_NODE_SIZE);
        uint8_t *d;
        r = dirty_get(f, index, at == 0 && n >= node_end, &d);
        if (r < 0) return r;
        memcpy(d + at, in + done, n);
        f->changed = true;
        done += n;
    }
    return (ssize_t)size;
}
