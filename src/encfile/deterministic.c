/* SPDX-License-Identifier: Apache-2.0 */
/* File id and salt of a deterministic store, derived from key, path, version and a digest of the content. */
#include "format.h"

#include <string.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/secbuf.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"

/* docs/encfile.md, "Deterministic store": distinct from the labels of K_hdr and K_node */
static const char det_info[] = "veil-encfile-v1 deterministic store";
static const char content_label[] = "veil-encfile-v1 content";

int encfile_content_digest_begin(uint64_t size, struct veil_hash **ret) {
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    uint8_t le[8];
    veil_store_u64le(le, size);
    int r = veil_hash_new(VEIL_HASH_SHA256, &h);
    if (r >= 0) r = veil_hash_update(h, content_label, sizeof(content_label) - 1);
    if (r >= 0) r = veil_hash_update(h, le, sizeof(le));
    if (r < 0) return r;
    *ret = TAKE_PTR(h);
    return 0;
}

/* HMAC(K_det, label || 0x00 || counter || context), where context names the file and its content */
static int derive(const uint8_t *k_det, const char *label, uint8_t counter, const uint8_t *context, size_t context_size,
                  uint8_t out[VEIL_HMAC_SHA256_SIZE]) {
    size_t label_size = strlen(label);
    _cleanup_free_ uint8_t *msg = malloc(label_size + 2 + context_size);
    if (!msg) return -ENOMEM;
    memcpy(msg, label, label_size);
    msg[label_size] = 0;
    msg[label_size + 1] = counter;
    memcpy(msg + label_size + 2, context, context_size);
    return veil_hmac_sha256(k_det, 32, msg, label_size + 2 + context_size, out);
}

int encfile_deterministic_ids(const uint8_t key[VEIL_ENCFILE_KEY_SIZE], uint8_t k_det[32], const char *logical_path,
                              uint64_t version, uint64_t size, const uint8_t content_digest[VEIL_SHA256_SIZE],
                              uint8_t ret_file_id[VEIL_ENCFILE_FILE_ID_SIZE], uint8_t ret_salt[ENCFILE_SALT_SIZE]) {
    static const uint8_t zero[ENCFILE_SALT_SIZE];
    uint8_t out[VEIL_HMAC_SHA256_SIZE];
    size_t path_size = strlen(logical_path);
    int r;

    /* context = u64 version || u64 size || content digest || u32 len(path) || path */
    size_t context_size = 8 + 8 + VEIL_SHA256_SIZE + 4 + path_size;
    _cleanup_free_ uint8_t *context = malloc(context_size);
    if (!context) return -ENOMEM;
    veil_store_u64le(context, version);
    veil_store_u64le(context + 8, size);
    memcpy(context + 16, content_digest, VEIL_SHA256_SIZE);
    veil_store_u32le(context + 16 + VEIL_SHA256_SIZE, (uint32_t)path_size);
    memcpy(context + 20 + VEIL_SHA256_SIZE, logical_path, path_size);

    r = veil_hkdf_sha256(key, VEIL_ENCFILE_KEY_SIZE, NULL, 0, det_info, sizeof(det_info) - 1, k_det, 32);
    if (r < 0) return r;
    if ((r = derive(k_det, "file id", 0, context, context_size, out)) < 0) return r;
    memcpy(ret_file_id, out, VEIL_ENCFILE_FILE_ID_SIZE);
    /* an all-zero salt would read as a hole: take the next counter (probability 2^-128) */
    for (uint8_t counter = 0;; counter++) {
        if ((r = derive(k_det, "salt", counter, context, context_size, out)) < 0) return r;
        memcpy(ret_salt, out, ENCFILE_SALT_SIZE);
        if (memcmp(ret_salt, zero, ENCFILE_SALT_SIZE)) break;
        if (counter == UINT8_MAX) return veil_err(-EIO, "cannot derive a salt");
    }
    veil_wipe(k_det, 32);
    veil_wipe(context, context_size); /* holds a digest of the plaintext */
    return 0;
}
