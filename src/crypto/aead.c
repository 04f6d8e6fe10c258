/* SPDX-License-Identifier: Apache-2.0 */
/* AES-256-GCM over OpenSSL EVP, keyed once per context. */
#include "aead.h"

#include <limits.h>
#include <openssl/evp.h>

#include "base/err.h"
#include "base/secbuf.h"

struct veil_aead {
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
};

void veil_aead_free(struct veil_aead *a) {
    if (!a) return;
    EVP_CIPHER_CTX_free(a->enc); /* OpenSSL cleanses the key schedule on free */
    EVP_CIPHER_CTX_free(a->dec);
    free(a);
}

int veil_aead_new(const uint8_t key[VEIL_AES256_KEY_SIZE], struct veil_aead **ret) {
    struct veil_aead *a = calloc(1, sizeof(*a));
    if (!a) return -ENOMEM;
    a->enc = EVP_CIPHER_CTX_new();
    a->dec = EVP_CIPHER_CTX_new();
    if (!a->enc || !a->dec ||
        EVP_EncryptInit_ex(a->enc, EVP_aes_256_gcm(), NULL, key, NULL) != 1 ||
        EVP_DecryptInit_ex(a->dec, EVP_aes_256_gcm(), NULL, key, NULL) != 1) {
        veil_aead_free(a);
        return veil_err(-ENOMEM, "cannot create an AES-256-GCM context");
    }
    *ret = a;
    return 0;
}

/* EVP takes int lengths; split larger messages into int-sized updates. */
static int cipher_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in, size_t size) {
    while (size) {
        int chunk = size > (size_t)INT_MAX / 2 ? INT_MAX / 2 : (int)size, n;
        if (EVP_CipherUpdate(ctx, out, &n, in, chunk) != 1 || n != chunk) return -EIO;
        in += chunk;
        out += chunk;
        size -= (size_t)chunk;
    }
    return 0;
}

static int aad_update(EVP_CIPHER_CTX *ctx, const uint8_t *aad, size_t size) {
    while (size) {
        int chunk = size > (size_t)INT_MAX / 2 ? INT_MAX / 2 : (int)size, n;
        if (EVP_CipherUpdate(ctx, NULL, &n, aad, chunk) != 1) return -EIO;
        aad += chunk;
        size -= (size_t)chunk;
    }
    return 0;
}

int veil_aead_seal(struct veil_aead *a, const uint8_t iv[VEIL_GCM_IV_SIZE], const void *aad,
                   size_t aad_size, const void *in, size_t size, void *out,
                   uint8_t tag[VEIL_GCM_TAG_SIZE]) {
    int n;
    if (EVP_EncryptInit_ex(a->enc, NULL, NULL, NULL, iv) != 1 || aad_update(a->enc, aad, aad_size) < 0 ||
        cipher_update(a->enc, out, in, size) < 0 || EVP_EncryptFinal_ex(a->enc, NULL, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_GCM_GET_TAG, VEIL_GCM_TAG_SIZE, tag) != 1)
        return veil_err(-EIO, "AES-GCM encryption failed");
    return 0;
}

int veil_aead_open(struct veil_aead *a, const uint8_t iv[VEIL_GCM_IV_SIZE], const void *aad,
                   size_t aad_size, const void *in, size_t size, void *out,
                   const uint8_t tag[VEIL_GCM_TAG_SIZE]) {
    int n;
    if (EVP_DecryptInit_ex(a->dec, NULL, NULL, NULL, iv) != 1 || aad_update(a->dec, aad, aad_size) < 0 ||
        cipher_update(a->dec, out, in, size) < 0 ||
        EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_GCM_SET_TAG, VEIL_GCM_TAG_SIZE, (void *)tag) != 1) {
        veil_wipe(out, size);
        return veil_err(-EIO, "AES-GCM decryption failed");
    }
    if (EVP_DecryptFinal_ex(a->dec, NULL, &n) != 1) {
        /* never hand out plaintext that failed authentication */
        veil_wipe(out, size);
        return veil_err(-EACCES, "authentication tag mismatch");
    }
    return 0;
}

int veil_aes256gcm_seal(const uint8_t key[VEIL_AES256_KEY_SIZE], const uint8_t iv[VEIL_GCM_IV_SIZE],
                        const void *aad, size_t aad_size, const void *in, size_t size, void *out,
                        uint8_t tag[VEIL_GCM_TAG_SIZE]) {
    struct veil_aead *a;
    int r = veil_aead_new(key, &a);
    if (r < 0) return r;
    r = veil_aead_seal(a, iv, aad, aad_size, in, size, out, tag);
    veil_aead_free(a);
    return r;
}

int veil_aes256gcm_open(const uint8_t key[VEIL_AES256_KEY_SIZE], const uint8_t iv[VEIL_GCM_IV_SIZE],
                        const void *aad, size_t aad_size, const void *in, size_t size, void *out,
                        const uint8_t tag[VEIL_GCM_TAG_SIZE]) {
    struct veil_aead *a;
    int r = veil_aead_new(key, &a);
    if (r < 0) return r;
    r = veil_aead_open(a, iv, aad, aad_size, in, size, out, tag);
    veil_aead_free(a);
    return r;
}
