/* SPDX-License-Identifier: Apache-2.0 */
/* Encoder buffers grow, respect their limit, and keep text NUL-terminated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"

static void test_append_and_limit(void **state) {
    (void)state;
    struct veil_buf b = { .limit = 10 };
    assert_int_equal(veil_buf_append_u32le(&b, 0x04030201), 0);
    assert_int_equal(veil_buf_append_u32be(&b, 0x05060708), 0);
    assert_int_equal(b.size, 8);
    assert_int_equal(b.data[0], 1);
    assert_int_equal(b.data[4], 5);
    assert_int_equal(veil_buf_append_u32le(&b, 0), -E2BIG);
    assert_int_equal(b.size, 8);
    assert_int_equal(veil_buf_append_zeros(&b, 2), 0);
    size_t size;
    uint8_t *p = veil_buf_steal(&b, &size);
    assert_int_equal(size, 10);
    assert_null(b.data);
    free(p);
}

static void test_printf(void **state) {
    (void)state;
    struct veil_buf b = { 0 };
    for (int i = 0; i < 1000; i++) assert_int_equal(veil_buf_printf(&b, "%d,", i), 0);
    assert_int_equal(strncmp((char *)b.data, "0,1,2,", 6), 0);
    assert_int_equal(strlen((char *)b.data), b.size);
    veil_buf_done(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_limit),
        cmocka_unit_test(test_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
