/* SPDX-License-Identifier: Apache-2.0 */
/* The threaded output sink writes every byte, in order, at the right offset, with the right digest. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/fileio.h"
#include "image/sink.h"

static void test_sink(void **state) {
    (void)state;
    size_t total = (size_t)11 << 20; /* more than two 4 MiB buffers, not a multiple of them */
    uint8_t *data = malloc(total);
    for (size_t i = 0; i < total; i++) data[i] = (uint8_t)(i * 2654435761u >> 13);
    int fd = memfd_create("sink-test", 0);
    assert_true(fd >= 0);
    struct image_sink *s;
    assert_int_equal(image_sink_new(fd, 512, &s), 0);
    /* uneven pieces, like libarchive's */
    for (size_t off = 0, step = 1; off < total; off += step, step = step * 3 % 70001 + 1)
        assert_int_equal(image_sink_write(s, data + off, MIN(step, total - off)), 0);
    uint8_t digest[32], want[32];
    uint64_t size;
    assert_int_equal(image_sink_finish(s, digest, &size), 0);
    image_sink_free(s);
    assert_int_equal(size, total);
    assert_int_equal(veil_sha256(data, total, want), 0);
    assert_memory_equal(digest, want, 32);
    uint8_t *back = malloc(total);
    assert_int_equal(veil_pread_all(fd, back, total, 512), 0);
    assert_memory_equal(back, data, total);
    free(back);
    free(data);
    close(fd);
}

static void test_sink_error(void **state) {
    (void)state;
    struct image_sink *s;
    assert_int_equal(image_sink_new(-1, 0, &s), 0); /* every write fails */
    static uint8_t block[1 << 20];
    int r = 0;
    for (int i = 0; i < 16 && r == 0; i++) r = image_sink_write(s, block, sizeof(block));
    uint8_t digest[32];
    uint64_t size;
    assert_true(r < 0 || image_sink_finish(s, digest, &size) < 0);
    image_sink_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink),
        cmocka_unit_test(test_sink_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
