/* SPDX-License-Identifier: Apache-2.0 */
/* Signing keys: generate, load, save, identify, sign and verify (Ed25519, ECDSA P-256/P-384). */
#pragma once

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"
#include "hash.h"

enum veil_key_type {
    VEIL_KEY_ED25519,
    VEIL_KEY_ECDSA_P256,
    VEIL_KEY_ECDSA_P384,
};

int veil_key_generate(enum veil_key_type type, EVP_PKEY **ret) _warn_unused_;

/* Private keys as PKCS#8 PEM; saving is atomic and mode 0600. */
int veil_key_load_private_pem(const char *path, EVP_PKEY **ret) _warn_unused_;
int veil_key_save_private_pem(EVP_PKEY *key, const char *path) _warn_unused_;
int veil_key_load_public_pem(const char *path, EVP_PKEY **ret) _warn_unused_;

/* SubjectPublicKeyInfo DER of the public half (malloc'd). */
int veil_key_public_der(EVP_PKEY *key, uint8_t **ret_der, size_t *ret_size) _warn_unused_;
int veil_key_from_public_der(const void *der, size_t size, EVP_PKEY **ret) _warn_unused_;
/* SHA-256 of the SubjectPublicKeyInfo DER: the key's identity. */
int veil_key_id(EVP_PKEY *key, uint8_t out[VEIL_SHA256_SIZE]) _warn_unused_;

/* Ed25519 signs the message itself; ECDSA hashes with SHA-256 (P-256) or SHA-384 (P-384)
 * and produces a DER signature. *ret_sig is malloc'd. */
int veil_sign(EVP_PKEY *key, const void *data, size_t size, uint8_t **ret_sig, size_t *ret_size) _warn_unused_;
/* 0 when sig is valid, -EACCES when not. */
int veil_verify(EVP_PKEY *key, const void *data, size_t size, const void *sig, size_t sig_size) _warn_unused_;

/*
 * Verify an ECDSA signature given as raw big-endian r and s of coord_size bytes
 * each (the layout TEE quotes use), over data hashed with `alg`.
 * 0 when valid, -EACCES when not.
 */
int veil_ecdsa_verify_raw(EVP_PKEY *key, enum veil_hash_alg alg, const void *data, size_t size,
                          const uint8_t *r, const uint8_t *s, size_t coord_size) _warn_unused_;

/* An EC public key from an uncompressed point (x||y, big-endian) on P-256 or P-384. */
int veil_ec_key_from_xy(enum veil_key_type type, const uint8_t *xy, size_t xy_size, EVP_PKEY **ret) _warn_unused_;
