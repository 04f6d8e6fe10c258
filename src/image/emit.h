/* SPDX-License-Identifier: Apache-2.0 */
/* Writing the flattened file system (pass 2): every present node into a libarchive writer. */
#pragma once

#include <archive.h>

#include "source.h"
#include "ustar.h"
#include "tree.h"

struct image_progress;

struct image_emit {
    struct image_source *source; /* archives and OCI layouts; NULL for a root directory */
    int root_fd;                 /* root directory input; -1 otherwise */
    struct image_tree *tree;
    struct archive *writer;      /* a tar writer, or a disk writer */
    const char *name_prefix;     /* prepended to "usr/bin/x": "" for tar, "/out/dir/" for disk */
    const uint8_t *key;          /* the image key, when some node is marked encrypted */
    const char *tmp_dir;         /* where the unnamed file for large ciphertexts is made (next to the output) */
    struct image_progress *progress;
    /* verbatim mode (writer NULL): every input layer blob is copied unchanged into this
     * outer archive, named blobs/sha256/<hex> (or <hex>/layer.tar with docker_names);
     * files are only hashed. Only when no layer holds a file to encrypt. */
    struct image_ustar *verbatim;
    bool docker_names;
    /* a part of the input (a kept lower part, or the flattened upper part above it):
     * layers [layer_begin, layer_end) are read, and only nodes last written by one of
     * them are written (or hashed); layer_end 0 = every layer */
    size_t layer_begin, layer_end;
    /* absolute paths the written layer hides from the layers below it (".wh." entries) */
    char *const *whiteouts;
    size_t whiteout_count;
};

/*
 * Write directories and symlinks (sorted), then regular files in the order their
 * bytes appear in the input, then hard links. Fills node->sha256 of every regular
 * file with the SHA-256 of its (plaintext) content as written. Nodes marked
 * `encrypted` are written in the encfile format under e->key, bound to their path.
 */
int image_emit(struct image_emit *e) _warn_unused_;

/* Set the metadata of a new archive entry from a node (path given separately). */
struct archive_entry;
void image_entry_from_node(struct archive_entry *ae, const struct image_node *n, const char *name);
