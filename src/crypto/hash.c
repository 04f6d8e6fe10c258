/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-2 over OpenSSL EVP; OpenSSL's 1/0 results become negative errnos here. */
#include "hash.h"

#include <openssl/evp.h>

#include "base/err.h"

struct veil_hash {
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
};

static const EVP_MD *md_of(enum veil_hash_alg alg) {
    switch (alg) {
    case VEIL_HASH_SHA256: return EVP_sha256();
    case VEIL_HASH_SHA384: return EVP_sha384();
    case VEIL_HASH_SHA512: return EVP_sha512();
    }
    return NULL;
}

size_t veil_hash_size(enum veil_hash_alg alg) {
    switch (alg) {
    case VEIL_HASH_SHA256: return VEIL_SHA256_SIZE;
    case VEIL_HASH_SHA384: return VEIL_SHA384_SIZE;
    case VEIL_HASH_SHA512: return VEIL_SHA512_SIZE;
    }
    return 0;
}

static int digest(const EVP_MD *md, const void *data, size_t size, uint8_t *out) {
    if (EVP_Digest(data, size, out, NULL, md, NULL) != 1) return veil_err(-EIO, "digest failed");
    return 0;
}

int veil_sha256(const void *data, size_t size, uint8_t out[VEIL_SHA256_SIZE]) {
    return digest(EVP_sha256(), data, size, out);
}

int veil_sha384(const void *data, size_t size, uint8_t out[VEIL_SHA384_SIZE]) {
    return digest(EVP_sha384(), data, size, out);
}

int veil_hash_new(enum veil_hash_alg alg, struct veil_hash **ret) {
    struct veil_hash *h = calloc(1, sizeof(*h));
    if (!h) return -ENOMEM;
    h->md = md_of(alg);
    h->ctx = EVP_MD_CTX_new();
    if (!h->md || !h->ctx || EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1) {
        veil_hash_free(h);
        return veil_err(-ENOMEM, "cannot create a digest context");
    }
    *ret = h;
    return 0;
}

int veil_hash_update(struct veil_hash *h, const void *data, size_t size) {
    if (EVP_DigestUpdate(h->ctx, data, size) != 1) return veil_err(-EIO, "digest update failed");
    return 0;
}

int veil_hash_final(struct veil_hash *h, uint8_t *out) {
    if (EVP_DigestFinal_ex(h->ctx, out, NULL) != 1) return veil_err(-EIO, "digest final failed");
    return 0;
}

int veil_hash_reset(struct veil_hash *h) {
    if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1) return veil_err(-EIO, "digest reset failed");
    return 0;
}

void veil_hash_free(struct veil_hash *h) {
    if (!h) return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}
