/* SPDX-License-Identifier: Apache-2.0 */
/* Pass 1 of wrap and inspect: an input's layers (or root directory) flattened into a tree. */
#pragma once

#include "progress.h"
#include "source.h"
#include "tree.h"

/*
 * Pass 1: apply every layer's headers (remembering each layer's header fingerprint) or
 * scan the root directory, then check symlinks. Layer digests are NOT verified here:
 * image_emit() (pass 2) reads every layer in full, verifies its digest and checks
 * that its headers have the fingerprint pass 1 saw, so the tree is only trusted once
 * pass 2 has succeeded (nothing is published before).
 */
int image_flatten(struct image_source *s, int root_fd, struct image_progress *p, struct image_tree **ret) _warn_unused_;

/*
 * The tree of the first `count` layers alone (what a kept lower part of the image
 * shows), for the whiteouts the flattened upper part needs. Each layer's headers
 * must have the fingerprint pass 1 recorded.
 */
int image_flatten_prefix(struct image_source *s, size_t count, struct image_tree **ret) _warn_unused_;

/* Read a (small) regular file of the flattened image into memory; after pass 2 its content
 * must hash to the node's sha256. */
int image_read_node(struct image_source *s, int root_fd, const struct image_node *n, size_t max_size,
                    uint8_t **ret_data, size_t *ret_size) _warn_unused_;
