/* SPDX-License-Identifier: Apache-2.0 */
/* Policy: the JSON format (and its refusals), and every rule of veil_policy_check naming itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "evidence/evidence.h"

#define HEX32A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX32B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct veil_claims *make_claims(enum veil_tee tee) {
    struct veil_claims *c;
    assert_int_equal(veil_claims_new(tee, &c), 0);
    memset(c->measurement, 0xaa, 32);
    c->measurement_size = 32;
    memset(c->signer, 0xbb, 32);
    c->signer_size = 32;
    c->product_id = 7;
    c->security_version = 3;
    c->debug = tee == VEIL_TEE_SIM;
    c->tcb_status = VEIL_TCB_UP_TO_DATE;
    return c;
}

static void parse(const char *json, struct veil_policy *p) {
    int r = veil_policy_parse_json(json, strlen(json), p);
    if (r < 0) fail_msg("%s", veil_err_msg());
}

static void expect_refusal(const struct veil_policy *p, const struct veil_claims *c, const char *words) {
    assert_int_equal(veil_policy_check(p, c), -EPERM);
    if (!strstr(veil_err_msg(), words)) fail_msg("'%s' does not mention '%s'", veil_err_msg(), words);
}

static void test_rules(void **state) {
    (void)state;
    struct veil_policy p;
    parse("{\"version\":1,\"tees\":[\"sim\",\"snp\"],\"measurements\":[\"" HEX32A "\"],\"signers\":[\"" HEX32B "\"],"
          "\"product_id\":7,\"min_security_version\":3,\"debug\":false,\"tcb_statuses\":[\"UpToDate\"]}", &p);
    _cleanup_(veil_claims_freep) struct veil_claims *c = make_claims(VEIL_TEE_SIM);
    assert_int_equal(veil_policy_check(&p, c), 0); /* sim's debug is accepted with sim */
    c->measurement[0] = 0;
    expect_refusal(&p, c, "measurement");
    c->measurement[0] = 0xaa;
    c->signer[31] = 0;
    expect_refusal(&p, c, "signer");
    c->signer[31] = 0xbb;
    c->product_id = 8;
    expect_refusal(&p, c, "product id");
    c->product_id = 7;
    c->security_version = 2;
    expect_refusal(&p, c, "security version 2 is lower than the minimum 3");
    c->security_version = 3;
    c->tee = VEIL_TEE_TDX;
    c->debug = false;
    expect_refusal(&p, c, "TEE 'tdx'");
    c->tee = VEIL_TEE_SNP;
    assert_int_equal(veil_policy_check(&p, c), 0);
    c->debug = true;
    expect_refusal(&p, c, "debug");
    c->debug = false;
    c->tcb_status = VEIL_TCB_OUT_OF_DATE;
    expect_refusal(&p, c, "TCB status OutOfDate");
    c->tcb_status = VEIL_TCB_UP_TO_DATE;
    p.check_report_data = true;
    memset(p.report_data, 1, sizeof(p.report_data));
    expect_refusal(&p, c, "report data");
    memset(c->report_data, 1, sizeof(c->report_data));
    assert_int_equal(veil_policy_check(&p, c), 0);
}

static void test_defaults(void **state) {
    (void)state;
    struct veil_policy p;
    veil_policy_init(&p);
    _cleanup_(veil_claims_freep) struct veil_claims *sim = make_claims(VEIL_TEE_SIM);
    expect_refusal(&p, sim, "'sim' is not allowed");
    _cleanup_(veil_claims_freep) struct veil_claims *snp = make_claims(VEIL_TEE_SNP);
    assert_int_equal(veil_policy_check(&p, snp), 0);
    snp->tcb_status = VEIL_TCB_REVOKED;
    expect_refusal(&p, snp, "Revoked");
    /* a policy file that names only measurements keeps the hardware-only default */
    parse("{\"version\":1,\"measurements\":[\"" HEX32A "\"]}", &p);
    expect_refusal(&p, sim, "'sim' is not allowed");
}

static void test_bad_files(void **state) {
    (void)state;
    static const char *const bad[] = {
        "", "[]", "{}", "{\"version\":2}", "{\"version\":1,\"tees\":[\"sgx2\"]}",
        "{\"version\":1,\"measurement\":[]}", "{\"version\":1,\"measurements\":[\"abc\"]}",
        "{\"version\":1,\"measurements\":\"" HEX32A "\"}", "{\"version\":1,\"min_security_version\":-1}",
        "{\"version\":1,\"debug\":1}", "{\"version\":1,\"report_data\":\"00\"}",
        "{\"version\":1,\"tcb_statuses\":[\"Fine\"]}", "{\"version\":1,\"version\":1}",
    };
    struct veil_policy p;
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        if (veil_policy_parse_json(bad[i], strlen(bad[i]), &p) != -EBADMSG) fail_msg("accepted: %s", bad[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
