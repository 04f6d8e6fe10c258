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
#include "evidence/tdx.h"

static char *vector_path(const char *name) {
    const char *dir = getenv("VEIL_VECTORS");
    assert_non_null(dir);
    char *path;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

static uint8_t *load(const char *name, size_t *ret_size) {
    _cleanup_free_ char *path = vector_path(name);
    uint8_t *data;
    assert_int_equal(veil_read_file(path, 1 << 20, &data, ret_size), 0);
    return data;
}

/* A collateral from vector files, NULL-terminated. */
static struct veil_collateral *collateral(const char *first, ...) {
    struct veil_collateral *c;
    assert_int_equal(veil_collateral_new(&c), 0);
    va_list ap;
    va_start(ap, first);
    for (const char *name = first; name; name = va_arg(ap, const char *)) {
        _cleanup_free_ char *path = vector_path(name);
        assert_int_equal(veil_collateral_load_file(c, path), 0);
    }
    va_end(ap);
    return c;
}

static time_t at(const char *text) {
    time_t t;
    assert_int_equal(veil_time_parse(text, &t), 0);
    return t;
}

_unused_ static void hex_equal(const uint8_t *data, size_t size, const char *hex) {
    char got[2 * 128 + 1];
    assert_true(size <= 128);
    veil_hex_encode(data, size, got);
    assert_string_equal(got, hex);
}

/* Expect refusal with err and a detail containing `needle`. */
_unused_ static void refused(int r, int err, const char *needle) {
    if (r != err || !strstr(veil_err_msg(), needle))
        fail_msg("expected %d with '%s', got %d: %s", err, needle, r, veil_err_msg());
}

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spr_v4),
        cmocka_unit_test(test_phala_v4),
        cmocka_unit_test(test_v5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
