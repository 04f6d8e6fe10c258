/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate issuing and (de)serialisation over OpenSSL's X509 API. */
#include "certgen.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "der.h"
#include "ossl.h"
#include "random.h"

#define CERT_MAX_DER_SIZE (64 * 1024)

static const EVP_MD *digest_for(EVP_PKEY *key) {
    if (EVP_PKEY_is_a(key, "ED25519")) return NULL;
    if (EVP_PKEY_get_bits(key) > 256) return EVP_sha384();
    return EVP_sha256();
}

static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value) {
    _cleanup_(veil_x509_extension_freep) X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (!ext || X509_add_ext(cert, ext, -1) != 1) return veil_ossl_err(-EIO, "cannot add a certificate extension");
    return 0;
}

static int add_custom_ext(X509 *cert, const struct veil_cert_params *p) {
    _cleanup_(veil_asn1_object_freep) ASN1_OBJECT *oid = OBJ_txt2obj(p->extension_oid, 1);
    if (!oid) return veil_err(-EINVAL, "bad extension OID '%s'", p->extension_oid);
    if (p->extension_size > INT32_MAX) return -E2BIG;
    _cleanup_(veil_asn1_octet_string_freep) ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
    if (!value || ASN1_OCTET_STRING_set(value, p->extension_value, (int)p->extension_size) != 1) return -ENOMEM;
    _cleanup_(veil_x509_extension_freep) X509_EXTENSION *ext =
        X509_EXTENSION_create_by_OBJ(NULL, oid, p->extension_critical, value);
    if (!ext || X509_add_ext(cert, ext, -1) != 1) return veil_ossl_err(-EIO, "cannot add the extension");
    return 0;
}

int veil_cert_issue(const struct veil_cert_params *p, EVP_PKEY *subject_key, X509 *issuer,
                    EVP_PKEY *issuer_key, X509 **ret) {
    _cleanup_(veil_x509_freep) X509 *cert = X509_new();
    if (!cert) return -ENOMEM;
    if (X509_set_version(cert, X509_VERSION_3) != 1) return veil_ossl_err(-EIO, "X509_set_version");

    uint8_t serial[16];
    int r = veil_random(serial, sizeof(serial));
    if (r < 0) return r;
    serial[0] &= 0x7f; /* positive INTEGER */
    serial[0] |= 0x01; /* and without a leading zero octet */
    _cleanup_(veil_bn_freep) BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert))) return veil_ossl_err(-ENOMEM, "serial");

    if (!X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &(time_t){ p->not_before }) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), 0, 0, &(time_t){ p->not_after }))
        return veil_ossl_err(-EINVAL, "certificate validity");

    X509_NAME *name = X509_get_subject_name(cert);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)p->common_name, -1, -1, 0) != 1)
        return veil_ossl_err(-EINVAL, "certificate subject");
    if (X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) != 1)
        return veil_ossl_err(-EIO, "certificate issuer");
    if (X509_set_pubkey(cert, subject_key) != 1) return veil_ossl_err(-EIO, "certificate key");

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    r = add_ext(cert, &ctx, NID_basic_constraints, p->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (r < 0) return r;
    r = add_ext(cert, &ctx, NID_key_usage, p->is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    if (r < 0) return r;
    r = add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
    if (r < 0) return r;
    if (issuer) {
        r = add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
        if (r < 0) return r;
    }
    if (p->extension_oid) {
        r = add_custom_ext(cert, p);
        if (r < 0) return r;
    }
    if (X509_sign(cert, issuer_key, digest_for(issuer_key)) <= 0) return veil_ossl_err(-EIO, "certificate signing");
    *ret = TAKE_PTR(cert);
    return 0;
}

int veil_cert_to_der(X509 *cert, uint8_t **ret_der, size_t *ret_size) {
    unsigned char *der = NULL;
    int size = i2d_X509(cert, &der);
    return veil_der_from_ossl(der, size, "cannot encode the certificate", ret_der, ret_size);
}

int veil_cert_from_der(const uint8_t *der, size_t size, X509 **ret) {
    if (size == 0 || size > CERT_MAX_DER_SIZE) return veil_err(-EBADMSG, "certificate size %zu out of range", size);
    const unsigned char *p = der;
    X509 *cert = d2i_X509(NULL, &p, (long)size);
    if (!cert || p != der + size) {
        X509_free(cert);
        return veil_ossl_err(-EBADMSG, "not a DER certificate");
    }
    *ret = cert;
    return 0;
}

int veil_cert_load_pem(const char *path, X509 **ret) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new_file(path, "r");
    if (!bio) return veil_ossl_err(-ENOENT, path);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (!cert) return veil_ossl_err(-EBADMSG, "not a PEM certificate");
    *ret = cert;
    return 0;
}

int veil_cert_save_pem(X509 *cert, const char *path) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new(BIO_s_mem());
    if (!bio) return -ENOMEM;
    if (PEM_write_bio_X509(bio, cert) != 1) return veil_ossl_err(-EIO, "cannot encode the certificate");
    char *pem;
    long size = BIO_get_mem_data(bio, &pem);
    if (size <= 0) return -EIO;
    return veil_write_file_atomic(path, pem, (size_t)size, 0644);
}
