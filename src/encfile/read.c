/* SPDX-License-Identifier: Apache-2.0 */
/* Reading: verify the tree path of a node, then decrypt it (in place, many full nodes per pread). */
#include <limits.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "handle.h"

int encfile_load_tree_node(struct veil_encfile *f, unsigned level, uint64_t index) {
    if (f->loaded[level][index]) return 0;

    const struct encfile_entry *own;
    if (level == f->disk.depth)
        own = &f->header.root;
    else {
        int r = encfile_load_tree_node(f, level + 1, index / ENCFILE_FANOUT);
        if (r < 0) return r;
        own = &f->entries[level + 1][index];
    }
    uint8_t *children = (uint8_t *)(f->entries[level] + index * ENCFILE_FANOUT);
    size_t size = encfile_node_size(&f->disk, level, index);
    if (encfile_entry_is_hole(own))
        memset(children, 0, size);
    else {
        int r = veil_pread_all(f->fd, children, size, (off_t)encfile_node_offset(&f->disk, level, index));
        if (r >= 0) r = encfile_open_node(&f->keys, own, level, index, children, size, children);
        if (r < 0) {
            /* a wiped, unloaded node: its zeros must never be taken for holes */
            memset(children, 0, size);
            return r;
        }
    }
    f->loaded[level][index] = 1;
    return 0;
}

int encfile_data_entry(struct veil_encfile *f, uint64_t index, const struct encfile_entry **ret) {
    int r = encfile_load_tree_node(f, 1, index / ENCFILE_FANOUT);
    if (r < 0) return r;
    *ret = &f->entries[1][index];
    return 0;
}

bool encfile_node_on_disk(const struct veil_encfile *f, uint64_t index) {
    return index < f->keep_below && index < f->disk.count[0] && !encfile_dirty_find(f, index);
}

int encfile_view_node(struct veil_encfile *f, uint64_t index, uint8_t *out) {
    const uint8_t *d = encfile_dirty_find(f, index);
    if (d) {
        memcpy(out, d, ENCFILE_NODE_SIZE);
        return 0;
    }
    if (!encfile_node_on_disk(f, index)) {
        memset(out, 0, ENCFILE_NODE_SIZE);
        return 0;
    }
    const struct encfile_entry *e;
    int r = encfile_data_entry(f, index, &e);
    if (r < 0) return r;
    size_t size = encfile_node_size(&f->disk, 0, index);
    if (encfile_entry_is_hole(e))
        memset(out, 0, size);
    else {
        r = veil_pread_all(f->fd, out, size, (off_t)encfile_node_offset(&f->disk, 0, index));
        if (r >= 0) r = encfile_open_node(&f->keys, e, 0, index, out, size, out);
        if (r < 0) {
            veil_wipe(out, ENCFILE_NODE_SIZE);
            return r;
        }
    }
    memset(out + size, 0, ENCFILE_NODE_SIZE - size);
    return 0;
}

/* count full nodes starting at `index`, all clean on disk, read with one pread into out and decrypted in place;
 * holes cost neither the pread nor crypto */
static int read_run(struct veil_encfile *f, uint64_t index, uint64_t count, uint8_t *out) {
    size_t size = (size_t)count * ENCFILE_NODE_SIZE;
    const struct encfile_entry *e[ENCFILE_READ_RUN];
    bool any_data = false;
    int r = 0;
    for (uint64_t j = 0; j < count; j++) {
        r = encfile_data_entry(f, index + j, &e[j]);
        if (r < 0) return r;
        any_data |= !encfile_entry_is_hole(e[j]);
    }
    if (any_data) r = veil_pread_all(f->fd, out, size, (off_t)encfile_node_offset(&f->disk, 0, index));
    for (uint64_t j = 0; r >= 0 && j < count; j++) {
        uint8_t *node = out + j * ENCFILE_NODE_SIZE;
        if (encfile_entry_is_hole(e[j]))
            memset(node, 0, ENCFILE_NODE_SIZE);
        else
            r = encfile_open_node(&f->keys, e[j], 0, index + j, node, ENCFILE_NODE_SIZE, node);
    }
    if (r < 0) veil_wipe(out, size);
    return r;
}

static bool full_on_disk(const struct veil_encfile *f, uint64_t index) {
    return encfile_node_on_disk(f, index) && encfile_node_size(&f->disk, 0, index) == ENCFILE_NODE_SIZE;
}

/* Copy part of node `index` (not a full clean node) through the dirty table or the read cache. */
static int read_partial(struct veil_encfile *f, uint64_t index, size_t in, size_t n, uint8_t *out) {
    const uint8_t *d = encfile_dirty_find(f, index);
    if (!d) {
        if (!f->cache_valid || f->cache_index != index) {
            f->cache_valid = false;
            int r = encfile_view_node(f, index, f->cache);
            if (r < 0) return r;
            f->cache_valid = true;
            f->cache_index = index;
        }
        d = f->cache;
    }
    memcpy(out, d + in, n);
    return 0;
}

ssize_t veil_encfile_pread(struct veil_encfile *f, void *buf, size_t size, uint64_t offset) {
    uint8_t *out = buf;
    int usable = encfile_check_usable(f);
    if (usable < 0) return usable;
    if (offset >= f->size) return 0;
    size = (size_t)MIN((uint64_t)size, f->size - offset);
    if (size > SSIZE_MAX) size = SSIZE_MAX & ~(ENCFILE_NODE_SIZE - 1);

    for (size_t done = 0; done < size;) {
        uint64_t pos = offset + done, index = pos / ENCFILE_NODE_SIZE;
        size_t in = (size_t)(pos % ENCFILE_NODE_SIZE), n = MIN(ENCFILE_NODE_SIZE - in, size - done);
        int r;
        if (n == ENCFILE_NODE_SIZE && full_on_disk(f, index)) {
            uint64_t count = 1;
            while (count < ENCFILE_READ_RUN && done + (count + 1) * ENCFILE_NODE_SIZE <= size &&
                   full_on_disk(f, index + count))
                count++;
            r = read_run(f, index, count, out + done);
            n = (size_t)count * ENCFILE_NODE_SIZE;
        } else
            r = read_partial(f, index, in, n, out + done);
        if (r < 0) {
            /* no plaintext next to a failed node */
            veil_wipe(out, done);
            return r;
        }
        done += n;
    }
    return (ssize_t)size;
}

int veil_encfile_verify(struct veil_encfile *f) {
    int usable = encfile_check_usable(f);
    if (usable < 0) return usable;
    for (unsigned k = f->disk.depth; k >= 1; k--)
        for (uint64_t t = 0; t < f->disk.count[k]; t++) {
            int r = encfile_load_tree_node(f, k, t);
            if (r < 0) return r;
        }
    for (uint64_t i = 0; i < f->disk.count[0]; i++) {
        const struct encfile_entry *e;
        int r = encfile_data_entry(f, i, &e);
        if (r < 0) return r;
        if (encfile_entry_is_hole(e)) continue;
        size_t size = encfile_node_size(&f->disk, 0, i);
        f->cache_valid = false;
        r = veil_pread_all(f->fd, f->cache, size, (off_t)encfile_node_offset(&f->disk, 0, i));
        if (r >= 0) r = encfile_open_node(&f->keys, e, 0, i, f->cache, size, f->cache);
        if (r < 0) return r;
    }
    veil_wipe(f->cache, ENCFILE_NODE_SIZE);
    return 0;
}
