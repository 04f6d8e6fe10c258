/* SPDX-License-Identifier: Apache-2.0 */
/* RA-TLS certificates outside TLS: the extension's CBOR encoding, the report-data formula, and certificate checks. */
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "crypto/certgen.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "ratls/ratls.h"

static void test_cbor(void **state) {
    (void)state;
    uint8_t envelope[300];
    memset(envelope, 0x5a, sizeof(envelope));
    struct veil_buf b = { 0 };
    assert_int_equal(veil_ratls_extension_encode(envelope, sizeof(envelope), &b), 0);
    /* tag(0x7665696C) = DA 76 65 69 6C; bstr of 300 bytes = 59 01 2C */
    static const uint8_t head[] = { 0xda, 0x76, 0x65, 0x69, 0x6c, 0x59, 0x01, 0x2c };
    assert_int_equal(b.size, sizeof(head) + sizeof(envelope));
    assert_memory_equal(b.data, head, sizeof(head));
    const uint8_t *got;
    size_t size;
    assert_int_equal(veil_ratls_extension_parse(b.data, b.size, &got, &size), 0);
    assert_int_equal(size, sizeof(envelope));
    assert_ptr_equal(got, b.data + sizeof(head));
    for (size_t n = 0; n < b.size; n++) assert_int_equal(veil_ratls_extension_parse(b.data, n, &got, &size), -EBADMSG);
    static const uint8_t bad[][10] = {
        { 0xda, 0x76, 0x65, 0x69, 0x6d, 0x41, 0x00 },       /* another tag */
        { 0xda, 0x76, 0x65, 0x69, 0x6c, 0x61, 0x00 },       /* a text string */
        { 0xda, 0x76, 0x65, 0x69, 0x6c, 0x58, 0x01, 0x00 }, /* non-minimal length */
        { 0xda, 0x76, 0x65, 0x69, 0x6c, 0x5f, 0x41, 0x00, 0xff }, /* indefinite length */
        { 0xda, 0x76, 0x65, 0x69, 0x6c, 0x41, 0x00, 0x00 }, /* trailing byte */
        { 0xdb, 0, 0, 0, 0, 0x76, 0x65, 0x69, 0x6c, 0x40 }, /* non-minimal tag */
    };
    static const size_t bad_size[] = { 7, 7, 8, 9, 8, 10 };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        if (veil_ratls_extension_parse(bad[i], bad_size[i], &got, &size) != -EBADMSG) fail_msg("accepted bad #%zu", i);
    veil_buf_done(&b);
}

static void test_certificate(void **state) {
    (void)state;
    _cleanup_(veil_sim_platform_freep) struct veil_sim_platform *p = NULL;
    assert_int_equal(veil_sim_platform_new(&p), 0);
    struct veil_sim_claims claims = { .security_version = 1 };
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    _cleanup_(veil_x509_freep) X509 *cert = NULL;
    assert_int_equal(veil_ratls_create_sim(p, &claims, NULL, &key, &cert), 0);

    /* the extension: the OID, not critical, once */
    _cleanup_(veil_asn1_object_freep) ASN1_OBJECT *oid = OBJ_txt2obj("2.23.133.5.4.9", 1);
    int index = X509_get_ext_by_OBJ(cert, oid, -1);
    assert_true(index >= 0);
    assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(cert, index)), 0);

    /* report data = SHA-512("veil-ratls-v1\0" || SPKI DER), computed independently */
    _cleanup_free_ uint8_t *spki = NULL;
    size_t spki_size;
    assert_int_equal(veil_key_public_der(key, &spki, &spki_size), 0);
    uint8_t expected[64];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha512(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, "veil-ratls-v1", 14), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, spki, spki_size), 1);
    assert_int_equal(EVP_DigestFinal_ex(ctx, expected, NULL), 1);
    EVP_MD_CTX_free(ctx);

    X509 *roots[] = { p->root };
    struct veil_ratls_verifier v = { .verify = { .sim_roots = roots, .sim_roots_count = 1 } };
    veil_policy_init(&v.policy);
    v.policy.allowed_tees |= VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM);
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    assert_int_equal(veil_ratls_verify_cert(cert, &v, &c), 0);
    assert_memory_equal(c->report_data, expected, 64);

    /* pinned time: before the certificate's validity */
    v.verify.now = time(NULL) - 3600;
    assert_int_equal(veil_ratls_verify_cert(cert, &v, NULL), -EACCES);
    assert_non_null(strstr(veil_err_msg(), "not yet valid"));
    v.verify.now = 0;

    /* an ordinary certificate has no evidence */
    _cleanup_(veil_x509_freep) X509 *plain = NULL;
    time_t now = time(NULL);
    struct veil_cert_params params = { .common_name = "plain", .not_before = now - 60, .not_after = now + 60 };
    assert_int_equal(veil_cert_issue(&params, key, NULL, key, &plain), 0);
    assert_int_equal(veil_ratls_verify_cert(plain, &v, NULL), -EACCES);
    assert_non_null(strstr(veil_err_msg(), "no evidence extension"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cbor),
        cmocka_unit_test(test_certificate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
