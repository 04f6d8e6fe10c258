/* SPDX-License-Identifier: Apache-2.0 */
/* Path resolution inside the image root: `..`, symlinks from the manifest and from disk, passthrough, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shield/policy.h"
#include "shield/resolve.h"

static struct veil_shield_table *table;
static struct veil_shield_policy policy;

/* Links "on disk" below the run-time rules: /tmp/l -> /app/x, /tmp/loop -> /tmp/loop, /tmp/up -> ../.. */
static int fake_readlink(void *ctx, const char *path, char *buf, size_t size) {
    (void)ctx;
    static const char *const links[][2] = {
        { "/tmp/l", "/app/x" }, { "/tmp/loop", "/tmp/loop" }, { "/tmp/up", "../../../.." }, { "/tmp/rel", "sub/f" },
    };
    for (size_t i = 0; i < ELEMENTSOF(links); i++)
        if (!strcmp(path, links[i][0])) {
            size_t n = strlen(links[i][1]);
            if (n > size) n = size;
            memcpy(buf, links[i][1], n);
            return (int)n;
        }
    if (!strncmp(path, "/tmp/missing/", 13)) return -ENOENT;
    return -EINVAL;
}

static const struct veil_shield_resolver resolver = { .policy = &policy, .readlink = fake_readlink };

static int setup(void **state) {
    (void)state;
    assert_int_equal(veil_shield_table_new(&table), 0);
    struct veil_shield_verdict dir = { .class = VEIL_SHIELD_DIRECTORY, .mode = 0755 };
    struct veil_shield_verdict file = { .class = VEIL_SHIELD_TRUSTED, .mode = 0755, .size = 1 };
    struct veil_shield_verdict link = { .class = VEIL_SHIELD_SYMLINK };
    assert_int_equal(veil_shield_table_add_entry(table, "/", &dir), 0);
    assert_int_equal(veil_shield_table_add_entry(table, "/usr", &dir), 0);
    assert_int_equal(veil_shield_table_add_entry(table, "/usr/bin", &dir), 0);
    assert_int_equal(veil_shield_table_add_entry(table, "/usr/bin/python3.11", &file), 0);
    link.target = "python3.11";
    assert_int_equal(veil_shield_table_add_entry(table, "/usr/bin/python3", &link), 0);
    link.target = "usr/bin";
    assert_int_equal(veil_shield_table_add_entry(table, "/bin", &link), 0);
    link.target = "/etc/../../../usr/bin/python3";
    assert_int_equal(veil_shield_table_add_entry(table, "/usr/bin/abs", &link), 0);
    assert_int_equal(veil_shield_table_add_rule(table, "/proc", VEIL_SHIELD_PASSTHROUGH, NULL), 0);
    assert_int_equal(veil_shield_table_add_rule(table, "/tmp", VEIL_SHIELD_EPHEMERAL, NULL), 0);
    assert_int_equal(veil_shield_table_add_rule(table, "/app", VEIL_SHIELD_ENCRYPTED, "image"), 0);
    veil_shield_table_seal(table);
    policy = veil_shield_table_policy(table);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    veil_shield_table_free(table);
    return 0;
}

static void expect(const char *base, const char *path, bool follow, const char *want, enum veil_shield_class cls) {
    struct veil_shield_resolved r;
    int e = veil_shield_resolve(&resolver, base, path, follow, &r);
    if (e != 0) fprintf(stderr, "resolve(%s, %s) = %d\n", base, path, e);
    assert_int_equal(e, 0);
    assert_string_equal(r.path, want);
    assert_int_equal(r.path_size, strlen(want));
    assert_int_equal(r.verdict.class, cls);
}

static void test_lexical(void **state) {
    (void)state;
    expect("/", "/", true, "/", VEIL_SHIELD_DIRECTORY);
    expect("/", "//usr///bin/./", true, "/usr/bin", VEIL_SHIELD_DIRECTORY);
    expect("/usr", "bin/python3.11", true, "/usr/bin/python3.11", VEIL_SHIELD_TRUSTED);
    expect("/usr/bin", "..", true, "/usr", VEIL_SHIELD_DIRECTORY);
    /* `..` never leaves the root */
    expect("/", "/../../..", true, "/", VEIL_SHIELD_DIRECTORY);
    expect("/usr", "../../../../usr/bin/python3.11", true, "/usr/bin/python3.11", VEIL_SHIELD_TRUSTED);
    expect("/", "/nope", true, "/nope", VEIL_SHIELD_DENIED);
}

static void test_manifest_links(void **state) {
    (void)state;
    expect("/", "/usr/bin/python3", true, "/usr/bin/python3.11", VEIL_SHIELD_TRUSTED);
    expect("/", "/usr/bin/python3", false, "/usr/bin/python3", VEIL_SHIELD_SYMLINK);
    expect("/", "/bin/python3", true, "/usr/bin/python3.11", VEIL_SHIELD_TRUSTED);
    expect("/", "/bin/python3", false, "/usr/bin/python3", VEIL_SHIELD_SYMLINK);
    /* an intermediate link is always followed */
    expect("/", "/bin/", false, "/usr/bin", VEIL_SHIELD_DIRECTORY);
    /* absolute target with `..` past the root stays inside */
    expect("/", "/usr/bin/abs", true, "/usr/bin/python3.11", VEIL_SHIELD_TRUSTED);
}

static void test_disk_links(void **state) {
    (void)state;
    expect("/", "/tmp/l", true, "/app/x", VEIL_SHIELD_ENCRYPTED);
    expect("/", "/tmp/l", false, "/tmp/l", VEIL_SHIELD_EPHEMERAL);
    expect("/", "/tmp/up/usr/bin", true, "/usr/bin", VEIL_SHIELD_DIRECTORY);
    expect("/", "/tmp/rel", true, "/tmp/sub/f", VEIL_SHIELD_EPHEMERAL);
    struct veil_shield_resolved r;
    assert_int_equal(veil_shield_resolve(&resolver, "/", "/tmp/loop", true, &r), -ELOOP);
    assert_int_equal(veil_shield_resolve(&resolver, "/", "/tmp/loop", false, &r), 0);
    /* missing on disk is the call's business, not resolution's */
    assert_int_equal(veil_shield_resolve(&resolver, "/", "/tmp/missing/a/b", true, &r), 0);
    assert_string_equal(r.path, "/tmp/missing/a/b");
    assert_int_equal(veil_shield_resolve(&resolver, "/", "/tmp/missing/a", true, &r), 0);
}

static void test_passthrough(void **state) {
    (void)state;
    /* the kernel resolves below /proc: /proc/self must not be read in the supervisor's view */
    expect("/", "/proc/self/fd/3", true, "/proc/self/fd/3", VEIL_SHIELD_PASSTHROUGH);
    expect("/", "/proc/self/../1/", true, "/proc/self/../1", VEIL_SHIELD_PASSTHROUGH);
    expect("/usr", "../proc", true, "/proc", VEIL_SHIELD_PASSTHROUGH);
}

static void test_errors(void **state) {
    (void)state;
    struct veil_shield_resolved r;
    assert_int_equal(veil_shield_resolve(&resolver, "/", "", true, &r), -ENOENT);
    assert_int_equal(veil_shield_resolve(&resolver, "/", "/usr/bin/python3.11/x", true, &r), -ENOTDIR);
    assert_int_equal(veil_shield_resolve(&resolver, "relative", "x", true, &r), -EINVAL);
    static char longp[VEIL_SHIELD_PATH_MAX + 10];
    memset(longp, 'a', sizeof(longp) - 1);
    assert_int_equal(veil_shield_resolve(&resolver, "/", longp, true, &r), -ENAMETOOLONG);
    /* a trailing slash marks a directory */
    assert_int_equal(veil_shield_resolve(&resolver, "/", "/app/dir/", true, &r), 0);
    assert_true(r.must_be_dir);
}

static void test_table_order(void **state) {
    (void)state;
    struct veil_shield_verdict v;
    veil_shield_classify(&policy, "/app/new", 8, &v);
    assert_int_equal(v.class, VEIL_SHIELD_ENCRYPTED);
    assert_string_equal(v.key_name, "image");
    assert_true(v.from_rule);
    veil_shield_classify(&policy, "/application", 12, &v);
    assert_int_equal(v.class, VEIL_SHIELD_DENIED);
    veil_shield_classify(&policy, "/usr/bin/python3.11", 19, &v);
    assert_int_equal(v.class, VEIL_SHIELD_TRUSTED);
    assert_false(v.from_rule);
    assert_true(veil_shield_path_has_prefix("/a/b", 4, "/a"));
    assert_false(veil_shield_path_has_prefix("/ab", 3, "/a"));
    assert_true(veil_shield_path_has_prefix("/ab", 3, "/"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lexical),    cmocka_unit_test(test_manifest_links), cmocka_unit_test(test_disk_links),
        cmocka_unit_test(test_passthrough), cmocka_unit_test(test_errors),        cmocka_unit_test(test_table_order),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
