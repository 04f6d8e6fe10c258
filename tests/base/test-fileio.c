/* SPDX-License-Identifier: Apache-2.0 */
/* Atomic writes replace whole files or nothing; reads are capped; hex is strict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/fileio.h"

static char dir[] = "/tmp/veil-test-fileio-XXXXXX";

static int count_entries(void) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))) n++;
    closedir(d);
    return n;
}

static void test_atomic_replace(void **state) {
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/f", dir);
    assert_int_equal(veil_write_file_atomic(path, "one", 3, 0600), 0);
    assert_int_equal(veil_write_file_atomic(path, "second", 6, 0640), 0);
    uint8_t *data;
    size_t size;
    assert_int_equal(veil_read_file(path, 100, &data, &size), 0);
    assert_int_equal(size, 6);
    assert_memory_equal(data, "second", 6);
    free(data);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(count_entries(), 1); /* no temporary left behind */
    assert_int_equal(veil_read_file(path, 5, &data, &size), -EFBIG);
    unlink(path);
}

static void test_abort_leaves_nothing(void **state) {
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/g", dir);
    struct veil_atomic_file f;
    assert_int_equal(veil_atomic_begin(path, 0600, &f), 0);
    assert_int_equal(veil_write_all(f.fd, "partial", 7), 0);
    veil_atomic_abort(&f);
    assert_int_equal(count_entries(), 0);
    assert_int_equal(veil_write_file_atomic(dir, "x", 1, 0600), -EISDIR);
    assert_int_equal(veil_read_file(dir, 100, &(uint8_t *){ NULL }, &(size_t){ 0 }), -EISDIR);
    assert_int_equal(veil_read_file("/nonexistent/x", 100, &(uint8_t *){ NULL }, &(size_t){ 0 }), -ENOENT);
}

/* A detail built from the previous detail must not garble itself. */
static void test_detail_wraps_itself(void **state) {
    (void)state;
    veil_err(-EIO, "inner reason");
    veil_err(-EIO, "outer: %s", veil_err_msg());
    assert_string_equal(veil_err_msg(), "outer: inner reason");
}

static void test_hex(void **state) {
    (void)state;
    uint8_t in[3] = { 0x00, 0xab, 0xff }, out[3];
    char hex[7];
    veil_hex_encode(in, 3, hex);
    assert_string_equal(hex, "00abff");
    assert_int_equal(veil_hex_decode("00ABff", out, 3), 0);
    assert_memory_equal(in, out, 3);
    assert_int_equal(veil_hex_decode("00abf", out, 3), -EBADMSG);
    assert_int_equal(veil_hex_decode("00abfg", out, 3), -EBADMSG);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_replace),
        cmocka_unit_test(test_abort_leaves_nothing),
        cmocka_unit_test(test_detail_wraps_itself),
        cmocka_unit_test(test_hex),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return r;
}
