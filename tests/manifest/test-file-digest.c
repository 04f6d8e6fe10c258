/* SPDX-License-Identifier: Apache-2.0 */
/* Content digests: plain SHA-256 up to one chunk, the chunked digest above; streaming, one shot and combine agree. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/cursor.h"
#include "manifest/file-digest.h"

#define C VEIL_FILE_DIGEST_CHUNK

static uint8_t *pattern(uint64_t size) {
    uint8_t *p = malloc(size + 1);
    uint32_t x = 2463534242u;
    for (uint64_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    return p;
}

/* The definition of docs/manifest.md, written out independently of file-digest.c. */
static void expected(const uint8_t *data, uint64_t size, uint8_t out[VEIL_SHA256_SIZE]) {
    if (size <= C) {
        assert_int_equal(veil_sha256(data, (size_t)size, out), 0);
        return;
    }
    uint64_t count = (size + C - 1) / C;
    size_t msg_size = 15 + 8 + (size_t)count * VEIL_SHA256_SIZE;
    uint8_t *msg = malloc(msg_size);
    memcpy(msg, "veil-chunks-v1", 15); /* with its NUL */
    veil_store_u64le(msg + 15, size);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t start = i * C, n = size - start < C ? size - start : C;
        assert_int_equal(veil_sha256(data + start, (size_t)n, msg + 23 + i * VEIL_SHA256_SIZE), 0);
    }
    assert_int_equal(veil_sha256(msg, msg_size, out), 0);
    free(msg);
}

static void test_definition(void **state) {
    (void)state;
    const uint64_t sizes[] = { 0, 1, C - 1, C, C + 1, 2 * C, 3 * C + 5 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint64_t size = sizes[i];
        uint8_t *data = pattern(size), want[VEIL_SHA256_SIZE], got[VEIL_SHA256_SIZE];
        expected(data, size, want);
        assert_int_equal(veil_file_digest(data, size, got), 0);
        assert_memory_equal(got, want, sizeof(got));
        assert_int_equal(veil_file_digest_chunks(size), size <= C ? 0 : (size + C - 1) / C);

        /* streamed in odd pieces that straddle chunk boundaries */
        struct veil_file_digest *d;
        assert_int_equal(veil_file_digest_new(size, &d), 0);
        const size_t pieces[] = { 1, 7, 65539, C - 3, 4099 };
        for (uint64_t at = 0, k = 0; at < size; k++) {
            size_t n = pieces[k % 5];
            if (n > size - at) n = (size_t)(size - at);
            assert_int_equal(veil_file_digest_update(d, data + at, n), 0);
            at += n;
        }
        assert_int_equal(veil_file_digest_final(d, got), 0);
        veil_file_digest_free(d);
        assert_memory_equal(got, want, sizeof(got));

        /* chunks hashed elsewhere, then combined */
        uint64_t count = veil_file_digest_chunks(size);
        if (count) {
            uint8_t (*chunks)[VEIL_SHA256_SIZE] = calloc(count, VEIL_SHA256_SIZE);
            for (uint64_t c = 0; c < count; c++) {
                uint64_t start = c * C, n = size - start < C ? size - start : C;
                assert_int_equal(veil_sha256(data + start, (size_t)n, chunks[c]), 0);
            }
            assert_int_equal(veil_file_digest_combine(size, (const uint8_t (*)[VEIL_SHA256_SIZE])chunks, count, got), 0);
            assert_memory_equal(got, want, sizeof(got));
            assert_int_equal(veil_file_digest_combine(size, (const uint8_t (*)[VEIL_SHA256_SIZE])chunks, count - 1, got), -EINVAL);
            free(chunks);
        }
        free(data);
    }
}

/* The size is part of the digest of a large file, and the bytes must add up to it. */
static void test_size_is_bound(void **state) {
    (void)state;
    uint8_t *data = pattern(2 * C + 1), a[VEIL_SHA256_SIZE], b[VEIL_SHA256_SIZE];
    assert_int_equal(veil_file_digest(data, 2 * C + 1, a), 0);
    assert_int_equal(veil_file_digest(data, 2 * C, b), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    struct veil_file_digest *d;
    assert_int_equal(veil_file_digest_new(10, &d), 0);
    assert_int_equal(veil_file_digest_update(d, data, 11), -EINVAL);
    assert_int_equal(veil_file_digest_update(d, data, 9), 0);
    assert_int_equal(veil_file_digest_final(d, a), -EINVAL);
    veil_file_digest_free(d);
    assert_int_equal(veil_file_digest_combine(C, (const uint8_t (*)[VEIL_SHA256_SIZE])a, 1, b), -EINVAL); /* one chunk: not chunked */
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_definition),
        cmocka_unit_test(test_size_is_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
