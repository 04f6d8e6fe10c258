/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-2 wrappers against FIPS 180-4 example vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/fileio.h"
#include "crypto/hash.h"

static void test_sha256_abc(void **state) {
    (void)state;
    uint8_t d[32];
    char hex[65];
    assert_int_equal(veil_sha256("abc", 3, d), 0);
    veil_hex_encode(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_sha384_incremental(void **state) {
    (void)state;
    uint8_t d[48], e[48];
    struct veil_hash *h;
    assert_int_equal(veil_hash_new(VEIL_HASH_SHA384, &h), 0);
    assert_int_equal(veil_hash_update(h, "a", 1), 0);
    assert_int_equal(veil_hash_update(h, "bc", 2), 0);
    assert_int_equal(veil_hash_final(h, d), 0);
    assert_int_equal(veil_sha384("abc", 3, e), 0);
    assert_memory_equal(d, e, 48);
    char hex[97];
    veil_hex_encode(d, 48, hex);
    assert_string_equal(hex, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                             "8086072ba1e7cc2358baeca134c825a7");
    assert_int_equal(veil_hash_reset(h), 0);
    assert_int_equal(veil_hash_final(h, d), 0);
    assert_int_equal(veil_sha384("", 0, e), 0);
    assert_memory_equal(d, e, 48);
    veil_hash_free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_abc),
        cmocka_unit_test(test_sha384_incremental),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
