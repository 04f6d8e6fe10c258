/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP verification against real reports (Milan v2 VCEK, Milan v3 VLEK) and every way to break them. */
#include <dirent.h>
#include <openssl/pem.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "evidence/collateral-x509.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "evidence/evidence.h"
#include "evidence/snp.h"
#include "hw-helpers.h"

#define MILAN_V2 "snp/milan-v2-report.bin"
#define MILAN_V3_VLEK "snp/milan-v3-vlek-report.bin"

static struct veil_hw_options opts_at(const char *t) {
    return (struct veil_hw_options){ .now = at(t), .allow_debug = true };
}

static void test_milan_v2_vcek(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *report = load(MILAN_V2, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll =
        collateral("snp/milan-v2-vcek.der", "snp/milan-ask-ark.testcer", NULL);
    struct veil_hw_options opts = opts_at("2025-06-01T00:00:00Z");
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    int r = veil_snp_verify(report, size, coll, &opts, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    assert_int_equal(c->tee, VEIL_TEE_SNP);
    assert_int_equal(c->measurement_size, 48);
    hex_equal(c->measurement, 48,
              "b07af9620f3b839b47996422ddec6058338951d984e3121151"
              "31ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01");
    hex_equal(c->report_data, 8, "0102030405000000");
    assert_true(c->debug);
    assert_int_equal(json_integer_value(json_object_get(c->details, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(c->details, "product")), "Milan");
    assert_string_equal(json_string_value(json_object_get(c->details, "signing_key")), "vcek");
    assert_string_equal(json_string_value(json_object_get(c->details, "ark_crl")), "not supplied");
    json_t *tcb = json_object_get(c->details, "reported_tcb");
    assert_int_equal(json_integer_value(json_object_get(tcb, "snp")), 5);
    assert_int_equal(json_integer_value(json_object_get(tcb, "microcode")), 0x44);
    assert_true(json_is_true(json_object_get(c->details, "policy_smt")));
    assert_int_equal(json_integer_value(json_object_get(c->details, "vmpl")), 0);
    json_t *j = veil_claims_to_json(c);
    printf("# milan v2: measurement %s report_data %.16s…\n", json_string_value(json_object_get(j, "measurement")),
           json_string_value(json_object_get(j, "report_data")));
    json_decref(j);
    /* another chip's VCEK (and its chain) beside the right one does not get in the way */
    _cleanup_(veil_collateral_freep) struct veil_collateral *mixed =
        collateral("az-snp-vtpm/vcek.pem", "snp/milan-v2-vcek.der", "snp/ask_ark_genoa.pem", NULL);
    struct veil_claims *c2 = NULL;
    assert_int_equal(veil_snp_verify(report, size, mixed, &opts, &c2), 0);
    veil_claims_free(c2);
    /* a debug guest is refused unless the options allow it */
    opts.allow_debug = false;
    veil_claims_free(TAKE_PTR(c));
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EPERM, "DEBUG");
}

static void test_milan_v3_vlek(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *report = load(MILAN_V3_VLEK, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll =
        collateral("snp/milan-v3-vlek.der", "snp/ask_ark_milan_vlek.pem", NULL);
    struct veil_hw_options opts = opts_at("2025-06-01T00:00:00Z");
    opts.allow_debug = false;
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    int r = veil_snp_verify(report, size, coll, &opts, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    hex_equal(c->measurement, 16, "8922ebbdd00ec2c541f36a6e7a82a877");
    hex_equal(c->report_data, 8, "819770b7e6ea6df8");
    assert_false(c->debug);
    assert_string_equal(json_string_value(json_object_get(c->details, "signing_key")), "vlek");
    assert_int_equal(json_integer_value(json_object_get(c->details, "version")), 3);
    json_t *cpuid = json_object_get(c->details, "cpuid");
    assert_int_equal(json_integer_value(json_object_get(cpuid, "family")), 0x19);
    /* the combined ASK+ARK+ASVK file works too */
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll2 =
        collateral("snp/milan-v3-vlek.der", "snp/milan_ask_ark_asvk.pem", NULL);
    veil_claims_free(TAKE_PTR(c));
    assert_int_equal(veil_snp_verify(report, size, coll2, &opts, &c), 0);
}

static void test_tampered(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *report = load(MILAN_V2, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll =
        collateral("snp/milan-v2-vcek.der", "snp/milan-ask-ark.testcer", NULL);
    struct veil_hw_options opts = opts_at("2025-06-01T00:00:00Z");
    struct veil_claims *c = NULL;
    /* every byte of the signed body that the parser lets through must break the signature */
    static const size_t body[] = { 0x04, 0x08, 0x10, 0x30, 0x38, 0x50, 0x90, 0xbf, 0xc0, 0x140, 0x1a0, 0x1e8, 0x29f };
    for (size_t i = 0; i < ELEMENTSOF(body); i++) {
        report[body[i]] ^= 0x01;
        int r = veil_snp_verify(report, size, coll, &opts, &c);
        report[body[i]] ^= 0x01;
        if (r != -EACCES && r != -EBADMSG) fail_msg("flip at 0x%zx: got %d", body[i], r);
    }
    report[0x90] ^= 0x80; /* MEASUREMENT */
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EACCES, "signature");
    report[0x90] ^= 0x80;
    report[0x2a0] ^= 0x01; /* SIGNATURE.R */
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EACCES, "signature");
    report[0x2a0] ^= 0x01;
    report[0x2e8 + 5] ^= 0x01; /* SIGNATURE.S */
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EACCES, "signature");
    report[0x2e8 + 5] ^= 0x01;
    report[0x400] ^= 0x01; /* reserved part of the signature field */
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EBADMSG, "reserved");
    report[0x400] ^= 0x01;
    report[0] = 4; /* unknown version */
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EBADMSG, "VERSION");
    report[0] = 2;
    report[0x1a0] ^= 0x01; /* CHIP_ID no longer matches the VCEK */
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EACCES, "CHIP_ID");
    report[0x1a0] ^= 0x01;
    report[0x186] ^= 0x01; /* REPORTED_TCB.SNP no longer matches the VCEK */
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EACCES, "snpSPL");
    report[0x186] ^= 0x01;
    assert_int_equal(veil_snp_verify(report, size, coll, &opts, &c), 0);
    veil_claims_free(c);
}

static void test_truncated(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *report = load(MILAN_V2, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll =
        collateral("snp/milan-v2-vcek.der", "snp/milan-ask-ark.testcer", NULL);
    struct veil_hw_options opts = opts_at("2025-06-01T00:00:00Z");
    struct veil_claims *c = NULL;
    for (size_t n = 0; n < size; n++) {
        /* an exactly-sized copy so that ASan catches any read past the end */
        _cleanup_free_ uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, report, n);
        assert_int_equal(veil_snp_verify(copy, n, coll, &opts, &c), -EBADMSG);
    }
    _cleanup_free_ uint8_t *longer = calloc(1, size + 1);
    memcpy(longer, report, size);
    refused(veil_snp_verify(longer, size + 1, coll, &opts, &c), -EBADMSG, "1184");
}

static void test_wrong_chain(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *report = load(MILAN_V2, &size);
    struct veil_hw_options opts = opts_at("2025-06-01T00:00:00Z");
    struct veil_claims *c = NULL;
    /* the Genoa ASK and ARK cannot vouch for a Milan VCEK */
    _cleanup_(veil_collateral_freep) struct veil_collateral *genoa =
        collateral("snp/milan-v2-vcek.der", "snp/ask_ark_genoa.pem", NULL);
    refused(veil_snp_verify(report, size, genoa, &opts, &c), -EACCES, "SEV-Milan");
    /* nor can the Milan ASVK (the VLEK signer) */
    _cleanup_(veil_collateral_freep) struct veil_collateral *asvk =
        collateral("snp/milan-v2-vcek.der", "snp/ask_ark_milan_vlek.pem", NULL);
    refused(veil_snp_verify(report, size, asvk, &opts, &c), -EACCES, "no supplied ASK");
    /* no VCEK at all */
    _cleanup_(veil_collateral_freep) struct veil_collateral *none = collateral("snp/milan-ask-ark.testcer", NULL);
    refused(veil_snp_verify(report, size, none, &opts, &c), -EACCES, "no SEV-VCEK");
    /* ... and the refusal says where to fetch it */
    refused(veil_snp_verify(report, size, none, &opts, &c), -EACCES,
            "https://kdsintf.amd.com/vcek/v1/{Milan|Genoa}/3ac3fe21e13fb099");
    refused(veil_snp_verify(report, size, none, &opts, &c), -EACCES, "?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68");
    /* a VLEK-signed report with only a VCEK chain */
    _cleanup_free_ uint8_t *vlek_report = load(MILAN_V3_VLEK, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *vcek =
        collateral("snp/milan-v2-vcek.der", "snp/milan-ask-ark.testcer", NULL);
    refused(veil_snp_verify(vlek_report, size, vcek, &opts, &c), -EACCES, "no SEV-VLEK");
    /* the VCEK of another chip (the Azure vector's) */
    _cleanup_(veil_collateral_freep) struct veil_collateral *other = collateral("az-snp-vtpm/vcek.pem", NULL);
    refused(veil_snp_verify(report, size, other, &opts, &c), -EACCES, "CHIP_ID");
}

static void test_time_window(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *report = load(MILAN_V2, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll =
        collateral("snp/milan-v2-vcek.der", "snp/milan-ask-ark.testcer", NULL);
    struct veil_claims *c = NULL;
    struct veil_hw_options opts = opts_at("2030-01-01T00:00:00Z"); /* VCEK notAfter 2029-09-24 */
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EACCES, "VCEK certificate expired");
    opts = opts_at("2022-01-01T00:00:00Z"); /* VCEK notBefore 2022-09-24 */
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EACCES, "VCEK certificate not yet valid");
    _cleanup_free_ uint8_t *vlek_report = load(MILAN_V3_VLEK, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *vlek =
        collateral("snp/milan-v3-vlek.der", "snp/ask_ark_milan_vlek.pem", NULL);
    opts = opts_at("2026-01-01T00:00:00Z"); /* VLEK notAfter 2025-12-10 */
    refused(veil_snp_verify(vlek_report, size, vlek, &opts, &c), -EACCES, "VLEK certificate expired");
}

/* A flipped bit in each certificate's signature breaks the link above it. */
static void test_tampered_certs(void **state) {
    (void)state;
    size_t size, vcek_size;
    _cleanup_free_ uint8_t *report = load(MILAN_V2, &size);
    _cleanup_free_ uint8_t *vcek = load("snp/milan-v2-vcek.der", &vcek_size);
    struct veil_hw_options opts = opts_at("2025-06-01T00:00:00Z");
    struct veil_claims *c = NULL;
    /* the VCEK: last byte is inside its RSA-PSS signature */
    vcek[vcek_size - 1] ^= 0x01;
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral("snp/milan-ask-ark.testcer", NULL);
    assert_int_equal(veil_collateral_add(coll, vcek, vcek_size, "tampered vcek"), 0);
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EACCES, "no supplied ASK");

    /* the ASK and the ARK, re-encoded with one signature bit flipped */
    _cleanup_(veil_x509_stack_freep) STACK_OF(X509) *chain = sk_X509_new_null();
    size_t pem_size;
    _cleanup_free_ uint8_t *pem = load("snp/milan-ask-ark.testcer", &pem_size);
    assert_int_equal(veil_certs_parse(pem, pem_size, chain), 0);
    assert_int_equal(sk_X509_num(chain), 2);
    for (int which = 0; which < 2; which++) {
        _cleanup_(veil_collateral_freep) struct veil_collateral *t = collateral("snp/milan-v2-vcek.der", NULL);
        for (int i = 0; i < 2; i++) {
            unsigned char *der = NULL;
            int n = i2d_X509(sk_X509_value(chain, i), &der);
            assert_true(n > 0);
            if (i == which) der[n - 1] ^= 0x01;
            assert_int_equal(veil_collateral_add(t, der, (size_t)n, "chain"), 0);
            OPENSSL_free(der);
        }
        refused(veil_snp_verify(report, size, t, &opts, &c), -EACCES, which == 0 ? "no supplied ARK" : "ARK certificate: signature does not verify");
    }
}

static void test_layouts(void **state) {
    (void)state;
    /* TCB_VERSION: Milan/Genoa BL, TEE, rsvd[4], SNP, UCODE; Turin FMC, BL, TEE, SNP, rsvd[3], UCODE */
    uint64_t tcb = UINT64_C(0xd918000000000004) | UINT64_C(0x1d) << 24 | 0x0301 << 8;
    struct veil_snp_tcb milan = veil_snp_tcb_decode(tcb, VEIL_SNP_MILAN);
    assert_int_equal(milan.bootloader, 4);
    assert_int_equal(milan.tee, 1);
    assert_int_equal(milan.snp, 0x18);
    assert_int_equal(milan.microcode, 0xd9);
    struct veil_snp_tcb turin = veil_snp_tcb_decode(tcb, VEIL_SNP_TURIN);
    assert_int_equal(turin.fmc, 4);
    assert_int_equal(turin.bootloader, 1);
    assert_int_equal(turin.tee, 3);
    assert_int_equal(turin.snp, 0x1d);
    assert_int_equal(turin.microcode, 0xd9);
    /* a version 5 report carries the mitigation vectors after LAUNCH_TCB */
    size_t size;
    _cleanup_free_ uint8_t *report = load(MILAN_V3_VLEK, &size);
    report[0] = 5;
    report[0x1f8] = 0x11;
    report[0x200] = 0x22;
    struct veil_snp_report r;
    assert_int_equal(veil_snp_report_parse(report, size, &r), 0);
    assert_int_equal(r.version, 5);
    assert_int_equal(r.launch_mit_vector, 0x11);
    assert_int_equal(r.current_mit_vector, 0x22);
    assert_int_equal(veil_snp_report_product(&r), VEIL_SNP_MILAN);
    r.cpuid_fam_id = 0x19, r.cpuid_mod_id = 0x11;
    assert_int_equal(veil_snp_report_product(&r), VEIL_SNP_GENOA);
    r.cpuid_fam_id = 0x1a, r.cpuid_mod_id = 0x02;
    assert_int_equal(veil_snp_report_product(&r), VEIL_SNP_TURIN);
    /* the signature algorithm must be ECDSA P-384 */
    report[0x34] = 2;
    assert_int_equal(veil_snp_report_parse(report, size, &r), -EBADMSG);
}

/* Sign as the firmware does: ECDSA P-384 over 0x000..0x2A0, R and S little-endian. */
static void sign_report(uint8_t *report, EVP_PKEY *key) {
    uint8_t *der;
    size_t der_size;
    assert_int_equal(veil_sign(key, report, VEIL_SNP_SIGNED_SIZE, &der, &der_size), 0);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_size);
    assert_non_null(sig);
    uint8_t be[72];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), be, 72);
    for (int i = 0; i < 72; i++) report[0x2a0 + i] = be[71 - i];
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), be, 72);
    for (int i = 0; i < 72; i++) report[0x2e8 + i] = be[71 - i];
    ECDSA_SIG_free(sig);
    free(der);
}

static X509 *amd_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca, X509 *copy_exts_from) {
    X509 *x = X509_new();
    X509_set_version(x, 2);
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, name);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    ASN1_TIME_set(X509_getm_notBefore(x), at("2020-01-01T00:00:00Z"));
    ASN1_TIME_set(X509_getm_notAfter(x), at("2040-01-01T00:00:00Z"));
    X509_set_pubkey(x, key);
    if (ca) {
        X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
        X509_add_ext(x, bc, -1);
        X509_EXTENSION_free(bc);
    }
    for (int i = 0; copy_exts_from && i < X509_get_ext_count(copy_exts_from); i++)
        X509_add_ext(x, X509_get_ext(copy_exts_from, i), -1);
    assert_true(X509_sign(x, issuer_key, EVP_sha384()) > 0);
    return x;
}

static void add_cert(struct veil_collateral *coll, X509 *x) {
    assert_true(X509_up_ref(x));
    assert_true(sk_X509_push(coll->certs, x) > 0);
}

/* An AMD-shaped hierarchy of our own (ARK -> ASK -> VCEK with the real VCEK's extensions). */
struct hierarchy {
    EVP_PKEY *ark_key, *ask_key, *vcek_key;
    X509 *ark, *ask, *vcek;
};

/* Build one and re-sign the Milan v2 report under it: everything verifies but the root. */
static void hierarchy_make(struct hierarchy *h, uint8_t *report) {
    size_t vcek_size;
    _cleanup_free_ uint8_t *vcek_der = load("snp/milan-v2-vcek.der", &vcek_size);
    const unsigned char *p = vcek_der;
    X509 *real_vcek = d2i_X509(NULL, &p, (long)vcek_size);
    assert_non_null(real_vcek);
    h->ark_key = EVP_RSA_gen(2048);
    h->ask_key = EVP_RSA_gen(2048);
    assert_true(h->ark_key && h->ask_key);
    assert_int_equal(veil_key_generate(VEIL_KEY_ECDSA_P384, &h->vcek_key), 0);
    h->ark = amd_cert("ARK-Milan", h->ark_key, NULL, h->ark_key, true, NULL);
    h->ask = amd_cert("SEV-Milan", h->ask_key, h->ark, h->ark_key, true, NULL);
    h->vcek = amd_cert("SEV-VCEK", h->vcek_key, h->ask, h->ask_key, false, real_vcek);
    X509_free(real_vcek);
    sign_report(report, h->vcek_key);
}

static void hierarchy_done(struct hierarchy *h) {
    X509_free(h->ark);
    X509_free(h->ask);
    X509_free(h->vcek);
    EVP_PKEY_free(h->ark_key);
    EVP_PKEY_free(h->ask_key);
    EVP_PKEY_free(h->vcek_key);
}

/* Everything verifies but the pin. */
static void test_unpinned_ark(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *report = load(MILAN_V2, &size);
    struct hierarchy h;
    hierarchy_make(&h, report);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = NULL;
    assert_int_equal(veil_collateral_new(&coll), 0);
    add_cert(coll, h.vcek);
    add_cert(coll, h.ask);
    add_cert(coll, h.ark);
    struct veil_hw_options opts = opts_at("2025-06-01T00:00:00Z");
    struct veil_claims *c = NULL;
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EACCES, "is not a pinned AMD ARK");
    /* an ARK-issued CRL that revokes the ASK is honoured (checked before the pin, so it is reached here) */
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(h.ark));
    ASN1_TIME *t = ASN1_TIME_set(NULL, at("2025-01-01T00:00:00Z"));
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, at("2026-01-01T00:00:00Z"));
    X509_CRL_set1_nextUpdate(crl, t);
    X509_REVOKED *rev = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(h.ask));
    X509_REVOKED_set_revocationDate(rev, t);
    X509_CRL_add0_revoked(crl, rev);
    ASN1_TIME_free(t);
    assert_true(X509_CRL_sign(crl, h.ark_key, EVP_sha384()) > 0);
    assert_true(sk_X509_CRL_push(coll->crls, crl) > 0);
    refused(veil_snp_verify(report, size, coll, &opts, &c), -EACCES, "ASK certificate (serial 0) is revoked by the CRL of 'ARK-Milan'");
    hierarchy_done(&h);
}

/* A fresh trust directory holding `certs` as the file `name`. */
static char *trust_dir_with(const char *name, X509 *const *certs, size_t count) {
    char *dir = strdup("/tmp/veil-test-snp.XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    _cleanup_free_ char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < count; i++) assert_int_equal(PEM_write_X509(f, certs[i]), 1);
    assert_int_equal(fclose(f), 0);
    return dir;
}

static void trust_dir_remove(char *dir) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, NULL);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *path = NULL;
        assert_true(asprintf(&path, "%s/%s", dir, names[i]->d_name) > 0);
        if (names[i]->d_name[0] != '.') assert_int_equal(unlink(path), 0);
        free(names[i]);
    }
    free(names);
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

/* The report with its chain (CERTS) through the evidence interface, trusting `trust_dir`. */
static int verify_envelope(const uint8_t *report, size_t size, X509 *const *chain, size_t count, const char *trust_dir,
                           struct veil_claims **ret) {
    struct veil_buf certs = { 0 }, envelope = { 0 };
    for (size_t i = 0; i < count; i++) {
        unsigned char *der = NULL;
        int n = i2d_X509(chain[i], &der);
        assert_true(n > 0);
        assert_int_equal(veil_buf_append(&certs, der, (size_t)n), 0);
        OPENSSL_free(der);
    }
    struct veil_evidence ev = { .tee = VEIL_TEE_SNP };
    ev.item[VEIL_EVIDENCE_REPORT] = report;
    ev.item_size[VEIL_EVIDENCE_REPORT] = size;
    ev.item[VEIL_EVIDENCE_CERTS] = certs.data;
    ev.item_size[VEIL_EVIDENCE_CERTS] = certs.size;
    assert_int_equal(veil_evidence_encode(&ev, &envelope), 0);
    struct veil_verify_options vopts = { .now = at("2025-06-01T00:00:00Z"), .trust_dir = trust_dir };
    int r = veil_evidence_verify(envelope.data, envelope.size, &vopts, ret);
    veil_buf_done(&envelope);
    veil_buf_done(&certs);
    return r;
}

static const char *detail(const struct veil_claims *c, const char *key) {
    return json_string_value(json_object_get(c->details, key));
}

/* trust_dir's ask_ark_<product>.pem adds that product's ARK to the pinned ones; its name, not its text, says the product. */
static void test_trust_dir_ark(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *report = load(MILAN_V2, &size);
    struct hierarchy h;
    hierarchy_make(&h, report);
    X509 *chain[] = { h.vcek, h.ask, h.ark }, *ask_ark[] = { h.ask, h.ark };
    struct veil_claims *c = NULL;

    /* no trust_dir: only the pins */
    refused(verify_envelope(report, size, chain, 3, NULL, &c), -EACCES, "root 'ARK-Milan' is not a pinned AMD ARK");

    /* filed as ask_ark_milan.pem (any case): accepted, and the claims say where the root came from */
    char *milan = trust_dir_with("ask_ark_milan.pem", ask_ark, 2);
    int r = verify_envelope(report, size, chain, 3, milan, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    assert_string_equal(detail(c, "product"), "Milan");
    assert_string_equal(detail(c, "ark"), "trust directory: ask_ark_milan.pem");
    veil_claims_free(TAKE_PTR(c));
    /* ... and the chain need not travel with the evidence: the VCEK alone, the ASK from the file */
    r = verify_envelope(report, size, chain, 1, milan, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    veil_claims_free(TAKE_PTR(c));
    char *upper = trust_dir_with("ASK_ARK_Milan.PEM", ask_ark, 2);
    r = verify_envelope(report, size, chain, 3, upper, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    veil_claims_free(TAKE_PTR(c));

    /* the same ARK filed under another product: the VCEK's productName (Milan-B0) disagrees */
    char *genoa = trust_dir_with("ask_ark_genoa.pem", ask_ark, 2);
    refused(verify_envelope(report, size, chain, 3, genoa, &c), -EACCES,
            "productName extension is 'Milan-B0', but the chain ends at the Genoa ARK (trust directory: ask_ark_genoa.pem)");

    /* under a name that names no product it is no AMD root, whatever its CN says */
    char *unnamed = trust_dir_with("ark.pem", ask_ark, 2);
    refused(verify_envelope(report, size, chain, 3, unnamed, &c), -EACCES, "root 'ARK-Milan' is not a pinned AMD ARK (");
    char *vlek_name = trust_dir_with("ask_ark_milan_vlek.pem", ask_ark, 2);
    refused(verify_envelope(report, size, chain, 3, vlek_name, &c), -EACCES, "is not a pinned AMD ARK (");

    /* another ARK in the trust directory does not vouch for this one, and the refusal names the files consulted */
    struct hierarchy other;
    _cleanup_free_ uint8_t *scratch = load(MILAN_V2, &size);
    hierarchy_make(&other, scratch);
    char *wrong = trust_dir_with("ask_ark_milan.pem", (X509 *[]){ other.ask, other.ark }, 2);
    refused(verify_envelope(report, size, chain, 3, wrong, &c), -EACCES,
            "is not a pinned AMD ARK, nor the ARK of a trust directory file (ask_ark_milan.pem)");

    /* a root file must hold exactly one self-signed certificate */
    char *two = trust_dir_with("ask_ark_milan.pem", (X509 *[]){ h.ark, other.ark }, 2);
    refused(verify_envelope(report, size, chain, 3, two, &c), -EBADMSG, "holds 2 self-signed certificates, expected exactly one (the Milan ARK)");
    char *none = trust_dir_with("ask_ark_turin.pem", (X509 *[]){ h.ask }, 1);
    refused(verify_envelope(report, size, chain, 3, none, &c), -EBADMSG, "holds 0 self-signed certificates");

    /* the real Milan vector still verifies under its pinned ARK beside an unrelated trust directory */
    _cleanup_free_ uint8_t *real = load(MILAN_V2, &size);
    size_t vcek_size, pem_size;
    _cleanup_free_ uint8_t *vcek_der = load("snp/milan-v2-vcek.der", &vcek_size);
    _cleanup_free_ uint8_t *pem = load("snp/milan-ask-ark.testcer", &pem_size);
    _cleanup_(veil_x509_stack_freep) STACK_OF(X509) *real_chain = sk_X509_new_null();
    const unsigned char *p = vcek_der;
    assert_true(sk_X509_push(real_chain, d2i_X509(NULL, &p, (long)vcek_size)) > 0);
    assert_int_equal(veil_certs_parse(pem, pem_size, real_chain), 0);
    X509 *real_certs[] = { sk_X509_value(real_chain, 0), sk_X509_value(real_chain, 1), sk_X509_value(real_chain, 2) };
    r = verify_envelope(real, size, real_certs, 3, milan, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    assert_string_equal(detail(c, "product"), "Milan");
    assert_string_equal(detail(c, "ark"), "pinned");
    veil_claims_free(TAKE_PTR(c));

    char *dirs[] = { milan, upper, genoa, unnamed, vlek_name, wrong, two, none };
    for (size_t i = 0; i < ELEMENTSOF(dirs); i++) trust_dir_remove(dirs[i]);
    hierarchy_done(&other);
    hierarchy_done(&h);
}

/* The evidence interface: an envelope with the report and the chain (as CERTS, or as the auxblob certificate table). */
static void test_envelope(void **state) {
    (void)state;
    size_t size, vcek_size, pem_size;
    _cleanup_free_ uint8_t *report = load(MILAN_V2, &size);
    _cleanup_free_ uint8_t *vcek = load("snp/milan-v2-vcek.der", &vcek_size);
    _cleanup_free_ uint8_t *pem = load("snp/milan-ask-ark.testcer", &pem_size);
    _cleanup_(veil_x509_stack_freep) STACK_OF(X509) *chain = sk_X509_new_null();
    assert_int_equal(veil_certs_parse(pem, pem_size, chain), 0);
    unsigned char *ask = NULL, *ark = NULL;
    int ask_size = i2d_X509(sk_X509_value(chain, 0), &ask), ark_size = i2d_X509(sk_X509_value(chain, 1), &ark);
    assert_true(ask_size > 0 && ark_size > 0);

    struct veil_buf certs = { 0 };
    assert_int_equal(veil_buf_append(&certs, vcek, vcek_size), 0);
    assert_int_equal(veil_buf_append(&certs, ask, (size_t)ask_size), 0);
    assert_int_equal(veil_buf_append(&certs, ark, (size_t)ark_size), 0);
    struct veil_evidence ev = { .tee = VEIL_TEE_SNP };
    ev.item[VEIL_EVIDENCE_REPORT] = report;
    ev.item_size[VEIL_EVIDENCE_REPORT] = size;
    ev.item[VEIL_EVIDENCE_CERTS] = certs.data;
    ev.item_size[VEIL_EVIDENCE_CERTS] = certs.size;
    struct veil_buf envelope = { 0 };
    assert_int_equal(veil_evidence_encode(&ev, &envelope), 0);
    struct veil_verify_options vopts = { .now = at("2025-06-01T00:00:00Z") };
    struct veil_claims *c = NULL;
    int r = veil_evidence_verify(envelope.data, envelope.size, &vopts, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    assert_int_equal(c->tee, VEIL_TEE_SNP);
    hex_equal(c->measurement, 4, "b07af962");
    veil_claims_free(c);
    veil_buf_done(&envelope);

    /* the certificate table configfs-tsm returns as auxblob: GUID, offset, length; zero entry; certificates */
    static const uint8_t vcek_guid[16] = { 0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45,
                                           0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd };
    static const uint8_t ask_guid[16] = { 0x79, 0xb3, 0xb7, 0x4a, 0xac, 0xbb, 0xe4, 0x4f,
                                          0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 };
    static const uint8_t ark_guid[16] = { 0xa4, 0x06, 0xb4, 0xc0, 0x03, 0xa8, 0x52, 0x49,
                                          0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae };
    struct veil_buf table = { 0 };
    uint32_t offset = 4 * 24;
    const struct {
        const uint8_t *guid, *der;
        size_t size;
    } entries[] = { { vcek_guid, vcek, vcek_size }, { ask_guid, ask, (size_t)ask_size }, { ark_guid, ark, (size_t)ark_size } };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(veil_buf_append(&table, entries[i].guid, 16), 0);
        assert_int_equal(veil_buf_append_u32le(&table, offset), 0);
        assert_int_equal(veil_buf_append_u32le(&table, (uint32_t)entries[i].size), 0);
        offset += (uint32_t)entries[i].size;
    }
    assert_int_equal(veil_buf_append_zeros(&table, 24), 0);
    for (size_t i = 0; i < 3; i++) assert_int_equal(veil_buf_append(&table, entries[i].der, entries[i].size), 0);
    ev.item[VEIL_EVIDENCE_CERTS] = NULL;
    ev.item_size[VEIL_EVIDENCE_CERTS] = 0;
    ev.item[VEIL_EVIDENCE_AUXBLOB] = table.data;
    ev.item_size[VEIL_EVIDENCE_AUXBLOB] = table.size;
    assert_int_equal(veil_evidence_encode(&ev, &envelope), 0);
    r = veil_evidence_verify(envelope.data, envelope.size, &vopts, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    veil_claims_free(c);
    veil_buf_done(&envelope);
    /* an entry pointing outside the table */
    veil_store_u32le(table.data + 16, (uint32_t)table.size);
    assert_int_equal(veil_evidence_encode(&ev, &envelope), 0);
    refused(veil_evidence_verify(envelope.data, envelope.size, &vopts, &c), -EBADMSG, "outside the table");
    veil_buf_done(&envelope);
    veil_buf_done(&table);
    veil_buf_done(&certs);
    OPENSSL_free(ask);
    OPENSSL_free(ark);
}

/* Every product's ASK/ASVK -> ARK link and self-signed ARK verify (RSASSA-PSS), and the ARKs are the pinned keys. */
static void test_product_chains(void **state) {
    (void)state;
    static const struct {
        const char *file, *ark_spki;
    } chains[] = {
        { "snp/ask_ark_milan.pem", "9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9" },
        { "snp/ask_ark_milan_vlek.pem", "9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9" },
        { "snp/ask_ark_genoa.pem", "429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831" },
        { "snp/ask_ark_genoa_vlek.pem", "429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831" },
        { "snp/ask_ark_turin_vcek.pem", "4f125410563a2ab9a50356f9243f6fe0b6f73de98603f53f90339c70e9d7ad08" },
        { "snp/ask_ark_turin_vlek.pem", "4f125410563a2ab9a50356f9243f6fe0b6f73de98603f53f90339c70e9d7ad08" },
    };
    time_t now = at("2025-06-01T00:00:00Z");
    for (size_t i = 0; i < ELEMENTSOF(chains); i++) {
        size_t size;
        _cleanup_free_ uint8_t *pem = load(chains[i].file, &size);
        _cleanup_(veil_x509_stack_freep) STACK_OF(X509) *certs = sk_X509_new_null();
        assert_int_equal(veil_certs_parse(pem, size, certs), 0);
        X509 *ask = sk_X509_value(certs, 0), *ark = sk_X509_value(certs, 1);
        int r = veil_cert_check_issued(ask, ark, now, "ASK", "ARK");
        if (r == 0) r = veil_cert_check_issued(ark, ark, now, "ARK", "ARK");
        if (r < 0) fail_msg("%s: %s", chains[i].file, veil_err_msg());
        uint8_t spki[32];
        assert_int_equal(veil_cert_spki_sha256(ark, spki), 0);
        hex_equal(spki, 32, chains[i].ark_spki);
        /* and the wrong direction is refused */
        assert_int_equal(veil_cert_check_issued(ark, ask, now, "ARK", "ASK"), -EACCES);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_milan_v2_vcek), cmocka_unit_test(test_milan_v3_vlek),
        cmocka_unit_test(test_tampered),      cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_wrong_chain),   cmocka_unit_test(test_time_window),
        cmocka_unit_test(test_tampered_certs), cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_unpinned_ark), cmocka_unit_test(test_trust_dir_ark),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_product_chains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
