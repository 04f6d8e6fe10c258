/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: an open encrypted file (struct veil_encfile) shared by the read, write and flush code. */
#pragma once

#include <sys/types.h>

#include "base/secbuf.h"
#include "format.h"

/* Dirty data nodes wait in memory until a flush; at most this many at once. */
#define ENCFILE_DIRTY_MAX (VEIL_ENCFILE_DIRTY_LIMIT / ENCFILE_NODE_SIZE)
#define ENCFILE_DIRTY_TABLE_SIZE (2 * ENCFILE_DIRTY_MAX) /* open addressing, power of two */
#define ENCFILE_SLAB_NODES 16                            /* node buffers per secbuf slab */
/* Full nodes read with one pread and decrypted in place: 256 KiB, so the copy is still in L2 when it is decrypted. */
#define ENCFILE_READ_RUN 4

struct encfile_dirty {
    uint64_t index;
    uint8_t *data; /* ENCFILE_NODE_SIZE bytes of plaintext, NULL = empty slot */
};

struct veil_encfile {
    int fd;             /* the file as on disk; -1 while a new file has never been flushed */
    char *disk_path;    /* where flush writes; NULL for read-only handles from an fd */
    char *logical_path;
    bool writable;
    mode_t mode;        /* kept by flush, with the owner when we may */
    uid_t uid;
    gid_t gid;

    /* volume key (32) | header key (32) | read cache (one node) */
    struct veil_secbuf *secret;
    uint8_t *volume_key, *hdr_key, *cache;
    uint64_t cache_index;
    bool cache_valid;
    struct encfile_keys keys;

    /* the authenticated state on disk */
    struct encfile_header header;
    struct encfile_geometry disk;
    /* entries[k][j] is the entry of node (k-1, j), valid once loaded[k][j / FANOUT] */
    struct encfile_entry *entries[ENCFILE_MAX_DEPTH + 1];
    uint8_t *loaded[ENCFILE_MAX_DEPTH + 1];

    /* the current view: disk state plus changes */
    uint64_t size;
    uint64_t keep_below; /* disk data nodes at or above this index were truncated away */
    bool changed;
    bool broken; /* a flush committed but the handle could not follow it: every call fails */
    struct encfile_dirty *dirty; /* ENCFILE_DIRTY_TABLE_SIZE slots, allocated on first write */
    size_t dirty_count;
    struct veil_secbuf *slabs[ENCFILE_DIRTY_MAX / ENCFILE_SLAB_NODES];
    size_t slab_count;
    uint8_t *free_nodes[ENCFILE_DIRTY_MAX];
    size_t free_count;
};

/* read.c */
int encfile_load_tree_node(struct veil_encfile *f, unsigned level, uint64_t index) _warn_unused_;
/* The entry of data node i of the disk state (loading its tree path). */
int encfile_data_entry(struct veil_encfile *f, uint64_t index, const struct encfile_entry **ret) _warn_unused_;
/* The plaintext of node i in the current view, zero-padded to a full node. */
int encfile_view_node(struct veil_encfile *f, uint64_t index, uint8_t *out) _warn_unused_;
bool encfile_node_on_disk(const struct veil_encfile *f, uint64_t index);

/* write.c */
uint8_t *encfile_dirty_find(const struct veil_encfile *f, uint64_t index);
void encfile_dirty_clear(struct veil_encfile *f);
void encfile_dirty_free(struct veil_encfile *f);

/* -EIO (with a detail) when the handle is broken, else 0 */
int encfile_check_usable(const struct veil_encfile *f) _warn_unused_;

/*
 * flush-in-place.c: whether an in-place write-back fits (the journal is small
 * beside the file), and doing it. -EAGAIN when it cannot be done in place
 * (nothing written); other errors after the commit leave the handle broken.
 */
bool encfile_in_place_fits(const struct veil_encfile *f, const struct encfile_geometry *g);
int encfile_flush_in_place(struct veil_encfile *f, const struct encfile_geometry *g, const uint8_t salt[ENCFILE_SALT_SIZE],
                           struct encfile_entry *level0, struct encfile_header *header) _warn_unused_;

/* encfile.c: replace the disk state after a flush */
void encfile_free_tree(struct veil_encfile *f);
int encfile_alloc_tree(struct veil_encfile *f) _warn_unused_;
