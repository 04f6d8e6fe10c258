/* SPDX-License-Identifier: Apache-2.0 */
/* Crash safety of flush and store: a failed or killed writer leaves the old version or the new one, never a mix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "base/err.h"
#include "helpers.h"

#define N VEIL_ENCFILE_NODE_SIZE
#define SIZE (24 * N + 99)
static char *dir;

/* Version v of the file holds SIZE bytes derived from v alone. */
static void version_contents(uint64_t v, uint8_t *out) {
    test_fill(out, SIZE, v * 7919 + 1);
}

/* The file must verify, and hold exactly the contents of the version its header names. */
static uint64_t check_consistent(const char *path) {
    struct veil_encfile *f;
    uint8_t *want = malloc(SIZE), *got = malloc(SIZE + 1);
    assert_int_equal(veil_encfile_open(path, test_key, "/c", VEIL_ENCFILE_READ, NULL, &f), 0);
    assert_int_equal(veil_encfile_verify(f), 0);
    uint64_t v = veil_encfile_version(f);
    version_contents(v, want);
    assert_int_equal(veil_encfile_pread(f, got, SIZE + 1, 0), SIZE);
    assert_memory_equal(got, want, SIZE);
    veil_encfile_free(f);
    free(want);
    free(got);
    return v;
}

/* A flush that fails half-way (the new file cannot grow: RLIMIT_FSIZE) keeps the old version. */
static void test_failed_flush(void **state) {
    (void)state;
    char *path = test_path(dir, "fail.enc");
    uint8_t *buf = malloc(SIZE);
    version_contents(1, buf);
    assert_int_equal(veil_encfile_store(path, test_key, "/c", 1, buf, SIZE, 0600), 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct veil_encfile *f;
        uint8_t *next = malloc(SIZE);
        version_contents(2, next);
        if (veil_encfile_open(path, test_key, "/c", VEIL_ENCFILE_WRITE, NULL, &f) < 0) _exit(10);
        if (veil_encfile_pwrite(f, next, SIZE, 0) != SIZE) _exit(11);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = { .rlim_cur = 5 * N, .rlim_max = RLIM_INFINITY };
        if (setrlimit(RLIMIT_FSIZE, &lim) < 0) _exit(12);
        int r = veil_encfile_flush(f);
        if (r != -EFBIG) _exit(13);
        if (veil_encfile_version(f) != 1) _exit(14);
        /* the old version is still there, whole */
        struct veil_encfile *g;
        uint8_t *old = malloc(SIZE), *got = malloc(SIZE);
        version_contents(1, old);
        if (veil_encfile_open(path, test_key, "/c", VEIL_ENCFILE_READ, NULL, &g) < 0) _exit(15);
        if (veil_encfile_pread(g, got, SIZE, 0) != SIZE || memcmp(got, old, SIZE)) _exit(16);
        veil_encfile_free(g);
        /* the handle kept its changes: with the limit lifted, the same flush succeeds */
        lim.rlim_cur = RLIM_INFINITY;
        if (setrlimit(RLIMIT_FSIZE, &lim) < 0) _exit(17);
        if (veil_encfile_flush(f) < 0 || veil_encfile_version(f) != 2) _exit(18);
        veil_encfile_free(f);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(check_consistent(path), 2);
    assert_int_equal(test_dir_count(dir, 1), 0); /* no temporary file left */

    /* the same for a whole-file store */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t *next = malloc(SIZE);
        version_contents(2, next);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = { .rlim_cur = 3 * N, .rlim_max = RLIM_INFINITY };
        if (setrlimit(RLIMIT_FSIZE, &lim) < 0) _exit(12);
        version_contents(3, next);
        _exit(veil_encfile_store(path, test_key, "/c", 3, next, SIZE, 0600) == -EFBIG ? 0 : 13);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(check_consistent(path), 2);
    assert_int_equal(test_dir_count(dir, 1), 0);
    free(buf);
    unlink(path);
    free(path);
}

/* Make the given system calls fail with EIO in this process from now on (a seccomp filter). */
static int fail_syscalls(const int *nrs, size_t count) {
    struct sock_filter prog[32];
    size_t n = 0;
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (size_t i = 0; i < count; i++) {
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 1);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO);
    }
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog fprog = { .len = (unsigned short)n, .filter = prog };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog);
}

/*
 * Deterministic failures at each step of the protocol: the new version is
 * written but fsync fails, or fsync succeeds but the rename fails. Either way
 * the old version stays, whole, and no temporary file is left.
 */
static void test_failure_before_rename(void **state) {
    (void)state;
#if defined(__x86_64__)
    static const int renames[] = { SYS_rename, SYS_renameat, SYS_renameat2 };
    static const int syncs[] = { SYS_fsync, SYS_fdatasync };
    const struct {
        const char *name;
        const int *nrs;
        size_t count;
    } steps[] = { { "rename", renames, ELEMENTSOF(renames) }, { "fsync", syncs, ELEMENTSOF(syncs) } };
    char *path = test_path(dir, "step.enc");
    uint8_t *buf = malloc(SIZE);
    for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
        version_contents(1, buf);
        assert_int_equal(veil_encfile_store(path, test_key, "/c", 1, buf, SIZE, 0600), 0);
        for (int whole = 0; whole < 2; whole++) {
            pid_t pid = fork();
            assert_true(pid >= 0);
            if (pid == 0) {
                uint8_t *next = malloc(SIZE);
                version_contents(2, next);
                struct veil_encfile *f = NULL;
                if (!whole) {
                    if (veil_encfile_open(path, test_key, "/c", VEIL_ENCFILE_WRITE, NULL, &f) < 0) _exit(10);
                    if (veil_encfile_pwrite(f, next, SIZE, 0) != SIZE) _exit(11);
                }
                if (fail_syscalls(steps[i].nrs, steps[i].count) < 0) _exit(12);
                int r = whole ? veil_encfile_store(path, test_key, "/c", 2, next, SIZE, 0600) : veil_encfile_flush(f);
                _exit(r == -EIO ? 0 : 13);
            }
            int status;
            assert_int_equal(waitpid(pid, &status, 0), pid);
            assert_true(WIFEXITED(status));
            if (WEXITSTATUS(status)) fail_msg("%s failure (%s): child exit %d", steps[i].name, whole ? "store" : "flush",
                                              WEXITSTATUS(status));
            assert_int_equal(check_consistent(path), 1);
            assert_int_equal(test_dir_count(dir, 1), 0);
        }
    }
    print_message("# fsync and rename failures: the old version stays, no temporary file\n");
    free(buf);
    unlink(path);
    free(path);
#else
    skip();
#endif
}

/* The version in the header, unauthenticated (a progress probe only). */
static uint64_t disk_version(const char *path) {
    struct veil_encfile_info info = { 0 };
    int fd = open(path, O_RDONLY);
    if (fd >= 0 && veil_encfile_peek(fd, &info) < 0) info.version = 0;
    if (fd >= 0) close(fd);
    return info.version;
}

/* A writer killed at random moments, mid-flush included: every time, one whole version is on disk. */
static void test_killed_writer(void **state) {
    (void)state;
    char *path = test_path(dir, "kill.enc");
    uint8_t *buf = malloc(SIZE);
    version_contents(1, buf);
    assert_int_equal(veil_encfile_store(path, test_key, "/c", 1, buf, SIZE, 0600), 0);
    uint64_t seed = 42, last = 1;
    unsigned rounds = 12, advanced = 0;
    for (unsigned round = 0; round < rounds; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            uint8_t *next = malloc(SIZE);
            struct veil_encfile *f;
            if (veil_encfile_open(path, test_key, "/c", VEIL_ENCFILE_WRITE, NULL, &f) < 0) _exit(10);
            for (;;) {
                uint64_t v = veil_encfile_version(f) + 1;
                version_contents(v, next);
                /* rewrite a varying part, as an application would */
                for (size_t at = 0; at < SIZE; at += N) {
                    size_t n = MIN((size_t)N, SIZE - at);
                    if (veil_encfile_pwrite(f, next + at, n, at) != (ssize_t)n) _exit(11);
                }
                if (veil_encfile_flush(f) < 0) _exit(12);
            }
        }
        if (round + 1 < rounds) {
            struct timespec ts = { 0, (long)(1 + test_rand(&seed) % 40) * 1000000L };
            nanosleep(&ts, NULL);
        } else
            /* the last round waits for progress, however loaded the machine: the test must see flushes land */
            for (int waited = 0; waited < 2000 && disk_version(path) < last + 2; waited++) {
                struct timespec ts = { 0, 5000000L };
                nanosleep(&ts, NULL);
            }
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        uint64_t v = check_consistent(path);
        assert_true(v >= last);
        if (v > last) advanced++;
        last = v;
    }
    print_message("# %u kills, versions reached %llu, %u rounds advanced\n", rounds, (unsigned long long)last, advanced);
    assert_true(advanced > 0);
    free(buf);
    unlink(path);
    free(path);
}

static int setup(void **state) {
    (void)state;
    /* a real filesystem (not tmpfs), where fsync and rename matter */
    dir = test_dir_make("encfile-crash", 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    test_dir_remove(dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_flush),
        cmocka_unit_test(test_failure_before_rename),
        cmocka_unit_test(test_killed_writer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
