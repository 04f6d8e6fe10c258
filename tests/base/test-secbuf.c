/* SPDX-License-Identifier: Apache-2.0 */
/* Secret buffers hold data, resize without loss, and are excluded from dumps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/secbuf.h"

static void test_dup_resize(void **state) {
    (void)state;
    struct veil_secbuf *b;
    assert_int_equal(veil_secbuf_dup("secret", 6, &b), 0);
    assert_memory_equal(b->data, "secret", 6);
    assert_int_equal(veil_secbuf_resize(b, 100000), 0);
    assert_memory_equal(b->data, "secret", 6);
    assert_int_equal(b->size, 100000);
    assert_int_equal(veil_secbuf_resize(b, 3), 0);
    assert_memory_equal(b->data, "sec", 3);
    assert_int_equal(b->data[3], 0); /* the cut part is wiped */
    veil_secbuf_free(b);
}

/* The mapping is marked "dd" (do not dump) in /proc/self/smaps. */
static void test_not_dumpable(void **state) {
    (void)state;
    _cleanup_secbuf_ struct veil_secbuf *b = NULL;
    assert_int_equal(veil_secbuf_new(4096, &b), 0);
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512], want[64];
    snprintf(want, sizeof(want), "%lx-", (unsigned long)b->data);
    int in_mapping = 0, found = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strchr(line, '-') && strchr(line, ' ') && strchr(line, '-') < strchr(line, ' '))
            in_mapping = strncmp(line, want, strlen(want)) == 0;
        if (in_mapping && strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " dd")) found = 1;
    }
    fclose(f);
    assert_true(found);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dup_resize),
        cmocka_unit_test(test_not_dumpable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
