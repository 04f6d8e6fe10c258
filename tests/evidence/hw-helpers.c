/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the hardware verifier tests (snp, tdx, sgx, azure): vector files, collateral, times, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/fileio.h"
#include "evidence/collateral.h"
#include "evidence/collateral-x509.h"
#include "hw-helpers.h"

char *vector_path(const char *name) {
    const char *dir = getenv("VEIL_VECTORS");
    assert_non_null(dir);
    char *path;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

uint8_t *load(const char *name, size_t *ret_size) {
    _cleanup_free_ char *path = vector_path(name);
    uint8_t *data;
    assert_int_equal(veil_read_file(path, 1 << 20, &data, ret_size), 0);
    return data;
}

struct veil_collateral *collateral(const char *first, ...) {
    struct veil_collateral *c;
    assert_int_equal(veil_collateral_new(&c), 0);
    va_list ap;
    va_start(ap, first);
    for (const char *name = first; name; name = va_arg(ap, const char *)) {
        _cleanup_free_ char *path = vector_path(name);
        assert_int_equal(veil_collateral_load_file(c, path), 0);
    }
    va_end(ap);
    return c;
}

time_t at(const char *text) {
    time_t t;
    assert_int_equal(veil_time_parse(text, &t), 0);
    return t;
}

void hex_equal(const uint8_t *data, size_t size, const char *hex) {
    char got[2 * 128 + 1];
    assert_true(size <= 128);
    veil_hex_encode(data, size, got);
    assert_string_equal(got, hex);
}

void refused(int r, int err, const char *needle) {
    if (r != err || !strstr(veil_err_msg(), needle))
        fail_msg("expected %d with '%s', got %d: %s", err, needle, r, veil_err_msg());
}
