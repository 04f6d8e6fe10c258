/* SPDX-License-Identifier: Apache-2.0 */
/* configfs-tsm protocol against prepared trees holding real SNP and TDX vectors: success, provider, race, short outblob. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/fileio.h"
#include "evidence/tsm.h"

struct tree {
    char base[64];
    char entry[128];
    uint8_t report_data[VEIL_REPORT_DATA_SIZE];
};

static void put(const char *dir, const char *name, const void *data, size_t size) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(veil_write_file_atomic(path, data, size, 0600), 0);
}

/* A report entry as the kernel shows it, with a vector as outblob; records the vector's report data. */
static void prepare(struct tree *t, const char *vector, const char *provider, size_t offset, size_t truncate_to) {
    const char *vectors = getenv("VEIL_VECTORS");
    assert_non_null(vectors);
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", vectors, vector);
    uint8_t *data;
    size_t size;
    assert_int_equal(veil_read_file(path, 1 << 20, &data, &size), 0);
    assert_true(size >= offset + VEIL_REPORT_DATA_SIZE);
    memcpy(t->report_data, data + offset, VEIL_REPORT_DATA_SIZE);
    snprintf(t->base, sizeof(t->base), "/tmp/veil-test-tsm-XXXXXX");
    assert_non_null(mkdtemp(t->base));
    snprintf(t->entry, sizeof(t->entry), "%s/report0", t->base);
    assert_int_equal(mkdir(t->entry, 0700), 0);
    put(t->entry, "provider", provider, strlen(provider));
    put(t->entry, "generation", "3\n", 2);
    put(t->entry, "outblob", data, truncate_to ? truncate_to : size);
    put(t->entry, "auxblob", "aux", 3);
    free(data);
}

static void cleanup(struct tree *t) {
    static const char *const names[] = { "provider", "generation", "outblob", "auxblob", "inblob" };
    char path[256];
    for (size_t i = 0; i < ELEMENTSOF(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", t->entry, names[i]);
        unlink(path);
    }
    assert_int_equal(rmdir(t->entry), 0);
    assert_int_equal(rmdir(t->base), 0);
}

static int run(struct tree *t, const char *expected, struct veil_tsm_report *rep) {
    struct veil_tsm_request req = { .base_dir = t->base, .entry_name = "report0", .expected_provider = expected };
    return veil_tsm_get_report(&req, t->report_data, rep);
}

static void test_snp(void **state) {
    (void)state;
    struct tree t;
    prepare(&t, "snp/milan-v2-report.bin", "sev_guest\n", VEIL_SNP_REPORT_DATA_OFFSET, 0);
    struct veil_tsm_report rep;
    assert_int_equal(run(&t, "sev_guest", &rep), 0);
    assert_int_equal(rep.tee, VEIL_TEE_SNP);
    assert_string_equal(rep.provider, "sev_guest");
    assert_int_equal(rep.outblob_size, VEIL_SNP_REPORT_SIZE);
    assert_int_equal(rep.auxblob_size, 3);
    assert_int_equal(rep.generation, 3);
    /* the protocol wrote our report data to inblob */
    char path[256];
    uint8_t *in;
    size_t in_size;
    snprintf(path, sizeof(path), "%s/inblob", t.entry);
    assert_int_equal(veil_read_file(path, 4096, &in, &in_size), 0);
    assert_int_equal(in_size, VEIL_REPORT_DATA_SIZE);
    assert_memory_equal(in, t.report_data, VEIL_REPORT_DATA_SIZE);
    free(in);
    veil_tsm_report_done(&rep);
    cleanup(&t);
}

static void test_tdx(void **state) {
    (void)state;
    struct tree t;
    prepare(&t, "tdx/tdx_prod_quote_SPR_E4.dat", "tdx_guest\n", VEIL_TDX_QUOTE_REPORT_DATA_OFFSET, 0);
    struct veil_tsm_report rep;
    assert_int_equal(run(&t, NULL, &rep), 0);
    assert_int_equal(rep.tee, VEIL_TEE_TDX);
    veil_tsm_report_done(&rep);
    cleanup(&t);
}

static void test_provider_mismatch(void **state) {
    (void)state;
    struct tree t;
    prepare(&t, "tdx/tdx_prod_quote_SPR_E4.dat", "tdx_guest\n", VEIL_TDX_QUOTE_REPORT_DATA_OFFSET, 0);
    struct veil_tsm_report rep;
    assert_int_equal(run(&t, "sev_guest", &rep), -ENXIO);
    assert_non_null(strstr(veil_err_msg(), "provider is 'tdx_guest', expected 'sev_guest'"));
    put(t.entry, "provider", "arm_cca_guest\n", 14);
    assert_int_equal(run(&t, NULL, &rep), -ENXIO);
    cleanup(&t);
}

/* plays the concurrent writer: the kernel bumps generation when anyone writes the entry */
static void bump_generation(const char *entry, void *arg) {
    (void)arg;
    put(entry, "generation", "4\n", 2);
}

static void test_generation_race(void **state) {
    (void)state;
    struct tree t;
    prepare(&t, "snp/milan-v2-report.bin", "sev_guest\n", VEIL_SNP_REPORT_DATA_OFFSET, 0);
    struct veil_tsm_request req = { .base_dir = t.base, .entry_name = "report0", .after_read_hook = bump_generation };
    struct veil_tsm_report rep;
    assert_int_equal(veil_tsm_get_report(&req, t.report_data, &rep), -EBUSY);
    assert_non_null(strstr(veil_err_msg(), "generation changed from 3 to 4"));
    /* another writer's report data in the outblob is caught too */
    put(t.entry, "generation", "3\n", 2);
    t.report_data[0] ^= 1;
    assert_int_equal(run(&t, NULL, &rep), -EBUSY);
    assert_non_null(strstr(veil_err_msg(), "other report data"));
    cleanup(&t);
}

static void test_short_outblob(void **state) {
    (void)state;
    struct tree t;
    prepare(&t, "snp/milan-v2-report.bin", "sev_guest\n", VEIL_SNP_REPORT_DATA_OFFSET, 0x200);
    struct veil_tsm_report rep;
    assert_int_equal(run(&t, NULL, &rep), -EBADMSG);
    assert_non_null(strstr(veil_err_msg(), "short outblob"));
    put(t.entry, "outblob", "", 0);
    assert_int_equal(run(&t, NULL, &rep), -EBADMSG);
    cleanup(&t);
}

static void test_missing_tree(void **state) {
    (void)state;
    uint8_t rd[VEIL_REPORT_DATA_SIZE] = { 0 };
    struct veil_tsm_request req = { .base_dir = "/nonexistent/tsm/report" };
    struct veil_tsm_report rep;
    assert_int_equal(veil_tsm_get_report(&req, rd, &rep), -ENOENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snp),
        cmocka_unit_test(test_tdx),
        cmocka_unit_test(test_provider_mismatch),
        cmocka_unit_test(test_generation_race),
        cmocka_unit_test(test_short_outblob),
        cmocka_unit_test(test_missing_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
