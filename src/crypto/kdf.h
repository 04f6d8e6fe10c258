/* SPDX-License-Identifier: Apache-2.0 */
/* HKDF (RFC 5869) and HMAC with SHA-256, over OpenSSL EVP_KDF / EVP_MAC. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

#define VEIL_HMAC_SHA256_SIZE 32

/* HKDF-SHA256 extract-and-expand of `ikm` with `salt` and `info` into out_size bytes. */
int veil_hkdf_sha256(const void *ikm, size_t ikm_size, const void *salt, size_t salt_size,
                     const void *info, size_t info_size, void *out, size_t out_size) _warn_unused_;

int veil_hmac_sha256(const void *key, size_t key_size, const void *data, size_t size,
                     uint8_t out[VEIL_HMAC_SHA256_SIZE]) _warn_unused_;
