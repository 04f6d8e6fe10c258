/* SPDX-License-Identifier: Apache-2.0 */
/* An output stream that is hashed (SHA-256) and written to a file by a second thread. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "crypto/hash.h"

/*
 * A layer's digest must be computed over every byte written, on top of the
 * per-file hashes; doing it in a second thread lets the two hashes run on two
 * cores. The writer fills one buffer while the thread hashes and writes the
 * other. Bytes go to fd at offset, offset + size, ... (pwrite; fd's own offset
 * is left alone).
 */
struct image_sink;

int image_sink_new(int fd, uint64_t offset, struct image_sink **ret) _warn_unused_;
/* Copies data into the pipeline. */
int image_sink_write(struct image_sink *s, const void *data, size_t size) _warn_unused_;
/* Flush, wait for the thread, and return the digest and byte count of everything written. */
int image_sink_finish(struct image_sink *s, uint8_t digest[VEIL_SHA256_SIZE], uint64_t *ret_size) _warn_unused_;
void image_sink_free(struct image_sink *s);
VEIL_DEFINE_CLEANUP(struct image_sink *, image_sink_free, image_sink_freep)
