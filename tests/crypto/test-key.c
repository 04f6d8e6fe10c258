/* SPDX-License-Identifier: Apache-2.0 */
/* Keys: generation, PEM round trip with mode 0600, signing, and refusal of wrong signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "crypto/key.h"
#include "crypto/ossl.h"

static void check_type(enum veil_key_type type) {
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL, *loaded = NULL, *pub = NULL;
    assert_int_equal(veil_key_generate(type, &key), 0);
    char path[] = "/tmp/veil-test-key-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(veil_key_save_private_pem(key, path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(veil_key_load_private_pem(path, &loaded), 0);
    unlink(path);

    uint8_t id1[32], id2[32];
    assert_int_equal(veil_key_id(key, id1), 0);
    assert_int_equal(veil_key_id(loaded, id2), 0);
    assert_memory_equal(id1, id2, 32);

    uint8_t *sig, *der;
    size_t sig_size, der_size;
    assert_int_equal(veil_sign(loaded, "message", 7, &sig, &sig_size), 0);
    assert_int_equal(veil_key_public_der(key, &der, &der_size), 0);
    assert_int_equal(veil_key_from_public_der(der, der_size, &pub), 0);
    assert_int_equal(veil_verify(pub, "message", 7, sig, sig_size), 0);
    assert_int_equal(veil_verify(pub, "messagf", 7, sig, sig_size), -EACCES);
    sig[sig_size / 2] ^= 1;
    assert_int_equal(veil_verify(pub, "message", 7, sig, sig_size), -EACCES);
    assert_int_equal(veil_key_from_public_der(der, der_size - 1, &(EVP_PKEY *){ NULL }), -EBADMSG);
    free(sig);
    free(der);
}

static void test_ed25519(void **state) {
    (void)state;
    check_type(VEIL_KEY_ED25519);
}

static void test_p256(void **state) {
    (void)state;
    check_type(VEIL_KEY_ECDSA_P256);
}

static void test_p384(void **state) {
    (void)state;
    check_type(VEIL_KEY_ECDSA_P384);
}

static void test_bad_pem(void **state) {
    (void)state;
    char path[] = "/tmp/veil-test-key-XXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, "garbage\n", 8), 8);
    close(fd);
    EVP_PKEY *key = NULL;
    assert_int_equal(veil_key_load_private_pem(path, &key), -EBADMSG);
    unlink(path);
    assert_int_equal(veil_key_load_private_pem(path, &key), -ENOENT);
}

static void test_ec_point_not_on_curve(void **state) {
    (void)state;
    uint8_t xy[64] = { 1 };
    EVP_PKEY *key = NULL;
    assert_int_equal(veil_ec_key_from_xy(VEIL_KEY_ECDSA_P256, xy, sizeof(xy), &key), -EBADMSG);
    assert_null(key);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519),
        cmocka_unit_test(test_p256),
        cmocka_unit_test(test_p384),
        cmocka_unit_test(test_bad_pem),
        cmocka_unit_test(test_ec_point_not_on_curve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
