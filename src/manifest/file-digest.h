/* SPDX-License-Identifier: Apache-2.0 */
/* What an entry's content digest is: SHA-256 of small files, a digest of 1 MiB chunk digests for larger ones. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "crypto/hash.h"

/*
 * The content digest of a regular file of `size` bytes (docs/manifest.md, "Content
 * digests"):
 *   size <= CHUNK: SHA-256(content) — what `sha256sum` prints;
 *   size >  CHUNK: SHA-256("veil-chunks-v1\0" || u64le(size) || SHA-256(chunk 0) ||
 *                  ... || SHA-256(chunk n-1)), chunks of CHUNK bytes, the last shorter.
 * Large files are thus verified on several cores at once (veil-run hashes a 99 MB
 * binary before it may run), at no extra cost when the digest is computed in one
 * pass (`veil wrap`): one SHA-256 per byte either way, plus 32 bytes per chunk.
 */
#define VEIL_FILE_DIGEST_CHUNK ((uint64_t)1 << 20)

/* Number of chunks of a file of `size` bytes (0 when it is digested whole). */
uint64_t veil_file_digest_chunks(uint64_t size);

/* Streaming: bytes must come in order and add up to exactly `size`. */
struct veil_file_digest;
int veil_file_digest_new(uint64_t size, struct veil_file_digest **ret) _warn_unused_;
int veil_file_digest_update(struct veil_file_digest *d, const void *data, size_t n) _warn_unused_;
/* -EINVAL when the bytes fed do not add up to the size given to _new. */
int veil_file_digest_final(struct veil_file_digest *d, uint8_t out[VEIL_SHA256_SIZE]) _warn_unused_;
void veil_file_digest_free(struct veil_file_digest *d);
VEIL_DEFINE_CLEANUP(struct veil_file_digest *, veil_file_digest_free, veil_file_digest_freep)

/* One shot, over bytes in memory. */
int veil_file_digest(const void *data, uint64_t size, uint8_t out[VEIL_SHA256_SIZE]) _warn_unused_;

/* Chunks hashed elsewhere (in parallel): the digest of a large file from its chunks' SHA-256s, in order. */
int veil_file_digest_combine(uint64_t size, const uint8_t (*chunks)[VEIL_SHA256_SIZE], uint64_t count,
                             uint8_t out[VEIL_SHA256_SIZE]) _warn_unused_;
