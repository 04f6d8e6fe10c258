/* SPDX-License-Identifier: Apache-2.0 */
/* The notification loop and one handler per kind of call: continue, refuse, emulate or inject a descriptor. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "interp.h"
#include "procmem.h"
#include "resolve.h"
#include "trusted.h"
#include "vault.h"

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

struct veil_shield {
    struct veil_shield_options o;
    char root[PATH_MAX]; /* canonical host path, no trailing '/' ("" for "/") */
    size_t root_size;
    int root_fd;
    int listener;
    struct veil_shield_trusted *trusted;
    struct veil_shield_vault *vault;
    struct seccomp_notif_sizes sizes;
    atomic_uint_fast64_t notifications;
};

/* What to answer. */
enum verdict_kind { ANSWER_CONTINUE, ANSWER_VALUE, ANSWER_FD, ANSWER_NONE };
struct answer {
    enum verdict_kind kind;
    int64_t value; /* ANSWER_VALUE: >= 0 result or -errno */
    int fd;        /* ANSWER_FD: supervisor's fd to inject (closed after) */
    bool cloexec;
};

static struct answer answer_continue(void) {
    return (struct answer){ .kind = ANSWER_CONTINUE };
}
static struct answer answer_value(int64_t v) {
    return (struct answer){ .kind = ANSWER_VALUE, .value = v };
}
static struct answer answer_fd(int fd, bool cloexec) {
    return (struct answer){ .kind = ANSWER_FD, .fd = fd, .cloexec = cloexec };
}

struct request {
    struct veil_shield *s;
    struct seccomp_notif *n;
    pid_t pid;
};

static uint64_t arg(const struct request *q, int i) {
    return q->n->data.args[i];
}

static bool still_valid(const struct request *q) {
    uint64_t id = q->n->id;
    return ioctl(q->s->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* ---------------------------------------------------------------- credentials */

/*
 * Without CAP_SYS_PTRACE (a container's default) the kernel lets us read a
 * process's memory and its /proc links only when our credentials match its
 * own. For an application running as another user, each receiving thread
 * takes the application's real ids (process_vm_readv checks those) and, around
 * /proc look-ups, its file-system ids; the effective ids stay root's so files
 * can still be opened. Raw system calls: they change this thread only.
 */
static void thread_take_app_ids(const struct veil_shield *s) {
    if (!s->o.switch_ids) return;
    if (syscall(SYS_setresgid, s->o.app_gid, -1, -1) < 0 || syscall(SYS_setresuid, s->o.app_uid, -1, -1) < 0)
        veil_log_warning("cannot take the application's ids: %m");
}

static void proc_access_begin(const struct veil_shield *s) {
    if (!s->o.switch_ids) return;
    syscall(SYS_setfsgid, s->o.app_gid);
    syscall(SYS_setfsuid, s->o.app_uid);
}

static void proc_access_end(const struct veil_shield *s) {
    if (!s->o.switch_ids) return;
    syscall(SYS_setfsuid, 0);
    syscall(SYS_setfsgid, 0);
}

/* ---------------------------------------------------------------- paths */

/* The application's view of a host path from /proc: strip the root, refuse what lies outside it. */
static int app_view_of_proc_link(const struct veil_shield *s, const char *link, char *out, size_t out_size) {
    char host[PATH_MAX];
    proc_access_begin(s);
    ssize_t n = readlink(link, host, sizeof(host) - 1);
    int err = errno;
    proc_access_end(s);
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

static int read_base(const struct request *q, int dirfd, char *out, size_t out_size) {
    char link[64];
    if (dirfd == AT_FDCWD) snprintf(link, sizeof(link), "/proc/%d/cwd", q->pid);
    else if (dirfd < 0) return -EBADF;
    else snprintf(link, sizeof(link), "/proc/%d/fd/%d", q->pid, dirfd);
    return app_view_of_proc_link(q->s, link, out, out_size);
}

static int disk_readlink(void *ctx, const char *path, char *buf, size_t size) {
    const struct veil_shield *s = ctx;
    ssize_t n = readlinkat(s->root_fd, path[1] ? path + 1 : ".", buf, size);
    if (n < 0) return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
    return (int)n;
}

/* Read the path argument, resolve it against the process's cwd or dirfd, classify it. */
static int resolve_arg(const struct request *q, int dirfd, uint64_t addr, bool follow,
                       struct veil_shield_resolved *ret) {
    char path[VEIL_SHIELD_PATH_MAX];
    int r = veil_shield_read_string(q->pid, addr, path, sizeof(path));
    if (r < 0) return r;
    if (!path[0]) return -ENOENT;
    char base[VEIL_SHIELD_PATH_MAX] = "/";
    if (path[0] != '/') {
        r = read_base(q, dirfd, base, sizeof(base));
        if (r < 0) return r;
    }
    struct veil_shield_resolver res = { .policy = q->s->o.policy, .readlink = disk_readlink, .ctx = q->s };
    return veil_shield_resolve(&res, base, path, follow, ret);
}

static int host_path(const struct veil_shield *s, const char *path, char *buf, size_t size) {
    int n = snprintf(buf, size, "%s%s", s->root, path);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* lstat of a normalised path on disk: 0, or -errno. */
static int disk_lstat(const struct veil_shield *s, const char *path, struct stat *st) {
    return fstatat(s->root_fd, path[1] ? path + 1 : ".", st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static bool is_encrypted_class(enum veil_shield_class c) {
    return c == VEIL_SHIELD_ENCRYPTED || c == VEIL_SHIELD_EPHEMERAL;
}

static const uint8_t *key_for(const struct veil_shield *s, const struct veil_shield_verdict *v) {
    if (v->class == VEIL_SHIELD_EPHEMERAL) return s->o.ephemeral_key;
    if (!v->key_name || !s->o.key) return NULL;
    return s->o.key(s->o.key_ctx, v->key_name);
}

/* A refusal for a path the manifest does not know: ENOENT when it is not there at all. */
static int64_t refuse_unknown(const struct request *q, const struct veil_shield_resolved *p, const char *what) {
    struct stat st;
    if (disk_lstat(q->s, p->path, &st) < 0) return -ENOENT;
    veil_log_info("denied %s of %s (pid %d): not in the manifest", what, p->path, q->pid);
    return -EACCES;
}

/* ---------------------------------------------------------------- permissions */

/*
 * The supervisor opens files as root on the application's behalf, so the
 * image's permission bits are checked here, as the kernel would, for an
 * application that is not root (it has no supplementary groups: the child
 * drops them). Root applications pass, as with CAP_DAC_OVERRIDE.
 */
static bool dac_allows(const struct veil_shield *s, uid_t uid, gid_t gid, mode_t mode, int want) {
    if (!s->o.switch_ids || s->o.app_uid == 0) return true;
    unsigned bits = s->o.app_uid == uid ? (mode >> 6) & 7 : s->o.app_gid == gid ? (mode >> 3) & 7 : mode & 7;
    return (bits & (unsigned)want) == (unsigned)want;
}

static int open_want(int flags) {
    int acc = flags & O_ACCMODE;
    int want = acc == O_RDONLY ? 4 : acc == O_WRONLY ? 2 : 6;
    if (flags & O_TRUNC) want |= 2;
    return want;
}

/* May the application create a name in the directory of `path` (write and search on the parent)? */
static bool may_create_in_parent(const struct veil_shield *s, const char *path) {
    if (!s->o.switch_ids || s->o.app_uid == 0) return true;
    char parent[VEIL_SHIELD_PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", path);
    char *slash = strrchr(parent, '/');
    if (!slash) return false;
    if (slash == parent) slash[1] = 0;
    else *slash = 0;
    struct stat st;
    if (fstatat(s->root_fd, parent[1] ? parent + 1 : ".", &st, 0) < 0) return true; /* the create fails anyway */
    return dac_allows(s, st.st_uid, st.st_gid, st.st_mode, 3);
}

/* ---------------------------------------------------------------- open */

/* The process's umask, as the kernel would apply it to a file it creates (0022 when unknown). */
static mode_t process_umask(const struct veil_shield *s, pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    proc_access_begin(s);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    proc_access_end(s);
    if (fd < 0) return 022;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0) return 022;
    buf[n] = 0;
    const char *u = strstr(buf, "\nUmask:\t");
    if (!u) return 022;
    return (mode_t)strtoul(u + 8, NULL, 8) & 0777;
}

static int secret_fd(const struct veil_shield_verdict *v, int *ret) {
    _cleanup_close_ int memfd = memfd_create("veil:secret", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (memfd < 0) return -errno;
    if (v->secret_size && veil_write_all(memfd, v->secret, v->secret_size) < 0) return -EIO;
    if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) return -errno;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", memfd);
    int fd = open(proc, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    *ret = fd;
    return 0;
}

static struct answer do_open(const struct request *q, int dirfd, uint64_t path_addr, int flags, mode_t mode) {
    struct veil_shield *s = q->s;
    if (flags & O_PATH) return answer_continue(); /* no contents through an O_PATH descriptor */
    bool creating_excl = (flags & O_CREAT) && (flags & O_EXCL);
    bool follow = !(flags & O_NOFOLLOW) && !creating_excl;
    struct veil_shield_resolved p;
    int r = resolve_arg(q, dirfd, path_addr, follow, &p);
    if (r < 0) return answer_value(r);
    if (!still_valid(q)) return (struct answer){ .kind = ANSWER_NONE };

    bool writing = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    bool cloexec = flags & O_CLOEXEC;
    const struct veil_shield_verdict *v = &p.verdict;
    switch (v->class) {
    case VEIL_SHIELD_PASSTHROUGH:
    case VEIL_SHIELD_DIRECTORY:
        return answer_continue();
    case VEIL_SHIELD_SYMLINK:
        /* only reached with O_NOFOLLOW or O_CREAT|O_EXCL */
        return answer_value(creating_excl ? -EEXIST : -ELOOP);
    case VEIL_SHIELD_TRUSTED: {
        if (creating_excl) return answer_value(-EEXIST);
        if (flags & O_DIRECTORY) return answer_value(-ENOTDIR);
        if (writing) return answer_value(-EROFS);
        int fd = -1;
        r = veil_shield_trusted_open(s->trusted, p.path, p.path_size, v, &fd);
        if (r < 0) return answer_value(r == -ENOENT ? -ENOENT : -EACCES);
        return answer_fd(fd, cloexec);
    }
    case VEIL_SHIELD_SECRET: {
        if (creating_excl) return answer_value(-EEXIST);
        if (writing) return answer_value(-EROFS);
        int fd = -1;
        r = secret_fd(v, &fd);
        return r < 0 ? answer_value(r) : answer_fd(fd, cloexec);
    }
    case VEIL_SHIELD_ENCRYPTED:
    case VEIL_SHIELD_EPHEMERAL: {
        struct stat st;
        r = disk_lstat(s, p.path, &st);
        if (r == 0 && !S_ISREG(st.st_mode)) {
            if (S_ISLNK(st.st_mode)) return answer_value(creating_excl ? -EEXIST : -ELOOP);
            if (creating_excl) return answer_value(-EEXIST);
            return answer_continue(); /* directories, fifos, sockets: nothing to decrypt */
        }
        if (r == 0 && (flags & O_DIRECTORY)) return answer_value(-ENOTDIR);
        if (r < 0 && r != -ENOENT) return answer_value(r);
        if (r == -ENOENT && !(flags & O_CREAT)) return answer_value(-ENOENT);
        if (r == -ENOENT && p.must_be_dir) return answer_value(-EISDIR);
        if (r == 0 && !dac_allows(s, st.st_uid, st.st_gid, st.st_mode, open_want(flags))) return answer_value(-EACCES);
        if (r == -ENOENT && !may_create_in_parent(s, p.path)) return answer_value(-EACCES);
        if (flags & O_TMPFILE) return answer_value(-EOPNOTSUPP);
        const uint8_t *key = key_for(s, v);
        if (!key) {
            veil_log_error("no key '%s' for %s", v->key_name ? v->key_name : "?", p.path);
            return answer_value(-EACCES);
        }
        int fd = -1;
        if (flags & O_CREAT) mode &= ~process_umask(s, q->pid);
        r = veil_shield_vault_open(s->vault, p.path, key, flags, mode, s->o.switch_ids ? s->o.app_uid : 0,
                                   s->o.switch_ids ? s->o.app_gid : 0, &fd);
        if (r < 0) return answer_value(r);
        return answer_fd(fd, cloexec);
    }
    case VEIL_SHIELD_DENIED:
    default:
        if (flags & O_CREAT) {
            struct stat st;
            if (disk_lstat(s, p.path, &st) < 0) {
                veil_log_info("denied creating %s (pid %d): not a writable path of the manifest", p.path, q->pid);
                return answer_value(-EACCES);
            }
        }
        return answer_value(refuse_unknown(q, &p, "open"));
    }
}

static struct answer on_openat2(const struct request *q) {
    struct open_how how = { 0 };
    size_t size = (size_t)arg(q, 3);
    if (size < sizeof(uint64_t) * 3) return answer_value(-EINVAL);
    int r = veil_shield_read_mem(q->pid, arg(q, 2), &how, sizeof(how));
    if (r < 0) return answer_value(r);
    if (how.resolve & ~(uint64_t)(RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV))
        return answer_value(-EOPNOTSUPP); /* BENEATH/IN_ROOT would need the kernel's view of dirfd */
    int flags = (int)how.flags;
    if (how.resolve & RESOLVE_NO_SYMLINKS) flags |= O_NOFOLLOW;
    return do_open(q, (int)arg(q, 0), arg(q, 1), flags, (mode_t)how.mode);
}

/* ---------------------------------------------------------------- stat family */

/* For an encrypted regular file: the disk's metadata with the plaintext size. */
static int encrypted_size(const struct request *q, const struct veil_shield_resolved *p, uint64_t *ret) {
    const uint8_t *key = key_for(q->s, &p->verdict);
    if (!key) return -EACCES;
    int r = veil_shield_vault_size(q->s->vault, p->path, key, ret);
    if (r < 0 && r != -ENOENT) veil_log_error("refusing encrypted file %s: %s", p->path, veil_err_describe(r));
    return r == -ENOENT ? r : r < 0 ? -EACCES : 0;
}

static struct answer do_stat(const struct request *q, int dirfd, uint64_t path_addr, bool follow, uint64_t buf,
                             bool is_statx, unsigned statx_mask, int statx_flags) {
    struct veil_shield_resolved p;
    int r = resolve_arg(q, dirfd, path_addr, follow, &p);
    if (r < 0) return answer_value(r);
    if (!is_encrypted_class(p.verdict.class)) return answer_continue();
    struct stat st;
    r = disk_lstat(q->s, p.path, &st);
    if (r < 0 || !S_ISREG(st.st_mode)) return answer_continue();
    uint64_t size;
    r = encrypted_size(q, &p, &size);
    if (r < 0) return answer_value(r);
    char hp[PATH_MAX];
    r = host_path(q->s, p.path, hp, sizeof(hp));
    if (r < 0) return answer_value(r);
    if (!still_valid(q)) return (struct answer){ .kind = ANSWER_NONE };
    if (is_statx) {
        struct statx stx;
        int f = (statx_flags & (AT_STATX_SYNC_TYPE | AT_NO_AUTOMOUNT)) | AT_SYMLINK_NOFOLLOW;
        if (statx(AT_FDCWD, hp, f, statx_mask, &stx) < 0) return answer_value(-errno);
        stx.stx_size = size;
        stx.stx_blocks = (size + 511) / 512;
        r = veil_shield_write_mem(q->pid, buf, &stx, sizeof(stx));
    } else {
        if (lstat(hp, &st) < 0) return answer_value(-errno);
        st.st_size = (off_t)size;
        st.st_blocks = (blkcnt_t)((size + 511) / 512);
        r = veil_shield_write_mem(q->pid, buf, &st, sizeof(st));
    }
    return answer_value(r < 0 ? -EFAULT : 0);
}

/* ---------------------------------------------------------------- namespace changes */

/* The common answer for calls that change a name: allowed where the app may write. */
static int64_t may_change(const struct request *q, const struct veil_shield_resolved *p, const char *what) {
    switch (p->verdict.class) {
    case VEIL_SHIELD_PASSTHROUGH:
    case VEIL_SHIELD_ENCRYPTED:
    case VEIL_SHIELD_EPHEMERAL:
        return 0;
    case VEIL_SHIELD_DENIED: {
        struct stat st;
        bool creates = !strcmp(what, "mkdir") || !strcmp(what, "symlink") || !strcmp(what, "rename");
        if (!creates && disk_lstat(q->s, p->path, &st) < 0) return -ENOENT;
        veil_log_info("denied %s of %s (pid %d): not a writable path of the manifest", what, p->path, q->pid);
        return -EACCES;
    }
    default:
        return -EROFS; /* the image's own files and directories are read-only */
    }
}

static struct answer on_unlink(const struct request *q, int dirfd, uint64_t path_addr, bool dir) {
    struct veil_shield_resolved p;
    int r = resolve_arg(q, dirfd, path_addr, false, &p);
    if (r < 0) return answer_value(r);
    int64_t v = may_change(q, &p, dir ? "rmdir" : "unlink");
    if (v < 0) return answer_value(v);
    if (!dir && is_encrypted_class(p.verdict.class)) veil_shield_vault_forget(q->s->vault, p.path);
    return answer_continue();
}

static struct answer on_create_name(const struct request *q, int dirfd, uint64_t path_addr, const char *what) {
    struct veil_shield_resolved p;
    int r = resolve_arg(q, dirfd, path_addr, false, &p);
    if (r < 0) return answer_value(r);
    if (p.verdict.class == VEIL_SHIELD_DIRECTORY || p.verdict.class == VEIL_SHIELD_TRUSTED ||
        p.verdict.class == VEIL_SHIELD_SYMLINK)
        return answer_value(-EEXIST);
    int64_t v = may_change(q, &p, what);
    return v < 0 ? answer_value(v) : answer_continue();
}

static struct answer on_rename(const struct request *q, int olddir, uint64_t old_addr, int newdir, uint64_t new_addr,
                               unsigned flags) {
    struct veil_shield_resolved from, to;
    int r = resolve_arg(q, olddir, old_addr, false, &from);
    if (r < 0) return answer_value(r);
    r = resolve_arg(q, newdir, new_addr, false, &to);
    if (r < 0) return answer_value(r);
    int64_t v = may_change(q, &from, "rename");
    if (v == 0) v = may_change(q, &to, "rename");
    if (v < 0) return answer_value(v);
    enum veil_shield_class a = from.verdict.class, b = to.verdict.class;
    if (a == VEIL_SHIELD_PASSTHROUGH && b == VEIL_SHIELD_PASSTHROUGH) return answer_continue();
    if (!is_encrypted_class(a) || !is_encrypted_class(b)) return answer_value(-EXDEV);
    if (flags & ~(unsigned)RENAME_NOREPLACE) return answer_value(-EINVAL); /* EXCHANGE, WHITEOUT */
    const uint8_t *ka = key_for(q->s, &from.verdict), *kb = key_for(q->s, &to.verdict);
    if (!ka || !kb) return answer_value(-EACCES);
    if (!still_valid(q)) return (struct answer){ .kind = ANSWER_NONE };
    r = veil_shield_vault_rename(q->s->vault, from.path, ka, to.path, kb, flags);
    return answer_value(r);
}

static struct answer on_link(const struct request *q, int olddir, uint64_t old_addr, int newdir, uint64_t new_addr,
                             int flags) {
    struct veil_shield_resolved from, to;
    int r = resolve_arg(q, olddir, old_addr, flags & AT_SYMLINK_FOLLOW, &from);
    if (r < 0) return answer_value(r);
    r = resolve_arg(q, newdir, new_addr, false, &to);
    if (r < 0) return answer_value(r);
    if (from.verdict.class == VEIL_SHIELD_PASSTHROUGH && to.verdict.class == VEIL_SHIELD_PASSTHROUGH)
        return answer_continue();
    /* an encrypted file is bound to one path: a second name could not decrypt it */
    int64_t v = may_change(q, &to, "link");
    return answer_value(v < 0 ? v : -EPERM);
}

static struct answer on_truncate(const struct request *q, uint64_t path_addr, int64_t length) {
    struct veil_shield_resolved p;
    int r = resolve_arg(q, AT_FDCWD, path_addr, true, &p);
    if (r < 0) return answer_value(r);
    int64_t v = may_change(q, &p, "truncate");
    if (v < 0) return answer_value(v);
    if (!is_encrypted_class(p.verdict.class)) return answer_continue();
    if (length < 0) return answer_value(-EINVAL);
    struct stat st;
    r = disk_lstat(q->s, p.path, &st);
    if (r < 0) return answer_value(r);
    if (S_ISDIR(st.st_mode)) return answer_value(-EISDIR);
    const uint8_t *key = key_for(q->s, &p.verdict);
    if (!key) return answer_value(-EACCES);
    return answer_value(veil_shield_vault_truncate(q->s->vault, p.path, key, (uint64_t)length));
}

static struct answer on_metadata(const struct request *q, int dirfd, uint64_t path_addr, bool follow) {
    struct veil_shield_resolved p;
    int r = resolve_arg(q, dirfd, path_addr, follow, &p);
    if (r < 0) return answer_value(r);
    int64_t v = may_change(q, &p, "chmod/chown");
    return v < 0 ? answer_value(v) : answer_continue();
}

static struct answer on_access(const struct request *q, int dirfd, uint64_t path_addr, int mode, int flags) {
    struct veil_shield_resolved p;
    int r = resolve_arg(q, dirfd, path_addr, !(flags & AT_SYMLINK_NOFOLLOW), &p);
    if (r < 0) return answer_value(r);
    enum veil_shield_class c = p.verdict.class;
    if ((mode & W_OK) && (c == VEIL_SHIELD_TRUSTED || c == VEIL_SHIELD_SECRET || c == VEIL_SHIELD_DIRECTORY))
        return answer_value(-EROFS);
    if (c == VEIL_SHIELD_SECRET) return answer_value(0);
    return answer_continue();
}

static struct answer on_readlink(const struct request *q, int dirfd, uint64_t path_addr, uint64_t buf,
                                 uint64_t size) {
    struct veil_shield_resolved p;
    int r = resolve_arg(q, dirfd, path_addr, false, &p);
    if (r < 0) return answer_value(r);
    if (p.verdict.class != VEIL_SHIELD_SYMLINK) return answer_continue();
    /* the manifest's target, not whatever the host's disk now says */
    if ((int64_t)size <= 0) return answer_value(-EINVAL);
    size_t n = MIN(strlen(p.verdict.target), (size_t)size);
    r = veil_shield_write_mem(q->pid, buf, p.verdict.target, n);
    return answer_value(r < 0 ? -EFAULT : (int64_t)n);
}

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
        if (disk_lstat(s, p->path, &st) < 0) return -ENOENT;
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
    struct veil_shield_resolver res = { .policy = s->o.policy, .readlink = disk_readlink, .ctx = s };
    r = veil_shield_resolve(&res, base, interp, true, &ip);
    if (r < 0) return r;
    return verify_executable(s, base, pid, &ip, depth + 1);
}

int veil_shield_verify_exec(struct veil_shield *s, const char *cwd, const char *path) {
    struct veil_shield_resolved p;
    struct veil_shield_resolver res = { .policy = s->o.policy, .readlink = disk_readlink, .ctx = s };
    int r = veil_shield_resolve(&res, cwd, path, true, &p);
    if (r < 0) return veil_err(r, "cannot resolve %s", path);
    veil_err_clear();
    r = verify_executable(s, cwd, 0, &p, 0);
    if (r < 0 && !*veil_err_msg()) return veil_err(r, "%s", p.path);
    return r;
}

static struct answer on_exec(const struct request *q, int dirfd, uint64_t path_addr, int flags) {
    struct veil_shield_resolved p;
    char probe[2];
    if ((flags & AT_EMPTY_PATH) && veil_shield_read_string(q->pid, path_addr, probe, sizeof(probe)) == 0 &&
        !probe[0])
        return answer_continue(); /* fexecve of a descriptor the app already holds */
    int r = resolve_arg(q, dirfd, path_addr, !(flags & AT_SYMLINK_NOFOLLOW), &p);
    if (r < 0) return answer_value(r);
    char base[VEIL_SHIELD_PATH_MAX];
    r = read_base(q, AT_FDCWD, base, sizeof(base));
    if (r < 0) return answer_value(r);
    r = verify_executable(q->s, base, q->pid, &p, 0);
    if (r < 0) return answer_value(r);
    return answer_continue();
}

/* ---------------------------------------------------------------- durability */

static struct answer on_fsync(const struct request *q, int fd) {
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/fd/%d", q->pid, fd);
    struct stat st;
    proc_access_begin(q->s);
    int r = stat(link, &st);
    proc_access_end(q->s);
    if (r < 0) return answer_continue(); /* let the kernel say EBADF */
    r = veil_shield_vault_sync_inode(q->s->vault, st.st_dev, st.st_ino);
    if (r == -ENOENT) return answer_continue();
    return answer_value(r < 0 ? -EIO : 0);
}

static struct answer on_sync_all(const struct request *q, bool force) {
    int r = veil_shield_vault_flush(q->s->vault, force);
    if (r < 0) veil_log_warning("writeback failed: %s", veil_err_describe(r));
    return answer_continue();
}

/* ---------------------------------------------------------------- dispatch */

static struct answer dispatch(const struct request *q) {
    int nr = q->n->data.nr;
    switch (nr) {
#ifdef __NR_open
    case __NR_open:
        return do_open(q, AT_FDCWD, arg(q, 0), (int)arg(q, 1), (mode_t)arg(q, 2));
    case __NR_creat:
        return do_open(q, AT_FDCWD, arg(q, 0), O_CREAT | O_WRONLY | O_TRUNC, (mode_t)arg(q, 1));
    case __NR_stat:
        return do_stat(q, AT_FDCWD, arg(q, 0), true, arg(q, 1), false, 0, 0);
    case __NR_lstat:
        return do_stat(q, AT_FDCWD, arg(q, 0), false, arg(q, 1), false, 0, 0);
    case __NR_access:
        return on_access(q, AT_FDCWD, arg(q, 0), (int)arg(q, 1), 0);
    case __NR_readlink:
        return on_readlink(q, AT_FDCWD, arg(q, 0), arg(q, 1), arg(q, 2));
    case __NR_rename:
        return on_rename(q, AT_FDCWD, arg(q, 0), AT_FDCWD, arg(q, 1), 0);
    case __NR_unlink:
        return on_unlink(q, AT_FDCWD, arg(q, 0), false);
    case __NR_rmdir:
        return on_unlink(q, AT_FDCWD, arg(q, 0), true);
    case __NR_mkdir:
        return on_create_name(q, AT_FDCWD, arg(q, 0), "mkdir");
    case __NR_link:
        return on_link(q, AT_FDCWD, arg(q, 0), AT_FDCWD, arg(q, 1), 0);
    case __NR_symlink:
        return on_create_name(q, AT_FDCWD, arg(q, 1), "symlink");
    case __NR_chmod:
    case __NR_chown:
        return on_metadata(q, AT_FDCWD, arg(q, 0), true);
    case __NR_lchown:
        return on_metadata(q, AT_FDCWD, arg(q, 0), false);
#endif
    case __NR_openat:
        return do_open(q, (int)arg(q, 0), arg(q, 1), (int)arg(q, 2), (mode_t)arg(q, 3));
    case __NR_openat2:
        return on_openat2(q);
    case __NR_newfstatat:
        return do_stat(q, (int)arg(q, 0), arg(q, 1), !((int)arg(q, 3) & AT_SYMLINK_NOFOLLOW), arg(q, 2), false, 0, 0);
    case __NR_statx:
        return do_stat(q, (int)arg(q, 0), arg(q, 1), !((int)arg(q, 2) & AT_SYMLINK_NOFOLLOW), arg(q, 4), true,
                       (unsigned)arg(q, 3), (int)arg(q, 2));
    case __NR_faccessat:
        return on_access(q, (int)arg(q, 0), arg(q, 1), (int)arg(q, 2), 0);
    case __NR_faccessat2:
        return on_access(q, (int)arg(q, 0), arg(q, 1), (int)arg(q, 2), (int)arg(q, 3));
    case __NR_readlinkat:
        return on_readlink(q, (int)arg(q, 0), arg(q, 1), arg(q, 2), arg(q, 3));
    case __NR_renameat:
        return on_rename(q, (int)arg(q, 0), arg(q, 1), (int)arg(q, 2), arg(q, 3), 0);
    case __NR_renameat2:
        return on_rename(q, (int)arg(q, 0), arg(q, 1), (int)arg(q, 2), arg(q, 3), (unsigned)arg(q, 4));
    case __NR_unlinkat:
        return on_unlink(q, (int)arg(q, 0), arg(q, 1), (int)arg(q, 2) & AT_REMOVEDIR);
    case __NR_mkdirat:
        return on_create_name(q, (int)arg(q, 0), arg(q, 1), "mkdir");
    case __NR_linkat:
        return on_link(q, (int)arg(q, 0), arg(q, 1), (int)arg(q, 2), arg(q, 3), (int)arg(q, 4));
    case __NR_symlinkat:
        return on_create_name(q, (int)arg(q, 1), arg(q, 2), "symlink");
    case __NR_truncate:
        return on_truncate(q, arg(q, 0), (int64_t)arg(q, 1));
    case __NR_fchmodat:
        return on_metadata(q, (int)arg(q, 0), arg(q, 1), true);
    case __NR_fchmodat2:
    case __NR_fchownat: {
        int flags = (int)arg(q, nr == __NR_fchownat ? 4 : 3);
        if ((flags & AT_EMPTY_PATH)) {
            char probe[2];
            if (veil_shield_read_string(q->pid, arg(q, 1), probe, sizeof(probe)) == 0 && !probe[0])
                return answer_continue(); /* fchown/fchmod of a held descriptor */
        }
        return on_metadata(q, (int)arg(q, 0), arg(q, 1), !(flags & AT_SYMLINK_NOFOLLOW));
    }
    case __NR_execve:
        return on_exec(q, AT_FDCWD, arg(q, 0), 0);
    case __NR_execveat:
        return on_exec(q, (int)arg(q, 0), arg(q, 1), (int)arg(q, 4));
    case __NR_fsync:
    case __NR_fdatasync:
        return on_fsync(q, (int)arg(q, 0));
    case __NR_sync:
    case __NR_syncfs:
        return on_sync_all(q, false);
    case __NR_msync:
        return on_sync_all(q, true);
    default:
        return answer_value(-ENOSYS);
    }
}

static void respond(struct veil_shield *s, struct seccomp_notif *n, struct seccomp_notif_resp *resp,
                    struct answer a) {
    switch (a.kind) {
    case ANSWER_NONE:
        return;
    case ANSWER_FD: {
        struct seccomp_notif_addfd addfd = {
            .id = n->id,
            .flags = SECCOMP_ADDFD_FLAG_SEND,
            .srcfd = (uint32_t)a.fd,
            .newfd_flags = a.cloexec ? O_CLOEXEC : 0,
        };
        /* atomically installs the descriptor and answers the call with its number */
        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0 && errno != ENOENT)
            veil_log_warning("cannot inject a descriptor into pid %d: %m", n->pid);
        close(a.fd);
        return;
    }
    case ANSWER_CONTINUE:
        memset(resp, 0, s->sizes.seccomp_notif_resp);
        resp->id = n->id;
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        break;
    case ANSWER_VALUE:
        memset(resp, 0, s->sizes.seccomp_notif_resp);
        resp->id = n->id;
        if (a.value < 0) resp->error = (int32_t)a.value;
        else resp->val = a.value;
        break;
    }
    if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
        veil_log_debug("cannot answer pid %d: %m", n->pid);
}

static void *receiver(void *arg_) {
    struct veil_shield *s = arg_;
    _cleanup_free_ struct seccomp_notif *n = calloc(1, MAX(s->sizes.seccomp_notif, sizeof(*n)));
    _cleanup_free_ struct seccomp_notif_resp *resp = calloc(1, MAX(s->sizes.seccomp_notif_resp, sizeof(*resp)));
    if (!n || !resp) return NULL;
    thread_take_app_ids(s);
    for (;;) {
        memset(n, 0, s->sizes.seccomp_notif);
        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, n) < 0) {
            if (errno == EINTR || errno == ENOENT) continue;
            if (errno != EBADF) veil_log_debug("notification receive ended: %m");
            return NULL;
        }
        atomic_fetch_add_explicit(&s->notifications, 1, memory_order_relaxed);
        struct request q = { .s = s, .n = n, .pid = (pid_t)n->pid };
        respond(s, n, resp, dispatch(&q));
    }
}

int veil_shield_new(const struct veil_shield_options *o, struct veil_shield **ret) {
    _cleanup_free_ struct veil_shield *s = calloc(1, sizeof(*s));
    if (!s) return -ENOMEM;
    s->o = *o;
    s->listener = -1;
    if (!realpath(o->root, s->root)) return veil_err(-errno, "cannot resolve the root %s", o->root);
    if (!strcmp(s->root, "/")) s->root[0] = 0;
    s->root_size = strlen(s->root);
    s->root_fd = open(s->root_size ? s->root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd < 0) return veil_err(-errno, "cannot open the root %s", o->root);
    if (syscall(__NR_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s->sizes) < 0) {
        close(s->root_fd);
        return veil_err(-errno, "seccomp user notifications are not available");
    }
    int r = veil_shield_trusted_new(s->root_fd, &s->trusted);
    if (r >= 0) r = veil_shield_vault_new(s->root_size ? s->root : "/", &s->vault);
    if (r >= 0 && o->written_back) veil_shield_vault_on_written_back(s->vault, o->written_back, o->written_back_ctx);
    if (r < 0) {
        veil_shield_trusted_free(s->trusted);
        close(s->root_fd);
        return r;
    }
    *ret = TAKE_PTR(s);
    return 0;
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

int veil_shield_serve(struct veil_shield *s, int listener) {
    s->listener = listener;
    /*
     * Linux 6.6+: the kernel hands the CPU straight to the supervisor and back,
     * instead of a wake-up through the scheduler, for each notification.
     */
    if (s->o.sync_wakeup && ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0)
        veil_log_debug("synchronous wake-ups are not available: %m");
    unsigned count = s->o.threads ? s->o.threads : 1;
    for (unsigned i = 0; i < count; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1 << 20);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int r = pthread_create(&t, &attr, receiver, s);
        pthread_attr_destroy(&attr);
        if (r != 0) return veil_err(-r, "cannot start a supervisor thread");
    }
    return 0;
}

static void scan_begin(void *ctx) {
    proc_access_begin(ctx);
}
static void scan_end(void *ctx) {
    proc_access_end(ctx);
}

int veil_shield_collect(struct veil_shield *s) {
    return veil_shield_vault_collect(s->vault, scan_begin, scan_end, s);
}

int veil_shield_flush(struct veil_shield *s, bool force) {
    return veil_shield_vault_flush(s->vault, force);
}

uint64_t veil_shield_notification_count(const struct veil_shield *s) {
    return atomic_load(&((struct veil_shield *)s)->notifications);
}
