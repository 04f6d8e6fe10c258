/* SPDX-License-Identifier: Apache-2.0 */
/* Signing keys over OpenSSL EVP_PKEY. */
#include "key.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/secbuf.h"
#include "der.h"
#include "ossl.h"

int veil_key_generate(enum veil_key_type type, EVP_PKEY **ret) {
    EVP_PKEY *key = NULL;
    switch (type) {
    case VEIL_KEY_ED25519: key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); break;
    case VEIL_KEY_ECDSA_P256: key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
    case VEIL_KEY_ECDSA_P384: key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"); break;
    }
    if (!key) return veil_ossl_err(-EIO, "key generation failed");
    *ret = key;
    return 0;
}

int veil_key_load_private_pem(const char *path, EVP_PKEY **ret) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new_file(path, "r");
    if (!bio) return veil_ossl_err(-ENOENT, path);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (!key) return veil_ossl_err(-EBADMSG, "not a PEM private key");
    *ret = key;
    return 0;
}

int veil_key_load_public_pem(const char *path, EVP_PKEY **ret) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new_file(path, "r");
    if (!bio) return veil_ossl_err(-ENOENT, path);
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (!key) return veil_ossl_err(-EBADMSG, "not a PEM public key");
    *ret = key;
    return 0;
}

int veil_key_save_private_pem(EVP_PKEY *key, const char *path) {
    /* serialize into OpenSSL's memory BIO, then copy through a secret buffer and write atomically */
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new(BIO_s_secmem());
    if (!bio) bio = BIO_new(BIO_s_mem());
    if (!bio) return -ENOMEM;
    if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
        return veil_ossl_err(-EIO, "cannot encode the private key");
    char *pem;
    long size = BIO_get_mem_data(bio, &pem);
    if (size <= 0) return -EIO;
    return veil_write_file_atomic(path, pem, (size_t)size, 0600);
}

int veil_key_public_der(EVP_PKEY *key, uint8_t **ret_der, size_t *ret_size) {
    unsigned char *der = NULL;
    int size = i2d_PUBKEY(key, &der);
    return veil_der_from_ossl(der, size, "cannot encode the public key", ret_der, ret_size);
}

int veil_key_from_public_der(const void *der, size_t size, EVP_PKEY **ret) {
    const unsigned char *p = der;
    if (size > 64 * 1024) return veil_err(-EBADMSG, "public key too large");
    EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)size);
    if (!key || p != (const unsigned char *)der + size) {
        EVP_PKEY_free(key);
        return veil_ossl_err(-EBADMSG, "not a DER SubjectPublicKeyInfo");
    }
    *ret = key;
    return 0;
}

int veil_key_id(EVP_PKEY *key, uint8_t out[VEIL_SHA256_SIZE]) {
    _cleanup_free_ uint8_t *der = NULL;
    size_t size;
    int r = veil_key_public_der(key, &der, &size);
    if (r < 0) return r;
    return veil_sha256(der, size, out);
}

static const EVP_MD *md_for_key(EVP_PKEY *key) {
    if (EVP_PKEY_is_a(key, "ED25519")) return NULL;
    return EVP_PKEY_get_bits(key) > 256 ? EVP_sha384() : EVP_sha256();
}

int veil_sign(EVP_PKEY *key, const void *data, size_t size, uint8_t **ret_sig, size_t *ret_size) {
    _cleanup_(veil_evp_md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return -ENOMEM;
    if (EVP_DigestSignInit(ctx, NULL, md_for_key(key), NULL, key) != 1)
        return veil_ossl_err(-EINVAL, "cannot sign with this key");
    size_t sig_size = 0;
    if (EVP_DigestSign(ctx, NULL, &sig_size, data, size) != 1) return veil_ossl_err(-EIO, "sign failed");
    uint8_t *sig = malloc(sig_size);
    if (!sig) return -ENOMEM;
    if (EVP_DigestSign(ctx, sig, &sig_size, data, size) != 1) {
        free(sig);
        return veil_ossl_err(-EIO, "sign failed");
    }
    *ret_sig = sig;
    *ret_size = sig_size;
    return 0;
}

int veil_verify(EVP_PKEY *key, const void *data, size_t size, const void *sig, size_t sig_size) {
    _cleanup_(veil_evp_md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return -ENOMEM;
    if (EVP_DigestVerifyInit(ctx, NULL, md_for_key(key), NULL, key) != 1)
        return veil_ossl_err(-EINVAL, "cannot verify with this key");
    if (EVP_DigestVerify(ctx, sig, sig_size, data, size) != 1)
        return veil_ossl_err(-EACCES, "signature does not verify");
    return 0;
}

int veil_ecdsa_verify_raw(EVP_PKEY *key, enum veil_hash_alg alg, const void *data, size_t size,
                          const uint8_t *r, const uint8_t *s, size_t coord_size) {
    _cleanup_(veil_ecdsa_sig_freep) ECDSA_SIG *sig = ECDSA_SIG_new();
    if (!sig) return -ENOMEM;
    BIGNUM *br = BN_bin2bn(r, (int)coord_size, NULL), *bs = BN_bin2bn(s, (int)coord_size, NULL);
    if (!br || !bs || ECDSA_SIG_set0(sig, br, bs) != 1) {
        BN_free(br);
        BN_free(bs);
        return -ENOMEM;
    }
    unsigned char *der = NULL;
    int der_size = i2d_ECDSA_SIG(sig, &der);
    if (der_size <= 0) return veil_ossl_err(-EIO, "cannot encode the ECDSA signature");
    const EVP_MD *md = alg == VEIL_HASH_SHA384 ? EVP_sha384() : alg == VEIL_HASH_SHA512 ? EVP_sha512() : EVP_sha256();
    _cleanup_(veil_evp_md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
             EVP_DigestVerify(ctx, der, (size_t)der_size, data, size) == 1;
    OPENSSL_free(der);
    if (!ok) return veil_ossl_err(-EACCES, "ECDSA signature does not verify");
    return 0;
}

int veil_ec_key_from_xy(enum veil_key_type type, const uint8_t *xy, size_t xy_size, EVP_PKEY **ret) {
    const char *group = type == VEIL_KEY_ECDSA_P384 ? "P-384" : "P-256";
    size_t expect = type == VEIL_KEY_ECDSA_P384 ? 96 : 64;
    if (type == VEIL_KEY_ED25519 || xy_size != expect)
        return veil_err(-EBADMSG, "EC point must be %zu bytes", expect);
    uint8_t point[97];
    point[0] = 0x04; /* uncompressed (SEC 1, 2.3.3) */
    memcpy(point + 1, xy, xy_size);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, xy_size + 1),
        OSSL_PARAM_construct_end(),
    };
    _cleanup_(veil_evp_pkey_ctx_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        return veil_ossl_err(-EBADMSG, "not a valid EC public key");
    /* fromdata does not check the point is on the curve; do it here */
    _cleanup_(veil_evp_pkey_ctx_freep) EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (!check || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(key);
        return veil_ossl_err(-EBADMSG, "EC point is not on the curve");
    }
    *ret = key;
    return 0;
}
