/* SPDX-License-Identifier: Apache-2.0 */
/* execve and execveat: the executable and its interpreter are verified before the kernel loads them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "interp.h"
#include "procmem.h"
#include "request.h"
#include "trusted.h"

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

int veil_shield_verify_exec(struct veil_shield *s, const char *cwd, const char *path) {
    struct veil_shield_resolved p;
    struct veil_shield_resolver res = { .policy = s->o.policy, .readlink = veil_shield_disk_readlink, .ctx = s };
    int r = veil_shield_resolve(&res, cwd, path, true, &p);
    if (r < 0) return veil_err(r, "cannot resolve %s", path);
    veil_err_clear();
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
