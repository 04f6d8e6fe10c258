/* SPDX-License-Identifier: Apache-2.0 */
/* The flattened file system of an image: every layer applied in order, whiteouts resolved. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "crypto/hash.h"

enum image_node_type {
    IMAGE_NODE_DIR = 1,
    IMAGE_NODE_FILE,
    IMAGE_NODE_SYMLINK,
};

/*
 * A node per path ever seen. Whiteouts and replacements mark nodes absent
 * rather than freeing them, so pointers stay valid while layers are applied;
 * a later entry at the same path revives the node. Regular files remember
 * where their bytes are (layer and entry ordinal inside it, or a path below a
 * root directory); hard links share their target's source.
 */
struct image_node {
    char *path; /* normalised absolute path, "/" for the root */
    size_t path_size;
    struct image_node *parent, *first_child, *next_sibling, *hash_next;
    enum image_node_type type;
    bool present;
    bool implicit;  /* created as a parent directory, not by an entry of its own */
    bool hardlink;  /* a FILE that came from a hard-link entry */
    bool was_file;  /* some layer has a regular file (or hard link) at this path */
    unsigned first_file_layer; /* the lowest such layer (when was_file) */
    unsigned layer; /* the layer that last wrote this node */
    uint32_t mode;  /* permission bits */
    uint32_t uid, gid;
    int64_t mtime;
    uint64_t size;  /* FILE: content bytes */
    char *target;   /* SYMLINK */
    unsigned src_layer;
    uint64_t src_ordinal;
    /* filled while the output is written */
    uint8_t sha256[VEIL_SHA256_SIZE];
    bool hashed;    /* sha256 is set */
    bool encrypted;
};

struct image_tree {
    struct image_node *root;
    struct image_node **buckets;
    size_t bucket_count, node_count;
};

int image_tree_new(struct image_tree **ret) _warn_unused_;
void image_tree_free(struct image_tree *t);
VEIL_DEFINE_CLEANUP(struct image_tree *, image_tree_free, image_tree_freep)

/* The node at a normalised path, present or not; NULL when never seen. */
struct image_node *image_tree_lookup(struct image_tree *t, const char *path, size_t path_size);
/* The present node at path, or NULL. */
struct image_node *image_tree_get(struct image_tree *t, const char *path);
/*
 * The node for path, creating absent ones as needed; parents are created (or revived)
 * as implicit directories; a parent that a lower layer made a file or symlink becomes a
 * directory (as overlayfs shows it). Fails with -EBADMSG when a parent made by this same
 * layer is not a directory.
 */
int image_tree_make(struct image_tree *t, const char *path, size_t path_size, unsigned layer,
                    struct image_node **ret) _warn_unused_;
/* Make n absent: drop its symlink target and what kind of entry made it (it stays in the tree). */
void image_node_reset(struct image_node *n);
/* Mark every present descendant of n absent (whiteouts, replacement of a directory). */
void image_tree_remove_children(struct image_node *n, unsigned below_layer);

/* Present nodes sorted by path; *ret is malloc'd. */
int image_tree_list(struct image_tree *t, struct image_node ***ret, size_t *ret_count) _warn_unused_;

/*
 * Normalise an archive member name into an absolute path without ".", "..",
 * empty components or trailing '/': "./usr/bin/" -> "/usr/bin", "." -> "/".
 * Refuses ".." anywhere (-EBADMSG). out holds VEIL_MANIFEST_MAX_PATH+2 bytes.
 */
int image_path_normalise(const char *name, char *out, size_t out_size, size_t *ret_size) _warn_unused_;

/* Resolve every symlink as the kernel would inside the image root and refuse ones that escape it. */
int image_tree_check_symlinks(struct image_tree *t) _warn_unused_;
