/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded cursor refuses every read past its end and never moves on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/cursor.h"
#include "base/err.h"

static void test_integers(void **state) {
    (void)state;
    const uint8_t in[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
    struct veil_cursor c = veil_cursor_make(in, sizeof(in));
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    assert_int_equal(veil_cursor_u8(&c, &u8), 0);
    assert_int_equal(u8, 1);
    assert_int_equal(veil_cursor_u16le(&c, &u16), 0);
    assert_int_equal(u16, 0x0302);
    assert_int_equal(veil_cursor_u32be(&c, &u32), 0);
    assert_int_equal(u32, 0x04050607);
    assert_int_equal(veil_cursor_u64le(&c, &u64), 0);
    assert_true(u64 == 0x0f0e0d0c0b0a0908ull);
    assert_true(veil_cursor_eof(&c));
    assert_int_equal(veil_cursor_u8(&c, &u8), -EBADMSG);
}

static void test_short_read_does_not_move(void **state) {
    (void)state;
    const uint8_t in[3] = { 0 };
    struct veil_cursor c = veil_cursor_make(in, sizeof(in));
    uint32_t v;
    assert_int_equal(veil_cursor_u32le(&c, &v), -EBADMSG);
    assert_int_equal(c.pos, 0);
    assert_int_equal(veil_cursor_skip(&c, 4), -EBADMSG);
    assert_int_equal(veil_cursor_skip(&c, SIZE_MAX), -EBADMSG);
    assert_int_equal(c.pos, 0);
    assert_int_equal(veil_cursor_skip(&c, 3), 0);
    assert_int_equal(veil_cursor_expect_eof(&c), 0);
}

static void test_sub_and_seek(void **state) {
    (void)state;
    const uint8_t in[] = { 9, 8, 7, 6, 5 };
    struct veil_cursor c = veil_cursor_make(in, sizeof(in)), sub;
    assert_int_equal(veil_cursor_sub(&c, 2, &sub), 0);
    assert_int_equal(veil_cursor_remaining(&sub), 2);
    assert_int_equal(veil_cursor_expect_eof(&c), -EBADMSG);
    uint8_t v;
    assert_int_equal(veil_cursor_u8(&sub, &v), 0);
    assert_int_equal(v, 9);
    assert_int_equal(veil_cursor_sub(&c, 4, &sub), -EBADMSG);
    assert_int_equal(veil_cursor_seek(&c, 6), -EBADMSG);
    assert_int_equal(veil_cursor_seek(&c, 4), 0);
    assert_int_equal(veil_cursor_u8(&c, &v), 0);
    assert_int_equal(v, 5);
}

static void test_stores_roundtrip(void **state) {
    (void)state;
    uint8_t p[8];
    veil_store_u64be(p, 0x0102030405060708ull);
    assert_int_equal(p[0], 1);
    assert_true(veil_load_u64be(p) == 0x0102030405060708ull);
    veil_store_u32le(p, 0xdeadbeef);
    assert_int_equal(p[0], 0xef);
    assert_int_equal(veil_load_u32le(p), 0xdeadbeef);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_short_read_does_not_move),
        cmocka_unit_test(test_sub_and_seek),
        cmocka_unit_test(test_stores_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
