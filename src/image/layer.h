/* SPDX-License-Identifier: Apache-2.0 */
/* Applying one layer (a tar stream read by libarchive) to the flattened tree. */
#pragma once

#include <archive.h>

#include "tree.h"

/* Size limit of one layer member name or link target, and of the entries per layer. */
#define IMAGE_LAYER_MAX_ENTRIES 10000000u

/* A libarchive reader restricted to tar formats (any compression filter libarchive knows). */
struct archive *image_tar_reader_new(void);

/*
 * Read every member of `a` (positioned before its first header) and apply it
 * to the tree as layer number `layer` (0 = bottom): regular files, directories,
 * symlinks, hard links, whiteouts (.wh.NAME) and opaque markers (.wh..wh..opq).
 * Refuses with -EBADMSG and a detail: corrupt or truncated tar, '..' in a name,
 * device nodes, FIFOs and sockets, duplicate members, hard links to nothing,
 * a member below a non-directory. Contents are skipped, not read.
 */
int image_layer_apply(struct image_tree *t, struct archive *a, unsigned layer,
                      uint8_t ret_fingerprint[VEIL_SHA256_SIZE]) _warn_unused_;

/*
 * Add one member's header (name, link targets, type, mode, owner, mtime, size) to a
 * running hash. Pass 1 builds the tree from headers alone and pass 2 verifies the
 * layer's digest: equal header fingerprints in both passes prove that the tree was
 * built from the bytes whose digest was verified. ret_fingerprint (may be NULL)
 * receives the hash of all headers of the layer.
 */
struct archive_entry;
int image_header_fingerprint(struct veil_hash *h, struct archive_entry *e) _warn_unused_;

/* The libarchive error of `a` as a veil_err detail, returning -EBADMSG. */
int image_archive_err(struct archive *a, const char *what);
