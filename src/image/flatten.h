/* SPDX-License-Identifier: Apache-2.0 */
/* Pass 1 of wrap and inspect: an input's layers (or root directory) flattened into a tree. */
#pragma once

#include "progress.h"
#include "source.h"
#include "tree.h"

/* Apply every layer (verifying each blob's digest) or scan the root directory, then check symlinks. */
int image_flatten(struct image_source *s, int root_fd, struct image_progress *p, struct image_tree **ret) _warn_unused_;

/* Read a (small) regular file of the flattened image into memory. */
int image_read_node(struct image_source *s, int root_fd, const struct image_node *n, size_t max_size,
                    uint8_t **ret_data, size_t *ret_size) _warn_unused_;
