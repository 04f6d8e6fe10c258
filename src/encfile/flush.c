/* SPDX-License-Identifier: Apache-2.0 */
/* Flush: the next version in place through a journal (flush-in-place.c), or as a new file renamed over the old one. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "handle.h"

/* Copy a byte range between files in the kernel (reflinked where the filesystem can), else by hand. */
static int copy_range(int from, int to, uint64_t offset, uint64_t size) {
    loff_t in = (loff_t)offset, out = (loff_t)offset;
    while (size) {
        ssize_t n = copy_file_range(from, &in, to, &out, (size_t)MIN(size, (uint64_t)1 << 30), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size -= (uint64_t)n;
    }
    if (!size) return 0;
    _cleanup_free_ uint8_t *buf = malloc(ENCFILE_NODE_SIZE);
    if (!buf) return -ENOMEM;
    while (size) {
        size_t n = (size_t)MIN(size, ENCFILE_NODE_SIZE);
        int r = veil_pread_all(from, buf, n, in);
        if (r >= 0) r = veil_pwrite_all(to, buf, n, out);
        if (r < 0) return r;
        in += (loff_t)n;
        out += (loff_t)n;
        size -= n;
    }
    return 0;
}

/* Level-0 entries of the next version: sealed dirty nodes, carried-over clean nodes (copied as ciphertext), holes. */
static int write_data(struct veil_encfile *f, int fd, const struct encfile_geometry *g, const uint8_t salt[ENCFILE_SALT_SIZE],
                      struct encfile_entry *level0) {
    _cleanup_free_ uint8_t *sealed = malloc(ENCFILE_NODE_SIZE);
    uint64_t run_start = 0, run_size = 0; /* pending copy of clean ciphertext */
    int r;
    if (!sealed) return -ENOMEM;
    for (uint64_t i = 0; i < g->count[0]; i++) {
        const uint8_t *d = encfile_dirty_find(f, i);
        if (d) {
            size_t size = encfile_node_size(g, 0, i);
            r = encfile_seal_node(&f->keys, salt, 0, i, d, size, sealed, &level0[i]);
            if (r >= 0) r = veil_pwrite_all(fd, sealed, size, (off_t)encfile_node_offset(g, 0, i));
            if (r < 0) return r;
            continue;
        }
        if (!encfile_node_on_disk(f, i)) continue; /* hole */
        const struct encfile_entry *e;
        r = encfile_data_entry(f, i, &e);
        if (r < 0) return r;
        level0[i] = *e;
        if (encfile_entry_is_hole(e)) continue;
        uint64_t offset = encfile_node_offset(g, 0, i), size = encfile_node_size(&f->disk, 0, i);
        if (run_size && run_start + run_size == offset)
            run_size += size;
        else {
            if (run_size && (r = copy_range(f->fd, fd, run_start, run_size)) < 0) return r;
            run_start = offset;
            run_size = size;
        }
    }
    if (run_size && (r = copy_range(f->fd, fd, run_start, run_size)) < 0) return r;
    return 0;
}

/* The handle now reads the new version: its disk state, with the level-0 entries just computed. */
static int adopt(struct veil_encfile *f, const struct encfile_header *header, const struct encfile_geometry *g,
                 struct encfile_entry **level0) {
    encfile_free_tree(f);
    f->header = *header;
    f->disk = *g;
    int r = encfile_alloc_tree(f);
    if (r < 0) {
        f->broken = true;
        return r;
    }
    free(f->entries[1]);
    f->entries[1] = TAKE_PTR(*level0);
    memset(f->loaded[1], 1, g->count[1]);
    encfile_dirty_clear(f);
    f->keep_below = g->count[0];
    f->cache_valid = false;
    f->changed = false;
    return 0;
}

/* The next version as a new file, renamed over the old one. */
static int flush_by_copy(struct veil_encfile *f, const struct encfile_geometry *g, struct encfile_entry *level0,
                         struct encfile_header *header) {
    uint8_t salt[ENCFILE_SALT_SIZE];
    struct veil_atomic_file pending;
    int r = encfile_new_salt(salt);
    if (r < 0) return r;
    r = veil_atomic_begin(f->disk_path, f->mode, &pending);
    if (r < 0) return r;
    if (fchown(pending.fd, f->uid, f->gid) < 0) { /* best effort: not root */ }
    r = write_data(f, pending.fd, g, salt, level0);
    if (r >= 0) r = encfile_write_tree(pending.fd, &f->keys, salt, g, level0, f->hdr_key, f->logical_path, header);
    if (r < 0) {
        veil_atomic_abort(&pending);
        return r;
    }
    r = veil_atomic_commit(&pending);
    if (r < 0) return r;
    int fd = open(f->disk_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        /* fail closed: the handle cannot read what it wrote, so it refuses everything */
        f->broken = true;
        return veil_err(r, "cannot reopen the flushed file");
    }
    if (f->fd >= 0) close(f->fd);
    f->fd = fd;
    return 0;
}

static int flush_as(struct veil_encfile *f, uint64_t version) {
    struct encfile_geometry g;
    int r;

    if ((r = encfile_check_usable(f)) < 0) return r;
    if (!f->writable) return veil_err(-EROFS, "encrypted file opened read-only");
    r = encfile_geometry(f->size, &g);
    if (r < 0) return r;
    size_t entries = (size_t)MAX((uint64_t)1, g.count[0]);
    _cleanup_free_ struct encfile_entry *level0 = calloc(entries, sizeof(*level0));
    if (!level0) return -ENOMEM;
    struct encfile_header header = f->header;
    header.version = version;

    r = -EAGAIN;
    if (encfile_in_place_fits(f, &g)) {
        uint8_t salt[ENCFILE_SALT_SIZE];
        r = encfile_new_salt(salt);
        if (r >= 0) r = encfile_flush_in_place(f, &g, salt, level0, &header);
        if (r == -EAGAIN) memset(level0, 0, entries * sizeof(*level0)); /* not here: a copy instead */
    }
    if (r == -EAGAIN) r = flush_by_copy(f, &g, level0, &header);
    if (r < 0) return r;
    return adopt(f, &header, &g, &level0);
}

int veil_encfile_flush(struct veil_encfile *f) {
    int r = encfile_check_usable(f);
    if (r < 0) return r;
    if (!f->writable) return veil_err(-EROFS, "encrypted file opened read-only");
    if (!f->changed) return 0;
    if (f->header.version == UINT64_MAX) return veil_err(-EOVERFLOW, "version counter exhausted");
    return flush_as(f, f->header.version + 1);
}

int veil_encfile_flush_version(struct veil_encfile *f, uint64_t version) {
    int r = encfile_check_usable(f);
    if (r < 0) return r;
    if (!f->writable) return veil_err(-EROFS, "encrypted file opened read-only");
    /* unlike flush, also when nothing changed: the caller asked for this version on disk */
    return flush_as(f, version);
}

int veil_encfile_close(struct veil_encfile *f) {
    int r = f->writable || f->broken ? veil_encfile_flush(f) : 0;
    veil_encfile_free(f);
    return r;
}
