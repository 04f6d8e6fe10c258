/* SPDX-License-Identifier: Apache-2.0 */
/* Round trips at the sizes around a node, 10 MiB and a 1 GiB sparse file, through every API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/mman.h>

#include "base/err.h"
#include "helpers.h"

#define N VEIL_ENCFILE_NODE_SIZE
static const size_t sizes[] = { 0, 1, N - 1, N, N + 1, 3 * N + 17, 8 * N - 1, 8 * N, 8 * N + 1, (size_t)10 << 20 }; /* 8 * N: one store run */
static char *dir;

/* The layout's exact length (docs/encfile.md): header, data, one entry per node below each tree level. */
static uint64_t expected_disk_size(uint64_t size) {
    uint64_t count = (size + N - 1) / N, total = 128 + size;
    do {
        total += 32 * count;
        count = count ? (count + 2047) / 2048 : 0;
    } while (count > 1);
    return total;
}

static void test_store_load(void **state) {
    (void)state;
    char *path = test_path(dir, "f.enc");
    for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
        size_t size = sizes[i];
        uint8_t *plain = malloc(size + 1);
        test_fill(plain, size, size + 7);
        assert_int_equal(veil_encfile_store(path, test_key, "/data/f", 5, plain, size, 0600), 0);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal((uint64_t)st.st_size, expected_disk_size(size));
        assert_int_equal(st.st_mode & 0777, 0600);

        struct veil_secbuf *out;
        uint64_t version = 0, pin = 5;
        assert_int_equal(veil_encfile_load(path, test_key, "/data/f", &pin, &out, &version), 0);
        assert_int_equal(version, 5);
        assert_int_equal(out->size, size);
        assert_memory_equal(out->data, plain, size);
        veil_secbuf_free(out);

        /* random access on the same file: every node boundary */
        struct veil_encfile *f;
        assert_int_equal(veil_encfile_open(path, test_key, "/data/f", VEIL_ENCFILE_READ, NULL, &f), 0);
        assert_int_equal(veil_encfile_size(f), size);
        assert_int_equal(veil_encfile_verify(f), 0);
        uint8_t buf[300];
        for (uint64_t at = 0; at <= size + 1; at += (at % N == 0 ? N - 150 : 150)) {
            ssize_t n = veil_encfile_pread(f, buf, sizeof(buf), at);
            size_t want = at >= size ? 0 : MIN(sizeof(buf), size - at);
            assert_int_equal(n, want);
            if (want) assert_memory_equal(buf, plain + at, want);
        }
        veil_encfile_free(f);
        free(plain);
    }
    free(path);
}

static void test_store_fd(void **state) {
    (void)state;
    char *src = test_path(dir, "plain"), *path = test_path(dir, "g.enc");
    for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
        size_t size = sizes[i];
        uint8_t *plain = malloc(size + 1);
        test_fill(plain, size, size + 9);
        test_write_bytes(src, plain, size);
        int fd = open(src, O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(lseek(fd, (off_t)(size / 2), SEEK_SET), (off_t)(size / 2));
        assert_int_equal(veil_encfile_store_fd(path, test_key, "/g", 1, fd, 0640), 0);
        assert_int_equal(lseek(fd, 0, SEEK_CUR), (off_t)(size / 2)); /* the offset is left alone */
        close(fd);
        struct veil_secbuf *out;
        fd = open(path, O_RDONLY);
        assert_int_equal(veil_encfile_load_fd(fd, test_key, "/g", NULL, &out, NULL), 0);
        close(fd);
        assert_int_equal(out->size, size);
        assert_memory_equal(out->data, plain, size);
        veil_secbuf_free(out);
        free(plain);
    }
    unlink(src);
    free(src);
    free(path);
}

static void test_handle_write(void **state) {
    (void)state;
    char *path = test_path(dir, "h.enc");
    for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
        size_t size = sizes[i];
        uint8_t *plain = malloc(size + 1);
        test_fill(plain, size, size + 11);
        unlink(path);
        struct veil_encfile *f;
        assert_int_equal(veil_encfile_open(path, test_key, "/h", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f), 0);
        assert_int_equal(veil_encfile_version(f), 0);
        for (size_t at = 0; at < size; at += 10007) {
            size_t n = MIN((size_t)10007, size - at);
            assert_int_equal(veil_encfile_pwrite(f, plain + at, n, at), n);
        }
        if (size == 0) assert_int_equal(veil_encfile_truncate(f, 0), 0);
        assert_int_equal(veil_encfile_flush(f), 0);
        /* an empty file that never changed is not written */
        assert_int_equal(veil_encfile_version(f), size ? 1 : 0);
        assert_int_equal(veil_encfile_close(f), 0);
        if (!size) {
            assert_int_equal(access(path, F_OK), -1);
            free(plain);
            continue;
        }
        struct veil_secbuf *out;
        uint64_t version, pin = 1;
        assert_int_equal(veil_encfile_load(path, test_key, "/h", &pin, &out, &version), 0);
        assert_int_equal(out->size, size);
        assert_memory_equal(out->data, plain, size);
        veil_secbuf_free(out);
        free(plain);
    }
    free(path);
}

static void test_empty_file_flushes(void **state) {
    (void)state;
    char *path = test_path(dir, "empty.enc");
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(path, test_key, "/e", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f), 0);
    assert_int_equal(veil_encfile_pwrite(f, "x", 1, 0), 1);
    assert_int_equal(veil_encfile_truncate(f, 0), 0);
    assert_int_equal(veil_encfile_close(f), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 128 + 32 * 0);
    uint64_t pin = 1;
    assert_int_equal(veil_encfile_open(path, test_key, "/e", VEIL_ENCFILE_READ, &pin, &f), 0);
    assert_int_equal(veil_encfile_size(f), 0);
    assert_int_equal(veil_encfile_verify(f), 0);
    veil_encfile_free(f);
    unlink(path);
    free(path);
}

static void test_sparse_1g(void **state) {
    (void)state;
    const uint64_t gib = (uint64_t)1 << 30;
    char *path = test_path(dir, "sparse.enc");
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(path, test_key, "/s", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f), 0);
    assert_int_equal(veil_encfile_truncate(f, gib), 0);
    assert_int_equal(veil_encfile_pwrite(f, "head", 4, 0), 4);
    assert_int_equal(veil_encfile_pwrite(f, "middle", 6, gib / 2 + 3), 6);
    assert_int_equal(veil_encfile_pwrite(f, "tail", 4, gib - 4), 4);
    assert_int_equal(veil_encfile_close(f), 0);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, expected_disk_size(gib));
    /* untouched nodes are holes: the file takes a few nodes of disk, not a gigabyte */
    assert_true((uint64_t)st.st_blocks * 512 < ((uint64_t)4 << 20));

    assert_int_equal(veil_encfile_open(path, test_key, "/s", VEIL_ENCFILE_WRITE, NULL, &f), 0);
    assert_int_equal(veil_encfile_size(f), gib);
    assert_int_equal(veil_encfile_verify(f), 0);
    char buf[16] = { 0 };
    assert_int_equal(veil_encfile_pread(f, buf, 4, 0), 4);
    assert_memory_equal(buf, "head", 4);
    assert_int_equal(veil_encfile_pread(f, buf, 8, gib / 2 + 2), 8);
    assert_memory_equal(buf, "\0middle\0", 8);
    assert_int_equal(veil_encfile_pread(f, buf, 16, gib - 4), 4);
    assert_memory_equal(buf, "tail", 4);
    uint8_t *zeros = malloc(N * 4), *got = malloc(N * 4);
    memset(zeros, 0, N * 4);
    assert_int_equal(veil_encfile_pread(f, got, N * 4, gib / 4 + 5), N * 4);
    assert_memory_equal(got, zeros, N * 4);
    /* a second version of the sparse file stays sparse */
    assert_int_equal(veil_encfile_pwrite(f, "again", 5, gib / 3), 5);
    assert_int_equal(veil_encfile_close(f), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true((uint64_t)st.st_blocks * 512 < ((uint64_t)4 << 20));

    /* store_fd of a sparse source keeps its holes */
    char *src = test_path(dir, "sparse.plain");
    int fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)gib), 0);
    assert_int_equal(pwrite(fd, "xyz", 3, (off_t)(gib / 2)), 3);
    assert_int_equal(veil_encfile_store_fd(path, test_key, "/s", 9, fd, 0600), 0);
    close(fd);
    assert_int_equal(stat(path, &st), 0);
    assert_true((uint64_t)st.st_blocks * 512 < ((uint64_t)4 << 20));
    uint64_t pin = 9;
    assert_int_equal(veil_encfile_open(path, test_key, "/s", VEIL_ENCFILE_READ, &pin, &f), 0);
    assert_int_equal(veil_encfile_verify(f), 0);
    assert_int_equal(veil_encfile_pread(f, buf, 5, gib / 2 - 1), 5);
    assert_memory_equal(buf, "\0xyz\0", 5);
    assert_int_equal(veil_encfile_pread(f, got, N * 4, 0), N * 4);
    assert_memory_equal(got, zeros, N * 4);
    veil_encfile_free(f);

    /* and back to a plaintext file: the whole gigabyte through load_into_fd, still sparse */
    int out = memfd_create("sparse-plain", MFD_CLOEXEC);
    assert_true(out >= 0);
    uint64_t got_size;
    assert_int_equal(veil_encfile_load_into_fd(path, test_key, "/s", &pin, out, &got_size, NULL), 0);
    assert_int_equal(got_size, gib);
    assert_int_equal(fstat(out, &st), 0);
    assert_int_equal((uint64_t)st.st_size, gib);
    assert_true((uint64_t)st.st_blocks * 512 < ((uint64_t)4 << 20));
    assert_int_equal(pread(out, buf, 5, (off_t)(gib / 2 - 1)), 5);
    assert_memory_equal(buf, "\0xyz\0", 5);
    close(out);
    unlink(src);
    free(src);
    free(zeros);
    free(got);
    unlink(path);
    free(path);
}

static void test_versions(void **state) {
    (void)state;
    char *path = test_path(dir, "v.enc");
    assert_int_equal(veil_encfile_store(path, test_key, "/v", 41, "abc", 3, 0600), 0);
    struct veil_encfile *f;
    uint64_t pin = 41;
    assert_int_equal(veil_encfile_open(path, test_key, "/v", VEIL_ENCFILE_WRITE, &pin, &f), 0);
    assert_int_equal(veil_encfile_version(f), 41);
    assert_int_equal(veil_encfile_flush(f), 0); /* nothing changed: no new version */
    assert_int_equal(veil_encfile_version(f), 41);
    assert_int_equal(veil_encfile_pwrite(f, "d", 1, 3), 1);
    assert_int_equal(veil_encfile_flush(f), 0);
    assert_int_equal(veil_encfile_version(f), 42);
    assert_int_equal(veil_encfile_pwrite(f, "e", 1, 4), 1);
    assert_int_equal(veil_encfile_flush(f), 0);
    assert_int_equal(veil_encfile_version(f), 43);
    char buf[8];
    assert_int_equal(veil_encfile_pread(f, buf, 8, 0), 5);
    assert_memory_equal(buf, "abcde", 5);
    assert_int_equal(veil_encfile_close(f), 0);
    pin = 42;
    assert_int_equal(veil_encfile_open(path, test_key, "/v", VEIL_ENCFILE_READ, &pin, &f), -EACCES);
    pin = 43;
    assert_int_equal(veil_encfile_open(path, test_key, "/v", VEIL_ENCFILE_READ, &pin, &f), 0);
    /* read-only handles refuse changes */
    assert_int_equal(veil_encfile_pwrite(f, "x", 1, 0), -EROFS);
    assert_int_equal(veil_encfile_truncate(f, 0), -EROFS);
    struct veil_encfile_info info;
    veil_encfile_get_info(f, &info);
    assert_int_equal(info.version, 43);
    assert_int_equal(info.size, 5);
    assert_true(info.authenticated);
    veil_encfile_free(f);
    /* a missing file is not silently recreated when a version is expected */
    unlink(path);
    assert_int_equal(veil_encfile_open(path, test_key, "/v", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, &pin, &f), -EACCES);
    assert_int_equal(veil_encfile_open(path, test_key, "/v", VEIL_ENCFILE_READ, NULL, &f), -ENOENT);
    free(path);
}

static void test_fd_and_peek(void **state) {
    (void)state;
    char *path = test_path(dir, "fd.enc");
    assert_int_equal(veil_encfile_store(path, test_key, "/fd", 3, "hello", 5, 0600), 0);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct veil_encfile_info info;
    assert_int_equal(veil_encfile_peek(fd, &info), 0);
    assert_false(info.authenticated);
    assert_int_equal(info.version, 3);
    assert_int_equal(info.size, 5);
    assert_int_equal(info.data_node_count, 1);
    assert_int_equal(info.tree_node_count, 1);
    assert_int_equal(info.tree_depth, 1);
    assert_int_equal(info.disk_size, 128 + 5 + 32);
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open_fd(fd, test_key, "/fd", NULL, &f), 0);
    close(fd); /* the handle holds its own descriptor */
    struct veil_encfile_info authed;
    veil_encfile_get_info(f, &authed);
    assert_true(authed.authenticated);
    assert_memory_equal(authed.file_id, info.file_id, sizeof(info.file_id));
    char buf[8];
    assert_int_equal(veil_encfile_pread(f, buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(veil_encfile_pwrite(f, "x", 1, 0), -EROFS);
    assert_int_equal(veil_encfile_flush(f), -EROFS);
    assert_int_equal(veil_encfile_close(f), 0);
    /* peek refuses what is not an encfile */
    fd = open(path, O_RDWR);
    assert_int_equal(pwrite(fd, "X", 1, 0), 1);
    assert_int_equal(veil_encfile_peek(fd, &info), -EBADMSG);
    close(fd);
    unlink(path);
    free(path);
}

static void test_load_into_fd(void **state) {
    (void)state;
    char *path = test_path(dir, "memfd.enc");
    for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
        size_t size = sizes[i];
        uint8_t *plain = malloc(size + 1);
        test_fill(plain, size, size + 13);
        assert_int_equal(veil_encfile_store(path, test_key, "/m", 2, plain, size, 0600), 0);
        int fd = memfd_create("plain", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "stale contents", 14), 14);
        uint64_t got_size = 0, version = 0, pin = 2;
        assert_int_equal(veil_encfile_load_into_fd(path, test_key, "/m", &pin, fd, &got_size, &version), 0);
        assert_int_equal(got_size, size);
        assert_int_equal(version, 2);
        uint8_t *back = malloc(size + 1);
        assert_int_equal(pread(fd, back, size + 1, 0), size);
        assert_memory_equal(back, plain, size);
        /* a failure (wrong path) leaves the fd empty */
        assert_int_equal(veil_encfile_load_into_fd(path, test_key, "/other", NULL, fd, NULL, NULL), -EACCES);
        close(fd);
        free(back);
        free(plain);
    }
    /* a tampered node half-way: nothing of the plaintext stays in the fd */
    uint8_t *plain = malloc(3 * N);
    test_fill(plain, 3 * N, 5);
    assert_int_equal(veil_encfile_store(path, test_key, "/m", 1, plain, 3 * N, 0600), 0);
    int efd = open(path, O_RDWR);
    assert_int_equal(pwrite(efd, "!", 1, 128 + 2 * N + 9), 1);
    close(efd);
    int fd = memfd_create("plain", MFD_CLOEXEC);
    assert_int_equal(veil_encfile_load_into_fd(path, test_key, "/m", NULL, fd, NULL, NULL), -EACCES);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 0);
    close(fd);
    free(plain);
    unlink(path);
    free(path);
}

/* Replacing a file (store or flush) keeps its mode and, as root, its owner. */
static void test_keeps_mode_and_owner(void **state) {
    (void)state;
    char *path = test_path(dir, "owner.enc");
    assert_int_equal(veil_encfile_store(path, test_key, "/o", 1, "abc", 3, 0640), 0);
    bool root = geteuid() == 0;
    if (root) assert_int_equal(chown(path, 1234, 4321), 0);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(veil_encfile_store(path, test_key, "/o", 2, "abcd", 4, 0600), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0604);
    if (root) assert_true(st.st_uid == 1234 && st.st_gid == 4321);
    struct veil_encfile *f;
    assert_int_equal(chmod(path, 0620), 0);
    assert_int_equal(veil_encfile_open(path, test_key, "/o", VEIL_ENCFILE_WRITE, NULL, &f), 0);
    assert_int_equal(veil_encfile_pwrite(f, "e", 1, 4), 1);
    assert_int_equal(veil_encfile_close(f), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0620);
    if (root) assert_true(st.st_uid == 1234 && st.st_gid == 4321);
    unlink(path);
    free(path);
}

static void test_bad_arguments(void **state) {
    (void)state;
    char *path = test_path(dir, "bad.enc");
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(path, test_key, "/x", VEIL_ENCFILE_CREATE, NULL, &f), -EINVAL);
    assert_int_equal(veil_encfile_open(path, test_key, "/x", 1u << 7, NULL, &f), -EINVAL);
    char *long_path = malloc(VEIL_ENCFILE_PATH_MAX + 2);
    memset(long_path, 'a', VEIL_ENCFILE_PATH_MAX + 1);
    long_path[VEIL_ENCFILE_PATH_MAX + 1] = 0;
    assert_int_equal(veil_encfile_store(path, test_key, long_path, 1, "x", 1, 0600), -EINVAL);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(veil_encfile_open(dir, test_key, "/x", VEIL_ENCFILE_READ, NULL, &f), -EISDIR);
    assert_int_equal(veil_encfile_open(path, test_key, "/x", VEIL_ENCFILE_WRITE | VEIL_ENCFILE_CREATE, NULL, &f), 0);
    assert_int_equal(veil_encfile_truncate(f, VEIL_ENCFILE_MAX_SIZE + 1), -EFBIG);
    assert_int_equal(veil_encfile_pwrite(f, "x", 1, VEIL_ENCFILE_MAX_SIZE), -EFBIG);
    veil_encfile_free(f);
    free(long_path);
    free(path);
}

static int setup(void **state) {
    (void)state;
    dir = test_dir_make("encfile-roundtrip", 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    assert_int_equal(test_dir_count(dir, 1), 0); /* no temporary files left behind */
    test_dir_remove(dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_load),   cmocka_unit_test(test_store_fd),
        cmocka_unit_test(test_handle_write), cmocka_unit_test(test_empty_file_flushes),
        cmocka_unit_test(test_sparse_1g),    cmocka_unit_test(test_versions),
        cmocka_unit_test(test_fd_and_peek),  cmocka_unit_test(test_load_into_fd),
        cmocka_unit_test(test_keeps_mode_and_owner), cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
