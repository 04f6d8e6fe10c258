/* SPDX-License-Identifier: Apache-2.0 */
/* open, openat, openat2, creat: continue, refuse, or inject a verified or decrypted copy. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "procmem.h"
#include "request.h"
#include "trusted.h"
#include "vault.h"

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
    veil_shield_proc_access_begin(s);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    veil_shield_proc_access_end(s);
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

/*
 * O_TMPFILE asks for an unnamed file in a directory. Continued, the kernel
 * would put its (plaintext) blocks on the host's disk; an unnamed memory file
 * is the same thing without the disk. It cannot be linked into the tree later
 * (linkat fails), which applications that use O_TMPFILE are prepared for.
 */
static struct answer tmpfile_open(const struct request *q, const struct veil_shield_resolved *p, int flags) {
    struct stat st;
    int r = veil_shield_disk_lstat(q->s, p->path, &st);
    if (r < 0) return answer_value(r);
    if (!S_ISDIR(st.st_mode)) return answer_value(-ENOTDIR);
    /* what a file created in this directory would be */
    char child[VEIL_SHIELD_PATH_MAX + 16];
    int n = snprintf(child, sizeof(child), "%s/.tmpfile", p->path_size > 1 ? p->path : "");
    struct veil_shield_verdict v;
    veil_shield_classify(q->s->o.policy, child, (size_t)n, &v);
    if (!veil_shield_is_encrypted_class(v.class)) return answer_value(-EACCES);
    if ((flags & O_ACCMODE) == O_RDONLY) return answer_value(-EINVAL); /* as the kernel says */
    _cleanup_close_ int memfd = memfd_create("veil:tmpfile", MFD_CLOEXEC);
    if (memfd < 0) return answer_value(-errno);
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", memfd);
    int fd = open(proc, (flags & (O_ACCMODE | O_APPEND)) | O_CLOEXEC);
    if (fd < 0) return answer_value(-errno);
    return answer_fd(fd, flags & O_CLOEXEC);
}

struct answer veil_shield_call_open(const struct request *q, int dirfd, uint64_t path_addr, int flags, mode_t mode) {
    struct veil_shield *s = q->s;
    /*
     * O_PATH: no contents through the descriptor itself, but reopening it
     * through /proc/self/fd/N opens what it points at. So it must point at the
     * verified or decrypted copy, never at the file on disk, and an unknown file
     * is refused as ever. The kernel does not inject O_PATH descriptors (fget()
     * refuses them), so the app gets a read-only descriptor of the copy — a
     * superset — and only where it may read the file.
     */
    bool path_only = flags & O_PATH;
    if (path_only) flags = (flags & (O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY)) | O_RDONLY;
    bool creating_excl = (flags & O_CREAT) && (flags & O_EXCL);
    bool follow = !(flags & O_NOFOLLOW) && !creating_excl;
    struct veil_shield_resolved p;
    int r = veil_shield_resolve_arg(q, dirfd, path_addr, follow, &p);
    if (r < 0) return answer_value(r);
    if (!veil_shield_still_valid(q)) return (struct answer){ .kind = ANSWER_NONE };

    bool writing = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    bool cloexec = flags & O_CLOEXEC;
    const struct veil_shield_verdict *v = &p.verdict;
    if ((flags & O_TMPFILE) == O_TMPFILE && v->class != VEIL_SHIELD_PASSTHROUGH) return tmpfile_open(q, &p, flags);
    switch (v->class) {
    case VEIL_SHIELD_PASSTHROUGH:
    case VEIL_SHIELD_DIRECTORY:
        return answer_continue();
    case VEIL_SHIELD_SYMLINK:
        /* only reached with O_NOFOLLOW or O_CREAT|O_EXCL */
        if (path_only) return answer_continue(); /* a descriptor of the link itself */
        return answer_value(creating_excl ? -EEXIST : -ELOOP);
    case VEIL_SHIELD_TRUSTED: {
        if (creating_excl) return answer_value(-EEXIST);
        if ((flags & O_DIRECTORY) || p.must_be_dir) return answer_value(-ENOTDIR);
        if (writing) return answer_value(-EROFS);
        if (!dac_allows(s, v->uid, v->gid, v->mode, 4)) return answer_value(-EACCES);
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
        r = veil_shield_disk_lstat(s, p.path, &st);
        if (r == 0 && !S_ISREG(st.st_mode)) {
            if (S_ISLNK(st.st_mode))
                return path_only ? answer_continue() : answer_value(creating_excl ? -EEXIST : -ELOOP);
            if (creating_excl) return answer_value(-EEXIST);
            return answer_continue(); /* directories, fifos, sockets: nothing to decrypt */
        }
        if (r == 0 && ((flags & O_DIRECTORY) || p.must_be_dir)) return answer_value(-ENOTDIR);
        if (r < 0 && r != -ENOENT) return answer_value(r);
        if (r == -ENOENT && !(flags & O_CREAT)) return answer_value(-ENOENT);
        if (r == -ENOENT && p.must_be_dir) return answer_value(-EISDIR);
        if (r == 0 && !dac_allows(s, st.st_uid, st.st_gid, st.st_mode, open_want(flags))) return answer_value(-EACCES);
        if (r == -ENOENT && !may_create_in_parent(s, p.path)) return answer_value(-EACCES);
        const uint8_t *key = veil_shield_key_for(s, v);
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
            if (veil_shield_disk_lstat(s, p.path, &st) < 0) {
                veil_log_info("denied creating %s (pid %d): not a writable path of the manifest", p.path, q->pid);
                return answer_value(-EACCES);
            }
        }
        return answer_value(veil_shield_refuse_unknown(q, &p, "open"));
    }
}

struct answer veil_shield_call_openat2(const struct request *q) {
    struct open_how how = { 0 };
    size_t size = (size_t)veil_shield_arg(q, 3);
    if (size < sizeof(uint64_t) * 3) return answer_value(-EINVAL);
    int r = veil_shield_read_mem(q->pid, veil_shield_arg(q, 2), &how, sizeof(how));
    if (r < 0) return answer_value(r);
    if (how.resolve & ~(uint64_t)(RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV))
        return answer_value(-EOPNOTSUPP); /* BENEATH/IN_ROOT would need the kernel's view of dirfd */
    int flags = (int)how.flags;
    if (how.resolve & RESOLVE_NO_SYMLINKS) flags |= O_NOFOLLOW;
    return veil_shield_call_open(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), flags, (mode_t)how.mode);
}
