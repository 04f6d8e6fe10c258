/* SPDX-License-Identifier: Apache-2.0 */
/* Byte-layout constants of the manifest body (docs/manifest.md), shared by the encoder and the decoder. */
#pragma once

#include <stddef.h>
#include <string.h>

#define MF_HEADER_SIZE 64
#define MF_ENTRY_SIZE 72
#define MF_ALIGN 8
#define MF_MAX_KEY_BLOB 1024 /* public key DER and signature in the signature block */

/* header field offsets */
#define MF_H_MAGIC 0
#define MF_H_VERSION 8
#define MF_H_BODY_SIZE 12
#define MF_H_CONFIG_OFFSET 16
#define MF_H_CONFIG_SIZE 20
#define MF_H_KEYS_OFFSET 24
#define MF_H_KEYS_SIZE 28
#define MF_H_RULES_OFFSET 32
#define MF_H_RULES_SIZE 36
#define MF_H_ENTRIES_OFFSET 40
#define MF_H_ENTRY_COUNT 44
#define MF_H_STRINGS_OFFSET 48
#define MF_H_STRINGS_SIZE 52
#define MF_H_RESERVED 56

/* entry record field offsets */
#define MF_E_PATH_OFFSET 0
#define MF_E_PATH_SIZE 4
#define MF_E_TARGET_OFFSET 8
#define MF_E_TARGET_SIZE 12
#define MF_E_SIZE 16
#define MF_E_MODE 24
#define MF_E_UID 28
#define MF_E_GID 32
#define MF_E_CLASS 36
#define MF_E_RESERVED 37
#define MF_E_KEY 38
#define MF_E_SHA256 40

#define MF_MEASUREMENT_CONTEXT "veil-measurement-v1" /* followed by its NUL: 20 bytes */

static inline size_t mf_pad(size_t n) {
    return (MF_ALIGN - n % MF_ALIGN) % MF_ALIGN;
}

/* Bytewise order of two strings of known sizes (the order of entries, rules and keys). */
static inline int mf_path_cmp(const char *a, size_t a_size, const char *b, size_t b_size) {
    int c = memcmp(a, b, a_size < b_size ? a_size : b_size);
    if (c) return c;
    return a_size < b_size ? -1 : a_size > b_size;
}
