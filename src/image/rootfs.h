/* SPDX-License-Identifier: Apache-2.0 */
/* A root file system directory as the input of `veil wrap`. */
#pragma once

#include "tree.h"

/* Walk `root_fd` (a directory) into the tree as layer 0; refuses devices, FIFOs and sockets.
 * Regular files get ordinals in sorted path order; hard links become independent files. */
int image_rootfs_scan(struct image_tree *t, int root_fd) _warn_unused_;
/* Open a regular file of the tree below root_fd without following any symlink. */
int image_rootfs_open(int root_fd, const char *path) _warn_unused_;
