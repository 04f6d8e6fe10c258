/* SPDX-License-Identifier: Apache-2.0 */
/* veil_encfile_flush_version: the caller's version on disk, clean nodes' ciphertext kept, written even when clean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"

#define N VEIL_ENCFILE_NODE_SIZE
static char *dir;

static void test_flush_version(void **state) {
    (void)state;
    char *path = test_path(dir, "f.enc");
    size_t size = 3 * N + 17;
    uint8_t *plain = malloc(size), *node = malloc(N);
    test_fill(plain, size, 7);
    assert_int_equal(veil_encfile_store(path, test_key, "/data/f", 3, plain, size, 0600), 0);
    size_t before_size;
    uint8_t *before = test_read_bytes(path, &before_size);

    /* node 1 changes; the caller numbers the version (a volume counter: 10, not 4) */
    struct veil_encfile *f;
    uint64_t pin = 3;
    assert_int_equal(veil_encfile_open(path, test_key, "/data/f", VEIL_ENCFILE_WRITE, &pin, &f), 0);
    test_fill(node, N, 8);
    memcpy(plain + N, node, N);
    assert_int_equal(veil_encfile_pwrite(f, node, N, N), (ssize_t)N);
    assert_int_equal(veil_encfile_flush_version(f, 10), 0);
    assert_int_equal(veil_encfile_version(f), 10);
    /* nothing changed: still a new file at the asked version */
    assert_int_equal(veil_encfile_flush_version(f, 12), 0);
    assert_int_equal(veil_encfile_version(f), 12);
    assert_int_equal(veil_encfile_close(f), 0);

    size_t after_size;
    uint8_t *after = test_read_bytes(path, &after_size);
    assert_int_equal(after_size, before_size);
    /* nodes 0, 2 and 3 are copied as ciphertext; node 1 is sealed anew */
    assert_memory_equal(before + 128, after + 128, N);
    assert_memory_not_equal(before + 128 + N, after + 128 + N, N);
    assert_memory_equal(before + 128 + 2 * N, after + 128 + 2 * N, N + 17);
    free(before);
    free(after);

    struct veil_secbuf *data;
    uint64_t version;
    pin = 12;
    assert_int_equal(veil_encfile_load(path, test_key, "/data/f", &pin, &data, &version), 0);
    assert_int_equal(version, 12);
    assert_int_equal(data->size, size);
    assert_memory_equal(data->data, plain, size);
    veil_secbuf_free(data);
    pin = 10;
    assert_int_equal(veil_encfile_load(path, test_key, "/data/f", &pin, &data, &version), -EACCES);

    /* read-only handles refuse */
    assert_int_equal(veil_encfile_open(path, test_key, "/data/f", VEIL_ENCFILE_READ, NULL, &f), 0);
    assert_int_equal(veil_encfile_flush_version(f, 13), -EROFS);
    veil_encfile_free(f);
    free(plain);
    free(node);
    free(path);
}

int main(void) {
    dir = test_dir_make("encfile-flush-version", 1);
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_flush_version) };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    test_dir_remove(dir);
    return r;
}
