/* SPDX-License-Identifier: Apache-2.0 */
/* The sim TEE: platform creation, evidence round trip, and refusal of tampered, truncated, foreign or expired evidence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "crypto/ossl.h"
#include "evidence/evidence.h"
#include "evidence/sim.h"

struct fixture {
    struct veil_sim_platform *a, *b;
    struct veil_sim_claims claims;
    uint8_t report_data[64];
};

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || veil_sim_platform_new(&f->a) < 0 || veil_sim_platform_new(&f->b) < 0) return -1;
    memset(f->claims.measurement, 0x11, 32);
    memset(f->claims.signer, 0x22, 32);
    f->claims.product_id = 5;
    f->claims.security_version = 9;
    for (int i = 0; i < 64; i++) f->report_data[i] = (uint8_t)i;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fixture *f = *state;
    veil_sim_platform_free(f->a);
    veil_sim_platform_free(f->b);
    free(f);
    return 0;
}

static int verify_with(const uint8_t *data, size_t size, X509 *root, time_t now, struct veil_claims **ret) {
    X509 *roots[] = { root };
    struct veil_verify_options opts = { .allow_sim = true, .sim_roots = roots, .sim_roots_count = 1, .now = now };
    return veil_evidence_verify(data, size, &opts, ret);
}

static void make(struct fixture *f, struct veil_buf *b) {
    *b = (struct veil_buf){ 0 };
    assert_int_equal(veil_sim_get_evidence(f->a, &f->claims, f->report_data, b), 0);
}

static void test_round_trip(void **state) {
    struct fixture *f = *state;
    struct veil_buf b;
    make(f, &b);
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    assert_int_equal(verify_with(b.data, b.size, f->a->root, 0, &c), 0);
    assert_int_equal(c->tee, VEIL_TEE_SIM);
    assert_int_equal(c->measurement_size, 32);
    assert_memory_equal(c->measurement, f->claims.measurement, 32);
    assert_memory_equal(c->signer, f->claims.signer, 32);
    assert_int_equal(c->product_id, 5);
    assert_int_equal(c->security_version, 9);
    assert_true(c->debug);
    assert_memory_equal(c->report_data, f->report_data, 64);
    assert_non_null(json_object_get(c->details, "platform_id"));
    veil_buf_done(&b);
}

static void test_other_root(void **state) {
    struct fixture *f = *state;
    struct veil_buf b;
    make(f, &b);
    struct veil_claims *c = NULL;
    assert_int_equal(verify_with(b.data, b.size, f->b->root, 0, &c), -EACCES);
    assert_non_null(strstr(veil_err_msg(), "not issued by a trusted sim root"));
    /* and after the attestation key's certificate has expired */
    assert_int_equal(verify_with(b.data, b.size, f->a->root, time(NULL) + 11L * 365 * 86400, &c), -EACCES);
    assert_non_null(strstr(veil_err_msg(), "expired"));
    assert_null(c);
    veil_buf_done(&b);
}

static void test_tamper(void **state) {
    struct fixture *f = *state;
    struct veil_buf b;
    make(f, &b);
    const size_t raw = VEIL_EVIDENCE_HEADER_SIZE + 6; /* envelope header + item header */
    /* flip one bit in every byte of the signed body and the signature: every variant is refused */
    size_t sig_end = raw + VEIL_SIM_BODY_SIZE + 2 + (size_t)(b.data[raw + VEIL_SIM_BODY_SIZE] | b.data[raw + VEIL_SIM_BODY_SIZE + 1] << 8);
    for (size_t i = raw; i < sig_end; i++) {
        struct veil_claims *c = NULL;
        b.data[i] ^= 0x04;
        int r = verify_with(b.data, b.size, f->a->root, 0, &c);
        b.data[i] ^= 0x04;
        if (r != -EACCES && r != -EBADMSG) fail_msg("byte %zu flipped: %d (%s)", i, r, veil_err_msg());
        assert_null(c);
    }
    /* every truncation is refused as malformed */
    for (size_t n = raw; n < b.size; n++) {
        struct veil_sim_evidence e;
        assert_int_equal(veil_sim_evidence_parse(b.data + raw, n - raw, &e), -EBADMSG);
    }
    veil_buf_done(&b);
}

static void test_platform_dir(void **state) {
    struct fixture *f = *state;
    char dir[] = "/tmp/veil-test-sim-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sim[512];
    snprintf(sim, sizeof(sim), "%s/state/veil/sim", dir);
    struct veil_sim_platform *p = NULL, *q = NULL;
    assert_int_equal(veil_sim_platform_open(sim, false, &p), -ENOENT);
    assert_int_equal(veil_sim_platform_open(sim, true, &p), 0);
    assert_int_equal(veil_sim_platform_open(sim, false, &q), 0);
    assert_int_equal(X509_cmp(p->root, q->root), 0);
    char path[600];
    snprintf(path, sizeof(path), "%s/ak.key", sim);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* evidence through the generic interface, verified against the local platform's root */
    struct veil_attest_options opts = { .tee = VEIL_TEE_SIM, .sim_dir = sim, .sim_security_version = 4 };
    memcpy(opts.sim_measurement, f->claims.measurement, 32);
    struct veil_buf b = { 0 };
    assert_int_equal(veil_evidence_get(&opts, f->report_data, &b), 0);
    setenv("VEIL_SIM_DIR", sim, 1);
    struct veil_verify_options vo = { .allow_sim = true };
    _cleanup_(veil_claims_freep) struct veil_claims *c = NULL;
    assert_int_equal(veil_evidence_verify(b.data, b.size, &vo, &c), 0);
    assert_int_equal(c->security_version, 4);
    /* another platform's root does not vouch for it */
    struct veil_claims *c2 = NULL;
    assert_int_equal(verify_with(b.data, b.size, f->a->root, 0, &c2), -EACCES);
    unsetenv("VEIL_SIM_DIR");
    veil_buf_done(&b);
    veil_sim_platform_free(p);
    veil_sim_platform_free(q);
    static const char *const names[] = { "ak.key", "ak.pem", "root.pem" };
    for (size_t i = 0; i < ELEMENTSOF(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", sim, names[i]);
        unlink(path);
    }
    rmdir(sim);
    snprintf(path, sizeof(path), "%s/state/veil", dir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/state", dir);
    rmdir(path);
    assert_int_equal(rmdir(dir), 0);
}

/* Several first uses at once agree on one platform (the loser of the rename loads the winner's). */
static void test_concurrent_creation(void **state) {
    (void)state;
    char dir[] = "/tmp/veil-test-simrace-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sim[256];
    snprintf(sim, sizeof(sim), "%s/sim", dir);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    enum { CHILDREN = 4 };
    for (int i = 0; i < CHILDREN; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct veil_sim_platform *p = NULL;
            uint8_t id[32] = { 0 };
            if (veil_sim_platform_open(sim, true, &p) == 0) {
                unsigned int n = sizeof(id);
                X509_digest(p->root, EVP_sha256(), id, &n);
            }
            _exit(write(fds[1], id, sizeof(id)) == sizeof(id) ? 0 : 1);
        }
    }
    close(fds[1]);
    uint8_t first[32], id[32];
    for (int i = 0; i < CHILDREN; i++) {
        assert_int_equal(read(fds[0], i ? id : first, 32), 32);
        if (i) assert_memory_equal(id, first, 32);
    }
    close(fds[0]);
    while (wait(NULL) > 0) {}
    uint8_t zero[32] = { 0 };
    assert_memory_not_equal(first, zero, 32);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_other_root),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_platform_dir),
        cmocka_unit_test(test_concurrent_creation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
