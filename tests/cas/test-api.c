/* SPDX-License-Identifier: Apache-2.0 */
/* Request body parsers of the veil-cas API: the documented shapes pass, everything else is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "cas/api.h"

#define S(x) (const uint8_t *)(x), strlen(x)

static void test_attest(void **state) {
    (void)state;
    struct veil_cas_attest_request a;
    assert_int_equal(veil_cas_api_parse_attest(S("{\"policy\":\"p\",\"service\":\"s\",\"volumes\":{\"d\":3}}"), &a), 0);
    assert_string_equal(a.policy, "p");
    assert_string_equal(a.service, "s");
    assert_int_equal(a.volume_count, 1);
    assert_string_equal(a.volumes[0].name, "d");
    assert_int_equal(a.volumes[0].version, 3);
    veil_cas_attest_request_done(&a);
    static const char *const bad[] = {
        "", "[]", "{", "{\"policy\":\"p\"}", "{\"policy\":\"p\",\"service\":\"s\",\"x\":1}",
        "{\"policy\":\"p\",\"policy\":\"q\",\"service\":\"s\"}", "{\"policy\":\"../p\",\"service\":\"s\"}",
        "{\"policy\":\"p\",\"service\":\"s\",\"volumes\":{\"d\":-1}}",
        "{\"policy\":\"p\",\"service\":\"s\",\"volumes\":{\"d\":\"3\"}}",
        "{\"policy\":\"p\",\"service\":\"s\",\"volumes\":[]}", "{\"policy\":1,\"service\":\"s\"}",
        "{\"policy\":\"p\\u0000x\",\"service\":\"s\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (veil_cas_api_parse_attest(S(bad[i]), &a) != -EBADMSG) fail_msg("accepted: %s", bad[i]);
}

static void test_apply(void **state) {
    (void)state;
    struct veil_cas_apply_request a;
    assert_int_equal(veil_cas_api_parse_apply(S("{\"policy\":\"name: x\\n\"}"), &a), 0);
    assert_false(a.has_replaces);
    assert_string_equal(a.policy, "name: x\n");
    veil_cas_apply_request_done(&a);
    assert_int_equal(veil_cas_api_parse_apply(S("{\"policy\":\"x\",\"replaces\":\"" "0123456789abcdef0123456789abcdef"
                                                "0123456789abcdef0123456789abcdef\"}"), &a), 0);
    assert_true(a.has_replaces);
    assert_int_equal(a.replaces[1], 0x23);
    veil_cas_apply_request_done(&a);
    assert_int_equal(veil_cas_api_parse_apply(S("{\"policy\":\"x\",\"replaces\":\"abc\"}"), &a), -EBADMSG);
    assert_int_equal(veil_cas_api_parse_apply(S("{\"replaces\":null}"), &a), -EBADMSG);
}

static void test_volume_and_accept(void **state) {
    (void)state;
    struct veil_cas_volume_request v;
    assert_int_equal(veil_cas_api_parse_volume(S("{\"policy\":\"p\",\"service\":\"s\",\"volume\":\"d\",\"version\":9}"), &v), 0);
    assert_int_equal(v.version, 9);
    veil_cas_volume_request_done(&v);
    assert_int_equal(veil_cas_api_parse_volume(S("{\"policy\":\"p\",\"service\":\"s\",\"volume\":\"d\"}"), &v), -EBADMSG);
    int64_t n;
    assert_int_equal(veil_cas_api_parse_accept(S("{\"version\":0}"), &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(veil_cas_api_parse_accept(S("{\"version\":1.5}"), &n), -EBADMSG);
    assert_int_equal(veil_cas_api_parse_accept(S("{\"version\":99999999999999999999}"), &n), -EBADMSG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attest),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_volume_and_accept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
