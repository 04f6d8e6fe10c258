/* SPDX-License-Identifier: Apache-2.0 */
/* Per-write node keys (HKDF of the volume key, a write's salt and the file id), nonces, AAD, sealing. */
#include "format.h"

#include <stdio.h>
#include <string.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/secbuf.h"
#include "crypto/kdf.h"
#include "crypto/random.h"

static const char node_info[] = "veil-encfile-v1 node";

bool encfile_entry_is_hole(const struct encfile_entry *e) {
    static const struct encfile_entry zero;
    return !memcmp(e, &zero, sizeof(zero));
}

void encfile_keys_init(struct encfile_keys *k, const uint8_t *volume_key, const uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE]) {
    *k = (struct encfile_keys){ .volume_key = volume_key };
    memcpy(k->file_id, file_id, VEIL_ENCFILE_FILE_ID_SIZE);
}

void encfile_keys_done(struct encfile_keys *k) {
    for (size_t i = 0; i < ENCFILE_KEY_CACHE_SIZE; i++) veil_aead_free(k->slot[i].aead);
    *k = (struct encfile_keys){ 0 };
}

int encfile_keys_get(struct encfile_keys *k, const uint8_t salt[ENCFILE_SALT_SIZE], struct veil_aead **ret) {
    size_t victim = 0;
    for (size_t i = 0; i < ENCFILE_KEY_CACHE_SIZE; i++) {
        if (k->slot[i].aead && !memcmp(k->slot[i].salt, salt, ENCFILE_SALT_SIZE)) {
            k->slot[i].used = ++k->clock;
            *ret = k->slot[i].aead;
            return 0;
        }
        if (!k->slot[i].aead || k->slot[i].used < k->slot[victim].used) victim = i;
        if (!k->slot[i].aead) break;
    }
    uint8_t info[sizeof(node_info) - 1 + VEIL_ENCFILE_FILE_ID_SIZE], key[VEIL_AES256_KEY_SIZE];
    memcpy(info, node_info, sizeof(node_info) - 1);
    memcpy(info + sizeof(node_info) - 1, k->file_id, VEIL_ENCFILE_FILE_ID_SIZE);
    int r = veil_hkdf_sha256(k->volume_key, VEIL_ENCFILE_KEY_SIZE, salt, ENCFILE_SALT_SIZE, info, sizeof(info), key,
                             sizeof(key));
    struct veil_aead *a = NULL;
    if (r >= 0) r = veil_aead_new(key, &a);
    veil_wipe(key, sizeof(key));
    if (r < 0) return r;
    veil_aead_free(k->slot[victim].aead);
    memcpy(k->slot[victim].salt, salt, ENCFILE_SALT_SIZE);
    k->slot[victim].aead = a;
    k->slot[victim].used = ++k->clock;
    *ret = a;
    return 0;
}

int encfile_new_salt(uint8_t ret[ENCFILE_SALT_SIZE]) {
    static const uint8_t zero[ENCFILE_SALT_SIZE];
    for (;;) {
        int r = veil_random(ret, ENCFILE_SALT_SIZE);
        if (r < 0) return r;
        /* an all-zero salt would make a hole entry possible; 2^-128, but cheap to exclude */
        if (memcmp(ret, zero, ENCFILE_SALT_SIZE)) return 0;
    }
}

void encfile_nonce(unsigned level, uint64_t index, uint8_t ret[VEIL_GCM_IV_SIZE]) {
    veil_store_u32le(ret, level);
    veil_store_u64le(ret + 4, index);
}

void encfile_aad(const uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE], unsigned level, uint64_t index,
                 uint8_t ret[ENCFILE_AAD_SIZE]) {
    memcpy(ret, file_id, VEIL_ENCFILE_FILE_ID_SIZE);
    veil_store_u32le(ret + VEIL_ENCFILE_FILE_ID_SIZE, level);
    veil_store_u64le(ret + VEIL_ENCFILE_FILE_ID_SIZE + 4, index);
}

int encfile_seal_node(struct encfile_keys *k, const uint8_t salt[ENCFILE_SALT_SIZE], unsigned level, uint64_t index,
                      const void *in, size_t size, void *out, struct encfile_entry *ret) {
    struct veil_aead *a;
    uint8_t iv[VEIL_GCM_IV_SIZE], aad[ENCFILE_AAD_SIZE];
    int r = encfile_keys_get(k, salt, &a);
    if (r < 0) return r;
    encfile_nonce(level, index, iv);
    encfile_aad(k->file_id, level, index, aad);
    r = veil_aead_seal(a, iv, aad, sizeof(aad), in, size, out, ret->tag);
    if (r < 0) return r;
    memcpy(ret->salt, salt, ENCFILE_SALT_SIZE);
    return 0;
}

int encfile_open_node(struct encfile_keys *k, const struct encfile_entry *e, unsigned level, uint64_t index,
                      const void *in, size_t size, void *out) {
    struct veil_aead *a;
    uint8_t iv[VEIL_GCM_IV_SIZE], aad[ENCFILE_AAD_SIZE];
    int r = encfile_keys_get(k, e->salt, &a);
    if (r < 0) {
        veil_wipe(out, size);
        return r;
    }
    encfile_nonce(level, index, iv);
    encfile_aad(k->file_id, level, index, aad);
    r = veil_aead_open(a, iv, aad, sizeof(aad), in, size, out, e->tag);
    if (r == -EACCES)
        return veil_err(-EACCES, "integrity check failed at %s " ENCFILE_TAMPER_HINT, encfile_node_name(level, index));
    return r;
}

const char *encfile_node_name(unsigned level, uint64_t index) {
    static _Thread_local char name[64];
    if (level == 0)
        snprintf(name, sizeof(name), "data node %llu", (unsigned long long)index);
    else
        snprintf(name, sizeof(name), "tree node %u/%llu", level, (unsigned long long)index);
    return name;
}
