/* SPDX-License-Identifier: Apache-2.0 */
/* Azure CVM vTPM evidence: the real HCL report, its TPM quote, Trustee's evidence JSON, and every way to break them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/cursor.h"
#include "base/err.h"
#include "base/fileio.h"
#include "evidence/azure.h"
#include "evidence/collateral-x509.h"
#include "hw-helpers.h"

#define AZ_TIME "2025-06-01T00:00:00Z"

/*
 * quote.bin is Trustee's serialised vTPM quote (bincode): u64le size + signature,
 * u64le size + TPMS_ATTEST message, u64le count + count SHA-256 PCR values.
 * It is the quote of the VM whose HCL report is hcl-report.bin. (tpm-quote.msg/.sig
 * come from another vTPM: no AK in the vectors verifies them.)
 */
struct parts {
    uint8_t *hcl, *file;
    size_t hcl_size, file_size;
    struct veil_azure_evidence ev;
};

static void load_parts(struct parts *p) {
    p->hcl = load("az-snp-vtpm/hcl-report.bin", &p->hcl_size);
    p->file = load("az-snp-vtpm/quote.bin", &p->file_size);
    struct veil_cursor c = veil_cursor_make(p->file, p->file_size);
    uint64_t sig_size, msg_size, count;
    assert_int_equal(veil_cursor_u64le(&c, &sig_size), 0);
    assert_int_equal(veil_cursor_borrow(&c, sig_size, &p->ev.tpm_signature), 0);
    assert_int_equal(veil_cursor_u64le(&c, &msg_size), 0);
    assert_int_equal(veil_cursor_borrow(&c, msg_size, &p->ev.tpm_quote), 0);
    assert_int_equal(veil_cursor_u64le(&c, &count), 0);
    assert_int_equal(count, 24);
    assert_int_equal(veil_cursor_borrow(&c, 32 * count, &p->ev.pcrs), 0);
    assert_int_equal(veil_cursor_expect_eof(&c), 0);
    p->ev.tpm_signature_size = sig_size;
    p->ev.tpm_quote_size = msg_size;
    p->ev.pcrs_count = count;
    p->ev.hcl_report = p->hcl;
    p->ev.hcl_report_size = p->hcl_size;
}

static void free_parts(struct parts *p) {
    free(p->hcl);
    free(p->file);
}

static void print_claims(const char *name, const struct veil_claims *c) {
    json_t *j = veil_claims_to_json(c);
    char *text = json_dumps(j, JSON_COMPACT);
    printf("# %s: %.800s\n", name, text);
    free(text);
    json_decref(j);
}

static void test_hcl_and_quote(void **state) {
    (void)state;
    struct parts p;
    load_parts(&p);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral("az-snp-vtpm/vcek.pem", NULL);
    struct veil_hw_options opts = { .now = at(AZ_TIME) };
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    int r = veil_azure_verify(&p.ev, coll, &opts, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    print_claims("hcl-report.bin + quote.bin", c);
    assert_int_equal(c->tee, VEIL_TEE_AZURE_SNP_VTPM);
    assert_memory_equal(c->report_data, "challenge", 9);
    assert_int_equal(c->measurement_size, 48);
    assert_string_equal(json_string_value(json_object_get(c->details, "product")), "Milan");
    json_t *rc = json_object_get(c->details, "runtime_claims");
    assert_string_equal(json_string_value(json_object_get(json_object_get(rc, "vm-configuration"), "vmUniqueId")),
                        "911B0EF8-9DBA-48B0-B275-4E4DF2D39252");
    assert_true(json_is_string(json_object_get(json_object_get(c->details, "pcrs"), "0")));
    /* without the TPM quote, the HCL report alone still verifies, report data = user-data */
    struct veil_azure_evidence hcl_only = { .hcl_report = p.hcl, .hcl_report_size = p.hcl_size };
    veil_claims_free(TAKE_PTR(c));
    assert_int_equal(veil_azure_verify(&hcl_only, coll, &opts, &c), 0);
    free_parts(&p);
}

static void test_evidence_json(void **state) {
    (void)state;
    size_t size;
    _cleanup_free_ uint8_t *json = load("az-snp-vtpm/evidence-v2.json", &size);
    /* the evidence carries the VCEK; the ASK and ARK are Milan's */
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral("snp/ask_ark_milan.pem", NULL);
    struct veil_hw_options opts = { .now = at(AZ_TIME) };
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    int r = veil_azure_verify_json(json, size, coll, &opts, &c);
    if (r < 0) fail_msg("%s", veil_err_describe(r));
    print_claims("evidence-v2.json", c);
    assert_int_equal(c->tee, VEIL_TEE_AZURE_SNP_VTPM);
    assert_int_equal(json_integer_value(json_object_get(c->details, "version")), 3);
    assert_int_equal(json_integer_value(json_object_get(c->details, "tpm_pcr_mask")), 0xffffff);
    /* without the Milan ASK/ARK the VCEK has no chain */
    _cleanup_(veil_collateral_freep) struct veil_collateral *genoa = collateral("snp/ask_ark_genoa.pem", NULL);
    veil_claims_free(TAKE_PTR(c));
    refused(veil_azure_verify_json(json, size, genoa, &opts, &c), -EACCES, "SEV-Milan");
}

static void test_tampered(void **state) {
    (void)state;
    struct parts p;
    load_parts(&p);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral("az-snp-vtpm/vcek.pem", NULL);
    struct veil_hw_options opts = { .now = at(AZ_TIME) };
    struct veil_claims *c = NULL;
    /* the embedded SNP report's measurement */
    p.hcl[0x20 + 0x90] ^= 1;
    refused(veil_azure_verify(&p.ev, coll, &opts, &c), -EACCES, "SNP report signature");
    p.hcl[0x20 + 0x90] ^= 1;
    /* the runtime claims (vmUniqueId's first character) */
    uint8_t *id = memmem(p.hcl, p.hcl_size, "911B0EF8", 8);
    assert_non_null(id);
    id[0] = '8';
    refused(veil_azure_verify(&p.ev, coll, &opts, &c), -EACCES, "runtime claims were altered");
    id[0] = '9';
    /* padding after report_size must stay zero; the header must say HCLA */
    p.hcl[p.hcl_size - 1] = 1;
    refused(veil_azure_verify(&p.ev, coll, &opts, &c), -EBADMSG, "non-zero byte");
    p.hcl[p.hcl_size - 1] = 0;
    p.hcl[0] = 'X';
    refused(veil_azure_verify(&p.ev, coll, &opts, &c), -EBADMSG, "HCLA");
    p.hcl[0] = 'H';
    /* the TPM quote, its signature, a PCR value */
    uint8_t *msg = (uint8_t *)p.ev.tpm_quote, *sig = (uint8_t *)p.ev.tpm_signature, *pcrs = (uint8_t *)p.ev.pcrs;
    msg[40] ^= 1;
    refused(veil_azure_verify(&p.ev, coll, &opts, &c), -EACCES, "TPM quote signature");
    msg[40] ^= 1;
    sig[100] ^= 1;
    refused(veil_azure_verify(&p.ev, coll, &opts, &c), -EACCES, "TPM quote signature");
    sig[100] ^= 1;
    pcrs[32 * 7 + 3] ^= 1;
    refused(veil_azure_verify(&p.ev, coll, &opts, &c), -EACCES, "pcrDigest");
    pcrs[32 * 7 + 3] ^= 1;
    /* a quote from another vTPM */
    size_t other_size, other_sig_size;
    _cleanup_free_ uint8_t *other = load("az-snp-vtpm/tpm-quote.msg", &other_size);
    _cleanup_free_ uint8_t *other_sig = load("az-snp-vtpm/tpm-quote.sig", &other_sig_size);
    struct veil_azure_evidence foreign = { .hcl_report = p.hcl, .hcl_report_size = p.hcl_size, .tpm_quote = other,
                                           .tpm_quote_size = other_size, .tpm_signature = other_sig,
                                           .tpm_signature_size = other_sig_size };
    refused(veil_azure_verify(&foreign, coll, &opts, &c), -EACCES, "TPM quote signature");
    /* the nonce the relying party expects */
    opts.report_data = (const uint8_t *)"challengf";
    opts.report_data_size = 9;
    refused(veil_azure_verify(&p.ev, coll, &opts, &c), -EACCES, "report data mismatch");
    opts.report_data = (const uint8_t *)"challenge";
    assert_int_equal(veil_azure_verify(&p.ev, coll, &opts, &c), 0);
    veil_claims_free(c);
    /* out of the VCEK's window */
    opts.now = at("2023-01-01T00:00:00Z");
    refused(veil_azure_verify(&p.ev, coll, &opts, &c), -EACCES, "VCEK certificate not yet valid");
    free_parts(&p);
}

static void test_truncated(void **state) {
    (void)state;
    struct parts p;
    load_parts(&p);
    _cleanup_(veil_collateral_freep) struct veil_collateral *coll = collateral("az-snp-vtpm/vcek.pem", NULL);
    struct veil_hw_options opts = { .now = at(AZ_TIME) };
    /* every HCL length up to the end of the runtime claims, then the TPM quote */
    size_t end = 0x4d4 + 0x456;
    for (size_t n = 0; n < end; n++) {
        struct veil_azure_evidence ev = p.ev;
        ev.hcl_report_size = n;
        struct veil_claims *c = NULL;
        int r = veil_azure_verify(&ev, coll, &opts, &c);
        if (r != -EBADMSG) fail_msg("HCL truncated to %zu: %d %s", n, r, veil_err_msg());
    }
    for (size_t n = 0; n < p.ev.tpm_quote_size; n++) {
        struct veil_azure_evidence ev = p.ev;
        ev.tpm_quote_size = n;
        struct veil_claims *c = NULL;
        /* the signature covers the whole message, so a shorter one no longer verifies */
        assert_int_equal(veil_azure_verify(&ev, coll, &opts, &c), -EACCES);
    }
    free_parts(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hcl_and_quote),
        cmocka_unit_test(test_evidence_json),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
