/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest: canonical encoding, round trip, lookups, and refusal of tampered, truncated or reordered manifests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/cursor.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "manifest/format.h"
#include "manifest/internal.h"

static EVP_PKEY *signer;

static void add(struct veil_manifest_builder *b, const char *path, enum veil_manifest_class class, const char *target) {
    struct veil_manifest_entry e = { .path = path, .class = class, .mode = 0644, .uid = 1, .gid = 2, .size = 5,
                                     .target = target };
    if (class == VEIL_MANIFEST_ENCRYPTED) e.key_name = VEIL_MANIFEST_IMAGE_KEY;
    if (class == VEIL_MANIFEST_TRUSTED || class == VEIL_MANIFEST_ENCRYPTED) memset(e.sha256, path[1], 32);
    assert_int_equal(veil_manifest_builder_add_entry(b, &e), 0);
}

/* A small but complete manifest; `reverse` adds the same content in the opposite order. */
static void make_body(bool reverse, uint8_t **ret, size_t *ret_size) {
    _cleanup_(veil_manifest_builder_freep) struct veil_manifest_builder *b = NULL;
    assert_int_equal(veil_manifest_builder_new(&b), 0);
    const char *argv[] = { "/usr/bin/python3", "-c", "print(1)" };
    const char *env[] = { "PATH=/usr/bin", "LANG=C.UTF-8" };
    assert_int_equal(veil_manifest_builder_set_argv(b, argv, 3), 0);
    assert_int_equal(veil_manifest_builder_set_env(b, env, 2), 0);
    assert_int_equal(veil_manifest_builder_add_host_env(b, reverse ? "TZ" : "HOSTNAME"), 0);
    assert_int_equal(veil_manifest_builder_add_host_env(b, reverse ? "HOSTNAME" : "TZ"), 0);
    assert_int_equal(veil_manifest_builder_set_cwd(b, "/app"), 0);
    veil_manifest_builder_set_user(b, 1000, 1001);
    assert_int_equal(veil_manifest_builder_set_attestation(b, "cas.example:8443", "demo"), 0);
    veil_manifest_builder_set_product(b, 7, 3);
    const char *rules[][2] = { { "/proc", NULL }, { "/tmp", NULL }, { "/app", "image" } };
    enum veil_manifest_class rc[] = { VEIL_MANIFEST_PASSTHROUGH, VEIL_MANIFEST_EPHEMERAL, VEIL_MANIFEST_ENCRYPTED };
    for (int i = 0; i < 3; i++) {
        int k = reverse ? 2 - i : i;
        assert_int_equal(veil_manifest_builder_add_rule(b, rules[k][0], rc[k], rules[k][1]), 0);
    }
    struct { const char *p; enum veil_manifest_class c; const char *t; } es[] = {
        { "/", VEIL_MANIFEST_DIRECTORY, NULL },
        { "/app", VEIL_MANIFEST_DIRECTORY, NULL },
        { "/app/main.py", VEIL_MANIFEST_ENCRYPTED, NULL },
        { "/bin", VEIL_MANIFEST_SYMLINK, "usr/bin" },
        { "/usr/bin/python3", VEIL_MANIFEST_TRUSTED, NULL },
        { "/usr/lib/libc.so.6", VEIL_MANIFEST_TRUSTED, NULL },
    };
    for (size_t i = 0; i < ELEMENTSOF(es); i++) {
        size_t k = reverse ? ELEMENTSOF(es) - 1 - i : i;
        add(b, es[k].p, es[k].c, es[k].t);
    }
    assert_int_equal(veil_manifest_builder_encode(b, ret, ret_size), 0);
}

static void make_signed(uint8_t **ret, size_t *ret_size) {
    _cleanup_free_ uint8_t *body = NULL;
    size_t body_size;
    make_body(false, &body, &body_size);
    assert_int_equal(veil_manifest_sign(body, body_size, signer, ret, ret_size), 0);
}

static void test_canonical(void **state) {
    (void)state;
    uint8_t *a, *b;
    size_t a_size, b_size;
    make_body(false, &a, &a_size);
    make_body(true, &b, &b_size);
    assert_int_equal(a_size, b_size);
    assert_memory_equal(a, b, a_size);
    assert_memory_equal(a, VEIL_MANIFEST_MAGIC, 8);
    assert_int_equal(a_size % 8, 0);
    free(a);
    free(b);
}

static void test_round_trip(void **state) {
    (void)state;
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    make_signed(&data, &size);
    _cleanup_(veil_manifest_freep) struct veil_manifest *m = NULL;
    assert_int_equal(veil_manifest_load(data, size, &m), 0);

    const struct veil_manifest_config *c = veil_manifest_config(m);
    assert_int_equal(c->argc, 3);
    assert_string_equal(c->argv[0], "/usr/bin/python3");
    assert_string_equal(c->argv[2], "print(1)");
    assert_null(c->argv[3]);
    assert_int_equal(c->env_count, 2);
    assert_string_equal(c->env[1], "LANG=C.UTF-8");
    assert_int_equal(c->host_env_count, 2);
    assert_string_equal(c->host_env[0], "HOSTNAME");
    assert_string_equal(c->cwd, "/app");
    assert_int_equal(c->uid, 1000);
    assert_int_equal(c->gid, 1001);
    assert_string_equal(c->attest_address, "cas.example:8443");
    assert_string_equal(c->attest_policy, "demo");
    assert_int_equal(c->product_id, 7);
    assert_int_equal(c->security_version, 3);

    assert_int_equal(veil_manifest_entry_count(m), 6);
    assert_int_equal(veil_manifest_key_count(m), 1);
    assert_string_equal(veil_manifest_key_at(m, 0), "image");
    struct veil_manifest_entry e;
    assert_int_equal(veil_manifest_find(m, "/bin", 4, &e), 0);
    assert_int_equal(e.class, VEIL_MANIFEST_SYMLINK);
    assert_string_equal(e.target, "usr/bin");
    assert_int_equal(e.size, 7);
    assert_int_equal(veil_manifest_find(m, "/usr/bin/python3", 16, &e), 0);
    assert_int_equal(e.class, VEIL_MANIFEST_TRUSTED);
    assert_int_equal(e.mode, 0644);
    assert_int_equal(e.size, 5);
    assert_int_equal(e.sha256[0], 'u');
    assert_null(e.key_name);
    assert_int_equal(veil_manifest_find(m, "/usr/bin/python", 15, &e), -ENOENT);
    assert_int_equal(veil_manifest_find(m, "/zzz", 4, &e), -ENOENT);

    const char *key = NULL;
    assert_int_equal(veil_manifest_classify(m, "/proc/self/maps", 15, NULL, NULL), VEIL_MANIFEST_PASSTHROUGH);
    assert_int_equal(veil_manifest_classify(m, "/tmp", 4, NULL, NULL), VEIL_MANIFEST_EPHEMERAL);
    assert_int_equal(veil_manifest_classify(m, "/tmpx", 5, NULL, NULL), VEIL_MANIFEST_NONE);
    assert_int_equal(veil_manifest_classify(m, "/app/main.py", 12, &e, &key), VEIL_MANIFEST_ENCRYPTED);
    assert_string_equal(key, "image");
    assert_string_equal(e.path, "/app/main.py");
    key = NULL;
    assert_int_equal(veil_manifest_classify(m, "/app/new.db", 11, NULL, &key), VEIL_MANIFEST_ENCRYPTED);
    assert_string_equal(key, "image");
    assert_int_equal(veil_manifest_classify(m, "/app", 4, NULL, NULL), VEIL_MANIFEST_DIRECTORY);
    assert_int_equal(veil_manifest_classify(m, "/etc/shadow", 11, NULL, NULL), VEIL_MANIFEST_NONE);
    assert_int_equal(veil_manifest_classify(m, "/usr/lib/libc.so.6", 18, NULL, NULL), VEIL_MANIFEST_TRUSTED);

    /* signer id is the key id; digest is over the body only */
    uint8_t id[32], want[32], digest[32];
    veil_manifest_signer_id(m, id);
    assert_int_equal(veil_key_id(signer, want), 0);
    assert_memory_equal(id, want, 32);
    size_t body_size;
    const uint8_t *body = veil_manifest_body(m, &body_size);
    assert_true(body_size < size);
    assert_int_equal(veil_sha256(body, body_size, want), 0);
    veil_manifest_digest(m, digest);
    assert_memory_equal(digest, want, 32);
}

static void test_measurement(void **state) {
    (void)state;
    uint8_t rt[32], md[32], out[32], want[32], input[84];
    memset(rt, 0x11, 32);
    memset(md, 0x22, 32);
    memcpy(input, "veil-measurement-v1", 20); /* with the NUL */
    memcpy(input + 20, rt, 32);
    memcpy(input + 52, md, 32);
    assert_int_equal(veil_sha256(input, sizeof(input), want), 0);
    assert_int_equal(veil_manifest_measurement(rt, md, out), 0);
    assert_memory_equal(out, want, 32);
    md[31] ^= 1;
    assert_int_equal(veil_manifest_measurement(rt, md, out), 0);
    assert_memory_not_equal(out, want, 32);
}

static void test_tampered(void **state) {
    (void)state;
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    make_signed(&data, &size);
    struct veil_manifest *m;
    size_t body_size = veil_load_u32le(data + MF_H_BODY_SIZE);
    /* any flipped body byte, or signature byte, fails the signature */
    for (size_t i = 0; i < body_size; i += 7) {
        data[i] ^= 0x40;
        int r = veil_manifest_load(data, size, &m);
        assert_true(r == -EACCES || r == -EBADMSG);
        if (i >= 16) assert_int_equal(r, -EACCES);
        data[i] ^= 0x40;
    }
    data[size - 1] ^= 1;
    assert_int_equal(veil_manifest_load(data, size, &m), -EACCES);
    data[size - 1] ^= 1;
    assert_int_equal(veil_manifest_load(data, size, &m), 0);
    veil_manifest_free(m);
}

static void test_wrong_key(void **state) {
    (void)state;
    _cleanup_free_ uint8_t *data = NULL, *body = NULL, *spki = NULL;
    size_t size, body_size, spki_size;
    make_signed(&data, &size);
    make_body(false, &body, &body_size);
    /* the same signature block with another signer's public key in it */
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *other = NULL;
    assert_int_equal(veil_key_generate(VEIL_KEY_ED25519, &other), 0);
    assert_int_equal(veil_key_public_der(other, &spki, &spki_size), 0);
    assert_int_equal(veil_load_u32le(data + body_size), spki_size);
    memcpy(data + body_size + 4, spki, spki_size);
    struct veil_manifest *m;
    assert_int_equal(veil_manifest_load(data, size, &m), -EACCES);
}

static void test_truncated(void **state) {
    (void)state;
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    make_signed(&data, &size);
    struct veil_manifest *m;
    for (size_t n = 0; n < size; n++) assert_int_equal(veil_manifest_load(data, n, &m) < 0, 1);
    /* and a trailing byte */
    uint8_t *longer = malloc(size + 1);
    memcpy(longer, data, size);
    longer[size] = 0;
    assert_int_equal(veil_manifest_load(longer, size + 1, &m), -EBADMSG);
    free(longer);
}

/* Re-sign a modified body, so that only the structural checks stand between it and the loader. */
static int load_resigned(uint8_t *body, size_t body_size) {
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    assert_int_equal(veil_manifest_sign(body, body_size, signer, &data, &size), 0);
    struct veil_manifest *m = NULL;
    int r = veil_manifest_load(data, size, &m);
    veil_manifest_free(m);
    return r;
}

static void test_reordered(void **state) {
    (void)state;
    _cleanup_free_ uint8_t *body = NULL;
    size_t body_size;
    make_body(false, &body, &body_size);
    assert_int_equal(load_resigned(body, body_size), 0);
    /* rename the symlink /bin to /zin in the pool: the pool stays consistent, the order breaks */
    size_t strings = veil_load_u32le(body + MF_H_STRINGS_OFFSET);
    uint8_t *p = memmem(body + strings, body_size - strings, "/bin", 5);
    assert_non_null(p);
    p[1] = 'z';
    assert_int_equal(load_resigned(body, body_size), -EBADMSG);
    p[1] = 'b';
    /* a duplicate: /bin renamed to /app, which exists */
    memcpy(p, "/app", 4);
    assert_int_equal(load_resigned(body, body_size), -EBADMSG);
    memcpy(p, "/bin", 4);
    /* a non-normal path */
    memcpy(p, "/../", 4);
    assert_int_equal(load_resigned(body, body_size), -EBADMSG);
    memcpy(p, "/bin", 4);
    /* an unknown class, a non-zero reserved byte, a mode with type bits */
    size_t entries = veil_load_u32le(body + MF_H_ENTRIES_OFFSET);
    body[entries + MF_E_CLASS] = 9;
    assert_int_equal(load_resigned(body, body_size), -EBADMSG);
    body[entries + MF_E_CLASS] = VEIL_MANIFEST_DIRECTORY;
    body[entries + MF_E_RESERVED] = 1;
    assert_int_equal(load_resigned(body, body_size), -EBADMSG);
    body[entries + MF_E_RESERVED] = 0;
    veil_store_u32le(body + entries + MF_E_MODE, 040755);
    assert_int_equal(load_resigned(body, body_size), -EBADMSG);
    veil_store_u32le(body + entries + MF_E_MODE, 0644);
    /* a pool offset pointing elsewhere */
    veil_store_u32le(body + entries + MF_E_PATH_OFFSET, 1);
    assert_int_equal(load_resigned(body, body_size), -EBADMSG);
    veil_store_u32le(body + entries + MF_E_PATH_OFFSET, 0);
    assert_int_equal(load_resigned(body, body_size), 0);
}

static void test_builder_refuses(void **state) {
    (void)state;
    _cleanup_(veil_manifest_builder_freep) struct veil_manifest_builder *b = NULL;
    assert_int_equal(veil_manifest_builder_new(&b), 0);
    uint8_t *body;
    size_t size;
    assert_int_equal(veil_manifest_builder_encode(b, &body, &size), -EINVAL); /* no entrypoint */
    const char *argv[] = { "/bin/sh" };
    assert_int_equal(veil_manifest_builder_set_argv(b, argv, 1), 0);
    assert_int_equal(veil_manifest_builder_add_rule(b, "/proc", VEIL_MANIFEST_PASSTHROUGH, NULL), 0);
    assert_int_equal(veil_manifest_builder_add_rule(b, "/app/", VEIL_MANIFEST_ENCRYPTED, "image"), -EINVAL);
    assert_int_equal(veil_manifest_builder_add_rule(b, "/app", VEIL_MANIFEST_ENCRYPTED, NULL), -EINVAL);
    struct veil_manifest_entry e = { .path = "/a/../b", .class = VEIL_MANIFEST_TRUSTED };
    assert_int_equal(veil_manifest_builder_add_entry(b, &e), -EINVAL);
    e.path = "/proc/x";
    assert_int_equal(veil_manifest_builder_add_entry(b, &e), 0);
    assert_int_equal(veil_manifest_builder_encode(b, &body, &size), -EBADMSG); /* below passthrough */
}

static void test_normal_paths(void **state) {
    (void)state;
    const char *good[] = { "/", "/a", "/a/b", "/.a", "/a..", "/...", "/a/.b/c" };
    const char *bad[] = { "", "a", "//", "/a/", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/a/.." };
    for (size_t i = 0; i < ELEMENTSOF(good); i++) assert_true(veil_manifest_path_is_normal(good[i], strlen(good[i])));
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) assert_false(veil_manifest_path_is_normal(bad[i], strlen(bad[i])));
    assert_false(veil_manifest_path_is_normal("/a\0b", 4));
}

int main(void) {
    if (veil_key_generate(VEIL_KEY_ED25519, &signer) < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical),     cmocka_unit_test(test_round_trip), cmocka_unit_test(test_measurement),
        cmocka_unit_test(test_tampered),      cmocka_unit_test(test_wrong_key),  cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_reordered),     cmocka_unit_test(test_builder_refuses),
        cmocka_unit_test(test_normal_paths),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    EVP_PKEY_free(signer);
    return r;
}
