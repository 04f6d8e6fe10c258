/* SPDX-License-Identifier: Apache-2.0 */
/* What every handler needs: the caller's paths resolved in the image root, its /proc entries, its credentials. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "procmem.h"
#include "request.h"

/* ---------------------------------------------------------------- credentials */

/*
 * Without CAP_SYS_PTRACE (a container's default) the kernel lets us read a
 * process's memory and its /proc links only when our credentials match its
 * own. For an application running as another user, each receiving thread
 * takes the application's real ids (process_vm_readv checks those) and, around
 * /proc look-ups, its file-system ids; the effective ids stay root's so files
 * can still be opened. Raw system calls: they change this thread only.
 */

void veil_shield_proc_access_begin(const struct veil_shield *s) {
    if (!s->o.switch_ids) return;
    syscall(SYS_setfsgid, s->o.app_gid);
    syscall(SYS_setfsuid, s->o.app_uid);
}

void veil_shield_proc_access_end(const struct veil_shield *s) {
    if (!s->o.switch_ids) return;
    syscall(SYS_setfsuid, 0);
    syscall(SYS_setfsgid, 0);
}

bool veil_shield_still_valid(const struct request *q) {
    uint64_t id = q->n->id;
    return ioctl(q->s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* ---------------------------------------------------------------- paths */

/* The application's view of a host path from /proc: strip the root, refuse what lies outside it. */
static int app_view_of_proc_link(const struct veil_shield *s, const char *link, char *out, size_t out_size) {
    char host[PATH_MAX];
    veil_shield_proc_access_begin(s);
    ssize_t n = readlink(link, host, sizeof(host) - 1);
    int err = errno;
    veil_shield_proc_access_end(s);
    if (n < 0) return err == ENOENT ? -EBADF : -err;
    host[n] = 0;
    if (host[0] != '/') return -ENOTDIR; /* pipe:, socket:, anon_inode: */
    static const char deleted[] = " (deleted)";
    size_t dl = sizeof(deleted) - 1;
    if ((size_t)n > dl && !strcmp(host + n - dl, deleted)) return -ENOENT;
    const char *rest = host;
    if (s->root_size) {
        if (strncmp(host, s->root, s->root_size) != 0 || (host[s->root_size] != '/' && host[s->root_size] != 0))
            return -EACCES; /* outside the image root: cannot happen without an escape */
        rest = host + s->root_size;
        if (!*rest) rest = "/";
    }
    if (strlen(rest) >= out_size) return -ENAMETOOLONG;
    strcpy(out, rest);
    return 0;
}

int veil_shield_read_base(const struct request *q, int dirfd, char *out, size_t out_size) {
    char link[64];
    if (dirfd == AT_FDCWD) snprintf(link, sizeof(link), "/proc/%d/cwd", q->pid);
    else if (dirfd < 0) return -EBADF;
    else snprintf(link, sizeof(link), "/proc/%d/fd/%d", q->pid, dirfd);
    return app_view_of_proc_link(q->s, link, out, out_size);
}

int veil_shield_disk_readlink(void *ctx, const char *path, char *buf, size_t size) {
    const struct veil_shield *s = ctx;
    ssize_t n = readlinkat(s->root_fd, path[1] ? path + 1 : ".", buf, size);
    if (n < 0) return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
    return (int)n;
}

/* Read the path argument, resolve it against the process's cwd or dirfd, classify it. */
int veil_shield_resolve_arg(const struct request *q, int dirfd, uint64_t addr, bool follow,
                       struct veil_shield_resolved *ret) {
    char path[VEIL_SHIELD_PATH_MAX];
    int r = veil_shield_read_string(q->pid, addr, path, sizeof(path));
    if (r < 0) return r;
    if (!path[0]) return -ENOENT;
    char base[VEIL_SHIELD_PATH_MAX] = "/";
    if (path[0] != '/') {
        r = veil_shield_read_base(q, dirfd, base, sizeof(base));
        if (r < 0) return r;
    }
    struct veil_shield_resolver res = { .policy = q->s->o.policy, .readlink = veil_shield_disk_readlink, .ctx = q->s };
    return veil_shield_resolve(&res, base, path, follow, ret);
}

int veil_shield_host_path(const struct veil_shield *s, const char *path, char *buf, size_t size) {
    int n = snprintf(buf, size, "%s%s", s->root, path);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* lstat of a normalised path on disk: 0, or -errno. */
int veil_shield_disk_lstat(const struct veil_shield *s, const char *path, struct stat *st) {
    return fstatat(s->root_fd, path[1] ? path + 1 : ".", st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

const uint8_t *veil_shield_key_for(const struct veil_shield *s, const struct veil_shield_verdict *v) {
    if (v->class == VEIL_SHIELD_EPHEMERAL) return s->o.ephemeral_key;
    if (!v->key_name || !s->o.key) return NULL;
    return s->o.key(s->o.key_ctx, v->key_name);
}

/* A refusal for a path the manifest does not know: ENOENT when it is not there at all. */
int64_t veil_shield_refuse_unknown(const struct request *q, const struct veil_shield_resolved *p, const char *what) {
    struct stat st;
    if (veil_shield_disk_lstat(q->s, p->path, &st) < 0) return -ENOENT;
    veil_log_info("denied %s of %s (pid %d): not in the manifest", what, p->path, q->pid);
    return -EACCES;
}
