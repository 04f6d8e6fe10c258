/* SPDX-License-Identifier: Apache-2.0 */
/* Flattens an input into the image tree and reads single files back out of it. */
#include "flatten.h"

#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "layer.h"
#include "manifest/file-digest.h"
#include "rootfs.h"

/*
 * Apply layers [0, count); with `recheck`, each layer's header fingerprint must be the
 * one pass 1 recorded (a second look at layers pass 1 read already), else it is recorded.
 */
static int apply_layers(struct image_tree *t, struct image_source *s, size_t count, bool recheck, struct image_progress *p) {
    int r;
    for (size_t i = 0; i < count; i++) {
        _cleanup_(image_layer_stream_freep) struct image_layer_stream *st = NULL;
        if ((r = image_layer_stream_open(s, i, false, &st)) < 0) return r;
        uint64_t before = image_layer_stream_bytes(st);
        uint8_t seen[VEIL_SHA256_SIZE];
        if ((r = image_layer_apply(t, image_layer_stream_archive(st), (unsigned)i, recheck ? seen : s->layers[i].fingerprint)) < 0) {
            char detail[512];
            snprintf(detail, sizeof(detail), "%s", veil_err_msg()); /* veil_err() reuses that buffer */
            return veil_err(r, "layer %zu (%s): %s", i, s->layers[i].member, detail);
        }
        if ((r = image_layer_stream_finish(st)) < 0) return r;
        if (recheck && memcmp(seen, s->layers[i].fingerprint, sizeof(seen)) != 0)
            return veil_err(-EBADMSG, "layer %s changed while it was being wrapped", s->layers[i].member);
        if (p) image_progress_add(p, image_layer_stream_bytes(st) - before);
    }
    return 0;
}

int image_flatten(struct image_source *s, int root_fd, struct image_progress *p, struct image_tree **ret) {
    _cleanup_(image_tree_freep) struct image_tree *t = NULL;
    int r = image_tree_new(&t);
    if (r < 0) return r;
    r = s ? apply_layers(t, s, s->layer_count, false, p) : image_rootfs_scan(t, root_fd);
    if (r < 0 || (r = image_tree_check_symlinks(t)) < 0) return r;
    *ret = TAKE_PTR(t);
    return 0;
}

int image_flatten_prefix(struct image_source *s, size_t count, struct image_tree **ret) {
    _cleanup_(image_tree_freep) struct image_tree *t = NULL;
    int r = image_tree_new(&t);
    if (r < 0) return r;
    if ((r = apply_layers(t, s, MIN(count, s->layer_count), true, NULL)) < 0) return r;
    *ret = TAKE_PTR(t);
    return 0;
}

int image_read_node(struct image_source *s, int root_fd, const struct image_node *n, size_t max_size, uint8_t **ret_data,
                    size_t *ret_size) {
    if (n->type != IMAGE_NODE_FILE) return veil_err(-EINVAL, "%s is not a regular file", n->path);
    if (n->size > max_size) return veil_err(-EFBIG, "%s is larger than %zu bytes", n->path, max_size);
    _cleanup_free_ uint8_t *data = malloc(n->size + 1);
    if (!data) return -ENOMEM;
    int r;
    if (!s) {
        _cleanup_close_ int fd = image_rootfs_open(root_fd, n->path);
        if (fd < 0) return fd;
        if ((r = veil_pread_all(fd, data, n->size, 0)) < 0) return veil_err(r, "reading %s", n->path);
    } else {
        _cleanup_(image_layer_stream_freep) struct image_layer_stream *st = NULL;
        if ((r = image_layer_stream_open(s, n->src_layer, false, &st)) < 0) return r;
        struct archive *a = image_layer_stream_archive(st);
        struct archive_entry *e;
        for (uint64_t ordinal = 0; ordinal <= n->src_ordinal; ordinal++)
            if (archive_read_next_header(a, &e) != ARCHIVE_OK) return image_archive_err(a, "layer changed");
        if (archive_read_data(a, data, n->size) != (la_ssize_t)n->size) return image_archive_err(a, "reading a layer member");
    }
    if (n->hashed) {
        uint8_t d[VEIL_SHA256_SIZE];
        if ((r = veil_file_digest(data, n->size, d)) < 0) return r;
        if (memcmp(d, n->sha256, sizeof(d)) != 0) return veil_err(-EBADMSG, "%s changed while it was being wrapped", n->path);
    }
    data[n->size] = 0;
    *ret_size = n->size;
    *ret_data = TAKE_PTR(data);
    return 0;
}
