/* SPDX-License-Identifier: Apache-2.0 */
/* A raw BPF seccomp filter: notify for the calls that name files or ask for durability, allow the rest. */
#include "filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/err.h"

#if defined(__x86_64__)
#define VEIL_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define VEIL_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "veil-run's seccomp filter knows x86_64 and aarch64 only"
#endif

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

/* Calls that name a file or ask for durability: the supervisor decides. */
static const long mediated[] = {
#ifdef __NR_open
    __NR_open, __NR_creat, __NR_stat, __NR_lstat, __NR_access, __NR_readlink, __NR_rename,
    __NR_unlink, __NR_mkdir, __NR_rmdir, __NR_link, __NR_symlink, __NR_chmod, __NR_chown,
    __NR_lchown,
#endif
    __NR_openat, __NR_openat2, __NR_faccessat, __NR_faccessat2, __NR_readlinkat,
    __NR_renameat, __NR_renameat2, __NR_unlinkat, __NR_mkdirat, __NR_linkat, __NR_symlinkat,
    __NR_truncate, __NR_fchmodat, __NR_fchmodat2, __NR_fchownat, __NR_execve, __NR_execveat,
    __NR_fsync, __NR_fdatasync, __NR_sync, __NR_syncfs, __NR_msync,
};

/* Calls that would bypass path mediation altogether: refused with an errno the app can handle. */
static const struct {
    long nr;
    int err;
} refused[] = {
    { __NR_open_by_handle_at, EPERM }, /* opens by inode handle, no path */
    { __NR_io_uring_setup, ENOSYS },   /* io_uring's openat/statx would not be seen; apps fall back */
    { __NR_chroot, EPERM },            /* would change what the supervisor resolves against */
#ifdef __NR_uselib
    { __NR_uselib, ENOSYS },
#endif
};

/* bind and connect cannot be told apart by family in BPF (the address is in memory): all go when asked */
static bool mediate_network;

void veil_shield_filter_mediate_network(void) {
    mediate_network = true;
}

int veil_shield_filter_is_mediated(long nr) {
    for (size_t i = 0; i < ELEMENTSOF(mediated); i++)
        if (mediated[i] == nr) return 1;
    return 0;
}

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + (n) * sizeof(__u64))

int veil_shield_filter_install(int *ret_listener) {
    struct sock_filter prog[128];
    size_t n = 0;

    /* A foreign ABI (i386, x32) would reach the same kernel with other numbers: kill it. */
    prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    prog[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, VEIL_AUDIT_ARCH, 1, 0);
    prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
    prog[n++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1);
    prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
    /*
     * fstatat/statx with AT_EMPTY_PATH act on a descriptor the app already holds
     * (glibc's fstat() is one of them, and it is hot): let them run natively.
     */
    static const long empty_path_ok[][2] = {
        { __NR_newfstatat, 3 }, /* flags are argument 3 */
        { __NR_statx, 2 },      /* flags are argument 2 */
    };
    for (size_t i = 0; i < ELEMENTSOF(empty_path_ok); i++) {
        prog[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)empty_path_ok[i][0], 0, 4);
        prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, (__u32)ARG_LO(empty_path_ok[i][1]));
        prog[n++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 0, 1);
        prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
        prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)); /* reload for the next test */
    }
    for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
        prog[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)refused[i].nr, 0, 1);
        prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (refused[i].err & SECCOMP_RET_DATA));
    }
    if (mediate_network) {
        static const long network[] = { __NR_bind, __NR_connect };
        for (size_t i = 0; i < ELEMENTSOF(network); i++) {
            prog[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)network[i], 0, 1);
            prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
        }
        /* TCP Fast Open connects inside sendto/sendmsg, without connect(): refused, so nothing bypasses the rules */
        static const long fastopen[][2] = { { __NR_sendto, 3 }, { __NR_sendmsg, 2 }, { __NR_sendmmsg, 3 } };
        for (size_t i = 0; i < ELEMENTSOF(fastopen); i++) {
            prog[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)fastopen[i][0], 0, 4);
            prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, (__u32)ARG_LO(fastopen[i][1]));
            prog[n++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, MSG_FASTOPEN, 0, 1);
            prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EOPNOTSUPP);
            prog[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)); /* reload for the next test */
        }
    }
    size_t count = ELEMENTSOF(mediated);
    for (size_t i = 0; i < count; i++) {
        /* jump forward to the shared NOTIFY return after the remaining comparisons */
        prog[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (__u32)mediated[i], (__u8)(count - i), 0);
    }
    prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    prog[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);

    struct sock_fprog fprog = { .len = (unsigned short)n, .filter = prog };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return veil_err(-errno, "cannot set no_new_privs");
    long fd = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
    if (fd < 0) return veil_err(-errno, "cannot install the seccomp filter");
    *ret_listener = (int)fd;
    return 0;
}
