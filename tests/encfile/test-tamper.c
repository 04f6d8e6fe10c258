/* SPDX-License-Identifier: Apache-2.0 */
/* The tamper matrix: every byte class flipped, truncation, extension, swaps, renames, rollback, wrong key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "helpers.h"

#define N VEIL_ENCFILE_NODE_SIZE
#define FILL 0xAA
static char *dir;

static bool refused(int r) {
    return r == -EACCES || r == -EBADMSG;
}

/* No byte of a failed read may be plaintext: the buffer holds only our fill or wiped zeros. */
static void assert_no_plaintext(const uint8_t *buf, size_t size) {
    for (size_t i = 0; i < size; i++)
        if (buf[i] != 0 && buf[i] != FILL) fail_msg("byte %zu of a failed read is not wiped", i);
}

/*
 * The file at path must be refused as a whole: open, verify, load or a full read
 * fails with -EACCES/-EBADMSG, and a failed read hands out no plaintext.
 * Returns the number of refusals seen (>= 1).
 */
static int expect_refused(const char *path, const char *logical, const uint64_t *pin) {
    struct veil_encfile *f;
    int r = veil_encfile_open(path, test_key, logical, VEIL_ENCFILE_READ, pin, &f);
    if (r < 0) {
        if (!refused(r)) fail_msg("open returned %d (%s)", r, veil_err_msg());
        return 1;
    }
    int refusals = 0;
    uint64_t size = veil_encfile_size(f);
    if (size <= ((uint64_t)16 << 20)) {
        uint8_t *buf = malloc(size + 1);
        memset(buf, FILL, size + 1);
        ssize_t n = veil_encfile_pread(f, buf, size, 0);
        if (n >= 0) fail_msg("a tampered file read back %zd bytes", n);
        if (!refused((int)n)) fail_msg("read returned %zd (%s)", n, veil_err_msg());
        assert_no_plaintext(buf, size);
        free(buf);
        refusals++;
    }
    r = veil_encfile_verify(f);
    if (!refused(r)) fail_msg("verify returned %d", r);
    refusals++;
    veil_encfile_free(f);
    if (size > ((uint64_t)16 << 20)) return refusals;
    struct veil_secbuf *data = NULL;
    r = veil_encfile_load(path, test_key, logical, pin, &data, NULL);
    if (!refused(r)) fail_msg("load returned %d", r);
    assert_null(data);
    return refusals + 1;
}

/*
 * Flip two bits (one at a time) of byte `at` in a working copy of the file and
 * expect each variant refused. The copy is made once per original (bytes) and
 * restored after each flip, so large sparse files stay cheap.
 */
static const uint8_t *copy_of;
static void flip_and_check(const char *orig, size_t orig_size, const uint8_t *bytes, size_t at, const char *logical) {
    char *path = test_path(dir, "tampered");
    (void)orig;
    if (copy_of != bytes) {
        test_write_bytes(path, bytes, orig_size);
        copy_of = bytes;
    }
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    for (unsigned bit = 0; bit < 8; bit += 7) {
        uint8_t b = bytes[at] ^ (uint8_t)(1u << bit);
        assert_int_equal(pwrite(fd, &b, 1, (off_t)at), 1);
        expect_refused(path, logical, NULL);
    }
    assert_int_equal(pwrite(fd, &bytes[at], 1, (off_t)at), 1);
    close(fd);
    free(path);
}

static void flip_done(void) {
    char *path = test_path(dir, "tampered");
    unlink(path);
    free(path);
    copy_of = NULL;
}

/* Offsets of the tree region, from the layout in docs/encfile.md. */
static void test_every_byte_class(void **state) {
    (void)state;
    /* 4 data nodes (the last one 100 bytes), one tree node of 4 entries */
    const size_t size = 3 * N + 100;
    char *path = test_path(dir, "a.enc");
    uint8_t *plain = malloc(size);
    test_fill(plain, size, 1);
    assert_int_equal(veil_encfile_store(path, test_key, "/data/a", 1, plain, size, 0600), 0);
    size_t disk_size;
    uint8_t *bytes = test_read_bytes(path, &disk_size);
    assert_int_equal(disk_size, 128 + size + 4 * 32);
    size_t checked = 0;

    /* header: magic, version, sizes, flags, file id, version counter, size, root entry, reserved, MAC */
    for (size_t at = 0; at < 128; at++, checked++) flip_and_check(path, disk_size, bytes, at, "/data/a");
    /* the tree node: every salt and tag byte */
    for (size_t at = 128 + size; at < disk_size; at++, checked++) flip_and_check(path, disk_size, bytes, at, "/data/a");
    /* data nodes: both ends and a sample of the middle of each */
    for (size_t node = 0; node < 4; node++) {
        size_t start = 128 + node * N, len = MIN(N, size - node * N);
        for (size_t i = 0; i < 16; i++, checked += 3) {
            flip_and_check(path, disk_size, bytes, start + i, "/data/a");
            flip_and_check(path, disk_size, bytes, start + len - 1 - i, "/data/a");
            flip_and_check(path, disk_size, bytes, start + (len * (i + 1)) / 17, "/data/a");
        }
    }
    flip_done();
    print_message("# %zu byte positions flipped (2 bits each), all refused\n", checked);

    /* a tampered data node fails alone: its neighbours still read (only the path is verified) */
    char *t = test_path(dir, "one-node");
    bytes[128 + N + 5] ^= 1;
    test_write_bytes(t, bytes, disk_size);
    bytes[128 + N + 5] ^= 1;
    struct veil_encfile *f;
    uint8_t buf[N];
    assert_int_equal(veil_encfile_open(t, test_key, "/data/a", VEIL_ENCFILE_READ, NULL, &f), 0);
    assert_int_equal(veil_encfile_pread(f, buf, N, 0), N);
    assert_memory_equal(buf, plain, N);
    memset(buf, FILL, sizeof(buf));
    assert_int_equal(veil_encfile_pread(f, buf, 10, N + 100), -EACCES);
    assert_no_plaintext(buf, sizeof(buf));
    assert_string_equal(veil_err_msg(), "integrity check failed at data node 1 (wrong key, tampered or swapped file)");
    assert_int_equal(veil_encfile_pread(f, buf, N, 2 * N), N);
    assert_memory_equal(buf, plain + 2 * N, N);
    veil_encfile_free(f);
    unlink(t);
    free(t);

    /* the small file: every byte */
    char *small = test_path(dir, "small.enc");
    assert_int_equal(veil_encfile_store(small, test_key, "/s", 1, "x", 1, 0600), 0);
    size_t small_size;
    uint8_t *small_bytes = test_read_bytes(small, &small_size);
    assert_int_equal(small_size, 128 + 1 + 32);
    for (size_t at = 0; at < small_size; at++) flip_and_check(small, small_size, small_bytes, at, "/s");
    flip_done();
    free(small_bytes);
    unlink(small);
    free(small);
    free(bytes);
    free(plain);
    unlink(path);
    free(path);
}

static void test_tree_levels(void **state) {
    (void)state;
    /* 3200 data nodes: two level-1 tree nodes under a level-2 root, mostly holes */
    const uint64_t size = (uint64_t)3200 * N;
    char *path = test_path(dir, "deep.enc");
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(path, test_key, "/deep", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f), 0);
    assert_int_equal(veil_encfile_truncate(f, size), 0);
    assert_int_equal(veil_encfile_pwrite(f, "first", 5, 10), 5);
    assert_int_equal(veil_encfile_pwrite(f, "second", 6, (uint64_t)2100 * N), 6);
    assert_int_equal(veil_encfile_pwrite(f, "last", 4, size - 4), 4);
    assert_int_equal(veil_encfile_close(f), 0);
    struct veil_encfile_info info;
    assert_int_equal(veil_encfile_open(path, test_key, "/deep", VEIL_ENCFILE_READ, NULL, &f), 0);
    veil_encfile_get_info(f, &info);
    assert_int_equal(info.tree_depth, 2);
    assert_int_equal(info.tree_node_count, 3);
    assert_int_equal(veil_encfile_verify(f), 0);
    veil_encfile_free(f);

    size_t disk_size;
    uint8_t *bytes = test_read_bytes(path, &disk_size);
    size_t tree = 128 + size, level1_1 = tree + N, root = tree + 3200 * 32;
    assert_int_equal(disk_size, root + 2 * 32);
    uint64_t seed = 5;
    /* level-1 nodes (entries of written nodes and of holes alike), then every root byte */
    for (int i = 0; i < 48; i++) flip_and_check(path, disk_size, bytes, tree + test_rand(&seed) % N, "/deep");
    for (int i = 0; i < 48; i++) flip_and_check(path, disk_size, bytes, level1_1 + test_rand(&seed) % (1152 * 32), "/deep");
    for (size_t at = root; at < disk_size; at++) flip_and_check(path, disk_size, bytes, at, "/deep");
    /* the written data nodes */
    flip_and_check(path, disk_size, bytes, 128 + 12, "/deep");
    flip_and_check(path, disk_size, bytes, 128 + 2100 * N + 3, "/deep");
    flip_and_check(path, disk_size, bytes, 128 + size - 1, "/deep");
    flip_done();
    free(bytes);
    unlink(path);
    free(path);
}

static void test_truncate_extend(void **state) {
    (void)state;
    const size_t size = 2 * N + 5;
    char *path = test_path(dir, "te.enc"), *t = test_path(dir, "te-bad");
    uint8_t *plain = malloc(size);
    test_fill(plain, size, 2);
    assert_int_equal(veil_encfile_store(path, test_key, "/te", 1, plain, size, 0600), 0);
    size_t disk_size;
    uint8_t *bytes = test_read_bytes(path, &disk_size);
    const size_t cuts[] = { 1, 31, 32, 33, 96, 200, N, disk_size - 128, disk_size - 127, disk_size };
    for (size_t i = 0; i < ELEMENTSOF(cuts); i++) {
        test_write_bytes(t, bytes, disk_size - cuts[i]);
        expect_refused(t, "/te", NULL);
    }
    uint8_t *longer = calloc(1, disk_size + N);
    memcpy(longer, bytes, disk_size);
    const size_t extras[] = { 1, 32, 4096, N };
    for (size_t i = 0; i < ELEMENTSOF(extras); i++) {
        test_write_bytes(t, longer, disk_size + extras[i]);
        expect_refused(t, "/te", NULL);
    }
    /* a header that claims the truncated size is refused by its MAC */
    free(longer);
    free(bytes);
    free(plain);
    unlink(t);
    unlink(path);
    free(t);
    free(path);
}

static void test_swap_rename_key(void **state) {
    (void)state;
    const size_t size = 2 * N + 7;
    char *a = test_path(dir, "swap-a"), *b = test_path(dir, "swap-b"), *t = test_path(dir, "swap-t");
    uint8_t *pa = malloc(size), *pb = malloc(size);
    test_fill(pa, size, 3);
    test_fill(pb, size, 4);
    assert_int_equal(veil_encfile_store(a, test_key, "/data/a", 1, pa, size, 0600), 0);
    assert_int_equal(veil_encfile_store(b, test_key, "/data/b", 1, pb, size, 0600), 0);
    size_t sa, sb;
    uint8_t *ba = test_read_bytes(a, &sa), *bb = test_read_bytes(b, &sb);
    assert_int_equal(sa, sb);

    /* renamed: b's file read as /data/a, and a under another name */
    expect_refused(b, "/data/a", NULL);
    expect_refused(a, "/data/b", NULL);
    expect_refused(a, "/data/a/", NULL);
    /* a's header over b's nodes, and b's data node 1 transplanted into a */
    uint8_t *mix = malloc(sa);
    memcpy(mix, bb, sa);
    memcpy(mix, ba, 128);
    test_write_bytes(t, mix, sa);
    expect_refused(t, "/data/a", NULL);
    memcpy(mix, ba, sa);
    memcpy(mix + 128 + N, bb + 128 + N, N);
    test_write_bytes(t, mix, sa);
    expect_refused(t, "/data/a", NULL);
    /* a's data nodes 0 and 1 swapped with each other */
    memcpy(mix, ba, sa);
    memcpy(mix + 128, ba + 128 + N, N);
    memcpy(mix + 128 + N, ba + 128, N);
    test_write_bytes(t, mix, sa);
    expect_refused(t, "/data/a", NULL);

    /* the wrong key: refused at the header, no plaintext */
    uint8_t other[VEIL_ENCFILE_KEY_SIZE];
    memcpy(other, test_key, sizeof(other));
    other[31] ^= 1;
    struct veil_encfile *f;
    struct veil_secbuf *data = NULL;
    assert_int_equal(veil_encfile_open(a, other, "/data/a", VEIL_ENCFILE_READ, NULL, &f), -EACCES);
    assert_string_equal(veil_err_msg(), "integrity check failed at the header (wrong key, tampered or swapped file)");
    assert_int_equal(veil_encfile_load(a, other, "/data/a", NULL, &data, NULL), -EACCES);
    assert_null(data);

    free(mix);
    free(ba);
    free(bb);
    free(pa);
    free(pb);
    unlink(a);
    unlink(b);
    unlink(t);
    free(a);
    free(b);
    free(t);
}

static void test_rollback(void **state) {
    (void)state;
    const size_t size = 3 * N;
    char *path = test_path(dir, "rb.enc"), *old = test_path(dir, "rb-old"), *t = test_path(dir, "rb-mix");
    uint8_t *plain = malloc(size);
    test_fill(plain, size, 6);
    assert_int_equal(veil_encfile_store(path, test_key, "/rb", 1, plain, size, 0600), 0);
    size_t s1;
    uint8_t *v1 = test_read_bytes(path, &s1);
    test_write_bytes(old, v1, s1);

    struct veil_encfile *f;
    uint64_t pin = 1;
    assert_int_equal(veil_encfile_open(path, test_key, "/rb", VEIL_ENCFILE_WRITE, &pin, &f), 0);
    assert_int_equal(veil_encfile_pwrite(f, "changed", 7, N + 1), 7);
    assert_int_equal(veil_encfile_flush(f), 0);
    pin = veil_encfile_version(f);
    assert_int_equal(pin, 2);
    veil_encfile_free(f);
    size_t s2;
    uint8_t *v2 = test_read_bytes(path, &s2);
    assert_int_equal(s1, s2);

    /* the old, genuine version put back: refused with the version pinned */
    expect_refused(old, "/rb", &pin);
    assert_int_equal(veil_encfile_open(old, test_key, "/rb", VEIL_ENCFILE_READ, &pin, &f), -EACCES);
    /* (without a pin it is a valid file: the pin is the rollback defence) */
    assert_int_equal(veil_encfile_open(old, test_key, "/rb", VEIL_ENCFILE_READ, NULL, &f), 0);
    veil_encfile_free(f);
    /* new header and tree with the old copy of the changed node: refused even without a pin */
    uint8_t *mix = malloc(s2);
    memcpy(mix, v2, s2);
    memcpy(mix + 128 + N, v1 + 128 + N, N);
    test_write_bytes(t, mix, s2);
    expect_refused(t, "/rb", &pin);
    expect_refused(t, "/rb", NULL);
    /* old header with the new tree */
    memcpy(mix, v1, 128);
    memcpy(mix + 128, v2 + 128, s2 - 128);
    test_write_bytes(t, mix, s2);
    expect_refused(t, "/rb", NULL);

    free(mix);
    free(v1);
    free(v2);
    free(plain);
    unlink(path);
    unlink(old);
    unlink(t);
    free(path);
    free(old);
    free(t);
}

static void test_not_an_encfile(void **state) {
    (void)state;
    char *t = test_path(dir, "junk");
    uint8_t junk[4096];
    const size_t lens[] = { 0, 1, 8, 127, 128, 129, 4096 };
    for (size_t i = 0; i < ELEMENTSOF(lens); i++) {
        test_fill(junk, sizeof(junk), i + 100);
        test_write_bytes(t, junk, lens[i]);
        expect_refused(t, "/j", NULL);
    }
    unlink(t);
    free(t);
}

static int setup(void **state) {
    (void)state;
    dir = test_dir_make("encfile-tamper", 1);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    test_dir_remove(dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte_class), cmocka_unit_test(test_tree_levels),
        cmocka_unit_test(test_truncate_extend),  cmocka_unit_test(test_swap_rename_key),
        cmocka_unit_test(test_rollback),         cmocka_unit_test(test_not_an_encfile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
