/* SPDX-License-Identifier: Apache-2.0 */
/* The deterministic store: same inputs give the same bytes, any change gives new ids and salts; reads, tamper, flush. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/mman.h>

#include "base/err.h"
#include "encfile/format.h"
#include "helpers.h"

#define N VEIL_ENCFILE_NODE_SIZE
/* empty, one byte, a node, a run of 8 nodes and one more (two run digests) */
static const size_t sizes[] = { 0, 1, N, 3 * N + 17, 9 * N + 5 };
static char *dir;

/* What the tests compare: the file id and every salt on disk (root, tree and data entries). */
struct ids {
    uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE];
    size_t count;
    struct encfile_entry entries[64]; /* [0] = root, then the level-1 node's entries (data nodes) */
};

/* Read the file id and, with the key, the entries of the one tree node (files under 128 MiB). */
static void read_ids(const char *path, const uint8_t *key, struct ids *ret) {
    size_t disk_size;
    uint8_t *disk = test_read_bytes(path, &disk_size);
    struct encfile_header h;
    struct encfile_geometry g;
    assert_int_equal(encfile_header_parse(disk, disk_size, &h), 0);
    assert_int_equal(encfile_geometry(h.size, &g), 0);
    assert_int_equal(g.depth, 1);
    *ret = (struct ids){ .count = 1 };
    memcpy(ret->file_id, h.file_id, sizeof(ret->file_id));
    ret->entries[0] = h.root;
    if (g.count[0] > 0) {
        struct encfile_keys k;
        size_t size = (size_t)g.count[0] * ENCFILE_ENTRY_SIZE;
        assert_true(g.count[0] < ELEMENTSOF(ret->entries));
        encfile_keys_init(&k, key, h.file_id);
        assert_int_equal(encfile_open_node(&k, &h.root, 1, 0, disk + g.offset[1], size, &ret->entries[1]), 0);
        encfile_keys_done(&k);
        ret->count += (size_t)g.count[0];
    }
    free(disk);
}

static bool same_file(const char *a, const char *b) {
    size_t sa, sb;
    uint8_t *pa = test_read_bytes(a, &sa), *pb = test_read_bytes(b, &sb);
    bool same = sa == sb && !memcmp(pa, pb, sa);
    free(pa);
    free(pb);
    return same;
}

/* No salt of one file equals any salt of the other, and the file ids differ. */
static void assert_all_new(const struct ids *a, const struct ids *b) {
    assert_memory_not_equal(a->file_id, b->file_id, sizeof(a->file_id));
    for (size_t i = 0; i < a->count; i++)
        for (size_t j = 0; j < b->count; j++)
            assert_memory_not_equal(a->entries[i].salt, b->entries[j].salt, ENCFILE_SALT_SIZE);
}

/* encode_deterministic into a reused descriptor gives the stored file's bytes, and says how many. */
static void assert_encoded_same(const char *stored, int reused_fd, const uint8_t *plain, size_t size) {
    uint64_t n = 0;
    assert_int_equal(veil_encfile_encode_deterministic(reused_fd, test_key, "/app/x", 1, plain, size, &n), 0);
    size_t want_size;
    uint8_t *want = test_read_bytes(stored, &want_size);
    assert_int_equal(n, want_size);
    uint8_t *got = malloc(want_size + 1);
    assert_int_equal(pread(reused_fd, got, want_size, 0), (ssize_t)want_size);
    assert_memory_equal(got, want, want_size);
    free(got);
    free(want);
}

static void test_same_inputs_same_bytes(void **state) {
    (void)state;
    char *a = test_path(dir, "a.enc"), *b = test_path(dir, "b.enc"), *c = test_path(dir, "c.enc"),
         *plain_path = test_path(dir, "plain");
    /* reused for every size, starting longer than any encoding: what lies past the end is not the file's */
    int reused = memfd_create("encoded", 0);
    assert_true(reused >= 0);
    assert_int_equal(ftruncate(reused, (off_t)(16 * N)), 0);
    for (size_t i = ELEMENTSOF(sizes); i-- > 0;) {
        size_t size = sizes[i];
        uint8_t *plain = malloc(size + 1);
        test_fill(plain, size, size + 3);
        assert_int_equal(veil_encfile_store_deterministic(a, test_key, "/app/x", 1, plain, size, 0600), 0);
        assert_int_equal(veil_encfile_store_deterministic(b, test_key, "/app/x", 1, plain, size, 0644), 0);
        assert_true(same_file(a, b));
        assert_encoded_same(a, reused, plain, size);

        /* from a regular file (re-checked while sealing) and a sealed memfd: the same bytes */
        test_write_bytes(plain_path, plain, size);
        int fd = open(plain_path, O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(veil_encfile_store_fd_deterministic(c, test_key, "/app/x", 1, fd, 0600), 0);
        close(fd);
        assert_true(same_file(a, c));
        int memfd = memfd_create("plain", MFD_ALLOW_SEALING);
        assert_true(memfd >= 0);
        assert_int_equal(write(memfd, plain, size), (ssize_t)size);
        assert_int_equal(fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW), 0);
        assert_int_equal(veil_encfile_store_fd_deterministic(c, test_key, "/app/x", 1, memfd, 0600), 0);
        close(memfd);
        assert_true(same_file(a, c));

        /* one salt per store, shared by every node, like a random store */
        struct ids ids;
        read_ids(a, test_key, &ids);
        for (size_t j = 1; j < ids.count; j++) assert_memory_equal(ids.entries[j].salt, ids.entries[0].salt, ENCFILE_SALT_SIZE);

        /* the random store differs from run to run (and from the deterministic one) */
        assert_int_equal(veil_encfile_store(b, test_key, "/app/x", 1, plain, size, 0600), 0);
        assert_false(same_file(a, b));
        free(plain);
    }
    close(reused);
    free(a), free(b), free(c), free(plain_path);
}

/* A sparse source gives the same bytes as its dense copy: no holes in a deterministic store. */
static void test_sparse_source_no_holes(void **state) {
    (void)state;
    char *a = test_path(dir, "a.enc"), *b = test_path(dir, "b.enc"), *plain_path = test_path(dir, "plain");
    size_t size = 9 * N + 5;
    uint8_t *plain = calloc(1, size);
    plain[5 * N] = 1;
    test_write_bytes(plain_path, plain, size); /* leaves holes */
    int fd = open(plain_path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(veil_encfile_store_fd_deterministic(a, test_key, "/d", 1, fd, 0600), 0);
    close(fd);
    assert_int_equal(veil_encfile_store_deterministic(b, test_key, "/d", 1, plain, size, 0600), 0);
    assert_true(same_file(a, b));
    struct ids ids;
    read_ids(a, test_key, &ids);
    for (size_t j = 0; j < ids.count; j++) assert_false(encfile_entry_is_hole(&ids.entries[j]));
    free(plain), free(a), free(b), free(plain_path);
}

static void test_any_change_new_ids(void **state) {
    (void)state;
    char *base = test_path(dir, "base.enc"), *other = test_path(dir, "other.enc");
    uint8_t key2[VEIL_ENCFILE_KEY_SIZE];
    memcpy(key2, test_key, sizeof(key2));
    key2[31] ^= 1;
    for (size_t i = 1; i < ELEMENTSOF(sizes); i++) {
        size_t size = sizes[i];
        uint8_t *plain = malloc(size);
        test_fill(plain, size, size + 11);
        struct ids a, b;
        assert_int_equal(veil_encfile_store_deterministic(base, test_key, "/app/x", 1, plain, size, 0600), 0);
        read_ids(base, test_key, &a);

        /* one byte of content: first, middle, last */
        size_t at[] = { 0, size / 2, size - 1 };
        for (size_t j = 0; j < ELEMENTSOF(at); j++) {
            plain[at[j]] ^= 0x40;
            assert_int_equal(veil_encfile_store_deterministic(other, test_key, "/app/x", 1, plain, size, 0600), 0);
            plain[at[j]] ^= 0x40;
            read_ids(other, test_key, &b);
            assert_all_new(&a, &b);
        }
        /* one byte of the path, the version, the key */
        assert_int_equal(veil_encfile_store_deterministic(other, test_key, "/app/y", 1, plain, size, 0600), 0);
        read_ids(other, test_key, &b);
        assert_all_new(&a, &b);
        assert_int_equal(veil_encfile_store_deterministic(other, test_key, "/app/x", 2, plain, size, 0600), 0);
        read_ids(other, test_key, &b);
        assert_all_new(&a, &b);
        assert_int_equal(veil_encfile_store_deterministic(other, key2, "/app/x", 1, plain, size, 0600), 0);
        read_ids(other, key2, &b);
        assert_all_new(&a, &b);
        /* one byte shorter (a trailing zero byte must not collide with the shorter content either) */
        assert_int_equal(veil_encfile_store_deterministic(other, test_key, "/app/x", 1, plain, size - 1, 0600), 0);
        read_ids(other, test_key, &b);
        assert_all_new(&a, &b);
        free(plain);
    }
    free(base), free(other);
}

/* The normal reader opens it (pinned version), refuses another path, key or version, and every tampered byte class. */
static void test_reads_and_tamper(void **state) {
    (void)state;
    char *path = test_path(dir, "t.enc"), *bad = test_path(dir, "bad.enc");
    size_t size = 9 * N + 5;
    uint8_t *plain = malloc(size);
    test_fill(plain, size, 99);
    assert_int_equal(veil_encfile_store_deterministic(path, test_key, "/app/t", 3, plain, size, 0600), 0);
    uint64_t pin = 3, wrong_pin = 1, version;
    struct veil_secbuf *out = NULL;
    assert_int_equal(veil_encfile_load(path, test_key, "/app/t", &pin, &out, &version), 0);
    assert_int_equal(out->size, size);
    assert_memory_equal(out->data, plain, size);
    assert_int_equal(version, 3);
    veil_secbuf_free(out);
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(path, test_key, "/app/t", 0, &pin, &f), 0);
    assert_int_equal(veil_encfile_verify(f), 0);
    veil_encfile_free(f);
    assert_int_equal(veil_encfile_load(path, test_key, "/app/u", NULL, &out, NULL), -EACCES);
    assert_int_equal(veil_encfile_load(path, test_key, "/app/t", &wrong_pin, &out, NULL), -EACCES);
    uint8_t key2[VEIL_ENCFILE_KEY_SIZE];
    memcpy(key2, test_key, sizeof(key2));
    key2[0] ^= 1;
    assert_int_equal(veil_encfile_load(path, key2, "/app/t", NULL, &out, NULL), -EACCES);

    /* a bit flipped in the file id, the root entry, the MAC, data nodes (first, last) and the tree node */
    size_t disk_size;
    uint8_t *disk = test_read_bytes(path, &disk_size);
    size_t offsets[] = { 16, 20, 48, 70, 100, 128, 128 + 5 * N + 1, 128 + size - 1, 128 + size, disk_size - 1 };
    for (size_t i = 0; i < ELEMENTSOF(offsets); i++) {
        disk[offsets[i]] ^= 4;
        test_write_bytes(bad, disk, disk_size);
        disk[offsets[i]] ^= 4;
        int r = veil_encfile_load(bad, test_key, "/app/t", NULL, &out, NULL);
        assert_true(r == -EACCES || r == -EBADMSG);
    }
    free(disk), free(plain), free(path), free(bad);
}

/* veil-run's writes after a wrap: a flush seals what it writes under a fresh random salt, never the derived one. */
static void test_flush_after_uses_random_salts(void **state) {
    (void)state;
    char *path = test_path(dir, "f.enc"), *copy = test_path(dir, "g.enc");
    size_t size = 3 * N + 17;
    uint8_t *plain = malloc(size);
    test_fill(plain, size, 5);
    assert_int_equal(veil_encfile_store_deterministic(path, test_key, "/data/f", 1, plain, size, 0600), 0);
    assert_int_equal(veil_encfile_store_deterministic(copy, test_key, "/data/f", 1, plain, size, 0600), 0);
    struct ids before, after1, after2;
    read_ids(path, test_key, &before);

    /* the same change flushed on two identical copies: different salts each time */
    const char *names[] = { path, copy };
    struct ids *results[] = { &after1, &after2 };
    for (size_t i = 0; i < 2; i++) {
        struct veil_encfile *f;
        uint64_t pin = 1;
        assert_int_equal(veil_encfile_open(names[i], test_key, "/data/f", VEIL_ENCFILE_WRITE, &pin, &f), 0);
        assert_int_equal(veil_encfile_pwrite(f, "new", 3, N + 1), 3);
        assert_int_equal(veil_encfile_flush(f), 0);
        assert_int_equal(veil_encfile_version(f), 2);
        assert_int_equal(veil_encfile_close(f), 0);
        read_ids(names[i], test_key, results[i]);
    }
    for (size_t i = 0; i < 2; i++) {
        struct ids *a = results[i];
        assert_memory_equal(a->file_id, before.file_id, sizeof(a->file_id)); /* a flush keeps the file id */
        /* root and node 1 were re-sealed under a new salt; nodes 0, 2, 3 were copied as they were */
        assert_memory_not_equal(a->entries[0].salt, before.entries[0].salt, ENCFILE_SALT_SIZE);
        assert_memory_not_equal(a->entries[2].salt, before.entries[0].salt, ENCFILE_SALT_SIZE);
        assert_memory_equal(a->entries[1].salt, before.entries[0].salt, ENCFILE_SALT_SIZE);
        assert_memory_equal(a->entries[3].salt, before.entries[0].salt, ENCFILE_SALT_SIZE);
    }
    assert_memory_not_equal(after1.entries[0].salt, after2.entries[0].salt, ENCFILE_SALT_SIZE);
    assert_memory_not_equal(after1.entries[2].salt, after2.entries[2].salt, ENCFILE_SALT_SIZE);
    assert_false(same_file(path, copy));

    /* and the content is what was written */
    struct veil_secbuf *out;
    memcpy(plain + N + 1, "new", 3);
    assert_int_equal(veil_encfile_load(path, test_key, "/data/f", NULL, &out, NULL), 0);
    assert_memory_equal(out->data, plain, size);
    veil_secbuf_free(out);
    free(plain), free(path), free(copy);
}

static void test_bad_arguments(void **state) {
    (void)state;
    char *path = test_path(dir, "x.enc");
    assert_int_equal(veil_encfile_store_deterministic(path, test_key, "/x", 1, NULL, 5, 0600), -EINVAL);
    assert_int_equal(veil_encfile_store_deterministic(NULL, test_key, "/x", 1, "a", 1, 0600), -EINVAL);
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    assert_int_equal(veil_encfile_store_fd_deterministic(path, test_key, "/x", 1, d, 0600), -EISDIR);
    close(d);
    assert_int_equal(access(path, F_OK), -1);
    free(path);
}

int main(void) {
    dir = test_dir_make("encfile-det", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_inputs_same_bytes), cmocka_unit_test(test_sparse_source_no_holes),
        cmocka_unit_test(test_any_change_new_ids),     cmocka_unit_test(test_reads_and_tamper),
        cmocka_unit_test(test_flush_after_uses_random_salts), cmocka_unit_test(test_bad_arguments),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    test_dir_remove(dir);
    return r;
}
