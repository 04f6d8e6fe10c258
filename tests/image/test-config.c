/* SPDX-License-Identifier: Apache-2.0 */
/* Image JSON documents: what is accepted, and the malformed ones that are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "image/config.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static int parse_config(const char *json) {
    struct image_config *c = NULL;
    int r = image_config_parse(json, strlen(json), &c);
    image_config_free(c);
    return r;
}

static void test_config(void **state) {
    (void)state;
    const char *good = "{\"architecture\":\"amd64\",\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":null,"
                       "\"Env\":[\"A=1\"],\"WorkingDir\":\"/app\",\"User\":\"app:app\"},"
                       "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}}";
    struct image_config *c;
    assert_int_equal(image_config_parse(good, strlen(good), &c), 0);
    assert_int_equal(c->entrypoint_count, 2);
    assert_string_equal(c->entrypoint[1], "-c");
    assert_null(c->entrypoint[2]);
    assert_int_equal(c->cmd_count, 0);
    assert_string_equal(c->env[0], "A=1");
    assert_string_equal(c->workdir, "/app");
    assert_string_equal(c->user, "app:app");
    assert_int_equal(c->diff_id_count, 1);
    image_config_free(c);
    assert_int_equal(parse_config("{\"rootfs\":{\"diff_ids\":[]}}"), 0); /* no config at all: fine */

    assert_int_equal(parse_config("not json"), -EBADMSG);
    assert_int_equal(parse_config("[]"), -EBADMSG);
    assert_int_equal(parse_config("{}"), -EBADMSG);                                  /* no rootfs */
    assert_int_equal(parse_config("{\"rootfs\":{\"diff_ids\":[\"sha256:12\"]}}"), -EBADMSG); /* bad digest */
    assert_int_equal(parse_config("{\"rootfs\":{\"diff_ids\":[1]}}"), -EBADMSG);
    assert_int_equal(parse_config("{\"config\":{\"Cmd\":\"ls\"},\"rootfs\":{\"diff_ids\":[]}}"), -EBADMSG);
    assert_int_equal(parse_config("{\"config\":{\"Env\":[\"A\\u0000B\"]},\"rootfs\":{\"diff_ids\":[]}}"), -EBADMSG);
    assert_int_equal(parse_config("{\"config\":{\"User\":7},\"rootfs\":{\"diff_ids\":[]}}"), -EBADMSG);
    assert_int_equal(parse_config("{\"rootfs\":{\"diff_ids\":[]},\"rootfs\":{\"diff_ids\":[]}}"), -EBADMSG); /* duplicate key */
}

static void test_index_and_manifest(void **state) {
    (void)state;
    struct image_descriptor d;
    const char *one = "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":10}]}";
    assert_int_equal(image_index_parse(one, strlen(one), &d), 0);
    assert_string_equal(d.digest, D1);
    image_descriptor_done(&d);
    const char *multi = "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}},"
                        "{\"digest\":\"" D2 "\",\"size\":2,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";
    assert_int_equal(image_index_parse(multi, strlen(multi), &d), 0);
    assert_string_equal(d.digest, D2);
    image_descriptor_done(&d);
    const char *none = "{\"manifests\":[]}";
    assert_int_equal(image_index_parse(none, strlen(none), &d), -EBADMSG);
    const char *neg = "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":-1}]}";
    assert_int_equal(image_index_parse(neg, strlen(neg), &d), -EBADMSG);

    struct image_manifest m;
    const char *man = "{\"config\":{\"digest\":\"" D1 "\",\"size\":5},\"layers\":[{\"mediaType\":\"x\",\"digest\":\"" D2 "\",\"size\":7}]}";
    assert_int_equal(image_manifest_parse(man, strlen(man), &m), 0);
    assert_int_equal(m.layer_count, 1);
    assert_int_equal(m.layers[0].size, 7);
    image_manifest_done(&m);
    const char *nested = "{\"manifests\":[],\"layers\":[]}";
    assert_int_equal(image_manifest_parse(nested, strlen(nested), &m), -EBADMSG);
    const char *nolayers = "{\"config\":{\"digest\":\"" D1 "\",\"size\":5}}";
    assert_int_equal(image_manifest_parse(nolayers, strlen(nolayers), &m), -EBADMSG);
}

static void test_docker_manifest(void **state) {
    (void)state;
    struct image_docker_manifest m;
    const char *good = "[{\"Config\":\"abc.json\",\"RepoTags\":[\"x:y\"],\"Layers\":[\"l1/layer.tar\",\"l2/layer.tar\"]}]";
    assert_int_equal(image_docker_manifest_parse(good, strlen(good), &m), 0);
    assert_int_equal(m.layer_count, 2);
    assert_string_equal(m.layers[1], "l2/layer.tar");
    image_docker_manifest_done(&m);
    const char *bad[] = {
        "[{\"Config\":\"../etc/passwd\",\"Layers\":[]}]",
        "[{\"Config\":\"/abs.json\",\"Layers\":[]}]",
        "[{\"Config\":\"c.json\",\"Layers\":[\"a/../../b\"]}]",
        "[{\"Config\":\"c.json\",\"Layers\":[\"\"]}]",
        "[]",
        "[{\"Config\":\"c.json\",\"Layers\":[]},{\"Config\":\"d.json\",\"Layers\":[]}]",
        "{\"Config\":\"c.json\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(image_docker_manifest_parse(bad[i], strlen(bad[i]), &m), -EBADMSG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_index_and_manifest),
        cmocka_unit_test(test_docker_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
