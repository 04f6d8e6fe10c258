/* SPDX-License-Identifier: Apache-2.0 */
/* HKDF-SHA256 against RFC 5869 test case 1, HMAC against RFC 4231 case 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/fileio.h"
#include "crypto/kdf.h"
#include "crypto/random.h"

static void test_hkdf_rfc5869(void **state) {
    (void)state;
    uint8_t ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof(ikm));
    for (int i = 0; i < 13; i++) salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++) info[i] = (uint8_t)(0xf0 + i);
    assert_int_equal(veil_hkdf_sha256(ikm, 22, salt, 13, info, 10, okm, 42), 0);
    char hex[85];
    veil_hex_encode(okm, 42, hex);
    assert_string_equal(hex, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                             "34007208d5b887185865");
}

static void test_hmac_rfc4231(void **state) {
    (void)state;
    uint8_t mac[32];
    const char *data = "what do ya want for nothing?";
    assert_int_equal(veil_hmac_sha256("Jefe", 4, data, strlen(data), mac), 0);
    char hex[65];
    veil_hex_encode(mac, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_memeq(void **state) {
    (void)state;
    assert_true(veil_memeq_ct("abcd", "abcd", 4));
    assert_false(veil_memeq_ct("abcd", "abce", 4));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_memeq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
