/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-place write-back through a journal: used when the change is small beside
 * the file, and after a crash at any point the next open finds the old version
 * or the new one, whole. unlink() is wrapped so that a test can keep the
 * journal a completed write-back removes, and build the states a crash leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "base/err.h"
#include "encfile/journal.h"
#include "helpers.h"

#define N VEIL_ENCFILE_NODE_SIZE
#define SIZE (40 * N + 1234) /* 2.5 MiB: one changed node and an append are a small part of it */
#define LOGICAL "/data/aof"
static char *dir;

/* --- keep the journal when asked ----------------------------------------------------------- */
int __real_unlink(const char *path);
int __wrap_unlink(const char *path);
static bool keep_journal;
int __wrap_unlink(const char *path) {
    size_t n = strlen(path);
    if (keep_journal && n > 8 && !strcmp(path + n - 8, ".journal")) return 0;
    return __real_unlink(path);
}

static char *journal_of(const char *path) {
    char *j;
    assert_int_equal(encfile_journal_path(path, &j), 0);
    return j;
}

/* Version 1: SIZE bytes from seed 1. Version 2: node 3 rewritten, and 5000 bytes appended. */
static void contents(uint64_t version, uint8_t *out, size_t *size) {
    test_fill(out, SIZE, 1);
    *size = SIZE;
    if (version >= 2) {
        test_fill(out + 3 * N + 100, 200, 2);
        test_fill(out + SIZE, 5000, 3);
        *size = SIZE + 5000;
    }
}

static uint64_t check_version(const char *path) {
    struct veil_encfile *f;
    uint8_t *want = malloc(SIZE + 5000), *got = malloc(SIZE + 5001);
    size_t size;
    assert_int_equal(veil_encfile_open(path, test_key, LOGICAL, VEIL_ENCFILE_READ, NULL, &f), 0);
    assert_int_equal(veil_encfile_verify(f), 0);
    uint64_t v = veil_encfile_version(f);
    contents(v, want, &size);
    assert_int_equal(veil_encfile_pread(f, got, SIZE + 5001, 0), size);
    assert_memory_equal(got, want, size);
    veil_encfile_free(f);
    free(want);
    free(got);
    return v;
}

/* Store version 1 (its bytes in *old when asked), then write version 2 in place; returns the inode the file had. */
static ino_t write_two_versions(const char *path, uint8_t **old, size_t *old_size) {
    uint8_t *buf = malloc(SIZE + 5000);
    size_t size;
    contents(1, buf, &size);
    assert_int_equal(veil_encfile_store(path, test_key, LOGICAL, 1, buf, size, 0600), 0);
    if (old) *old = test_read_bytes(path, old_size);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(path, test_key, LOGICAL, VEIL_ENCFILE_WRITE, NULL, &f), 0);
    contents(2, buf, &size);
    assert_int_equal(veil_encfile_pwrite(f, buf + 3 * N + 100, 200, 3 * N + 100), 200);
    assert_int_equal(veil_encfile_pwrite(f, buf + SIZE, 5000, SIZE), 5000);
    assert_int_equal(veil_encfile_flush(f), 0);
    assert_int_equal(veil_encfile_version(f), 2);
    /* the handle goes on reading the new version */
    uint8_t *got = malloc(size);
    assert_int_equal(veil_encfile_pread(f, got, size, 0), size);
    assert_memory_equal(got, buf, size);
    veil_encfile_free(f);
    free(got);
    free(buf);
    return st.st_ino;
}

/* Write versions 1 and 2 of path, keeping the journal of the in-place write: its bytes, and the file's before. */
static uint8_t *kept_journal(const char *path, const char *journal, uint8_t **old, size_t *old_size, size_t *journal_size) {
    keep_journal = true;
    write_two_versions(path, old, old_size);
    keep_journal = false;
    return test_read_bytes(journal, journal_size);
}

static void test_in_place(void **state) {
    (void)state;
    char *path = test_path(dir, "aof"), *journal = journal_of(path);
    ino_t before = write_two_versions(path, NULL, NULL);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_ino, before); /* the same file, written in place: not a copy renamed over it */
    assert_int_equal(access(journal, F_OK), -1); /* the journal is gone */
    assert_int_equal(check_version(path), 2);
    assert_int_equal(test_dir_count(dir, 0), 1);

    /* truncated to nothing, in place: the new file is a header and an empty root */
    struct veil_encfile *t;
    assert_int_equal(veil_encfile_open(path, test_key, LOGICAL, VEIL_ENCFILE_WRITE, NULL, &t), 0);
    assert_int_equal(veil_encfile_truncate(t, 0), 0);
    assert_int_equal(veil_encfile_flush(t), 0);
    veil_encfile_free(t);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_ino, before);
    assert_int_equal(st.st_size, ENCFILE_HEADER_SIZE);
    assert_int_equal(veil_encfile_open(path, test_key, LOGICAL, VEIL_ENCFILE_READ, NULL, &t), 0);
    assert_int_equal(veil_encfile_verify(t), 0);
    assert_int_equal(veil_encfile_size(t), 0);
    assert_int_equal(veil_encfile_version(t), 3);
    veil_encfile_free(t);
    unlink(path);
    before = write_two_versions(path, NULL, NULL);

    /* a change to most of the file is written as a new file instead */
    struct veil_encfile *f;
    uint8_t *buf = malloc(SIZE);
    test_fill(buf, SIZE, 9);
    assert_int_equal(veil_encfile_open(path, test_key, LOGICAL, VEIL_ENCFILE_WRITE, NULL, &f), 0);
    assert_int_equal(veil_encfile_pwrite(f, buf, SIZE, 0), SIZE);
    assert_int_equal(veil_encfile_flush(f), 0);
    veil_encfile_free(f);
    assert_int_equal(stat(path, &st), 0);
    assert_int_not_equal(st.st_ino, before);
    unlink(path);
    free(buf);
    free(journal);
    free(path);
}

/*
 * The states a crash can leave: the journal committed and the file at the old
 * bytes, at the old bytes with part of the journal applied (the header is
 * always last), or fully applied. Each open must finish the write-back.
 */
static void test_crash_states(void **state) {
    (void)state;
    char *path = test_path(dir, "aof"), *journal = journal_of(path);
    uint8_t *buf = malloc(SIZE + 5000), *old;
    size_t size, old_size, new_size, journal_size;
    uint8_t *jnl = kept_journal(path, journal, &old, &old_size, &journal_size), *new = test_read_bytes(path, &new_size);
    assert_true(new_size > old_size);

    for (int s = 0; s < 4; s++) {
        /* 0: nothing applied; 1: the first half of the data region; 2: all but the header; 3: all */
        uint8_t *img = malloc(new_size);
        size_t img_size = s == 3 ? new_size : old_size;
        memcpy(img, s == 3 ? new : old, img_size);
        if (s == 1) memcpy(img + ENCFILE_HEADER_SIZE, new + ENCFILE_HEADER_SIZE, old_size / 2);
        if (s == 2) {
            memcpy(img + ENCFILE_HEADER_SIZE, new + ENCFILE_HEADER_SIZE, new_size - ENCFILE_HEADER_SIZE);
            img_size = new_size;
        }
        test_write_bytes(path, img, img_size);
        test_write_bytes(journal, jnl, journal_size);
        if (s == 1 || s == 2) {
            /* without the journal the half-written file is refused, not read wrong */
            struct veil_encfile *f;
            int fd = open(path, O_RDONLY);
            int r = veil_encfile_open_fd(fd, test_key, LOGICAL, NULL, &f);
            if (r == 0) {
                r = veil_encfile_verify(f);
                veil_encfile_free(f);
            }
            close(fd);
            assert_true(r < 0);
        }
        assert_int_equal(check_version(path), 2);
        assert_int_equal(access(journal, F_OK), -1);
        free(img);
    }

    /* a stale journal (the file moved on to another genuine version): removed, the file untouched */
    contents(7, buf, &size);
    assert_int_equal(veil_encfile_store(path, test_key, LOGICAL, 7, buf, size, 0600), 0);
    test_write_bytes(journal, jnl, journal_size);
    assert_int_equal(check_version(path), 7);
    assert_int_equal(access(journal, F_OK), -1);

    /* the file is gone: nothing to finish, the journal goes too */
    unlink(path);
    test_write_bytes(journal, jnl, journal_size);
    assert_int_equal(veil_encfile_recover(path, test_key, LOGICAL), 0);
    assert_int_equal(access(journal, F_OK), -1);

    free(old);
    free(new);
    free(jnl);
    free(buf);
    free(journal);
    free(path);
}

/* Journals that do not authenticate are ignored and kept: torn, forged, another file's, or the wrong key. */
static void test_bad_journals(void **state) {
    (void)state;
    char *path = test_path(dir, "aof"), *journal = journal_of(path);
    uint8_t *buf = malloc(SIZE + 5000), *old;
    size_t size, old_size, journal_size;
    uint8_t *jnl = kept_journal(path, journal, &old, &old_size, &journal_size);

    for (int s = 0; s < 3; s++) {
        test_write_bytes(path, old, old_size);
        uint8_t *bad = malloc(journal_size);
        memcpy(bad, jnl, journal_size);
        size_t bad_size = journal_size;
        if (s == 0) bad_size -= 1000;             /* torn while it was written */
        if (s == 1) bad[journal_size / 2] ^= 1;   /* a flipped byte in a record */
        if (s == 2) bad[ENCFILE_JOURNAL_FIXED + 3] ^= 0x80; /* a record moved elsewhere */
        test_write_bytes(journal, bad, bad_size);
        assert_int_equal(check_version(path), 1); /* the file as it was: the old version, whole */
        assert_int_equal(access(journal, F_OK), 0); /* not ours to delete */
        free(bad);
    }

    /* another file's journal under this file's name */
    char *other = test_path(dir, "other");
    contents(1, buf, &size);
    assert_int_equal(veil_encfile_store(other, test_key, "/data/other", 1, buf, size, 0600), 0);
    char *other_journal = journal_of(other);
    test_write_bytes(other_journal, jnl, journal_size);
    assert_int_equal(veil_encfile_recover(other, test_key, "/data/other"), 0);
    assert_int_equal(access(other_journal, F_OK), 0);
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(other, test_key, "/data/other", VEIL_ENCFILE_READ, NULL, &f), 0);
    assert_int_equal(veil_encfile_verify(f), 0);
    veil_encfile_free(f);

    /* the wrong key: nothing happens; with the right one the write-back is finished */
    test_write_bytes(path, old, old_size);
    test_write_bytes(journal, jnl, journal_size);
    uint8_t wrong[VEIL_ENCFILE_KEY_SIZE];
    memset(wrong, 0x5a, sizeof(wrong));
    assert_int_equal(veil_encfile_recover(path, wrong, LOGICAL), 0);
    assert_int_equal(access(journal, F_OK), 0);
    assert_int_equal(check_version(path), 2);
    assert_int_equal(access(journal, F_OK), -1);

    /* a later in-place write-back replaces a journal left behind */
    test_write_bytes(journal, jnl, journal_size - 1000);
    assert_int_equal(veil_encfile_open(path, test_key, LOGICAL, VEIL_ENCFILE_WRITE, NULL, &f), 0);
    assert_int_equal(veil_encfile_pwrite(f, "x", 1, 5), 1);
    assert_int_equal(veil_encfile_flush(f), 0);
    veil_encfile_free(f);
    assert_int_equal(access(journal, F_OK), -1);

    unlink(other_journal);
    unlink(other);
    unlink(path);
    free(other_journal);
    free(other);
    free(old);
    free(jnl);
    free(buf);
    free(journal);
    free(path);
}

/* The file cannot grow (RLIMIT_FSIZE): the write-back fails before its commit; the old version stays, no journal. */
static void test_no_room(void **state) {
    (void)state;
    char *path = test_path(dir, "aof"), *journal = journal_of(path);
    uint8_t *buf = malloc(SIZE + 5000);
    size_t size;
    contents(1, buf, &size);
    assert_int_equal(veil_encfile_store(path, test_key, LOGICAL, 1, buf, size, 0600), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct veil_encfile *f;
        contents(2, buf, &size);
        if (veil_encfile_open(path, test_key, LOGICAL, VEIL_ENCFILE_WRITE, NULL, &f) < 0) _exit(10);
        if (veil_encfile_pwrite(f, buf + SIZE, 5000, SIZE) != 5000) _exit(11);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = { .rlim_cur = (rlim_t)st.st_size, .rlim_max = RLIM_INFINITY };
        if (setrlimit(RLIMIT_FSIZE, &lim) < 0) _exit(12);
        int r = veil_encfile_flush(f);
        if (r != -EFBIG) _exit(13); /* the limit's error; a full disk gives -ENOSPC at the same point */
        if (veil_encfile_version(f) != 1) _exit(14);
        lim.rlim_cur = RLIM_INFINITY;
        if (setrlimit(RLIMIT_FSIZE, &lim) < 0) _exit(15);
        if (veil_encfile_flush(f) < 0 || veil_encfile_version(f) != 2) _exit(16); /* the changes were kept */
        veil_encfile_free(f);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(access(journal, F_OK), -1);
    struct veil_encfile *f;
    assert_int_equal(veil_encfile_open(path, test_key, LOGICAL, VEIL_ENCFILE_READ, NULL, &f), 0);
    assert_int_equal(veil_encfile_verify(f), 0);
    assert_int_equal(veil_encfile_size(f), SIZE + 5000);
    veil_encfile_free(f);
    unlink(path);
    free(buf);
    free(journal);
    free(path);
}

/*
 * A journal of two records for a file of `length` bytes: 100 bytes at `at`,
 * and the 128-byte header at offset 0, first or last; sealed for path "/p".
 */
static void two_records(struct encfile_journal *j, uint64_t length, uint64_t at, bool header_last) {
    static const uint8_t file_id[VEIL_ENCFILE_FILE_ID_SIZE] = { 1 }, hdr[ENCFILE_HEADER_SIZE] = { 2 }, node[100] = { 3 };
    static const uint8_t hdr_key[32] = { 4 };
    assert_int_equal(encfile_journal_begin(j, file_id, length, hdr), 0);
    if (!header_last) assert_int_equal(encfile_journal_add(j, 0, hdr, sizeof(hdr)), 0);
    assert_int_equal(encfile_journal_add(j, at, node, sizeof(node)), 0);
    if (header_last) assert_int_equal(encfile_journal_add(j, 0, hdr, sizeof(hdr)), 0);
    assert_int_equal(encfile_journal_seal(j, hdr_key, "/p"), 0);
}

/* The parser's bounds: every record inside the new length, the header last and alone. */
static void test_parse_bounds(void **state) {
    (void)state;
    static const uint8_t hdr_key[32] = { 4 };
    struct encfile_journal j;
    struct encfile_journal_view v;
    two_records(&j, 1000, 500, true); /* good */
    assert_int_equal(encfile_journal_parse(j.data, j.size, &v), 0);
    assert_int_equal(v.count, 2);
    assert_int_equal(encfile_journal_check_mac(j.data, j.size, hdr_key, "/p"), 0);
    assert_int_equal(encfile_journal_check_mac(j.data, j.size, hdr_key, "/q"), -EACCES);
    assert_int_equal(encfile_journal_parse(j.data, j.size - 1, &v), -EBADMSG);
    encfile_journal_free(&j);
    const struct { uint64_t length, at; bool header_last; } bad[] = {
        { 550, 500, true },  /* a record past the new length */
        { 1000, 500, false }, /* the header not last */
        { 1000, 100, true },  /* a record over the header */
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        two_records(&j, bad[i].length, bad[i].at, bad[i].header_last);
        assert_int_equal(encfile_journal_parse(j.data, j.size, &v), -EBADMSG);
        encfile_journal_free(&j);
    }
    assert_int_equal(encfile_journal_add(&j, 0, "", 0), -EINVAL); /* an empty record */
    veil_err_clear();
}

static int setup(void **state) {
    (void)state;
    dir = test_dir_make("encfile-journal", 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    assert_int_equal(test_dir_count(dir, 0), 0);
    test_dir_remove(dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_crash_states),
        cmocka_unit_test(test_bad_journals),
        cmocka_unit_test(test_no_room),
        cmocka_unit_test(test_parse_bounds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
