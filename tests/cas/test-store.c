/* SPDX-License-Identifier: Apache-2.0 */
/* veil-cas storage: secrets encrypted at rest, owners and predecessors enforced, volume rollback refused,
 * audit chain verified and tampering detected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <sqlite3.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/fileio.h"
#include "cas/policy.h"
#include "cas/secret.h"
#include "cas/store.h"
#include "crypto/key.h"

#define X4(c) c c c c
#define HEX32(c) X4(X4(X4(c)))

static const char policy_v1[] =
    "name: p\nowners: [" HEX32("1") "]\n"
    "secrets:\n"
    "  pw: {kind: imported, value: \"very-secret-imported-value-4711\"}\n"
    "  gen: {kind: password, length: 32}\n"
    "  vk: {kind: random, size: 32}\n"
    "  ca: {kind: x509_ca, common_name: test CA}\n"
    "  leaf: {kind: x509, issuer: ca, common_name: web, dns: [web.local]}\n"
    "volumes:\n  data: {key: vk}\n"
    "services:\n  a:\n    measurements: [" HEX32("2") "]\n    tees: [sim]\n"
    "    env: {PW: \"{{secret.pw}}\"}\n";

struct fixture {
    char dir[64];
    char db[128];
    struct veil_secbuf *master;
    struct veil_cas_store *store;
};

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/veil-cas-test-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->db, sizeof(f->db), "%s/cas.db", f->dir);
    char root[128];
    snprintf(root, sizeof(root), "%s/sim-seal.key", f->dir);
    if (veil_cas_master_key_load(f->dir, root, &f->master) < 0) return -1;
    if (veil_cas_store_open(f->db, f->master, &f->store) < 0) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fixture *f = *state;
    veil_cas_store_close(f->store);
    veil_secbuf_free(f->master);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static const uint8_t owner[32] = { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                   0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                   0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11 };

static bool file_contains(const char *path, const void *needle, size_t size) {
    uint8_t *data;
    size_t n;
    if (veil_read_file(path, 64 << 20, &data, &n) < 0) return false;
    bool found = memmem(data, n, needle, size) != NULL;
    free(data);
    return found;
}

static void apply_v1(struct fixture *f, uint8_t hash[32]) {
    int64_t version;
    int r = veil_cas_store_policy_apply(f->store, policy_v1, strlen(policy_v1), &owner, 1, NULL, &version, hash);
    if (r < 0) fail_msg("apply: %s", veil_err_describe(r));
    assert_int_equal(version, 1);
}

static void test_encrypted_at_rest(void **state) {
    struct fixture *f = *state;
    uint8_t hash[32];
    apply_v1(f, hash);
    struct veil_secbuf *pw, *gen, *leaf;
    assert_int_equal(veil_cas_store_secret_get(f->store, "p", "pw", &pw), 0);
    assert_int_equal(pw->size, strlen("very-secret-imported-value-4711"));
    assert_memory_equal(pw->data, "very-secret-imported-value-4711", pw->size);
    assert_int_equal(veil_cas_store_secret_get(f->store, "p", "gen", &gen), 0);
    assert_int_equal(gen->size, 32);
    assert_int_equal(veil_cas_store_secret_get(f->store, "p", "leaf", &leaf), 0);
    assert_non_null(memmem(leaf->data, leaf->size, "BEGIN CERTIFICATE", 17));
    assert_non_null(memmem(leaf->data, leaf->size, "BEGIN PRIVATE KEY", 17));
    /* neither the imported value, nor the generated password, nor the key PEM are in the files */
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", f->db);
    const char *paths[] = { f->db, wal };
    for (size_t i = 0; i < 2; i++) {
        assert_false(file_contains(paths[i], "very-secret-imported-value-4711", 31));
        assert_false(file_contains(paths[i], gen->data, gen->size));
        assert_false(file_contains(paths[i], "PRIVATE KEY", 11));
        assert_false(file_contains(paths[i], "imported-value", 14)); /* nor in the stored policy text */
    }
    /* a second apply with the same secrets keeps the generated password */
    int64_t version;
    uint8_t hash2[32];
    char v2[sizeof(policy_v1) + 32];
    snprintf(v2, sizeof(v2), "%s    argv: [x]\n", policy_v1);
    assert_int_equal(veil_cas_store_policy_apply(f->store, v2, strlen(v2), &owner, 1, hash, &version, hash2), 0);
    assert_int_equal(version, 2);
    struct veil_secbuf *gen2;
    assert_int_equal(veil_cas_store_secret_get(f->store, "p", "gen", &gen2), 0);
    assert_memory_equal(gen->data, gen2->data, 32);
    veil_secbuf_free(gen2);
    veil_secbuf_free(pw);
    veil_secbuf_free(gen);
    veil_secbuf_free(leaf);
}

static void test_owner_and_predecessor(void **state) {
    struct fixture *f = *state;
    uint8_t hash[32], h2[32];
    apply_v1(f, hash);
    int64_t version;
    uint8_t stranger[32];
    memset(stranger, 0x99, 32);
    /* creating a policy the client does not own */
    static const char other[] = "name: q\nowners: [" HEX32("1") "]\nservices:\n  a:\n    measurements: [" HEX32("2") "]\n";
    assert_int_equal(veil_cas_store_policy_apply(f->store, other, strlen(other), &stranger, 1, NULL, &version, h2), -EPERM);
    /* update by a non-owner */
    assert_int_equal(veil_cas_store_policy_apply(f->store, policy_v1, strlen(policy_v1), &stranger, 1, hash, &version, h2),
                     -EPERM);
    /* update by the owner naming the wrong predecessor, or none */
    uint8_t wrong[32] = { 0 };
    assert_int_equal(veil_cas_store_policy_apply(f->store, policy_v1, strlen(policy_v1), &owner, 1, wrong, &version, h2),
                     -ESTALE);
    assert_non_null(strstr(veil_err_msg(), "must name the current version's hash"));
    assert_int_equal(veil_cas_store_policy_apply(f->store, policy_v1, strlen(policy_v1), &owner, 1, NULL, &version, h2),
                     -ESTALE);
    assert_int_equal(veil_cas_store_policy_apply(f->store, policy_v1, strlen(policy_v1), &owner, 1, hash, &version, h2), 0);
    assert_int_equal(version, 2);
    struct veil_cas_policy_version *hist;
    size_t count;
    assert_int_equal(veil_cas_store_policy_history(f->store, "p", &hist, &count), 0);
    assert_int_equal(count, 2);
    assert_true(hist[0].has_previous);
    assert_memory_equal(hist[0].previous, hash, 32);
    for (size_t i = 0; i < count; i++) veil_cas_policy_version_done(&hist[i]);
    free(hist);
    /* the refusals are in the audit log */
    char *json;
    assert_int_equal(veil_cas_store_audit_list(f->store, "p", 0, 100, &json), 0);
    assert_non_null(strstr(json, "policy.refused"));
    assert_non_null(strstr(json, "not an owner"));
    free(json);
}

static void test_volumes(void **state) {
    struct fixture *f = *state;
    uint8_t hash[32];
    apply_v1(f, hash);
    int64_t v;
    assert_int_equal(veil_cas_store_volume_get(f->store, "p", "data", &v), 0);
    assert_int_equal(v, 0);
    struct veil_cas_volume_report rep = { "data", 5 };
    assert_int_equal(veil_cas_store_volumes_advance(f->store, "p", &rep, 1, "volume.reported", "t", "{}"), 0);
    rep.version = 4;
    assert_int_equal(veil_cas_store_volumes_advance(f->store, "p", &rep, 1, "volume.reported", "t", "{}"), -ESTALE);
    assert_non_null(strstr(veil_err_msg(), "rolled back"));
    assert_int_equal(veil_cas_store_volume_get(f->store, "p", "data", &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(veil_cas_store_volume_accept(f->store, "p", "data", 4, "owner"), 0);
    assert_int_equal(veil_cas_store_volumes_advance(f->store, "p", &rep, 1, "volume.reported", "t", "{}"), 0);
    rep.name = "nope";
    assert_int_equal(veil_cas_store_volumes_advance(f->store, "p", &rep, 1, "volume.reported", "t", "{}"), -ENOENT);
}

static void tamper(struct fixture *f, const char *sql) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
}

static void test_audit_chain(void **state) {
    struct fixture *f = *state;
    uint8_t hash[32];
    apply_v1(f, hash);
    for (int i = 0; i < 5; i++)
        assert_int_equal(veil_cas_store_audit(f->store, "attest.accepted", "p", "w", "{\"secrets\":[\"pw\"]}"), 0);
    int64_t count, bad;
    assert_int_equal(veil_cas_store_audit_verify(f->store, &count, &bad), 0);
    assert_int_equal(count, 6);
    /* the trigger keeps this program from rewriting history */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE audit SET kind='x' WHERE seq=3", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    /* a hand edit that removes the trigger first is detected */
    tamper(f, "DROP TRIGGER audit_no_update; UPDATE audit SET detail='{\"secrets\":[]}' WHERE seq=4");
    assert_int_equal(veil_cas_store_audit_verify(f->store, &count, &bad), -EACCES);
    assert_int_equal(bad, 4);
    assert_non_null(strstr(veil_err_msg(), "entry 4 was altered"));
}

static void test_audit_deletion(void **state) {
    struct fixture *f = *state;
    for (int i = 0; i < 4; i++) assert_int_equal(veil_cas_store_audit(f->store, "k", "p", "s", "{}"), 0);
    tamper(f, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq=2");
    int64_t count, bad;
    assert_int_equal(veil_cas_store_audit_verify(f->store, &count, &bad), -EACCES);
    assert_int_equal(bad, 2);
}

struct writer {
    struct fixture *f;
    int index;
    int failures;
};

static void *write_many(void *arg) {
    struct writer *w = arg;
    struct veil_cas_store *s;
    if (veil_cas_store_open(w->f->db, w->f->master, &s) < 0) {
        w->failures++;
        return NULL;
    }
    for (int i = 0; i < 50; i++) {
        char detail[64];
        snprintf(detail, sizeof(detail), "{\"writer\":%d,\"i\":%d}", w->index, i);
        if (veil_cas_store_audit(s, "k", "p", "s", detail) < 0) w->failures++;
        /* a write that fails inside a shared batch must not take the others down */
        struct veil_cas_volume_report rep = { "nope", 1 };
        if (veil_cas_store_volumes_advance(s, "p", &rep, 1, "x", "s", "{}") != -ENOENT) w->failures++;
    }
    veil_cas_store_close(s);
    return NULL;
}

/* Concurrent writers on their own connections (as server threads are): group commit keeps the chain whole. */
static void test_concurrent_writers(void **state) {
    struct fixture *f = *state;
    struct writer w[6];
    pthread_t t[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (struct writer){ .f = f, .index = i };
        assert_int_equal(pthread_create(&t[i], NULL, write_many, &w[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    int64_t count, bad;
    assert_int_equal(veil_cas_store_audit_verify(f->store, &count, &bad), 0);
    assert_int_equal(count, 300);
}

static void test_wrong_seal_root(void **state) {
    struct fixture *f = *state;
    char root[128];
    snprintf(root, sizeof(root), "%s/other-root.key", f->dir);
    struct veil_secbuf *m;
    /* a missing root is not replaced by a new one while a sealed master key exists */
    assert_int_equal(veil_cas_master_key_load(f->dir, root, &m), -ENOENT);
    assert_int_equal(access(root, F_OK), -1);
    uint8_t other[32] = { 1 };
    assert_int_equal(veil_write_file_atomic(root, other, sizeof(other), 0600), 0);
    assert_int_equal(veil_cas_master_key_load(f->dir, root, &m), -EACCES);
    snprintf(root, sizeof(root), "%s/sim-seal.key", f->dir);
    assert_int_equal(veil_cas_master_key_load(f->dir, root, &m), 0);
    assert_memory_equal(m->data, f->master->data, 32);
    veil_secbuf_free(m);
}

static void test_renewal(void **state) {
    struct fixture *f = *state;
    uint8_t hash[32];
    apply_v1(f, hash);
    struct veil_cas_policy *p;
    assert_int_equal(veil_cas_policy_parse(policy_v1, strlen(policy_v1), &p), 0);
    struct veil_secbuf *ca0, *leaf0, *ca1, *leaf1, *ca2, *leaf2;
    assert_int_equal(veil_cas_store_secret_get(f->store, "p", "ca", &ca0), 0);
    assert_int_equal(veil_cas_store_secret_get(f->store, "p", "leaf", &leaf0), 0);
    size_t n = 99;
    time_t now = time(NULL);
    assert_int_equal(veil_cas_store_renew_certificates(f->store, p, now, "t", &n), 0);
    assert_int_equal(n, 0);
    /* 300 days on, the 365-day leaf is past two thirds, the 10-year CA is not */
    assert_int_equal(veil_cas_store_renew_certificates(f->store, p, now + 300 * 86400, "t", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(veil_cas_store_secret_get(f->store, "p", "ca", &ca1), 0);
    assert_int_equal(veil_cas_store_secret_get(f->store, "p", "leaf", &leaf1), 0);
    assert_true(ca1->size == ca0->size && !memcmp(ca1->data, ca0->data, ca0->size));
    assert_false(leaf1->size == leaf0->size && !memcmp(leaf1->data, leaf0->data, leaf0->size));
    /* 3000 days on, the CA is renewed and with it the leaf it issued */
    assert_int_equal(veil_cas_store_renew_certificates(f->store, p, now + 3000L * 86400, "t", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(veil_cas_store_secret_get(f->store, "p", "ca", &ca2), 0);
    assert_int_equal(veil_cas_store_secret_get(f->store, "p", "leaf", &leaf2), 0);
    assert_false(ca2->size == ca1->size && !memcmp(ca2->data, ca1->data, ca1->size));
    char *json;
    assert_int_equal(veil_cas_store_audit_list(f->store, "p", 0, 100, &json), 0);
    assert_non_null(strstr(json, "secret.renewed"));
    free(json);
    veil_secbuf_free(ca0);
    veil_secbuf_free(leaf0);
    veil_secbuf_free(ca1);
    veil_secbuf_free(leaf1);
    veil_secbuf_free(ca2);
    veil_secbuf_free(leaf2);
    veil_cas_policy_free(p);
}

/* Losing the sealing root loses nothing when an owner's key can recover the master key. */
static void test_recovery(void **state) {
    struct fixture *f = *state;
    EVP_PKEY *owner_key, *stranger;
    assert_int_equal(veil_key_generate(VEIL_KEY_ECDSA_P256, &owner_key), 0);
    assert_int_equal(veil_key_generate(VEIL_KEY_ECDSA_P256, &stranger), 0);
    assert_int_equal(veil_cas_recovery_wrap(f->dir, owner_key, f->master), 0);

    char root[128], path[160];
    snprintf(root, sizeof(root), "%s/sim-seal.key", f->dir);
    assert_int_equal(unlink(root), 0);
    struct veil_secbuf *m;
    assert_int_equal(veil_cas_master_key_load(f->dir, root, &m), -ENOENT);
    assert_int_equal(veil_cas_recovery_unwrap(f->dir, stranger, &m), -EACCES);
    assert_int_equal(veil_cas_recovery_unwrap(f->dir, owner_key, &m), 0);
    assert_memory_equal(m->data, f->master->data, 32);
    assert_int_equal(veil_cas_master_key_reseal(f->dir, root, m), 0);
    veil_secbuf_free(m);
    assert_int_equal(veil_cas_master_key_load(f->dir, root, &m), 0);
    assert_memory_equal(m->data, f->master->data, 32);
    veil_secbuf_free(m);

    /* every byte of the recovery file is covered */
    snprintf(path, sizeof(path), "%s/master.recovery", f->dir);
    uint8_t *data;
    size_t size;
    assert_int_equal(veil_read_file(path, 4096, &data, &size), 0);
    for (size_t i = 0; i < size; i++) {
        data[i] ^= 0x01;
        assert_int_equal(veil_write_file_atomic(path, data, size, 0600), 0);
        int r = veil_cas_recovery_unwrap(f->dir, owner_key, &m);
        if (r >= 0) fail_msg("flipped byte %zu accepted", i);
        data[i] ^= 0x01;
    }
    free(data);
    EVP_PKEY_free(owner_key);
    EVP_PKEY_free(stranger);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_encrypted_at_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_and_predecessor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_volumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_deletion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_seal_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renewal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
