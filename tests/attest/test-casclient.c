/* SPDX-License-Identifier: Apache-2.0 */
/* The workload client's parsers: the manifest's service address and policy, and the service's configuration reply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "casclient/casclient.h"

#define H64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void test_target(void **state) {
    (void)state;
    struct veil_casclient_target t;
    assert_int_equal(veil_casclient_target_parse("127.0.0.1:8443 key=sha256:" H64, "shop/web", &t), 0);
    assert_string_equal(t.host, "127.0.0.1");
    assert_int_equal(t.port, 8443);
    assert_true(t.pin_key);
    assert_int_equal(t.key_id[1], 0x11);
    assert_string_equal(t.policy, "shop");
    assert_string_equal(t.service, "web");
    assert_int_equal(veil_casclient_target_parse("[::1]:1 measurement=" H64 "," H64, "a/b", &t), 0);
    assert_string_equal(t.host, "::1");
    assert_false(t.pin_key);
    assert_int_equal(t.measurement_count, 2);
    assert_int_equal(veil_casclient_target_parse("localhost:9 key=sha256:" H64, "a/b", &t), 0);
    assert_string_equal(t.host, "127.0.0.1");

    static const char *const bad_addresses[] = {
        "127.0.0.1:8443",                         /* no service identity: refused, not trusted blindly */
        "127.0.0.1 key=sha256:" H64,              /* no port */
        "127.0.0.1:0 key=sha256:" H64,            /* port 0 */
        "127.0.0.1:65536 key=sha256:" H64,
        "127.0.0.1:8x key=sha256:" H64,
        "cas.example:8443 key=sha256:" H64,       /* names are not resolved by a static veil-run */
        "127.0.0.1:1 key=sha256:0011",            /* short pin */
        "127.0.0.1:1 key=sha256:" H64 " measurement=" H64, /* two identities */
        "127.0.0.1:1 measurement=" H64 ",",       /* trailing comma */
        "127.0.0.1:1  key=sha256:" H64,           /* empty part */
        "127.0.0.1:1 key=sha256:" H64 " ",        /* trailing space */
        "127.0.0.1:1 pin=" H64,                   /* unknown part */
        "",
    };
    for (size_t i = 0; i < sizeof(bad_addresses) / sizeof(*bad_addresses); i++)
        assert_int_not_equal(veil_casclient_target_parse(bad_addresses[i], "a/b", &t), 0);
    static const char *const bad_policies[] = { "shop", "/web", "shop/", "shop/web/x", "sh op/web", "" };
    for (size_t i = 0; i < sizeof(bad_policies) / sizeof(*bad_policies); i++)
        assert_int_not_equal(veil_casclient_target_parse("127.0.0.1:1 key=sha256:" H64, bad_policies[i], &t), 0);
}

static int parse(const char *json, struct veil_casclient_config **ret) {
    return veil_casclient_config_parse((const uint8_t *)json, strlen(json), ret);
}

static void test_config(void **state) {
    (void)state;
    struct veil_casclient_config *c = NULL;
    assert_int_equal(parse("{\"policy\":\"shop\",\"service\":\"web\",\"policy_version\":3,\"policy_hash\":\"" H64 "\","
                           "\"env\":{\"DB_PASSWORD\":\"s3cret\",\"A\":\"\"},\"argv\":[\"--port\",\"8443\"],"
                           "\"files\":[{\"path\":\"/etc/tls/key.pem\",\"mode\":256,\"content_base64\":\"aGVsbG8=\"},"
                           "{\"path\":\"/e\",\"mode\":420,\"content_base64\":\"\"}],"
                           "\"keys\":{\"image\":\"" H64 "\",\"volumes\":{\"data\":\"" H64 "\"}},"
                           "\"volumes\":{\"data\":7,\"logs\":0}}", &c), 0);
    assert_int_equal(c->policy_version, 3);
    assert_int_equal(c->env_count, 2);
    assert_string_equal((char *)c->env[0]->data, "DB_PASSWORD=s3cret");
    assert_int_equal(c->argv_count, 2);
    assert_string_equal((char *)c->argv[1]->data, "8443");
    assert_int_equal(c->file_count, 2);
    assert_string_equal(c->files[0].path, "/etc/tls/key.pem");
    assert_int_equal(c->files[0].mode, 0400);
    assert_int_equal(c->files[0].content->size, 5);
    assert_memory_equal(c->files[0].content->data, "hello", 5);
    assert_int_equal(c->files[1].content->size, 0);
    assert_non_null(c->image_key);
    assert_int_equal(c->image_key->data[31], 0xff);
    const struct veil_casclient_volume *v = veil_casclient_config_volume(c, "data");
    assert_non_null(v);
    assert_non_null(v->key);
    assert_int_equal(v->version, 7);
    v = veil_casclient_config_volume(c, "logs");
    assert_non_null(v);
    assert_null(v->key);
    veil_casclient_config_free(c);

    assert_int_equal(parse("{}", &c), 0);
    assert_null(c->image_key);
    veil_casclient_config_free(c);

    static const char *const bad[] = {
        "", "[]", "{\"env\":[]}", "{\"env\":{\"A\":1}}", "{\"env\":{\"A=B\":\"x\"}}", "{\"env\":{\"\":\"x\"}}",
        "{\"env\":{\"A\":\"x\\u0000y\"}}", "{\"argv\":{}}", "{\"argv\":[1]}",
        "{\"files\":[{\"path\":\"rel\",\"mode\":256,\"content_base64\":\"\"}]}",
        "{\"files\":[{\"path\":\"/a/../b\",\"mode\":256,\"content_base64\":\"\"}]}",
        "{\"files\":[{\"path\":\"/a\",\"mode\":65536,\"content_base64\":\"\"}]}",
        "{\"files\":[{\"path\":\"/a\",\"mode\":256,\"content_base64\":\"abc\"}]}",
        "{\"files\":[{\"path\":\"/a\",\"mode\":256,\"content_base64\":\"\",\"x\":1}]}",
        "{\"files\":[{\"path\":\"/a\",\"mode\":256,\"content_base64\":\"\"},{\"path\":\"/a\",\"mode\":256,\"content_base64\":\"\"}]}",
        "{\"keys\":{\"image\":\"0011\"}}", "{\"keys\":{\"image\":\"zz" H64 "\"}}", "{\"keys\":{\"other\":\"" H64 "\"}}",
        "{\"keys\":{\"volumes\":{\"a b\":\"" H64 "\"}}}", "{\"volumes\":{\"data\":-1}}", "{\"volumes\":{\"data\":\"1\"}}",
        "{\"policy_version\":\"1\"}", "{\"env\":{\"A\":\"x\",\"A\":\"y\"}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        c = NULL;
        int r = parse(bad[i], &c);
        if (r == 0) fail_msg("accepted: %s", bad[i]);
        assert_null(c);
    }
}

static void test_reason(void **state) {
    (void)state;
    char buf[64];
    const char *j = "{\"error\":\"forbidden\",\"reason\":\"measurement ab not allowed\\n\"}";
    veil_casclient_error_reason((const uint8_t *)j, strlen(j), buf, sizeof(buf));
    assert_string_equal(buf, "measurement ab not allowed?");
    j = "{\"error\":\"conflict\"}";
    veil_casclient_error_reason((const uint8_t *)j, strlen(j), buf, sizeof(buf));
    assert_string_equal(buf, "conflict");
    veil_casclient_error_reason((const uint8_t *)"<html>", 6, buf, sizeof(buf));
    assert_string_equal(buf, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
