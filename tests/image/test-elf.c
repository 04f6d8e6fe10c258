/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime check: static executables pass; dynamic ones, scripts and truncated headers do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/fileio.h"
#include "image/elf.h"

static void check_file(const char *path, int want) {
    uint8_t *data;
    size_t size;
    assert_int_equal(veil_read_file(path, (size_t)64 << 20, &data, &size), 0);
    assert_int_equal(image_elf_check_static(data, size), want);
    /* every truncation of the headers is refused, never read past */
    for (size_t n = 0; n < MIN(size, (size_t)512); n += 7) assert_int_equal(image_elf_check_static(data, n), -ENOEXEC);
    free(data);
}

static void test_elf(void **state) {
    (void)state;
    check_file("/bin/busybox", 0);       /* Debian's busybox-static */
    check_file("/bin/ls", -ENOEXEC);     /* dynamically linked */
    check_file("/etc/passwd", -ENOEXEC); /* not ELF */
    assert_int_equal(image_elf_check_static((const uint8_t *)"#!/bin/sh\n", 10), -ENOEXEC);
}

int main(void) {
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_elf) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
