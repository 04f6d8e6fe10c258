/* SPDX-License-Identifier: Apache-2.0 */
/* Image inputs: OCI layout directory, OCI archive, docker-archive, root file system directory. */
#pragma once

#include <archive.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "crypto/hash.h"

enum image_input_kind {
    IMAGE_INPUT_OCI_DIR = 1,
    IMAGE_INPUT_OCI_ARCHIVE,
    IMAGE_INPUT_DOCKER_ARCHIVE,
    IMAGE_INPUT_ROOTFS,
};

const char *image_input_kind_name(enum image_input_kind k);

struct image_layer_ref {
    char *member;       /* OCI dir: blob path below the directory; archives: member name */
    char digest[72];    /* expected "sha256:<hex>" of the blob bytes */
    int64_t size;       /* expected blob size, -1 when the format does not say */
    uint8_t fingerprint[VEIL_SHA256_SIZE]; /* of the member headers seen in pass 1 (layer.h) */
    char *media_type;   /* OCI media type of the blob ("" when the input does not say: docker, plain tar) */
    bool compressed;    /* the media type names a compression */
};

struct image_source {
    enum image_input_kind kind;
    char *path;
    struct image_config *config; /* NULL for a root file system directory */
    struct image_layer_ref *layers;
    size_t layer_count;
    uint64_t total_size;         /* bytes of all layer blobs (for progress) */
};

/* Detect the kind of `path`, read and check its index, manifest and config (digests included). */
int image_source_open(const char *path, struct image_source **ret) _warn_unused_;
void image_source_free(struct image_source *s);
VEIL_DEFINE_CLEANUP(struct image_source *, image_source_free, image_source_freep)

/* A layer blob opened as a tar reader; when verifying, every raw byte is hashed on the way. */
struct image_layer_stream;
int image_layer_stream_open(struct image_source *s, size_t index, bool verify, struct image_layer_stream **ret) _warn_unused_;
struct archive *image_layer_stream_archive(struct image_layer_stream *st);
/* Read the blob to its end and, when verifying, compare digest and size (-EBADMSG on mismatch). */
int image_layer_stream_finish(struct image_layer_stream *st) _warn_unused_;
/* The same, also writing every raw blob byte to tee_fd from tee_offset on (a verbatim copy of the layer). */
int image_layer_stream_open_tee(struct image_source *s, size_t index, bool verify, int tee_fd, uint64_t tee_offset,
                                struct image_layer_stream **ret) _warn_unused_;
/* Raw blob bytes consumed so far (for progress). */
uint64_t image_layer_stream_bytes(const struct image_layer_stream *st);
void image_layer_stream_free(struct image_layer_stream *st);
VEIL_DEFINE_CLEANUP(struct image_layer_stream *, image_layer_stream_free, image_layer_stream_freep)

/* Read one member of a tar archive file into memory (at most max_size bytes); -ENOENT when absent. */
int image_archive_read_member(const char *archive_path, const char *member, size_t max_size, uint8_t **ret_data,
                              size_t *ret_size) _warn_unused_;
