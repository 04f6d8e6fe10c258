/* SPDX-License-Identifier: Apache-2.0 */
/* execve and execveat: the executable and its interpreter are verified before the kernel loads them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "interp.h"
#include "procmem.h"
#include "request.h"
#include "trusted.h"
#include "vault.h"

/* ---------------------------------------------------------------- exec */

/* The kernel opens the executable and its interpreter itself: verify both first. */
static int verify_executable(struct veil_shield *s, const char *base, pid_t pid, const struct veil_shield_resolved *p,
                             int depth) {
    const struct veil_shield_verdict *v = &p->verdict;
    switch (v->class) {
    case VEIL_SHIELD_PASSTHROUGH:
        return 0;
    case VEIL_SHIELD_TRUSTED:
        break;
    case VEIL_SHIELD_DENIED: {
        struct stat st;
        if (veil_shield_disk_lstat(s, p->path, &st) < 0) return -ENOENT;
        veil_log_info("denied exec of %s (pid %d): not in the manifest", p->path, pid);
        return -EACCES;
    }
    case VEIL_SHIELD_DIRECTORY:
        return -EACCES;
    default:
        /* the kernel would read ciphertext; run the interpreter with the script's path instead */
        veil_log_info("denied exec of %s: %s files cannot be executed directly", p->path,
                      veil_shield_class_name(v->class));
        return -EACCES;
    }
    uint8_t head[16384];
    size_t n;
    int r = veil_shield_trusted_check(s->trusted, p->path, p->path_size, v, head, sizeof(head), &n);
    if (r < 0) return r == -ENOENT ? -ENOENT : -EACCES;
    char interp[VEIL_SHIELD_INTERP_MAX];
    r = veil_shield_interpreter(head, n, interp, sizeof(interp));
    if (r == -ENOENT) return 0; /* a static ELF */
    if (r == -EBADMSG) {
        /* an ELF whose interpreter we cannot see would be loaded unverified: fail closed */
        if (n >= 4 && !memcmp(head, "\177ELF", 4)) {
            veil_log_error("refusing to exec %s: cannot find its program interpreter", p->path);
            return -EACCES;
        }
        return 0; /* not a format the kernel runs either */
    }
    if (r < 0) return r;
    if (depth >= 4) return -ELOOP;
    struct veil_shield_resolved ip;
    struct veil_shield_resolver res = { .policy = s->o.policy, .readlink = veil_shield_disk_readlink, .ctx = s };
    r = veil_shield_resolve(&res, base, interp, true, &ip);
    if (r < 0) return r;
    return verify_executable(s, base, pid, &ip, depth + 1);
}

/*
 * An encrypted entrypoint: the kernel cannot read it from disk, so it runs from
 * a sealed memory file holding its plaintext (fexecve). Its interpreter, a
 * trusted file the kernel opens itself, is verified as for any executable.
 */
static int exec_copy_of_encrypted(struct veil_shield *s, const char *cwd, const struct veil_shield_resolved *p,
                                  int *ret_fd) {
    const uint8_t *key = veil_shield_key_for(s, &p->verdict);
    if (!key) return veil_err(-EACCES, "no key '%s' for %s", p->verdict.key_name ? p->verdict.key_name : "?", p->path);
    struct stat st;
    int r = veil_shield_disk_lstat(s, p->path, &st);
    if (r < 0) return veil_err(r, "%s", p->path);
    if (!S_ISREG(st.st_mode)) return veil_err(-EACCES, "%s is not a regular file", p->path);
    if (!(st.st_mode & 0111)) return veil_err(-EACCES, "%s is not executable", p->path);
    _cleanup_close_ int plain = -1;
    veil_err_clear();
    r = veil_shield_vault_open(s->vault, p->path, key, O_RDONLY, 0, 0, 0, &plain);
    if (r < 0) return *veil_err_msg() ? r : veil_err(r, "cannot decrypt %s", p->path);
    uint8_t head[16384];
    ssize_t n = pread(plain, head, sizeof(head), 0);
    if (n < 0) return veil_err(-errno, "cannot read %s", p->path);
    bool script = n >= 2 && head[0] == '#' && head[1] == '!';
    /* a script's interpreter opens it as /dev/fd/N, so that descriptor must survive the exec */
    _cleanup_close_ int fd = veil_shield_exec_memfd(p->path, !script);
    if (fd < 0) return veil_err(fd, "cannot make a memory file for %s", p->path);
    for (off_t at = 0;;) {
        ssize_t k = sendfile(fd, plain, &at, 1 << 30);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return veil_err(-errno, "cannot copy %s", p->path);
        if (k == 0) break;
    }
    /* the file's owner and permissions, without set-id bits; then nothing can change it */
    if (fchown(fd, st.st_uid, st.st_gid) < 0 && geteuid() == 0) return veil_err(-errno, "cannot own the copy of %s", p->path);
    if (fchmod(fd, st.st_mode & 0777) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        return veil_err(-errno, "cannot seal the copy of %s", p->path);
    char interp[VEIL_SHIELD_INTERP_MAX];
    r = veil_shield_interpreter(head, (size_t)n, interp, sizeof(interp));
    if (r == -EBADMSG && n >= 4 && !memcmp(head, "\177ELF", 4))
        return veil_err(-EACCES, "cannot find the program interpreter of %s", p->path);
    if (r >= 0) {
        struct veil_shield_resolved ip;
        struct veil_shield_resolver res = { .policy = s->o.policy, .readlink = veil_shield_disk_readlink, .ctx = s };
        r = veil_shield_resolve(&res, cwd, interp, true, &ip);
        if (r >= 0) r = verify_executable(s, cwd, 0, &ip, 1);
        if (r < 0) return *veil_err_msg() ? r : veil_err(r, "the interpreter %s of %s", interp, p->path);
    }
    *ret_fd = TAKE_FD(fd);
    return 0;
}

int veil_shield_verify_exec(struct veil_shield *s, const char *cwd, const char *path, int *ret_exec_fd) {
    *ret_exec_fd = -1;
    struct veil_shield_resolved p;
    struct veil_shield_resolver res = { .policy = s->o.policy, .readlink = veil_shield_disk_readlink, .ctx = s };
    int r = veil_shield_resolve(&res, cwd, path, true, &p);
    if (r < 0) return veil_err(r, "cannot resolve %s", path);
    veil_err_clear();
    if (p.verdict.class == VEIL_SHIELD_ENCRYPTED) return exec_copy_of_encrypted(s, cwd, &p, ret_exec_fd);
    r = verify_executable(s, cwd, 0, &p, 0);
    if (r < 0 && !*veil_err_msg()) return veil_err(r, "%s", p.path);
    return r;
}

struct answer veil_shield_call_exec(const struct request *q, int dirfd, uint64_t path_addr, int flags) {
    struct veil_shield_resolved p;
    char probe[2];
    if ((flags & AT_EMPTY_PATH) && veil_shield_read_string(q->pid, path_addr, probe, sizeof(probe)) == 0 &&
        !probe[0])
        return answer_continue(); /* fexecve of a descriptor the app already holds */
    int r = veil_shield_resolve_arg(q, dirfd, path_addr, !(flags & AT_SYMLINK_NOFOLLOW), &p);
    if (r < 0) return answer_value(r);
    char base[VEIL_SHIELD_PATH_MAX];
    r = veil_shield_read_base(q, AT_FDCWD, base, sizeof(base));
    if (r < 0) return answer_value(r);
    r = verify_executable(q->s, base, q->pid, &p, 0);
    if (r < 0) return answer_value(r);
    return answer_continue();
}
