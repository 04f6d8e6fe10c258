/* SPDX-License-Identifier: Apache-2.0 */
/* The outer archive of an image (OCI or docker): plain ustar members written straight to a file. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

/*
 * libarchive writes the layers; this writes the container around them, because a
 * layer blob's name is its digest, known only after the layer has been streamed
 * into the file: a blob's 512-byte header slot is reserved first and filled in
 * afterwards. Headers are fully deterministic (mtime 0, uid/gid 0, no names).
 */
struct image_ustar {
    int fd;
    uint64_t offset;
};

int image_ustar_add_dir(struct image_ustar *u, const char *name) _warn_unused_;
int image_ustar_add_file(struct image_ustar *u, const char *name, const void *data, size_t size) _warn_unused_;
/* Reserve a header slot; the caller then writes `size` bytes at u->offset (advancing it). */
int image_ustar_begin(struct image_ustar *u, uint64_t *ret_header_offset) _warn_unused_;
/* Pad the member to 512 bytes and write its header into the slot. */
int image_ustar_end(struct image_ustar *u, uint64_t header_offset, const char *name, uint64_t size) _warn_unused_;
/* The end-of-archive marker (two zero blocks). */
int image_ustar_finish(struct image_ustar *u) _warn_unused_;
