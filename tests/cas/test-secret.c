/* SPDX-License-Identifier: Apache-2.0 */
/* Secret generation and rendering: sizes, alphabets, key types, and certificates that verify under their CA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "cas/policy.h"
#include "cas/secret.h"

#define X4(c) c c c c
#define HEX32(c) X4(X4(X4(c)))

static const char yaml[] =
    "name: p\nowners: [" HEX32("1") "]\n"
    "secrets:\n"
    "  r: {kind: random, size: 48}\n"
    "  pw: {kind: password, length: 40}\n"
    "  k: {kind: private_key, algorithm: ed25519}\n"
    "  ca: {kind: x509_ca, common_name: Test CA, algorithm: ecdsa-p384}\n"
    "  leaf: {kind: x509, issuer: ca, common_name: web, dns: [web, web.example.org], valid_days: 7}\n"
    "services:\n  a:\n    measurements: [" HEX32("2") "]\n";

static struct veil_secbuf *gen(const struct veil_cas_policy *p, const char *name, const struct veil_secbuf *issuer) {
    struct veil_secbuf *m = NULL;
    int r = veil_cas_secret_generate(veil_cas_policy_secret(p, name), issuer, &m);
    if (r < 0) fail_msg("%s: %s", name, veil_err_describe(r));
    return m;
}

static X509 *cert_of(const struct veil_secbuf *b) {
    BIO *bio = BIO_new_mem_buf(b->data, (int)b->size);
    X509 *c = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(c);
    return c;
}

static void test_generate_and_render(void **state) {
    (void)state;
    struct veil_cas_policy *p;
    assert_int_equal(veil_cas_policy_parse(yaml, strlen(yaml), &p), 0);

    struct veil_secbuf *r = gen(p, "r", NULL), *pw = gen(p, "pw", NULL), *k = gen(p, "k", NULL);
    assert_int_equal(r->size, 48);
    assert_int_equal(pw->size, 40);
    for (size_t i = 0; i < pw->size; i++) assert_non_null(strchr("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", pw->data[i]));
    struct veil_secbuf *pw2 = gen(p, "pw", NULL);
    assert_memory_not_equal(pw->data, pw2->data, 40);

    struct veil_secbuf *out;
    assert_int_equal(veil_secbuf_new(0, &out), 0);
    assert_int_equal(veil_cas_secret_render(veil_cas_policy_secret(p, "r"), r, NULL, "", out), 0);
    assert_int_equal(out->size, 96); /* hex */
    assert_int_equal(veil_secbuf_resize(out, 0), 0);
    assert_int_equal(veil_cas_secret_render(veil_cas_policy_secret(p, "r"), r, NULL, "base64", out), 0);
    assert_int_equal(out->size, 64);
    assert_int_equal(veil_secbuf_resize(out, 0), 0);
    assert_int_equal(veil_cas_secret_render(veil_cas_policy_secret(p, "k"), k, NULL, "public", out), 0);
    BIO *bio = BIO_new_mem_buf(out->data, (int)out->size);
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(pub);
    assert_int_equal(EVP_PKEY_get_id(pub), EVP_PKEY_ED25519);
    EVP_PKEY_free(pub);

    /* the leaf verifies under its CA, names its DNS names, and is not a CA itself */
    struct veil_secbuf *ca = gen(p, "ca", NULL), *leaf = gen(p, "leaf", ca);
    X509 *ca_cert = cert_of(ca), *leaf_cert = cert_of(leaf);
    assert_int_equal(X509_check_ca(ca_cert), 1);
    assert_int_equal(X509_check_ca(leaf_cert), 0);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, ca_cert);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf_cert, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    assert_int_equal(X509_verify_cert(ctx), 1);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    assert_int_equal(X509_check_host(leaf_cert, "web.example.org", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(leaf_cert, "other.example.org", 0, 0, NULL), 0);

    /* fields: key is the leaf's key, chain is leaf then CA, ca is the CA */
    assert_int_equal(veil_secbuf_resize(out, 0), 0);
    assert_int_equal(veil_cas_secret_render(veil_cas_policy_secret(p, "leaf"), leaf, ca, "key", out), 0);
    assert_non_null(memmem(out->data, out->size, "BEGIN PRIVATE KEY", 17));
    assert_null(memmem(out->data, out->size, "CERTIFICATE", 11));
    bio = BIO_new_mem_buf(out->data, (int)out->size);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_int_equal(X509_check_private_key(leaf_cert, key), 1);
    EVP_PKEY_free(key);
    assert_int_equal(veil_secbuf_resize(out, 0), 0);
    assert_int_equal(veil_cas_secret_render(veil_cas_policy_secret(p, "leaf"), leaf, ca, "chain", out), 0);
    assert_null(memmem(out->data, out->size, "PRIVATE KEY", 11));
    X509 *first = cert_of(out);
    assert_int_equal(X509_cmp(first, leaf_cert), 0);
    X509_free(first);
    assert_int_equal(veil_secbuf_resize(out, 0), 0);
    assert_int_equal(veil_cas_secret_render(veil_cas_policy_secret(p, "ca"), ca, NULL, "", out), 0);
    assert_null(memmem(out->data, out->size, "PRIVATE KEY", 11)); /* a CA's key never leaves the service */

    X509_free(ca_cert);
    X509_free(leaf_cert);
    veil_secbuf_free(out);
    veil_secbuf_free(r);
    veil_secbuf_free(pw);
    veil_secbuf_free(pw2);
    veil_secbuf_free(k);
    veil_secbuf_free(ca);
    veil_secbuf_free(leaf);
    veil_cas_policy_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_and_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
