/* SPDX-License-Identifier: Apache-2.0 */
/* TDX quote verification against real quotes (v4 from Sapphire Rapids and Phala, v5) with their collateral, and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/fileio.h"
#include "evidence/collateral-x509.h"
#include "base/buf.h"
#include "base/cursor.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "evidence/dcap-quote.h"
#include "evidence/dcap-tcb.h"
#include "evidence/tdx.h"
#include "hw-helpers.h"

#include <openssl/pem.h>
#include <openssl/core_names.h>

#define SPR_QUOTE "tdx/tdx_prod_quote_SPR_E4.dat"
#define PHALA_QUOTE "tdx/phala_tdx_quote.dat"
#define V5_QUOTE "tdx/quote_v5_sample.dat"
#define SPR_TIME "2023-06-20T00:00:00Z"
#define PHALA_TIME "2025-06-20T00:00:00Z"

static struct veil_collateral *spr_collateral(void) {
    return collateral("tdx/sample_tcbInfo_response", "tdx/sample_qeIdentity_response", "tdx/pckcrl", "tdx/rootcrl.der",
                      "tdx/tcb_info_issuer_chain.pem", "tdx/pck_crl_issuer_chain.pem", NULL);
}

static struct veil_hw_options accept_all(const char *t) {
    static const char *const any[] = { "*", NULL };
    return (struct veil_hw_options){ .now = at(t), .accepted_tcb = ~0u, .allowed_advisories = any };
}

static struct veil_claims *verify_ok(const char *quote_name, struct veil_collateral *coll, struct veil_hw_options *opts) {
    size_t size;
    _cleanup_free_ uint8_t *quote = load(quote_name, &size);
    struct veil_claims *c = NULL;
    int r = veil_tdx_verify(quote, size, coll, opts, &c);
    if (r < 0) fail_msg("%s: %s", quote_name, veil_err_describe(r));
    json_t *j = veil_claims_to_json(c);
    char *text = json_dumps(j, JSON_COMPACT);
    printf("# %s: %.600s\n", quote_name, text);
    free(text);
    json_decref(j);
    return c;
}

static void test_spr_v4(void **state) {
    (void)state;
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = spr_collateral();
    struct veil_hw_options opts = accept_all(SPR_TIME);
    _cleanup_(veil_claims_freep) struct veil_claims *c = verify_ok(SPR_QUOTE, coll, &opts);
    assert_int_equal(c->tee, VEIL_TEE_TDX);
    assert_int_equal(c->measurement_size, 48);
    assert_string_equal(json_string_value(json_object_get(c->details, "fmspc")), "50806f000000");
}

static void test_phala_v4(void **state) {
    (void)state;
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral("tdx/phala_tdx_quote_collateral.json", NULL);
    struct veil_hw_options opts = accept_all(PHALA_TIME);
    _cleanup_(veil_claims_freep) struct veil_claims *c = verify_ok(PHALA_QUOTE, coll, &opts);
    assert_string_equal(json_string_value(json_object_get(c->details, "fmspc")), "b0c06f000000");
}

static void test_v5(void **state) {
    (void)state;
    /* The v5 sample's TCB info (2026) is signed by the TCB Signing certificate reissued in 2025,
     * which the go-tdx-guest chain predates: take it from the Phala collateral's issuer chain. */
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral("tdx/sample_tcbinfo_response_v5", NULL);
    _cleanup_free_ char *path = vector_path("tdx/phala_tdx_quote_collateral.json");
    json_t *phala = json_load_file(path, 0, NULL);
    const char *chain = json_string_value(json_object_get(phala, "tcb_info_issuer_chain"));
    assert_non_null(chain);
    assert_int_equal(veil_collateral_add(coll, (const uint8_t *)chain, strlen(chain), "phala tcb_info_issuer_chain"), 0);
    json_decref(phala);
    struct veil_hw_options opts = accept_all("2026-02-10T00:00:00Z");
    opts.allow_incomplete_collateral = true;
    _cleanup_(veil_claims_freep) struct veil_claims *c = verify_ok(V5_QUOTE, coll, &opts);
    assert_string_equal(json_string_value(json_object_get(c->details, "fmspc")), "90c06f000000");
}


static struct veil_collateral *phala_collateral(void) {
    return collateral("tdx/phala_tdx_quote_collateral.json", NULL);
}

/* Flip one bit at `offset` and expect a refusal naming `needle`. */
static void flip_refused(const char *quote_name, size_t offset, int err, const char *needle) {
    size_t size;
    _cleanup_free_ uint8_t *quote = load(quote_name, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = phala_collateral();
    struct veil_hw_options opts = accept_all(PHALA_TIME);
    struct veil_claims *c = NULL;
    assert_true(offset < size);
    quote[offset] ^= 0x04;
    refused(veil_tdx_verify(quote, size, coll, &opts, &c), err, needle);
}

static void test_tampered_quote(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *quote = load(PHALA_QUOTE, &size);
    struct veil_dcap_quote q;
    assert_int_equal(veil_dcap_quote_parse(quote, size, &q), 0);
    size_t sig = q.signed_size + 4;               /* quote signature */
    size_t qe_report = sig + 64 + 64 + 6;         /* QE report (v4: after the type-6 header) */
    size_t qe_auth = qe_report + 384 + 64 + 2;    /* QE authentication data */
    flip_refused(PHALA_QUOTE, 48 + 136, -EACCES, "quote signature");     /* MRTD */
    flip_refused(PHALA_QUOTE, 48 + 520, -EACCES, "quote signature");     /* REPORTDATA */
    flip_refused(PHALA_QUOTE, 20, -EACCES, "QE vendor id");              /* header */
    flip_refused(PHALA_QUOTE, sig + 3, -EACCES, "quote signature");      /* r */
    flip_refused(PHALA_QUOTE, sig + 64 + 10, -EACCES, "attestation key"); /* key: not on the curve */
    flip_refused(PHALA_QUOTE, qe_report + 64, -EACCES, "QE report signature"); /* QE MRENCLAVE */
    flip_refused(PHALA_QUOTE, qe_report + 384 + 5, -EACCES, "QE report signature");
    flip_refused(PHALA_QUOTE, qe_auth + 1, -EACCES, "does not bind the attestation key");
    /* a flipped bit in a certificate's base64 breaks its signature, or its encoding */
    size_t pck_pem = qe_auth + 32 + 6 + 100, ca_pem = qe_auth + 32 + 6 + 1500;
    for (size_t at_off = pck_pem; at_off <= ca_pem; at_off += ca_pem - pck_pem) {
        _cleanup_free_ uint8_t *copy = load(PHALA_QUOTE, &size);
        _cleanup_(veil_collateral_freep) struct veil_collateral *coll = phala_collateral();
        struct veil_hw_options opts = accept_all(PHALA_TIME);
        struct veil_claims *c = NULL;
        copy[at_off] = copy[at_off] == 'A' ? 'B' : 'A';
        int r = veil_tdx_verify(copy, size, coll, &opts, &c);
        if (r != -EACCES && r != -EBADMSG) fail_msg("certificate flip at %zu: %d %s", at_off, r, veil_err_msg());
    }
}

static void test_truncated(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *quote = load(PHALA_QUOTE, &size);
    struct veil_dcap_quote q;
    assert_int_equal(veil_dcap_quote_parse(quote, size, &q), 0);
    size_t end = size - q.trailing_size; /* the quote proper; the file carries padding after it */
    assert_int_equal(q.trailing_size, 70);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = phala_collateral();
    struct veil_hw_options opts = accept_all(PHALA_TIME);
    for (size_t n = 0; n < end; n++) {
        _cleanup_free_ uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, quote, n);
        struct veil_claims *c = NULL;
        int r = veil_tdx_verify(copy, n, coll, &opts, &c);
        if (r != -EBADMSG) fail_msg("truncated to %zu: %d %s", n, r, veil_err_msg());
    }
    /* without the padding it still verifies: trailing bytes are outside the quote */
    struct veil_claims *c = NULL;
    assert_int_equal(veil_tdx_verify(quote, end, coll, &opts, &c), 0);
    veil_claims_free(c);
    /* a signature-data length that runs past the end */
    veil_store_u32le(quote + q.signed_size, (uint32_t)(size - q.signed_size));
    refused(veil_tdx_verify(quote, size, coll, &opts, &c), -EBADMSG, "signature data");
}

static void test_collateral_problems(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *quote = load(PHALA_QUOTE, &size);
    struct veil_claims *c = NULL;
    struct veil_hw_options opts = accept_all(PHALA_TIME);
    /* the Phala collateral with the SPR TCB info (FMSPC 50806f000000) in place of its own */
    _cleanup_free_ char *fpath = vector_path("tdx/phala_tdx_quote_collateral.json");
    json_t *froot = json_load_file(fpath, 0, NULL);
    json_object_del(froot, "tcb_info");
    char *ftext = json_dumps(froot, 0);
    _cleanup_(veil_collateral_freep) struct veil_collateral *spr = collateral("tdx/sample_tcbInfo_response", NULL);
    assert_int_equal(veil_collateral_add(spr, (const uint8_t *)ftext, strlen(ftext), "phala without tcb_info"), 0);
    free(ftext);
    json_decref(froot);
    refused(veil_tdx_verify(quote, size, spr, &opts, &c), -EACCES,
            "mismatched FMSPC: the PCK certificate's FMSPC is b0c06f000000, but the TDX TCB info in the collateral is for 50806f000000");
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = phala_collateral();
    /* outside the TCB info / QE identity / CRL windows */
    opts.now = at("2025-08-01T00:00:00Z");
    refused(veil_tdx_verify(quote, size, coll, &opts, &c), -EACCES, "stale");
    opts.now = at("2025-06-19T10:00:00Z");
    refused(veil_tdx_verify(quote, size, coll, &opts, &c), -EACCES, "not yet valid");
    opts.now = at("2033-01-01T00:00:00Z");
    refused(veil_tdx_verify(quote, size, coll, &opts, &c), -EACCES, "PCK certificate expired");
    opts.now = at(PHALA_TIME);
    /* a TCB info whose body was edited after signing */
    _cleanup_free_ char *path = vector_path("tdx/phala_tdx_quote_collateral.json");
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    char *original = strdup(json_string_value(json_object_get(root, "tcb_info")));
    char *body = strdup(original);
    char *digit = strstr(body, "\"tcbEvaluationDataNumber\":17");
    assert_non_null(digit);
    digit[strlen("\"tcbEvaluationDataNumber\":1")] = '8';
    json_object_set_new(root, "tcb_info", json_string(body));
    free(body);
    char *text = json_dumps(root, 0);
    _cleanup_(veil_collateral_freep) struct veil_collateral *bad = NULL;
    assert_int_equal(veil_collateral_new(&bad), 0);
    assert_int_equal(veil_collateral_add(bad, (const uint8_t *)text, strlen(text), "edited"), 0);
    refused(veil_tdx_verify(quote, size, bad, &opts, &c), -EACCES, "signature does not verify");
    free(text);
    /* no QE identity, no CRLs */
    json_object_set_new(root, "tcb_info", json_string(original));
    free(original);
    json_object_del(root, "qe_identity");
    text = json_dumps(root, 0);
    _cleanup_(veil_collateral_freep) struct veil_collateral *no_qe = NULL;
    assert_int_equal(veil_collateral_new(&no_qe), 0);
    assert_int_equal(veil_collateral_add(no_qe, (const uint8_t *)text, strlen(text), "no qe"), 0);
    refused(veil_tdx_verify(quote, size, no_qe, &opts, &c), -EACCES, "no TD_QE identity");
    free(text);
    json_object_del(root, "pck_crl");
    text = json_dumps(root, 0);
    _cleanup_(veil_collateral_freep) struct veil_collateral *no_crl = NULL;
    assert_int_equal(veil_collateral_new(&no_crl), 0);
    assert_int_equal(veil_collateral_add(no_crl, (const uint8_t *)text, strlen(text), "no crl"), 0);
    refused(veil_tdx_verify(quote, size, no_crl, &opts, &c), -EACCES, "no CRL issued by 'Intel SGX PCK Platform CA'");
    free(text);
    json_decref(root);
    /* an SGX quote is not a TDX quote */
    size_t sgx_size;
    _cleanup_free_ uint8_t *sgx = load("sgx/phala_sgx_quote.dat", &sgx_size);
    refused(veil_tdx_verify(sgx, sgx_size, coll, &opts, &c), -EBADMSG, "SGX quote");
    /* the TDREPORT is not a quote */
    size_t report_size;
    _cleanup_free_ uint8_t *report = load("tdx/report.dat", &report_size);
    assert_int_equal(veil_tdx_verify(report, report_size, coll, &opts, &c), -EBADMSG);
}

static void test_policy(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *quote = load(PHALA_QUOTE, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = phala_collateral();
    struct veil_claims *c = NULL;
    struct veil_hw_options opts = { .now = at(PHALA_TIME) };
    uint8_t nonce[4] = { 0x9a, 0x9d, 0x48, 0xe7 };
    opts.report_data = nonce;
    opts.report_data_size = sizeof(nonce);
    assert_int_equal(veil_tdx_verify(quote, size, coll, &opts, &c), 0); /* UpToDate, no advisories */
    veil_claims_free(c);
    nonce[3] ^= 1;
    refused(veil_tdx_verify(quote, size, coll, &opts, &c), -EACCES, "report data mismatch: expected 9a9d48e6, got 9a9d48e7");
    /* the SPR platform is below every TCB level: Unknown, refused by default */
    size_t spr_size;
    _cleanup_free_ uint8_t *spr = load(SPR_QUOTE, &spr_size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *spr_coll = spr_collateral();
    struct veil_hw_options strict = { .now = at(SPR_TIME) };
    refused(veil_tdx_verify(spr, spr_size, spr_coll, &strict, &c), -EPERM, "TCB status is Unknown");
}

/* ---- a hierarchy of our own, to test revocation and the root pin on a re-signed quote ---- */

struct forge {
    EVP_PKEY *root_key, *ca_key, *pck_key, *att_key;
    X509 *root, *ca, *pck;
};

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long serial,
                       X509_EXTENSION *ext) {
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    ASN1_TIME_set(X509_getm_notBefore(x), at("2020-01-01T00:00:00Z"));
    ASN1_TIME_set(X509_getm_notAfter(x), at("2040-01-01T00:00:00Z"));
    X509_set_pubkey(x, key);
    if (ext) X509_add_ext(x, ext, -1);
    if (!ext) { /* the root and the CA */
        X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
        assert_non_null(bc);
        X509_add_ext(x, bc, -1);
        X509_EXTENSION_free(bc);
    }
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    return x;
}

static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *key, long revoked_serial, const char *next_update) {
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    ASN1_TIME *t = ASN1_TIME_set(NULL, at("2025-01-01T00:00:00Z"));
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, at(next_update));
    X509_CRL_set1_nextUpdate(crl, t);
    if (revoked_serial >= 0) {
        X509_REVOKED *rev = X509_REVOKED_new();
        ASN1_INTEGER *serial = ASN1_INTEGER_new();
        ASN1_INTEGER_set(serial, revoked_serial);
        X509_REVOKED_set_serialNumber(rev, serial);
        X509_REVOKED_set_revocationDate(rev, t);
        X509_CRL_add0_revoked(crl, rev);
        ASN1_INTEGER_free(serial);
    }
    ASN1_TIME_free(t);
    X509_CRL_sort(crl);
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    return crl;
}

static void add_crl(struct veil_collateral *coll, X509_CRL *crl) {
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(crl, &der);
    assert_true(n > 0);
    assert_int_equal(veil_collateral_add(coll, der, (size_t)n, "test CRL"), 0);
    OPENSSL_free(der);
    X509_CRL_free(crl);
}

static void raw_sign(EVP_PKEY *key, const void *data, size_t size, uint8_t out[64]) {
    uint8_t *der;
    size_t der_size;
    assert_int_equal(veil_sign(key, data, size, &der, &der_size), 0);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_size);
    assert_non_null(sig);
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32);
    ECDSA_SIG_free(sig);
    free(der);
}

/* Re-sign the Phala quote under our own root (optionally setting the TD's DEBUG attribute). */
static uint8_t *forge_quote(struct forge *f, bool debug, size_t *ret_size) {
    size_t size;
    _cleanup_free_ uint8_t *real = load(PHALA_QUOTE, &size);
    struct veil_dcap_quote q;
    assert_int_equal(veil_dcap_quote_parse(real, size, &q), 0);
    _cleanup_(veil_x509_stack_freep) STACK_OF(X509) *chain = sk_X509_new_null();
    assert_int_equal(veil_certs_parse(q.pck_chain, q.pck_chain_size, chain), 0);
    ASN1_OBJECT *sgx_oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    X509 *real_pck = sk_X509_value(chain, 0);
    X509_EXTENSION *sgx_ext = X509_get_ext(real_pck, X509_get_ext_by_OBJ(real_pck, sgx_oid, -1));
    ASN1_OBJECT_free(sgx_oid);

    assert_int_equal(veil_key_generate(VEIL_KEY_ECDSA_P256, &f->root_key), 0);
    assert_int_equal(veil_key_generate(VEIL_KEY_ECDSA_P256, &f->ca_key), 0);
    assert_int_equal(veil_key_generate(VEIL_KEY_ECDSA_P256, &f->pck_key), 0);
    assert_int_equal(veil_key_generate(VEIL_KEY_ECDSA_P256, &f->att_key), 0);
    f->root = make_cert("Test SGX Root CA", f->root_key, NULL, f->root_key, 1, NULL);
    f->ca = make_cert("Test SGX PCK Platform CA", f->ca_key, f->root, f->root_key, 2, NULL);
    f->pck = make_cert("Test SGX PCK Certificate", f->pck_key, f->ca, f->ca_key, 0x1234, sgx_ext);

    uint8_t point[65], att[64];
    size_t point_size;
    assert_int_equal(EVP_PKEY_get_octet_string_param(f->att_key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &point_size), 1);
    assert_int_equal(point_size, 65);
    memcpy(att, point + 1, 64);

    uint8_t body[VEIL_DCAP_HEADER_SIZE + VEIL_TDX10_BODY_SIZE];
    assert_int_equal(q.signed_size, sizeof(body));
    memcpy(body, q.signed_data, sizeof(body));
    if (debug) body[48 + 120] |= 0x01; /* TDATTRIBUTES.DEBUG */
    uint8_t qe_report[384];
    memcpy(qe_report, q.qe_report_raw, 384);
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    assert_int_equal(veil_hash_new(VEIL_HASH_SHA256, &h), 0);
    assert_int_equal(veil_hash_update(h, att, 64), 0);
    assert_int_equal(veil_hash_update(h, q.qe_auth, q.qe_auth_size), 0);
    memset(qe_report + 320, 0, 64);
    assert_int_equal(veil_hash_final(h, qe_report + 320), 0);

    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, f->pck);
    PEM_write_bio_X509(bio, f->ca);
    PEM_write_bio_X509(bio, f->root);
    char *pem;
    long pem_size = BIO_get_mem_data(bio, &pem);

    uint8_t quote_sig[64], qe_sig[64];
    raw_sign(f->att_key, body, sizeof(body), quote_sig);
    raw_sign(f->pck_key, qe_report, sizeof(qe_report), qe_sig);
    size_t inner = 384 + 64 + 2 + q.qe_auth_size + 6 + (size_t)pem_size;
    struct veil_buf b = { 0 };
    assert_int_equal(veil_buf_append(&b, body, sizeof(body)), 0);
    assert_int_equal(veil_buf_append_u32le(&b, (uint32_t)(64 + 64 + 6 + inner)), 0);
    assert_int_equal(veil_buf_append(&b, quote_sig, 64), 0);
    assert_int_equal(veil_buf_append(&b, att, 64), 0);
    assert_int_equal(veil_buf_append_u16le(&b, 6), 0);
    assert_int_equal(veil_buf_append_u32le(&b, (uint32_t)inner), 0);
    assert_int_equal(veil_buf_append(&b, qe_report, 384), 0);
    assert_int_equal(veil_buf_append(&b, qe_sig, 64), 0);
    assert_int_equal(veil_buf_append_u16le(&b, (uint16_t)q.qe_auth_size), 0);
    assert_int_equal(veil_buf_append(&b, q.qe_auth, q.qe_auth_size), 0);
    assert_int_equal(veil_buf_append_u16le(&b, 5), 0);
    assert_int_equal(veil_buf_append_u32le(&b, (uint32_t)pem_size), 0);
    assert_int_equal(veil_buf_append(&b, pem, (size_t)pem_size), 0);
    BIO_free(bio);
    return veil_buf_steal(&b, ret_size);
}

static void forge_done(struct forge *f) {
    EVP_PKEY_free(f->root_key);
    EVP_PKEY_free(f->ca_key);
    EVP_PKEY_free(f->pck_key);
    EVP_PKEY_free(f->att_key);
    X509_free(f->root);
    X509_free(f->ca);
    X509_free(f->pck);
}

/* The Phala TCB info, QE identity, their issuer chain and Intel's root CRL: no PCK CRLs. */
static struct veil_collateral *intel_json_only(void) {
    _cleanup_free_ char *path = vector_path("tdx/phala_tdx_quote_collateral.json");
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    json_object_del(root, "pck_crl");
    json_object_del(root, "pck_crl_issuer_chain");
    char *text = json_dumps(root, 0);
    struct veil_collateral *c;
    assert_int_equal(veil_collateral_new(&c), 0);
    assert_int_equal(veil_collateral_add(c, (const uint8_t *)text, strlen(text), "phala reduced"), 0);
    free(text);
    json_decref(root);
    return c;
}

static void test_forged_hierarchy(void **state) {
    (void)state;
    struct forge f = { 0 };
    size_t size;
    _cleanup_free_ uint8_t *quote = forge_quote(&f, false, &size);
    struct veil_claims *c = NULL;
    struct veil_hw_options opts = accept_all(PHALA_TIME);

    /* our root is not Intel's */
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = intel_json_only();
    add_crl(coll, make_crl(f.ca, f.ca_key, -1, "2030-01-01T00:00:00Z"));
    add_crl(coll, make_crl(f.root, f.root_key, -1, "2030-01-01T00:00:00Z"));
    refused(veil_tdx_verify(quote, size, coll, &opts, &c), -EACCES, "not the pinned Intel SGX Root CA");

    /* trusted as an extra root, the re-signed quote verifies: the forgery is faithful */
    X509 *roots[] = { f.root };
    opts.extra_intel_roots = roots;
    opts.extra_intel_roots_count = 1;
    int r = veil_tdx_verify(quote, size, coll, &opts, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    hex_equal(c->measurement, 8, "91eb2b44d141d4ec");
    veil_claims_free(c);

    /* the PCK revoked by its CA's CRL */
    _cleanup_(veil_collateral_freep) struct veil_collateral *revoked = intel_json_only();
    add_crl(revoked, make_crl(f.ca, f.ca_key, 0x1234, "2030-01-01T00:00:00Z"));
    add_crl(revoked, make_crl(f.root, f.root_key, -1, "2030-01-01T00:00:00Z"));
    refused(veil_tdx_verify(quote, size, revoked, &opts, &c), -EACCES, "PCK certificate (serial 1234) is revoked");

    /* the PCK CA revoked by the root's CRL */
    _cleanup_(veil_collateral_freep) struct veil_collateral *ca_revoked = intel_json_only();
    add_crl(ca_revoked, make_crl(f.ca, f.ca_key, -1, "2030-01-01T00:00:00Z"));
    add_crl(ca_revoked, make_crl(f.root, f.root_key, 2, "2030-01-01T00:00:00Z"));
    refused(veil_tdx_verify(quote, size, ca_revoked, &opts, &c), -EACCES, "PCK CA certificate (serial 02) is revoked");

    /* a chain where the PCK (a leaf) vouches for another key is refused */
    X509 *fake_leaf = make_cert("Test leaf", f.att_key, f.pck, f.pck_key, 7, NULL);
    refused(veil_cert_check_issued(fake_leaf, f.pck, at(PHALA_TIME), "leaf", "PCK"), -EACCES, "is not a CA certificate");
    X509_free(fake_leaf);

    /* a stale CRL */
    _cleanup_(veil_collateral_freep) struct veil_collateral *stale = intel_json_only();
    add_crl(stale, make_crl(f.ca, f.ca_key, -1, "2025-03-01T00:00:00Z"));
    add_crl(stale, make_crl(f.root, f.root_key, -1, "2030-01-01T00:00:00Z"));
    refused(veil_tdx_verify(quote, size, stale, &opts, &c), -EACCES, "is stale: nextUpdate 2025-03-01");

    /* a CRL signed by the wrong key */
    _cleanup_(veil_collateral_freep) struct veil_collateral *forged_crl = intel_json_only();
    add_crl(forged_crl, make_crl(f.ca, f.root_key, -1, "2030-01-01T00:00:00Z"));
    add_crl(forged_crl, make_crl(f.root, f.root_key, -1, "2030-01-01T00:00:00Z"));
    refused(veil_tdx_verify(quote, size, forged_crl, &opts, &c), -EACCES, "CRL of 'Test SGX PCK Platform CA': signature");
    forge_done(&f);

    /* a debug TD is refused unless allowed */
    struct forge g = { 0 };
    _cleanup_free_ uint8_t *debug_quote = forge_quote(&g, true, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *gc = intel_json_only();
    add_crl(gc, make_crl(g.ca, g.ca_key, -1, "2030-01-01T00:00:00Z"));
    add_crl(gc, make_crl(g.root, g.root_key, -1, "2030-01-01T00:00:00Z"));
    X509 *groots[] = { g.root };
    opts.extra_intel_roots = groots;
    refused(veil_tdx_verify(debug_quote, size, gc, &opts, &c), -EPERM, "debug TD");
    opts.allow_debug = true;
    assert_int_equal(veil_tdx_verify(debug_quote, size, gc, &opts, &c), 0);
    assert_true(c->debug);
    veil_claims_free(c);
    forge_done(&g);
}

/* The TCB-level rules on hand-made collateral bodies (the signature is checked elsewhere). */
static void test_tcb_rules(void **state) {
    (void)state;
    struct veil_pck_info pck;
    memset(&pck, 0, sizeof(pck));
    for (int i = 0; i < 16; i++) pck.cpu_svn_components[i] = 4;
    pck.pce_svn = 10;
    json_t *details = json_object(), *advisories = json_array();
    enum veil_tcb_status status;
    /* TCB info v2 (SGX): sgxtcbcompNNsvn members; the first level the platform meets wins */
    json_t *v2 = json_loads("{\"version\":2,\"tcbLevels\":["
                            "{\"tcb\":{\"sgxtcbcomp01svn\":5,\"sgxtcbcomp02svn\":0,\"sgxtcbcomp03svn\":0,\"sgxtcbcomp04svn\":0,"
                            "\"sgxtcbcomp05svn\":0,\"sgxtcbcomp06svn\":0,\"sgxtcbcomp07svn\":0,\"sgxtcbcomp08svn\":0,"
                            "\"sgxtcbcomp09svn\":0,\"sgxtcbcomp10svn\":0,\"sgxtcbcomp11svn\":0,\"sgxtcbcomp12svn\":0,"
                            "\"sgxtcbcomp13svn\":0,\"sgxtcbcomp14svn\":0,\"sgxtcbcomp15svn\":0,\"sgxtcbcomp16svn\":0,\"pcesvn\":10},"
                            "\"tcbStatus\":\"UpToDate\"},"
                            "{\"tcb\":{\"sgxtcbcomp01svn\":4,\"sgxtcbcomp02svn\":0,\"sgxtcbcomp03svn\":0,\"sgxtcbcomp04svn\":0,"
                            "\"sgxtcbcomp05svn\":0,\"sgxtcbcomp06svn\":0,\"sgxtcbcomp07svn\":0,\"sgxtcbcomp08svn\":0,"
                            "\"sgxtcbcomp09svn\":0,\"sgxtcbcomp10svn\":0,\"sgxtcbcomp11svn\":0,\"sgxtcbcomp12svn\":0,"
                            "\"sgxtcbcomp13svn\":0,\"sgxtcbcomp14svn\":0,\"sgxtcbcomp15svn\":0,\"sgxtcbcomp16svn\":0,\"pcesvn\":9},"
                            "\"tcbStatus\":\"SWHardeningNeeded\",\"advisoryIDs\":[\"INTEL-SA-00615\"]}]}", 0, NULL);
    assert_non_null(v2);
    assert_int_equal(veil_dcap_tcb_status(v2, &pck, NULL, &status, advisories, details), 0);
    assert_int_equal(status, VEIL_TCB_SW_HARDENING_NEEDED);
    assert_string_equal(json_string_value(json_array_get(advisories, 0)), "INTEL-SA-00615");
    pck.pce_svn = 8; /* below every level */
    assert_int_equal(veil_dcap_tcb_status(v2, &pck, NULL, &status, advisories, details), 0);
    assert_int_equal(status, VEIL_TCB_UNKNOWN);
    json_decref(v2);

    /* convergence with the QE / TDX module status (Intel QVL convergeTcbStatus) */
    assert_int_equal(veil_dcap_tcb_converge(VEIL_TCB_UP_TO_DATE, VEIL_TCB_OUT_OF_DATE), VEIL_TCB_OUT_OF_DATE);
    assert_int_equal(veil_dcap_tcb_converge(VEIL_TCB_SW_HARDENING_NEEDED, VEIL_TCB_OUT_OF_DATE), VEIL_TCB_OUT_OF_DATE);
    assert_int_equal(veil_dcap_tcb_converge(VEIL_TCB_CONFIGURATION_NEEDED, VEIL_TCB_OUT_OF_DATE),
                     VEIL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
    assert_int_equal(veil_dcap_tcb_converge(VEIL_TCB_UP_TO_DATE, VEIL_TCB_REVOKED), VEIL_TCB_REVOKED);
    assert_int_equal(veil_dcap_tcb_converge(VEIL_TCB_CONFIGURATION_NEEDED, VEIL_TCB_UP_TO_DATE), VEIL_TCB_CONFIGURATION_NEEDED);

    /* the Phala TDX TCB info against a TDX 1.5 module (TEE_TCB_SVN[1] = 1): the module identity TDX_01 decides */
    _cleanup_free_ char *path = vector_path("tdx/phala_tdx_quote_collateral.json");
    json_t *root = json_load_file(path, 0, NULL);
    json_t *tcb = json_loads(json_string_value(json_object_get(root, "tcb_info")), 0, NULL);
    json_t *qe_identity = json_loads(json_string_value(json_object_get(root, "qe_identity")), 0, NULL);
    assert_non_null(tcb);
    memset(&pck, 0, sizeof(pck));
    memset(pck.cpu_svn_components, 0xff, 16);
    pck.pce_svn = 0xffff;
    struct veil_tdx_report_body td;
    memset(&td, 0, sizeof(td));
    memset(td.tee_tcb_svn, 0xff, 16);
    td.tee_tcb_svn[0] = 4; /* module SVN: TDX_01 level isvsvn 4 is UpToDate */
    td.tee_tcb_svn[1] = 1;
    assert_int_equal(veil_dcap_tcb_status(tcb, &pck, &td, &status, advisories, details), 0);
    assert_int_equal(status, VEIL_TCB_UP_TO_DATE);
    td.tee_tcb_svn[0] = 2; /* isvsvn 2 is OutOfDate: the platform converges to OutOfDate */
    assert_int_equal(veil_dcap_tcb_status(tcb, &pck, &td, &status, advisories, details), 0);
    assert_int_equal(status, VEIL_TCB_OUT_OF_DATE);
    td.tee_tcb_svn[0] = 1; /* below every module level */
    refused(veil_dcap_tcb_status(tcb, &pck, &td, &status, advisories, details), -EACCES, "below every TCB level");
    td.tee_tcb_svn[0] = 4;
    td.tee_tcb_svn[1] = 7; /* no TDX_07 identity */
    refused(veil_dcap_tcb_status(tcb, &pck, &td, &status, advisories, details), -EACCES, "no tdxModuleIdentities entry 'TDX_07'");
    td.tee_tcb_svn[1] = 1;
    td.mr_signer_seam[0] = 1; /* a module signed by someone else */
    refused(veil_dcap_tcb_status(tcb, &pck, &td, &status, advisories, details), -EACCES, "MRSIGNERSEAM");

    /* the QE identity against QE reports that differ from it */
    struct veil_sgx_report_body qe;
    memset(&qe, 0, sizeof(qe));
    assert_int_equal(veil_hex_decode("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5", qe.mr_signer, 32), 0);
    qe.isv_prod_id = 2;
    qe.isv_svn = 4;
    qe.attributes[0] = 0x11;
    assert_int_equal(veil_dcap_qe_status(qe_identity, &qe, &status, advisories), 0);
    assert_int_equal(status, VEIL_TCB_UP_TO_DATE);
    qe.isv_svn = 3;
    refused(veil_dcap_qe_status(qe_identity, &qe, &status, advisories), -EACCES, "ISVSVN 3 is below every TCB level");
    qe.isv_svn = 4;
    qe.isv_prod_id = 1;
    refused(veil_dcap_qe_status(qe_identity, &qe, &status, advisories), -EACCES, "ISVPRODID 1");
    qe.isv_prod_id = 2;
    qe.attributes[0] = 0x13; /* DEBUG: masked in */
    refused(veil_dcap_qe_status(qe_identity, &qe, &status, advisories), -EACCES, "ATTRIBUTES");
    qe.attributes[0] = 0x11;
    qe.mr_signer[5] ^= 1;
    refused(veil_dcap_qe_status(qe_identity, &qe, &status, advisories), -EACCES, "MRSIGNER");
    json_decref(qe_identity);
    json_decref(tcb);
    json_decref(root);
    json_decref(details);
    json_decref(advisories);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spr_v4),
        cmocka_unit_test(test_phala_v4),
        cmocka_unit_test(test_v5),
        cmocka_unit_test(test_tampered_quote),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_collateral_problems),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_forged_hierarchy),
        cmocka_unit_test(test_tcb_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
