/* SPDX-License-Identifier: Apache-2.0 */
/* A volume's table of file versions: changes, round trip, and malformed tables refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shield/volume-table.h"

static void test_changes_and_round_trip(void **state) {
    (void)state;
    struct veil_volume_table t = { 0 };
    assert_null(veil_volume_table_get(&t, "/data/a"));
    for (int i = 0; i < 40; i++) {
        char p[32];
        snprintf(p, sizeof(p), "/data/f%d", i);
        assert_int_equal(veil_volume_table_set(&t, p, (uint64_t)i + 1), 0);
    }
    assert_int_equal(veil_volume_table_set(&t, "/data/f3", 99), 0);
    assert_int_equal(t.count, 40);
    assert_int_equal(*veil_volume_table_get(&t, "/data/f3"), 99);
    assert_int_equal(veil_volume_table_remove(&t, "/data/f0"), 1);
    assert_int_equal(veil_volume_table_remove(&t, "/data/f0"), 0);
    assert_null(veil_volume_table_get(&t, "/data/f0"));
    struct veil_buf b = { 0 };
    assert_int_equal(veil_volume_table_encode(&t, &b), 0);
    struct veil_volume_table u;
    assert_int_equal(veil_volume_table_parse(b.data, b.size, &u), 0);
    assert_int_equal(u.count, 39);
    assert_int_equal(*veil_volume_table_get(&u, "/data/f3"), 99);
    assert_int_equal(*veil_volume_table_get(&u, "/data/f39"), 40);
    veil_volume_table_done(&u);
    /* every truncation and every byte of the header flipped is refused */
    for (size_t n = 0; n < b.size; n++) assert_int_not_equal(veil_volume_table_parse(b.data, n, &u), 0);
    for (size_t i = 0; i < 12; i++) {
        b.data[i] ^= 0x80;
        assert_int_not_equal(veil_volume_table_parse(b.data, b.size, &u), 0);
        b.data[i] ^= 0x80;
    }
    assert_int_equal(veil_volume_table_parse(b.data, b.size, &u), 0);
    veil_volume_table_done(&u);
    veil_buf_done(&b);
    veil_volume_table_done(&t);
}

static void test_malformed(void **state) {
    (void)state;
    static const struct {
        const char *bytes;
        size_t size;
    } bad[] = {
        { "VEILVOL1\x01\x00\x00\x00\x00\x00", 14 },                                        /* empty path */
        { "VEILVOL1\x01\x00\x00\x00\x01\x00" "a" "\x01\0\0\0\0\0\0\0", 23 },               /* relative */
        { "VEILVOL1\x01\x00\x00\x00\x02\x00" "/\0" "\x01\0\0\0\0\0\0\0", 24 },             /* NUL in path */
        { "VEILVOL1\x02\x00\x00\x00\x02\x00" "/a" "\x01\0\0\0\0\0\0\0\x02\x00/a\x02\0\0\0\0\0\0\0", 36 }, /* twice */
        { "VEILVOL1\x00\x00\x00\x00\x00", 13 },                                            /* trailing byte */
        { "VEILVOL1\xff\xff\xff\x7f", 12 },                                                /* count over the limit */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        struct veil_volume_table t;
        if (veil_volume_table_parse((const uint8_t *)bad[i].bytes, bad[i].size, &t) == 0) fail_msg("accepted case %zu", i);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes_and_round_trip),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
