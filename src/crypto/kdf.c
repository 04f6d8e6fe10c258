/* SPDX-License-Identifier: Apache-2.0 */
/* HKDF-SHA256 and HMAC-SHA256 through OpenSSL 3's provider API. */
#include "kdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "base/err.h"

int veil_hkdf_sha256(const void *ikm, size_t ikm_size, const void *salt, size_t salt_size,
                     const void *info, size_t info_size, void *out, size_t out_size) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf) return veil_err(-ENOSYS, "HKDF is not available");
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (!ctx) return -ENOMEM;
    static const uint8_t empty[1];
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(ikm_size ? ikm : empty), ikm_size),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(salt_size ? salt : empty), salt_size),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(info_size ? info : empty), info_size),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(ctx, out, out_size, params);
    EVP_KDF_CTX_free(ctx);
    if (ok != 1) return veil_err(-EIO, "HKDF derivation failed");
    return 0;
}

int veil_hmac_sha256(const void *key, size_t key_size, const void *data, size_t size,
                     uint8_t out[VEIL_HMAC_SHA256_SIZE]) {
    unsigned int n = 0;
    static const uint8_t empty[1];
    if (!HMAC(EVP_sha256(), key_size ? key : empty, (int)key_size, data, size, out, &n) ||
        n != VEIL_HMAC_SHA256_SIZE)
        return veil_err(-EIO, "HMAC failed");
    return 0;
}
