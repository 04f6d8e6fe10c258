/* SPDX-License-Identifier: Apache-2.0 */
/* Pass 2 of wrap: copies the flattened image's files into the output layer, hashing and encrypting on the way. */
#include "emit.h"

#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/secbuf.h"
#include "encfile/encfile.h"
#include "layer.h"
#include "manifest/file-digest.h"
#include "progress.h"
#include "rootfs.h"

#define COPY_BLOCK ((size_t)256 << 10)
#define SMALL_CIPHERTEXT ((uint64_t)4 << 20) /* ciphertexts up to this size are encoded in memory */

VEIL_DEFINE_CLEANUP(struct archive_entry *, archive_entry_free, archive_entry_freep)

void image_entry_from_node(struct archive_entry *ae, const struct image_node *n, const char *name) {
    archive_entry_set_pathname(ae, name);
    archive_entry_set_perm(ae, n->mode);
    archive_entry_set_uid(ae, n->uid);
    archive_entry_set_gid(ae, n->gid);
    archive_entry_set_mtime(ae, n->mtime, 0);
    switch (n->type) {
    case IMAGE_NODE_DIR:
        archive_entry_set_filetype(ae, AE_IFDIR);
        break;
    case IMAGE_NODE_SYMLINK:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, n->target);
        break;
    case IMAGE_NODE_FILE:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, (la_int64_t)n->size);
        break;
    }
}

static int writer_err(struct archive *w, const char *what) {
    const char *s = archive_error_string(w);
    return veil_err(-EIO, "writing %s: %s", what, s ? s : "failed");
}

static char *entry_name(const struct image_emit *e, const struct image_node *n) {
    char *name;
    if (asprintf(&name, "%s%s", e->name_prefix, n->path + 1) < 0) return NULL;
    return name;
}

static int write_header(struct image_emit *e, const struct image_node *n, uint64_t size, const char *hardlink_to) {
    if (!e->writer) return 0; /* verbatim mode: the layers are copied, not written */
    _cleanup_(archive_entry_freep) struct archive_entry *ae = archive_entry_new();
    _cleanup_free_ char *name = entry_name(e, n);
    if (!ae || !name) return -ENOMEM;
    image_entry_from_node(ae, n, name);
    if (n->type == IMAGE_NODE_FILE) archive_entry_set_size(ae, (la_int64_t)size);
    if (hardlink_to) {
        archive_entry_set_hardlink(ae, hardlink_to);
        archive_entry_set_size(ae, 0);
    }
    if (archive_write_header(e->writer, ae) != ARCHIVE_OK) return writer_err(e->writer, n->path);
    return 0;
}

static int write_data(struct image_emit *e, const void *buf, size_t size, const char *what) {
    if (size == 0 || !e->writer) return 0;
    la_ssize_t w = archive_write_data(e->writer, buf, size);
    if (w < 0 || (size_t)w != size) return writer_err(e->writer, what);
    return 0;
}

/* Where the content of a group of nodes comes from, read block by block. */
struct content {
    struct archive *a; /* archive source */
    int fd;            /* file source (root directory) */
    uint64_t offset;   /* bytes handed out so far */
    uint8_t *buf;
    /* archive source: a block not handed out yet (it follows a hole of a sparse member) */
    const void *pending;
    size_t pending_size;
    uint64_t pending_offset;
    bool has_pending, eof;
    bool sparse;       /* a sparse member: a trailing hole reads as zeros up to `size` */
    uint64_t size;
};

/*
 * Reused by every encrypted file of one emit: the plaintext (one private copy, so
 * the two passes of the deterministic encoding see the same bytes), and where the
 * ciphertext is encoded before it is copied into the archive — a memory file for
 * small files, an unnamed file next to the output for large ones (memory stays
 * bounded by the largest plaintext). No file per encrypted file: making, syncing,
 * renaming and removing one each time was most of the cost of small files.
 */
struct scratch {
    uint8_t *buf; /* COPY_BLOCK bytes: blocks read from a root directory, ciphertext copied out */
    uint8_t *plain;
    size_t plain_cap;
    int small_fd, large_fd; /* -1 until first needed */
    const char *tmp_dir;
};

static void scratch_done(struct scratch *sc) {
    free(sc->buf);
    if (sc->plain) veil_wipe(sc->plain, sc->plain_cap);
    free(sc->plain);
    if (sc->small_fd >= 0) close(sc->small_fd);
    if (sc->large_fd >= 0) close(sc->large_fd);
}

static int scratch_plain(struct scratch *sc, uint64_t size, const char *path) {
    if (size <= sc->plain_cap) return 0;
    if (size > SIZE_MAX / 2) return veil_err(-EFBIG, "%s is too large to encrypt in memory", path);
    size_t cap = MAX((size_t)size, sc->plain_cap * 2);
    uint8_t *p = malloc(cap);
    if (!p) return veil_err(-ENOMEM, "cannot hold %s (%llu bytes) in memory to encrypt it", path, (unsigned long long)size);
    if (sc->plain) veil_wipe(sc->plain, sc->plain_cap);
    free(sc->plain);
    sc->plain = p;
    sc->plain_cap = cap;
    return 0;
}

/* Where a ciphertext of this size is encoded. */
static int scratch_cipher_fd(struct scratch *sc, uint64_t size, int *ret) {
    if (size <= SMALL_CIPHERTEXT) {
        if (sc->small_fd < 0 && (sc->small_fd = memfd_create("veil-ciphertext", MFD_CLOEXEC)) < 0)
            return veil_err(-errno, "cannot create a memory file");
        *ret = sc->small_fd;
        return 0;
    }
    if (sc->large_fd < 0) {
        sc->large_fd = open(sc->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (sc->large_fd < 0) { /* no O_TMPFILE here: a named file, unlinked at once */
            char *tmp;
            if (asprintf(&tmp, "%s/.veil-wrap-XXXXXX", sc->tmp_dir) < 0) return -ENOMEM;
            sc->large_fd = mkostemp(tmp, O_CLOEXEC);
            if (sc->large_fd >= 0) unlink(tmp);
            free(tmp);
        }
        if (sc->large_fd < 0) return veil_err(-errno, "cannot create a temporary file in %s", sc->tmp_dir);
    }
    *ret = sc->large_fd;
    return 0;
}

static int content_next(struct content *c, const void **ret, size_t *ret_size) {
    if (c->a) {
        if (!c->has_pending && !c->eof) {
            la_int64_t offset;
            int r = archive_read_data_block(c->a, &c->pending, &c->pending_size, &offset);
            if (r == ARCHIVE_EOF)
                c->eof = true;
            else if (r != ARCHIVE_OK)
                return image_archive_err(c->a, "corrupt or truncated layer");
            else if (offset < 0 || (uint64_t)offset < c->offset)
                return veil_err(-EBADMSG, "layer member data goes backwards");
            else {
                c->pending_offset = (uint64_t)offset;
                c->has_pending = true;
            }
        }
        if (!c->has_pending && c->sparse && c->offset < c->size) {
            c->pending_offset = c->size; /* the trailing hole */
            c->pending_size = 0;
            c->pending = c->buf;
            c->has_pending = true;
        }
        if (!c->has_pending) {
            *ret_size = 0;
            return 0;
        }
        if (c->pending_offset > c->offset) {
            /* a sparse member: its hole reads as zeros */
            size_t gap = (size_t)MIN(c->pending_offset - c->offset, COPY_BLOCK);
            memset(c->buf, 0, gap);
            c->offset += gap;
            *ret = c->buf;
            *ret_size = gap;
            return 1;
        }
        c->has_pending = false;
        c->offset += c->pending_size;
        *ret = c->pending;
        *ret_size = c->pending_size;
        if (c->pending_size == 0) return content_next(c, ret, ret_size);
        return 1;
    }
    ssize_t n;
    do
        n = read(c->fd, c->buf, COPY_BLOCK);
    while (n < 0 && errno == EINTR);
    if (n < 0) return veil_err(-errno, "reading input file");
    c->offset += (uint64_t)n;
    *ret = c->buf;
    *ret_size = (size_t)n;
    return n > 0;
}

/* Encrypt node n's plaintext (sc->plain, size bytes) and write it as n's entry. */
static int emit_encrypted(struct image_emit *e, struct scratch *sc, const struct image_node *n, uint64_t size) {
    int fd = -1;
    int r = scratch_cipher_fd(sc, size, &fd);
    if (r < 0) return r;
    /* derived file id and salt: the same content, path and key give the same bytes (reproducible) */
    uint64_t enc_size;
    if ((r = veil_encfile_encode_deterministic(fd, e->key, n->path, 1, sc->plain, (size_t)size, &enc_size)) < 0) {
        char detail[512];
        snprintf(detail, sizeof(detail), "%s", veil_err_msg()); /* veil_err() reuses that buffer */
        return veil_err(r, "encrypting %s: %s", n->path, detail);
    }
    if ((r = write_header(e, n, enc_size, NULL)) < 0) return r;
    for (uint64_t done = 0; done < enc_size;) {
        size_t want = (size_t)MIN((uint64_t)COPY_BLOCK, enc_size - done);
        if ((r = veil_pread_all(fd, sc->buf, want, (off_t)done)) < 0) return veil_err(r, "reading back encrypted %s", n->path);
        if ((r = write_data(e, sc->buf, want, n->path)) < 0) return r;
        done += want;
    }
    return 0;
}

/*
 * Copy one content to the nodes that share it: the first plain node gets the
 * bytes, the other plain nodes become hard links to it; each encrypted node
 * gets its own encfile (they are bound to their paths, so they cannot share).
 */
static int emit_group(struct image_emit *e, struct scratch *sc, struct image_node **group, size_t count, struct content *c) {
    struct image_node *first_plain = NULL;
    bool any_encrypted = false;
    for (size_t i = 0; i < count; i++) {
        if (group[i]->encrypted)
            any_encrypted = true;
        else if (!first_plain)
            first_plain = group[i];
    }
    uint64_t expected = group[0]->size;
    _cleanup_(veil_file_digest_freep) struct veil_file_digest *h = NULL;
    int r = veil_file_digest_new(expected, &h);
    if (r < 0) return r;
    if (any_encrypted && (r = scratch_plain(sc, expected, group[0]->path)) < 0) return r;
    if (first_plain && (r = write_header(e, first_plain, expected, NULL)) < 0) return r;

    uint64_t total = 0;
    for (;;) {
        const void *buf = NULL;
        size_t size = 0;
        if ((r = content_next(c, &buf, &size)) < 0) return r;
        if (r == 0) break;
        if (size > expected - total) {
            total = expected + 1;
            break;
        }
        if ((r = veil_file_digest_update(h, buf, size)) < 0) return r;
        if (first_plain && (r = write_data(e, buf, size, first_plain->path)) < 0) return r;
        if (any_encrypted) memcpy(sc->plain + total, buf, size);
        total += size;
        image_progress_add(e->progress, size);
    }
    if (total != expected) return veil_err(-EBADMSG, "%s changed while it was being wrapped", group[0]->path);
    uint8_t digest[VEIL_SHA256_SIZE];
    if ((r = veil_file_digest_final(h, digest)) < 0) return r;
    for (size_t i = 0; i < count; i++) {
        memcpy(group[i]->sha256, digest, sizeof(digest));
        group[i]->hashed = true;
    }

    for (size_t i = 0; i < count; i++) {
        struct image_node *n = group[i];
        if (n->encrypted) {
            if ((r = emit_encrypted(e, sc, n, expected)) < 0) return r;
        } else if (n != first_plain) {
            _cleanup_free_ char *target = entry_name(e, first_plain);
            if (!target) return -ENOMEM;
            if ((r = write_header(e, n, 0, target)) < 0) return r;
        }
    }
    return 0;
}

static int cmp_source(const void *a, const void *b) {
    const struct image_node *x = *(struct image_node *const *)a, *y = *(struct image_node *const *)b;
    if (x->src_layer != y->src_layer) return x->src_layer < y->src_layer ? -1 : 1;
    if (x->src_ordinal != y->src_ordinal) return x->src_ordinal < y->src_ordinal ? -1 : 1;
    /* within a group: the original entry before its hard links, then by path */
    if (x->hardlink != y->hardlink) return x->hardlink ? 1 : -1;
    return strcmp(x->path, y->path);
}

/*
 * Every layer is read to its end, even one that contributes no file: this pass
 * verifies each blob's digest (in a second thread, see source.c) and that its
 * headers are those pass 1 built the tree from.
 */
static size_t layer_end(const struct image_emit *e) {
    return e->layer_end && e->source ? MIN(e->layer_end, e->source->layer_count) : e->source ? e->source->layer_count : 0;
}

/* Is n written (or hashed) by this emit: last written by one of its layers (a root directory: always)? */
static bool in_part(const struct image_emit *e, const struct image_node *n) {
    return !e->source || (n->layer >= e->layer_begin && n->layer < layer_end(e));
}

static int emit_files_from_layers(struct image_emit *e, struct image_node **files, size_t count, struct scratch *sc) {
    size_t next = 0;
    for (size_t layer = e->layer_begin; layer < layer_end(e); layer++) {
        _cleanup_(image_layer_stream_freep) struct image_layer_stream *st = NULL;
        _cleanup_(veil_hash_freep) struct veil_hash *fp = NULL;
        struct image_layer_ref *ref = &e->source->layers[layer];
        uint64_t header = 0;
        int r;
        /* a blob used by two layers is stored once */
        bool copy = e->verbatim != NULL;
        for (size_t i = 0; copy && i < layer; i++) copy = strcmp(e->source->layers[i].digest, ref->digest) != 0;
        if (copy && (r = image_ustar_begin(e->verbatim, &header)) < 0) return r;
        r = image_layer_stream_open_tee(e->source, layer, true, copy ? e->verbatim->fd : -1, copy ? e->verbatim->offset : 0, &st);
        if (r < 0 || (r = veil_hash_new(VEIL_HASH_SHA256, &fp)) < 0) return r;
        struct archive *a = image_layer_stream_archive(st);
        for (uint64_t ordinal = 0;; ordinal++) {
            struct archive_entry *ae;
            r = archive_read_next_header(a, &ae);
            if (r == ARCHIVE_EOF) break;
            if (r != ARCHIVE_OK) return image_archive_err(a, "layer changed or is truncated");
            if ((r = image_header_fingerprint(fp, ae)) < 0) return r;
            if (next >= count || files[next]->src_layer != layer || files[next]->src_ordinal != ordinal) continue;
            size_t end = next;
            while (end < count && files[end]->src_layer == layer && files[end]->src_ordinal == ordinal) end++;
            struct content c = { .a = a, .buf = sc->buf, .sparse = archive_entry_sparse_count(ae) > 0,
                                 .size = (uint64_t)MAX(archive_entry_size(ae), 0) };
            if ((r = emit_group(e, sc, files + next, end - next, &c)) < 0) return r;
            next = end;
        }
        if ((r = image_layer_stream_finish(st)) < 0) return r;
        uint8_t d[VEIL_SHA256_SIZE];
        if ((r = veil_hash_final(fp, d)) < 0) return r;
        if (memcmp(d, ref->fingerprint, sizeof(d)) != 0)
            return veil_err(-EBADMSG, "layer %s changed while it was being wrapped", ref->member);
        if (ref->size < 0) ref->size = (int64_t)image_layer_stream_bytes(st); /* docker archives do not say; now known */
        if (copy) {
            /* the copy is the verified blob itself: its digest is the input's */
            char name[128];
            snprintf(name, sizeof(name), e->docker_names ? "%s/layer.tar" : "blobs/sha256/%s", ref->digest + 7);
            e->verbatim->offset += image_layer_stream_bytes(st);
            if ((r = image_ustar_end(e->verbatim, header, name, image_layer_stream_bytes(st))) < 0) return r;
        }
    }
    if (next != count) return veil_err(-EBADMSG, "a layer changed while it was being wrapped");
    return 0;
}

static int emit_files_from_root(struct image_emit *e, struct image_node **files, size_t count, struct scratch *sc) {
    for (size_t i = 0; i < count; i++) {
        _cleanup_close_ int fd = image_rootfs_open(e->root_fd, files[i]->path);
        if (fd < 0) return fd;
        struct content c = { .fd = fd, .buf = sc->buf };
        int r = emit_group(e, sc, files + i, 1, &c);
        if (r < 0) return r;
    }
    return 0;
}

/* "dir/.wh.name": the layer hides `path` of the layers below it. */
static int write_whiteout(struct image_emit *e, const char *path) {
    if (!e->writer) return 0;
    const char *base = strrchr(path, '/') + 1;
    _cleanup_(archive_entry_freep) struct archive_entry *ae = archive_entry_new();
    _cleanup_free_ char *name = NULL;
    if (!ae || asprintf(&name, "%s%.*s.wh.%s", e->name_prefix, (int)(base - path - 1), path + 1, base) < 0) return -ENOMEM;
    archive_entry_set_pathname(ae, name);
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0);
    archive_entry_set_size(ae, 0);
    if (archive_write_header(e->writer, ae) != ARCHIVE_OK) return writer_err(e->writer, name);
    return 0;
}

int image_emit(struct image_emit *e) {
    _cleanup_free_ struct image_node **nodes = NULL;
    size_t count;
    int r = image_tree_list(e->tree, &nodes, &count);
    if (r < 0) return r;
    /* directories and symlinks first, in path order (the root itself is not an entry), then whiteouts */
    size_t file_count = 0;
    for (size_t i = 0; i < count; i++) {
        struct image_node *n = nodes[i];
        if (!in_part(e, n)) continue;
        if (n->type == IMAGE_NODE_FILE) {
            /* a group of hard links is written from one layer: it may not straddle the parts */
            if (e->source && (n->src_layer < e->layer_begin || n->src_layer >= layer_end(e)))
                return veil_err(-EINVAL, "%s is a hard link across the kept and the written layers", n->path);
            nodes[file_count++] = n;
        } else if (n != e->tree->root && (r = write_header(e, n, 0, NULL)) < 0)
            return r;
    }
    for (size_t i = 0; i < e->whiteout_count; i++)
        if ((r = write_whiteout(e, e->whiteouts[i])) < 0) return r;
    /* then regular files in input order, each content group once */
    qsort(nodes, file_count, sizeof(*nodes), cmp_source);
    _cleanup_(scratch_done) struct scratch sc = { .buf = malloc(COPY_BLOCK), .small_fd = -1, .large_fd = -1,
                                                  .tmp_dir = e->tmp_dir ? e->tmp_dir : "." };
    if (!sc.buf) return -ENOMEM;
    if (e->source)
        r = emit_files_from_layers(e, nodes, file_count, &sc);
    else
        r = emit_files_from_root(e, nodes, file_count, &sc);
    return r;
}
