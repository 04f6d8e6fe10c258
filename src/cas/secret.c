/* SPDX-License-Identifier: Apache-2.0 */
/* Secret generation (random, passwords, keys, CA and leaf certificates) and rendering for templates. */
#include "secret.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "crypto/random.h"

int veil_cas_secbuf_append(struct veil_secbuf *b, const void *data, size_t size) {
    size_t old = b->size, total;
    int r = veil_size_add(old, size, &total);
    if (r < 0) return r;
    if ((r = veil_secbuf_resize(b, total)) < 0) return r;
    if (size) memcpy(b->data + old, data, size);
    return 0;
}

/* Copy a memory BIO's contents into a secbuf and wipe the BIO's copy. */
static int bio_append(BIO *bio, struct veil_secbuf *out) {
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    if (n < 0) return -EIO;
    int r = veil_cas_secbuf_append(out, data, (size_t)n);
    veil_wipe(data, (size_t)n);
    return r;
}

static int generate_key(enum veil_cas_key_alg alg, EVP_PKEY **ret) {
    static const enum veil_key_type types[] = {
        [VEIL_CAS_KEY_ECDSA_P256] = VEIL_KEY_ECDSA_P256,
        [VEIL_CAS_KEY_ECDSA_P384] = VEIL_KEY_ECDSA_P384,
        [VEIL_CAS_KEY_ED25519] = VEIL_KEY_ED25519,
    };
    if ((size_t)alg >= ELEMENTSOF(types) || alg == 0) return -EINVAL;
    return veil_key_generate(types[alg], ret);
}

static int pem_key(EVP_PKEY *key, struct veil_secbuf *out) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new(BIO_s_secmem());
    if (!bio) return -ENOMEM;
    if (!PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) return veil_ossl_err(-EIO, "PEM key");
    return bio_append(bio, out);
}

static int pem_cert(X509 *cert, struct veil_secbuf *out) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new(BIO_s_mem());
    if (!bio) return -ENOMEM;
    if (!PEM_write_bio_X509(bio, cert)) return veil_ossl_err(-EIO, "PEM certificate");
    return bio_append(bio, out);
}

/* Split stored "cert PEM || key PEM" material. */
static int load_cert_and_key(const struct veil_secbuf *m, X509 **ret_cert, EVP_PKEY **ret_key) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new_mem_buf(m->data, (int)m->size);
    if (!bio) return -ENOMEM;
    _cleanup_(veil_x509_freep) X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (!cert) return veil_ossl_err(-EBADMSG, "stored certificate");
    if (ret_key) {
        EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        if (!key) return veil_ossl_err(-EBADMSG, "stored key");
        *ret_key = key;
    }
    *ret_cert = TAKE_PTR(cert);
    return 0;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    _cleanup_(veil_x509_extension_freep) X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext || !X509_add_ext(cert, ext, -1)) return veil_ossl_err(-EINVAL, "certificate extension");
    return 0;
}

/* Build and sign a certificate for `key`, issued by (issuer_cert, issuer_key) or self-signed when NULL. */
static int make_cert(EVP_PKEY *key, const char *cn, uint32_t valid_days, bool ca, char *const *dns, size_t dns_count,
                     X509 *issuer_cert, EVP_PKEY *issuer_key, X509 **ret) {
    _cleanup_(veil_x509_freep) X509 *cert = X509_new();
    if (!cert) return -ENOMEM;
    uint8_t serial[16];
    int r = veil_random(serial, sizeof(serial));
    if (r < 0) return r;
    serial[0] &= 0x7f; /* positive */
    _cleanup_(veil_bn_freep) BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert))) return -ENOMEM;
    if (!X509_set_version(cert, 2)) return -ENOMEM;
    X509_NAME *name = X509_get_subject_name(cert);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
        return veil_ossl_err(-EINVAL, "common name");
    if (!X509_set_issuer_name(cert, issuer_cert ? X509_get_subject_name(issuer_cert) : name)) return -ENOMEM;
    /* backdate a little: clocks of workloads and the service differ */
    if (!X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), (long)valid_days * 86400))
        return -ENOMEM;
    if (!X509_set_pubkey(cert, key)) return veil_ossl_err(-EINVAL, "certificate key");
    X509 *iss = issuer_cert ? issuer_cert : cert;
    if ((r = add_ext(cert, iss, NID_subject_key_identifier, "hash")) < 0) return r;
    if ((r = add_ext(cert, iss, NID_authority_key_identifier, "keyid:always")) < 0) return r;
    if (ca) {
        if ((r = add_ext(cert, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) < 0 ||
            (r = add_ext(cert, iss, NID_key_usage, "critical,keyCertSign,cRLSign")) < 0)
            return r;
    } else {
        if ((r = add_ext(cert, iss, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
            (r = add_ext(cert, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment")) < 0 ||
            (r = add_ext(cert, iss, NID_ext_key_usage, "serverAuth,clientAuth")) < 0)
            return r;
        if (dns_count) {
            struct veil_buf san = { .limit = 64 * 1024 };
            for (size_t i = 0; i < dns_count && r >= 0; i++) r = veil_buf_printf(&san, "%sDNS:%s", i ? "," : "", dns[i]);
            if (r >= 0) r = add_ext(cert, iss, NID_subject_alt_name, (const char *)san.data);
            veil_buf_done(&san);
            if (r < 0) return r;
        }
    }
    EVP_PKEY *signer = issuer_key ? issuer_key : key;
    const EVP_MD *md = EVP_PKEY_get_id(signer) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
    if (!X509_sign(cert, signer, md)) return veil_ossl_err(-EIO, "signing certificate");
    *ret = TAKE_PTR(cert);
    return 0;
}

int veil_cas_self_signed(const char *common_name, uint32_t valid_days, EVP_PKEY **ret_key, X509 **ret_cert) {
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    int r = veil_key_generate(VEIL_KEY_ECDSA_P256, &key);
    if (r < 0) return r;
    char *dns[] = { (char *)common_name };
    X509 *cert;
    if ((r = make_cert(key, common_name, valid_days, false, dns, 1, NULL, NULL, &cert)) < 0) return r;
    *ret_key = TAKE_PTR(key);
    *ret_cert = cert;
    return 0;
}

/* Passwords from an alphabet without look-alikes, by rejection sampling (no modulo bias). */
static int generate_password(uint32_t length, struct veil_secbuf *out) {
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    const unsigned n = sizeof(alphabet) - 1; /* 57 */
    int r = veil_secbuf_resize(out, length);
    if (r < 0) return r;
    for (uint32_t i = 0; i < length;) {
        uint8_t b[64];
        if ((r = veil_random(b, sizeof(b))) < 0) return r;
        for (size_t j = 0; j < sizeof(b) && i < length; j++)
            if (b[j] < 256 - 256 % n) out->data[i++] = (uint8_t)alphabet[b[j] % n];
        veil_wipe(b, sizeof(b));
    }
    return 0;
}

int veil_cas_secret_generate(const struct veil_cas_secret *def, const struct veil_secbuf *issuer,
                             struct veil_secbuf **ret) {
    _cleanup_secbuf_ struct veil_secbuf *out = NULL;
    int r = veil_secbuf_new(0, &out);
    if (r < 0) return r;
    switch (def->kind) {
    case VEIL_CAS_SECRET_RANDOM:
        if (def->value) { /* imported in hex by the owner */
            if ((r = veil_cas_secbuf_append(out, def->value, def->value_size)) < 0) return r;
            break;
        }
        if ((r = veil_secbuf_resize(out, def->size)) < 0 || (r = veil_random(out->data, def->size)) < 0) return r;
        break;
    case VEIL_CAS_SECRET_PASSWORD:
        if ((r = generate_password(def->size, out)) < 0) return r;
        break;
    case VEIL_CAS_SECRET_IMPORTED:
        if ((r = veil_cas_secbuf_append(out, def->value, def->value_size)) < 0) return r;
        break;
    case VEIL_CAS_SECRET_PRIVATE_KEY: {
        _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
        if ((r = generate_key(def->algorithm, &key)) < 0 || (r = pem_key(key, out)) < 0) return r;
        break;
    }
    case VEIL_CAS_SECRET_X509_CA:
    case VEIL_CAS_SECRET_X509: {
        _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL, *issuer_key = NULL;
        _cleanup_(veil_x509_freep) X509 *cert = NULL, *issuer_cert = NULL;
        bool ca = def->kind == VEIL_CAS_SECRET_X509_CA;
        if (!ca) {
            if (!issuer) return veil_err(-EINVAL, "certificate '%s' has no issuer material", def->name);
            if ((r = load_cert_and_key(issuer, &issuer_cert, &issuer_key)) < 0) return r;
        }
        if ((r = generate_key(def->algorithm, &key)) < 0) return r;
        if ((r = make_cert(key, def->common_name, def->valid_days, ca, def->dns, def->dns_count, issuer_cert, issuer_key,
                           &cert)) < 0)
            return r;
        if ((r = pem_cert(cert, out)) < 0 || (r = pem_key(key, out)) < 0) return r;
        break;
    }
    default:
        return -EINVAL;
    }
    *ret = TAKE_PTR(out);
    return 0;
}

/*
 * The certificate or the key of stored "certificate PEM || key PEM" material, by splitting the
 * text at the key's PEM header. The material is our own, authenticated by AES-GCM when it was
 * loaded, so no parsing is needed (and OpenSSL 3's decoders are costly per call).
 */
static int render_cert_part(const struct veil_secbuf *m, bool want_key, struct veil_secbuf *out) {
    static const char marker[] = "-----BEGIN PRIVATE KEY-----";
    const uint8_t *key = memmem(m->data, m->size, marker, sizeof(marker) - 1);
    if (!key) return veil_err(-EBADMSG, "stored certificate material has no key");
    size_t cert_size = (size_t)(key - m->data);
    return want_key ? veil_cas_secbuf_append(out, key, m->size - cert_size) : veil_cas_secbuf_append(out, m->data, cert_size);
}

int veil_cas_secret_render(const struct veil_cas_secret *def, const struct veil_secbuf *m,
                           const struct veil_secbuf *issuer, const char *field, struct veil_secbuf *out) {
    int r;
    switch (def->kind) {
    case VEIL_CAS_SECRET_RANDOM: {
        if (!strcmp(field, "base64")) {
            size_t n = 4 * ((m->size + 2) / 3) + 1;
            _cleanup_secbuf_ struct veil_secbuf *tmp = NULL;
            if ((r = veil_secbuf_new(n, &tmp)) < 0) return r;
            int len = EVP_EncodeBlock(tmp->data, m->data, (int)m->size);
            return veil_cas_secbuf_append(out, tmp->data, (size_t)len);
        }
        _cleanup_secbuf_ struct veil_secbuf *tmp = NULL;
        if ((r = veil_secbuf_new(2 * m->size + 1, &tmp)) < 0) return r;
        veil_hex_encode(m->data, m->size, (char *)tmp->data);
        return veil_cas_secbuf_append(out, tmp->data, 2 * m->size);
    }
    case VEIL_CAS_SECRET_PASSWORD:
    case VEIL_CAS_SECRET_IMPORTED:
        return veil_cas_secbuf_append(out, m->data, m->size);
    case VEIL_CAS_SECRET_PRIVATE_KEY: {
        if (strcmp(field, "public")) return veil_cas_secbuf_append(out, m->data, m->size);
        _cleanup_(veil_bio_freep) BIO *in = BIO_new_mem_buf(m->data, (int)m->size);
        _cleanup_(veil_bio_freep) BIO *pub = BIO_new(BIO_s_mem());
        if (!in || !pub) return -ENOMEM;
        _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
        if (!key) return veil_ossl_err(-EBADMSG, "stored key");
        if (!PEM_write_bio_PUBKEY(pub, key)) return veil_ossl_err(-EIO, "public key");
        return bio_append(pub, out);
    }
    case VEIL_CAS_SECRET_X509_CA:
        return render_cert_part(m, false, out);
    case VEIL_CAS_SECRET_X509:
        if (!strcmp(field, "key")) return render_cert_part(m, true, out);
        if (!strcmp(field, "ca")) return issuer ? render_cert_part(issuer, false, out) : -EINVAL;
        if ((r = render_cert_part(m, false, out)) < 0) return r;
        if (!strcmp(field, "chain")) return issuer ? render_cert_part(issuer, false, out) : -EINVAL;
        return 0;
    }
    return -EINVAL;
}

int veil_cas_cert_key_id(X509 *cert, uint8_t ret[32]) {
    /* the SubjectPublicKeyInfo as it is in the certificate: the same bytes veil_key_id() hashes,
     * without a round trip through OpenSSL's encoders */
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (n <= 0) return veil_ossl_err(-EBADMSG, "certificate public key");
    int r = veil_sha256(der, (size_t)n, ret);
    OPENSSL_free(der);
    return r;
}

int veil_cas_cert_fingerprint(X509 *cert, uint8_t ret[32]) {
    unsigned int n = 32;
    if (!X509_digest(cert, EVP_sha256(), ret, &n) || n != 32) return veil_ossl_err(-EIO, "certificate digest");
    return 0;
}
