/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 and SHA-384, one-shot and incremental, over OpenSSL EVP. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

#define VEIL_SHA256_SIZE 32
#define VEIL_SHA384_SIZE 48
#define VEIL_SHA512_SIZE 64

enum veil_hash_alg {
    VEIL_HASH_SHA256,
    VEIL_HASH_SHA384,
    VEIL_HASH_SHA512,
};

size_t veil_hash_size(enum veil_hash_alg alg);

int veil_sha256(const void *data, size_t size, uint8_t out[VEIL_SHA256_SIZE]) _warn_unused_;
int veil_sha384(const void *data, size_t size, uint8_t out[VEIL_SHA384_SIZE]) _warn_unused_;

/* Incremental hashing; the context is opaque (an EVP_MD_CTX). */
struct veil_hash;
int veil_hash_new(enum veil_hash_alg alg, struct veil_hash **ret) _warn_unused_;
int veil_hash_update(struct veil_hash *h, const void *data, size_t size) _warn_unused_;
/* Writes veil_hash_size(alg) bytes; the context may be reused after veil_hash_reset(). */
int veil_hash_final(struct veil_hash *h, uint8_t *out) _warn_unused_;
int veil_hash_reset(struct veil_hash *h) _warn_unused_;
void veil_hash_free(struct veil_hash *h);
VEIL_DEFINE_CLEANUP(struct veil_hash *, veil_hash_free, veil_hash_freep)
