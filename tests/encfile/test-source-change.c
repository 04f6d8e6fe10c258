/* SPDX-License-Identifier: Apache-2.0 */
/* A deterministic store whose source changes between the digest pass and the sealing pass fails, leaving nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/err.h"
#include "helpers.h"

/*
 * Linked with -Wl,--wrap=pread64 (pread is pread64 with 64-bit off_t): every pread the library makes goes through
 * here, so the test can return other bytes the second time an offset of the
 * watched fd is read, as if another process wrote the file in between.
 */
ssize_t __real_pread64(int fd, void *buf, size_t size, off_t offset);
ssize_t __wrap_pread64(int fd, void *buf, size_t size, off_t offset);
static int watched_fd = -1;
static off_t watched_offset = -1;
static int reads_of_offset;

ssize_t __wrap_pread64(int fd, void *buf, size_t size, off_t offset) {
    ssize_t n = __real_pread64(fd, buf, size, offset);
    if (fd == watched_fd && offset == watched_offset && n > 0 && ++reads_of_offset == 2) ((uint8_t *)buf)[0] ^= 1;
    return n;
}

#define N VEIL_ENCFILE_NODE_SIZE
static char *dir;

static void store_with_change_at(off_t changed, int expected) {
    char *plain_path = test_path(dir, "plain"), *out = test_path(dir, "out.enc");
    size_t size = 17 * N + 3; /* three runs of 8 nodes */
    uint8_t *plain = malloc(size);
    test_fill(plain, size, 42);
    test_write_bytes(plain_path, plain, size);
    int fd = open(plain_path, O_RDONLY);
    assert_true(fd >= 0);
    watched_fd = fd, watched_offset = changed, reads_of_offset = 0;
    assert_int_equal(veil_encfile_store_fd_deterministic(out, test_key, "/app/x", 1, fd, 0600), expected);
    watched_fd = -1;
    close(fd);
    if (expected < 0) {
        assert_int_equal(access(out, F_OK), -1); /* nothing left behind */
        assert_int_equal(test_dir_count(dir, 1), 0);
    } else {
        struct veil_secbuf *data;
        assert_int_equal(veil_encfile_load(out, test_key, "/app/x", NULL, &data, NULL), 0);
        assert_memory_equal(data->data, plain, size);
        veil_secbuf_free(data);
        unlink(out);
    }
    unlink(plain_path);
    free(plain), free(plain_path), free(out);
}

static void test_change_refused(void **state) {
    (void)state;
    /* the first node of each run (runs are read from their first node's offset) */
    store_with_change_at(0, -EBUSY);
    store_with_change_at(8 * N, -EBUSY);
    store_with_change_at(16 * N, -EBUSY);
    /* an offset no run starts at is never read: the store succeeds (the hook itself works) */
    store_with_change_at(1, 0);
}

int main(void) {
    dir = test_dir_make("encfile-change", 1);
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_change_refused) };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    test_dir_remove(dir);
    return r;
}
