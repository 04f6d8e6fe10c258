/* SPDX-License-Identifier: Apache-2.0 */
/* AES-256-GCM: a known vector, round trips, and refusal of every tampered part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/fileio.h"
#include "crypto/aead.h"
#include "crypto/random.h"

/* GCM spec (McGrew & Viega) test case 14: zero key, zero IV, one zero block. */
static void test_known_vector(void **state) {
    (void)state;
    uint8_t key[32] = { 0 }, iv[12] = { 0 }, pt[16] = { 0 }, ct[16], tag[16];
    assert_int_equal(veil_aes256gcm_seal(key, iv, NULL, 0, pt, 16, ct, tag), 0);
    char hex[33];
    veil_hex_encode(ct, 16, hex);
    assert_string_equal(hex, "cea7403d4d606b6e074ec5d3baf39d18");
    veil_hex_encode(tag, 16, hex);
    assert_string_equal(hex, "d0d1c8a799996bf0265b98b5d48ab919");
}

static void test_roundtrip_and_tamper(void **state) {
    (void)state;
    uint8_t key[32], iv[12], pt[1000], ct[1000], out[1000], tag[16];
    assert_int_equal(veil_random(key, sizeof(key)), 0);
    assert_int_equal(veil_random(iv, sizeof(iv)), 0);
    assert_int_equal(veil_random(pt, sizeof(pt)), 0);
    struct veil_aead *a;
    assert_int_equal(veil_aead_new(key, &a), 0);
    assert_int_equal(veil_aead_seal(a, iv, "aad", 3, pt, sizeof(pt), ct, tag), 0);
    assert_int_equal(veil_aead_open(a, iv, "aad", 3, ct, sizeof(ct), out, tag), 0);
    assert_memory_equal(pt, out, sizeof(pt));

    ct[500] ^= 1;
    assert_int_equal(veil_aead_open(a, iv, "aad", 3, ct, sizeof(ct), out, tag), -EACCES);
    for (size_t i = 0; i < sizeof(out); i++) assert_int_equal(out[i], 0); /* no plaintext on failure */
    ct[500] ^= 1;
    assert_int_equal(veil_aead_open(a, iv, "aaD", 3, ct, sizeof(ct), out, tag), -EACCES);
    iv[0] ^= 1;
    assert_int_equal(veil_aead_open(a, iv, "aad", 3, ct, sizeof(ct), out, tag), -EACCES);
    iv[0] ^= 1;
    tag[15] ^= 0x80;
    assert_int_equal(veil_aead_open(a, iv, "aad", 3, ct, sizeof(ct), out, tag), -EACCES);
    veil_aead_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_roundtrip_and_tamper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
