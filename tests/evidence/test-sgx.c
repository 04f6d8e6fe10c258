/* SPDX-License-Identifier: Apache-2.0 */
/* SGX DCAP quote v3 verification against the real Phala quote and collateral, and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/fileio.h"
#include "evidence/collateral-x509.h"
#include "evidence/sgx.h"
#include "hw-helpers.h"

#define SGX_QUOTE "sgx/phala_sgx_quote.dat"
#define SGX_COLLATERAL "sgx/phala_sgx_quote_collateral.json"
#define SGX_TIME "2025-06-20T00:00:00Z"

static void test_phala_v3(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *quote = load(SGX_QUOTE, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral(SGX_COLLATERAL, NULL);
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    /* the default policy accepts UpToDate only */
    struct veil_hw_options opts = { .now = at(SGX_TIME) };
    refused(veil_sgx_verify(quote, size, coll, &opts, &c), -EPERM, "TCB status is ConfigurationAndSWHardeningNeeded");
    /* accepting the status is not enough while an advisory is not allowed */
    static const char *const sa615[] = { "INTEL-SA-00615", NULL };
    assert_int_equal(veil_tcb_mask_parse("UpToDate,ConfigurationAndSWHardeningNeeded", &opts.accepted_tcb), 0);
    opts.allowed_advisories = sa615;
    refused(veil_sgx_verify(quote, size, coll, &opts, &c), -EPERM, "INTEL-SA-00289");
    static const char *const both[] = { "INTEL-SA-00615", "INTEL-SA-00289", NULL };
    opts.allowed_advisories = both;
    int r = veil_sgx_verify(quote, size, coll, &opts, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    json_t *j = veil_claims_to_json(c);
    char *text = json_dumps(j, JSON_COMPACT);
    printf("# %s: %.900s\n", SGX_QUOTE, text);
    free(text);
    json_decref(j);
    assert_int_equal(c->tee, VEIL_TEE_SGX);
    assert_int_equal(c->measurement_size, 32);
    assert_int_equal(c->signer_size, 32);
    assert_string_equal(json_string_value(json_object_get(c->details, "fmspc")), "00a067110000");
    assert_int_equal(c->tcb_status, VEIL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(json_array_size(json_object_get(c->details, "advisory_ids")), 2);
}

static struct veil_hw_options lenient(void) {
    static const char *const any[] = { "*", NULL };
    return (struct veil_hw_options){ .now = at(SGX_TIME), .accepted_tcb = ~0u, .allowed_advisories = any };
}

static void test_tampered(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *quote = load(SGX_QUOTE, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral(SGX_COLLATERAL, NULL);
    struct veil_hw_options opts = lenient();
    struct veil_claims *c = NULL;
    /* v3: header 48, report body 384, u32 length, signature 64, key 64, QE report 384, QE sig 64, auth */
    static const struct {
        size_t offset;
        const char *needle;
    } cases[] = {
        { 48 + 64, "quote signature" },               /* MRENCLAVE */
        { 48 + 176, "quote signature" },              /* ISVPRODID..: MRSIGNER region */
        { 48 + 320, "quote signature" },              /* REPORTDATA */
        { 436 + 7, "quote signature" },               /* signature r */
        { 436 + 64 + 5, "attestation key" },          /* attestation key */
        { 436 + 128 + 64, "QE report signature" },    /* QE MRENCLAVE */
        { 436 + 128 + 384 + 9, "QE report signature" },
        { 436 + 128 + 384 + 64 + 2 + 3, "does not bind" }, /* QE auth data */
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        quote[cases[i].offset] ^= 0x10;
        refused(veil_sgx_verify(quote, size, coll, &opts, &c), -EACCES, cases[i].needle);
        quote[cases[i].offset] ^= 0x10;
    }
    assert_int_equal(veil_sgx_verify(quote, size, coll, &opts, &c), 0);
    veil_claims_free(c);
}

static void test_truncated(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *quote = load(SGX_QUOTE, &size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral(SGX_COLLATERAL, NULL);
    struct veil_hw_options opts = lenient();
    for (size_t n = 0; n < size; n++) {
        _cleanup_free_ uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, quote, n);
        struct veil_claims *c = NULL;
        int r = veil_sgx_verify(copy, n, coll, &opts, &c);
        if (r != -EBADMSG) fail_msg("truncated to %zu: %d %s", n, r, veil_err_msg());
    }
}

static void test_wrong_collateral(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *quote = load(SGX_QUOTE, &size);
    struct veil_hw_options opts = lenient();
    struct veil_claims *c = NULL;
    /* TDX collateral cannot judge an SGX platform (and its CRL is the Platform CA's, not the Processor CA's) */
    _cleanup_(veil_collateral_freep) struct veil_collateral *tdx = collateral("tdx/phala_tdx_quote_collateral.json", NULL);
    refused(veil_sgx_verify(quote, size, tdx, &opts, &c), -EACCES, "no CRL issued by 'Intel SGX PCK Processor CA'");
    opts.allow_incomplete_collateral = true;
    refused(veil_sgx_verify(quote, size, tdx, &opts, &c), -EACCES, "no SGX TCB info for FMSPC 00a067110000");
    /* a TDX quote is not an SGX quote */
    size_t tdx_size;
    _cleanup_free_ uint8_t *tdx_quote = load("tdx/phala_tdx_quote.dat", &tdx_size);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral(SGX_COLLATERAL, NULL);
    refused(veil_sgx_verify(tdx_quote, tdx_size, coll, &opts, &c), -EBADMSG, "TDX quote");
    /* a QE identity edited after signing */
    _cleanup_free_ char *path = vector_path(SGX_COLLATERAL);
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    char *qe = strdup(json_string_value(json_object_get(root, "qe_identity")));
    char *svn = strstr(qe, "\"isvprodid\":1");
    assert_non_null(svn);
    svn[strlen("\"isvprodid\":")] = '2';
    json_object_set_new(root, "qe_identity", json_string(qe));
    free(qe);
    char *text = json_dumps(root, 0);
    _cleanup_(veil_collateral_freep) struct veil_collateral *edited = NULL;
    assert_int_equal(veil_collateral_new(&edited), 0);
    assert_int_equal(veil_collateral_add(edited, (const uint8_t *)text, strlen(text), "edited"), 0);
    free(text);
    json_decref(root);
    opts.allow_incomplete_collateral = false;
    refused(veil_sgx_verify(quote, size, edited, &opts, &c), -EACCES, "QE identity (edited: qe_identity): signature does not verify");
    /* report data binding */
    uint8_t want[13];
    memcpy(want, "Hello, world?", 13);
    opts.report_data = want;
    opts.report_data_size = sizeof(want);
    refused(veil_sgx_verify(quote, size, coll, &opts, &c), -EACCES, "report data mismatch");
    memcpy(want, "Hello, world!", 13);
    assert_int_equal(veil_sgx_verify(quote, size, coll, &opts, &c), 0);
    veil_claims_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phala_v3),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_wrong_collateral),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
