/* SPDX-License-Identifier: Apache-2.0 */
/* AES-256-GCM with a reusable keyed context, over OpenSSL EVP. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

#define VEIL_AES256_KEY_SIZE 32
#define VEIL_GCM_IV_SIZE 12
#define VEIL_GCM_TAG_SIZE 16

/*
 * A keyed AES-256-GCM context: set the key once, then seal/open many messages
 * with distinct IVs. The caller is responsible for never reusing an IV under
 * one key. The key schedule lives in OpenSSL's context; veil_aead_free() wipes it.
 * A context is not thread-safe; use one per thread.
 */
struct veil_aead;
int veil_aead_new(const uint8_t key[VEIL_AES256_KEY_SIZE], struct veil_aead **ret) _warn_unused_;
void veil_aead_free(struct veil_aead *a);
VEIL_DEFINE_CLEANUP(struct veil_aead *, veil_aead_free, veil_aead_freep)

/* Encrypt size bytes from in to out (may alias) and write the tag. */
int veil_aead_seal(struct veil_aead *a, const uint8_t iv[VEIL_GCM_IV_SIZE], const void *aad,
                   size_t aad_size, const void *in, size_t size, void *out,
                   uint8_t tag[VEIL_GCM_TAG_SIZE]) _warn_unused_;
/* Decrypt and check the tag; -EACCES when it does not match, and then out is wiped. */
int veil_aead_open(struct veil_aead *a, const uint8_t iv[VEIL_GCM_IV_SIZE], const void *aad,
                   size_t aad_size, const void *in, size_t size, void *out,
                   const uint8_t tag[VEIL_GCM_TAG_SIZE]) _warn_unused_;

/* One-shot forms. */
int veil_aes256gcm_seal(const uint8_t key[VEIL_AES256_KEY_SIZE], const uint8_t iv[VEIL_GCM_IV_SIZE],
                        const void *aad, size_t aad_size, const void *in, size_t size, void *out,
                        uint8_t tag[VEIL_GCM_TAG_SIZE]) _warn_unused_;
int veil_aes256gcm_open(const uint8_t key[VEIL_AES256_KEY_SIZE], const uint8_t iv[VEIL_GCM_IV_SIZE],
                        const void *aad, size_t aad_size, const void *in, size_t size, void *out,
                        const uint8_t tag[VEIL_GCM_TAG_SIZE]) _warn_unused_;
