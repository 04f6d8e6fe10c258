/* SPDX-License-Identifier: Apache-2.0 */
/* The table of decrypted copies: load on first open, write back encrypted, move on rename. */
#include "vault.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "encfile/encfile.h"
#include "vault-delta.h"
#include "vault-hooks.h"
#include "vault-sweep.h"

struct copy {
    struct copy *next;
    char *path;           /* the application's path */
    const uint8_t *key;
    int memfd;
    dev_t dev;
    ino_t ino;
    uint64_t version;     /* on disk */
    mode_t mode;
    uid_t uid;            /* owner on disk: kept across write-backs, which replace the file */
    gid_t gid;
    bool writable;        /* ever opened for writing: mmap writes may have changed it */
    struct timespec synced_mtime;
    off_t synced_size;
    struct vault_digests digests; /* of the nodes on disk, for incremental write-back */
};

struct veil_shield_vault {
    void (*before_slow_work)(void *);
    void *ctx;
    char *root; /* host path of the image root, without trailing '/' ("" for "/") */
    pthread_mutex_t lock;
    struct copy *copies;
    const struct veil_shield_vault_hooks *hooks;
    struct vault_sweep sweep; /* interrupted write-backs' temporaries (vault-sweep.h) */
};

void veil_shield_vault_set_hooks(struct veil_shield_vault *v, const struct veil_shield_vault_hooks *hooks) {
    v->hooks = hooks;
}

int veil_shield_vault_new(const char *root, void (*before_slow_work)(void *), void *ctx,
                          struct veil_shield_vault **ret) {
    struct veil_shield_vault *v = calloc(1, sizeof(*v));
    if (!v) return -ENOMEM;
    v->before_slow_work = before_slow_work;
    v->ctx = ctx;
    v->root = strdup(strcmp(root, "/") ? root : "");
    if (!v->root) {
        free(v);
        return -ENOMEM;
    }
    pthread_mutex_init(&v->lock, NULL);
    v->sweep.before = time(NULL) - 60;
    *ret = v;
    return 0;
}

static void copy_free(struct copy *c) {
    if (c->memfd >= 0) close(c->memfd);
    vault_digests_clear(&c->digests);
    free(c->path);
    free(c);
}

void veil_shield_vault_free(struct veil_shield_vault *v) {
    if (!v) return;
    for (struct copy *c = v->copies, *next; c; c = next) {
        next = c->next;
        copy_free(c);
    }
    pthread_mutex_destroy(&v->lock);
    vault_sweep_clear(&v->sweep);
    free(v->root);
    free(v);
}

static int host_path(const struct veil_shield_vault *v, const char *path, char *buf, size_t size) {
    int n = snprintf(buf, size, "%s%s", v->root, path);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static struct copy *find_locked(struct veil_shield_vault *v, const char *path) {
    for (struct copy *c = v->copies; c; c = c->next)
        if (!strcmp(c->path, path)) return c;
    return NULL;
}

static void unlink_copy_locked(struct veil_shield_vault *v, struct copy *c) {
    for (struct copy **p = &v->copies; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            return;
        }
}

static int new_memfd(const char *path) {
    const char *base = strrchr(path, '/');
    char name[64];
    snprintf(name, sizeof(name), "veil:%s", base ? base + 1 : path);
    int fd = memfd_create(name, MFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static void note_synced(struct copy *c) {
    struct stat st;
    if (fstat(c->memfd, &st) == 0) {
        c->synced_mtime = st.st_mtim;
        c->synced_size = st.st_size;
    }
}

static int add_copy_locked(struct veil_shield_vault *v, const char *path, const uint8_t *key, int memfd,
                           uint64_t version, mode_t mode, uid_t uid, gid_t gid, struct copy **ret) {
    struct copy *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    c->path = strdup(path);
    if (!c->path) {
        free(c);
        return -ENOMEM;
    }
    struct stat st;
    if (fstat(memfd, &st) < 0) {
        free(c->path);
        free(c);
        return -errno;
    }
    /*
     * The copy carries the file's owner and mode: a descriptor of it can be
     * reopened through /proc/self/fd/N, and the kernel then checks these.
     */
    if (fchmod(memfd, mode & 07777) < 0 || (fchown(memfd, uid, gid) < 0 && errno != EPERM)) {
        /* EPERM: an unprivileged supervisor (--root as a developer) runs as the app's own uid anyway */
        free(c->path);
        free(c);
        return -errno;
    }
    c->key = key;
    c->memfd = memfd;
    c->dev = st.st_dev;
    c->ino = st.st_ino;
    c->version = version;
    c->mode = mode;
    c->uid = uid;
    c->gid = gid;
    note_synced(c);
    c->next = v->copies;
    v->copies = c;
    *ret = c;
    return 0;
}

/* Decrypt the file on disk into a new memfd. */
static int load_locked(struct veil_shield_vault *v, const char *path, const uint8_t *key, struct copy **ret) {
    char hp[PATH_MAX];
    int r = host_path(v, path, hp, sizeof(hp));
    if (r < 0) return r;
    /* a write-back in place that a crash interrupted is finished before the file is read (docs/encfile.md) */
    veil_err_clear();
    r = veil_encfile_recover(hp, key, path);
    if (r < 0) {
        veil_log_error("refusing encrypted file %s: %s", path, veil_err_describe(r));
        return -EACCES;
    }
    _cleanup_close_ int fd = open(hp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    if (S_ISDIR(st.st_mode)) return -EISDIR;
    if (!S_ISREG(st.st_mode)) return -EACCES;

    _cleanup_close_ int memfd = new_memfd(path);
    if (memfd < 0) return memfd;
    uint64_t size, version;
    if (v->before_slow_work) v->before_slow_work(v->ctx);
    /* decrypted straight into the memfd, chunk by chunk: no second full-size plaintext copy;
       through /proc/self/fd so it is the very file checked above */
    char self_fd[64];
    snprintf(self_fd, sizeof(self_fd), "/proc/self/fd/%d", fd);
    veil_err_clear();
    r = veil_encfile_load_into_fd(self_fd, key, path, NULL, memfd, &size, &version);
    if (r >= 0 && v->hooks) r = v->hooks->loaded(v->hooks->ctx, path, key, version);
    if (r < 0) {
        veil_log_error("refusing encrypted file %s: %s", path, veil_err_describe(r));
        return r == -ENOMEM ? r : -EACCES;
    }
    r = add_copy_locked(v, path, key, memfd, version, st.st_mode & 07777, st.st_uid, st.st_gid, ret);
    if (r < 0) return r;
    TAKE_FD(memfd);
    return 0;
}

/* The store replaced the file with one of ours (root's): give it back to its owner. */
static void restore_owner(const char *hp, uid_t uid, gid_t gid) {
    if ((uid != 0 || gid != 0) && lchown(hp, uid, gid) < 0) veil_log_warning("cannot restore the owner of a file: %m");
}

/*
 * Write the copy back as version `next`: only its changed nodes when the digests of
 * what is on disk are known (vault-delta.c), else the whole file, after which the
 * digests are read back from the new file so that the next write-back can be incremental.
 */
static int store_copy_locked(struct copy *c, const char *hp, uint64_t next) {
    int r = vault_delta_store(hp, c->key, c->path, next, c->memfd, &c->digests);
    if (r >= 0) return 0; /* logged there */
    /* -EAGAIN or any failure: the whole-file store, as before incremental write-back existed */
    vault_digests_clear(&c->digests);
    r = veil_encfile_store_fd(hp, c->key, c->path, next, c->memfd, c->mode);
    if (r < 0) return r;
    veil_log_debug("wrote back %s whole, version %llu", c->path, (unsigned long long)next);
    /* a copy never opened for writing is not written back again unless truncated: not worth a pass */
    if (c->writable && vault_digests_from_disk(hp, c->key, c->path, next, &c->digests) < 0)
        vault_digests_clear(&c->digests); /* only slower: the next write-back stores the whole file */
    return 0;
}

static int writeback_locked(struct veil_shield_vault *v, struct copy *c) {
    char hp[PATH_MAX];
    int r = host_path(v, c->path, hp, sizeof(hp));
    if (r < 0) return r;
    if (v->before_slow_work) v->before_slow_work(v->ctx);
    veil_err_clear();
    uint64_t next = v->hooks ? v->hooks->version_for(v->hooks->ctx, c->path, c->key, c->version + 1) : c->version + 1;
    r = store_copy_locked(c, hp, next);
    if (r < 0) return veil_log_errno(r, "cannot write back %s", c->path);
    restore_owner(hp, c->uid, c->gid);
    c->version = next;
    note_synced(c);
    return v->hooks ? v->hooks->written(v->hooks->ctx, c->path, c->key, c->version) : 0;
}

static bool changed(const struct copy *c) {
    struct stat st;
    if (fstat(c->memfd, &st) < 0) return true;
    return st.st_size != c->synced_size || st.st_mtim.tv_sec != c->synced_mtime.tv_sec ||
           st.st_mtim.tv_nsec != c->synced_mtime.tv_nsec;
}

static int reopen(const struct copy *c, int flags, int *ret_fd) {
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", c->memfd);
    /* a new open file description: its own offset and O_APPEND */
    int fd = open(proc, (flags & (O_ACCMODE | O_APPEND)) | O_CLOEXEC);
    if (fd < 0) return -errno;
    *ret_fd = fd;
    return 0;
}

int veil_shield_vault_open(struct veil_shield_vault *v, const char *path, const uint8_t *key, int flags,
                           mode_t mode, uid_t uid, gid_t gid, int *ret_fd) {
    bool writing = (flags & O_ACCMODE) != O_RDONLY;
    pthread_mutex_lock(&v->lock);
    struct copy *c = find_locked(v, path);
    int r = 0;
    if (c && (flags & O_CREAT) && (flags & O_EXCL)) {
        r = -EEXIST;
        goto out;
    }
    if (!c) {
        char hp[PATH_MAX];
        r = host_path(v, path, hp, sizeof(hp));
        if (r < 0) goto out;
        vault_sweep_once(&v->sweep, hp);
        struct stat st;
        if (lstat(hp, &st) == 0) {
            if ((flags & O_CREAT) && (flags & O_EXCL)) {
                r = -EEXIST;
                goto out;
            }
            r = load_locked(v, path, key, &c);
            if (r < 0) goto out;
        } else if (errno == ENOENT && (flags & O_CREAT)) {
            /* write an empty encrypted file at once, so the name exists for others */
            int memfd = new_memfd(path);
            if (memfd < 0) {
                r = memfd;
                goto out;
            }
            mode_t m = mode & 07777;
            uint64_t first = v->hooks ? v->hooks->version_for(v->hooks->ctx, path, key, 1) : 1;
            r = veil_encfile_store(hp, key, path, first, "", 0, m);
            if (r < 0) {
                close(memfd);
                /* a missing directory is the app's business; anything else is worth a line */
                if (r != -ENOENT && r != -ENOTDIR) r = veil_log_errno(r, "cannot create %s", path);
                goto out;
            }
            restore_owner(hp, uid, gid);
            if (v->hooks && (r = v->hooks->written(v->hooks->ctx, path, key, first)) < 0) {
                close(memfd);
                goto out;
            }
            r = add_copy_locked(v, path, key, memfd, first, m, uid, gid, &c);
            if (r < 0) {
                close(memfd);
                goto out;
            }
            c->digests = (struct vault_digests){ .version = first, .valid = true }; /* empty, as on disk */
        } else {
            r = -errno;
            goto out;
        }
    }
    if (writing && !c->writable && !c->digests.valid && vault_digests_from_fd(c->memfd, c->version, &c->digests) < 0)
        vault_digests_clear(&c->digests); /* only slower: the first write-back stores the whole file */
    if (writing) c->writable = true;
    if ((flags & O_TRUNC) && writing && ftruncate(c->memfd, 0) < 0) {
        r = -errno;
        goto out;
    }
    r = reopen(c, flags, ret_fd);
out:
    pthread_mutex_unlock(&v->lock);
    return r;
}

int veil_shield_vault_size(struct veil_shield_vault *v, const char *path, const uint8_t *key, uint64_t *ret_size) {
    pthread_mutex_lock(&v->lock);
    struct copy *c = find_locked(v, path);
    int r = 0;
    if (c) {
        struct stat st;
        if (fstat(c->memfd, &st) < 0) r = -errno;
        else *ret_size = (uint64_t)st.st_size;
        pthread_mutex_unlock(&v->lock);
        return r;
    }
    pthread_mutex_unlock(&v->lock);
    char hp[PATH_MAX];
    r = host_path(v, path, hp, sizeof(hp));
    if (r < 0) return r;
    /* the header is authenticated by open: the size is the one the writer recorded */
    _cleanup_(veil_encfile_freep) struct veil_encfile *f = NULL;
    r = veil_encfile_open(hp, key, path, VEIL_ENCFILE_READ, NULL, &f);
    if (r < 0) return r;
    *ret_size = veil_encfile_size(f);
    return 0;
}

int veil_shield_vault_copy_id(struct veil_shield_vault *v, const char *path, dev_t *ret_dev, ino_t *ret_ino) {
    pthread_mutex_lock(&v->lock);
    struct copy *c = find_locked(v, path);
    if (c) {
        *ret_dev = c->dev;
        *ret_ino = c->ino;
    }
    pthread_mutex_unlock(&v->lock);
    return c ? 0 : -ENOENT;
}

int veil_shield_vault_rename(struct veil_shield_vault *v, const char *old_path, const uint8_t *old_key,
                             const char *new_path, const uint8_t *new_key, unsigned flags) {
    char old_hp[PATH_MAX], new_hp[PATH_MAX];
    int r = host_path(v, old_path, old_hp, sizeof(old_hp));
    if (r >= 0) r = host_path(v, new_path, new_hp, sizeof(new_hp));
    if (r < 0) return r;
    pthread_mutex_lock(&v->lock);
    struct stat st;
    if (lstat(old_hp, &st) < 0) {
        r = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        /* every file below is bound to its path: moving a directory would need them all re-encrypted */
        r = -EXDEV;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        /* symlinks and the like carry nothing encrypted */
        r = rename(old_hp, new_hp) < 0 ? -errno : 0;
        goto out;
    }
    struct stat nst;
    if (lstat(new_hp, &nst) == 0) {
        if (flags & RENAME_NOREPLACE) {
            r = -EEXIST;
            goto out;
        }
        if (S_ISDIR(nst.st_mode)) {
            r = -EISDIR;
            goto out;
        }
    }
    if (!strcmp(old_path, new_path)) goto out;
    struct copy *c = find_locked(v, old_path);
    if (!c) {
        r = load_locked(v, old_path, old_key, &c);
        if (r < 0) goto out;
    }
    uint64_t next = v->hooks ? v->hooks->version_for(v->hooks->ctx, new_path, new_key, c->version + 1) : c->version + 1;
    r = veil_encfile_store_fd(new_hp, new_key, new_path, next, c->memfd, c->mode);
    if (r < 0) {
        if (r != -ENOENT && r != -ENOTDIR) r = veil_log_errno(r, "cannot move %s to %s", old_path, new_path);
        goto out;
    }
    restore_owner(new_hp, c->uid, c->gid);
    if (unlink(old_hp) < 0) veil_log_warning("cannot remove %s after moving it: %m", old_path);
    struct copy *replaced = find_locked(v, new_path);
    if (replaced) {
        unlink_copy_locked(v, replaced);
        copy_free(replaced);
    }
    char *np = strdup(new_path);
    if (!np) {
        /* the file moved on disk; drop the copy so the next open loads it again */
        unlink_copy_locked(v, c);
        copy_free(c);
        goto out;
    }
    free(c->path);
    c->path = np;
    c->key = new_key;
    vault_digests_clear(&c->digests); /* they described the old file */
    c->version = next;
    note_synced(c);
    if (v->hooks) {
        v->hooks->removed(v->hooks->ctx, old_path);
        r = v->hooks->written(v->hooks->ctx, new_path, new_key, c->version);
    }
out:
    pthread_mutex_unlock(&v->lock);
    return r;
}

void veil_shield_vault_forget(struct veil_shield_vault *v, const char *path) {
    pthread_mutex_lock(&v->lock);
    struct copy *c = find_locked(v, path);
    if (c) {
        unlink_copy_locked(v, c);
        copy_free(c);
    }
    if (v->hooks) v->hooks->removed(v->hooks->ctx, path);
    /* a journal a crash left next to it would outlive the file (and keep its directory from being removed) */
    char hp[PATH_MAX];
    if (host_path(v, path, hp, sizeof(hp)) >= 0) veil_encfile_remove_journal(hp);
    pthread_mutex_unlock(&v->lock);
}

int veil_shield_vault_truncate(struct veil_shield_vault *v, const char *path, const uint8_t *key, uint64_t size) {
    pthread_mutex_lock(&v->lock);
    struct copy *c = find_locked(v, path);
    int r = 0;
    if (!c) r = load_locked(v, path, key, &c);
    if (r >= 0 && ftruncate(c->memfd, (off_t)size) < 0) r = -errno;
    if (r >= 0) r = writeback_locked(v, c);
    pthread_mutex_unlock(&v->lock);
    return r;
}

int veil_shield_vault_sync_inode(struct veil_shield_vault *v, dev_t dev, ino_t ino) {
    pthread_mutex_lock(&v->lock);
    int r = -ENOENT;
    for (struct copy *c = v->copies; c; c = c->next)
        if (c->dev == dev && c->ino == ino) {
            r = changed(c) ? writeback_locked(v, c) : 0;
            break;
        }
    pthread_mutex_unlock(&v->lock);
    return r;
}

int veil_shield_vault_flush(struct veil_shield_vault *v, bool force) {
    pthread_mutex_lock(&v->lock);
    int result = 0;
    for (struct copy *c = v->copies; c; c = c->next) {
        if (!(force ? c->writable || changed(c) : changed(c))) continue;
        int r = writeback_locked(v, c);
        if (r < 0 && result == 0) result = r;
    }
    pthread_mutex_unlock(&v->lock);
    return result;
}

/* ---- the last user: copies no process holds any more are written back and dropped ---- */

struct inode_set {
    ino_t *inos;
    bool *held;
    size_t count;
};

static void mark(struct inode_set *set, ino_t ino) {
    for (size_t i = 0; i < set->count; i++)
        if (set->inos[i] == ino) set->held[i] = true;
}

static bool is_copy_fd(const struct veil_shield_vault *v, int fd) {
    for (const struct copy *c = v->copies; c; c = c->next)
        if (c->memfd == fd) return true;
    return false;
}

/* Mark the copies a process holds through a descriptor or a mapping; false when it cannot be seen. */
static bool scan_process(const struct veil_shield_vault *v, int pid_dir, bool self, struct inode_set *set) {
    _cleanup_close_ int fd_dir = openat(pid_dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_dir < 0) return errno == ENOENT; /* gone meanwhile */
    DIR *d = fdopendir(fd_dir);
    if (!d) return false;
    fd_dir = -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        /* our own copies' descriptors don't count; others in our process are being handed out */
        if (self && is_copy_fd(v, atoi(e->d_name))) continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISREG(st.st_mode)) mark(set, st.st_ino);
    }
    closedir(d);
    if (self) return true;
    _cleanup_close_ int maps = openat(pid_dir, "maps", O_RDONLY | O_CLOEXEC);
    if (maps < 0) return errno == ENOENT;
    FILE *f = fdopen(maps, "r");
    if (!f) return false;
    maps = -1;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        if (!strstr(line, "/memfd:veil:")) continue;
        unsigned long long ino;
        /* address perms offset dev inode path */
        if (sscanf(line, "%*s %*s %*s %*s %llu", &ino) == 1) mark(set, (ino_t)ino);
    }
    fclose(f);
    return true;
}

/* Processes we cannot look into but that cannot be ours either (no seccomp filter) are ignored. */
static bool has_filter(int pid_dir) {
    _cleanup_close_ int fd = openat(pid_dir, "status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return true;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0) return true;
    buf[n] = 0;
    const char *p = strstr(buf, "\nSeccomp:\t");
    return !p || p[10] == '2';
}

int veil_shield_vault_collect(struct veil_shield_vault *v, void (*scan_begin)(void *), void (*scan_end)(void *),
                              void *ctx) {
    pthread_mutex_lock(&v->lock);
    size_t count = 0;
    for (struct copy *c = v->copies; c; c = c->next) count++;
    int result = 0;
    if (count == 0) goto out;
    struct inode_set set = { .inos = calloc(count, sizeof(ino_t)), .held = calloc(count, sizeof(bool)), .count = count };
    if (!set.inos || !set.held) {
        free(set.inos);
        free(set.held);
        result = -ENOMEM;
        goto out;
    }
    size_t i = 0;
    for (struct copy *c = v->copies; c; c = c->next) set.inos[i++] = c->ino;

    bool complete = true;
    if (scan_begin) scan_begin(ctx);
    DIR *proc = opendir("/proc");
    if (!proc) complete = false;
    pid_t self = getpid();
    for (struct dirent *e; complete && (e = readdir(proc));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        _cleanup_close_ int pid_dir = openat(dirfd(proc), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pid_dir < 0) continue;
        bool is_self = atoi(e->d_name) == self;
        if (!scan_process(v, pid_dir, is_self, &set) && has_filter(pid_dir)) complete = false;
    }
    if (proc) closedir(proc);
    if (scan_end) scan_end(ctx);

    if (complete) {
        i = 0;
        for (struct copy **p = &v->copies; *p;) {
            struct copy *c = *p;
            bool held = set.held[i++];
            if (held) {
                p = &c->next;
                continue;
            }
            /* mmap writes leave no trace in mtime: a copy ever opened for writing goes back once more */
            int r = (c->writable || changed(c)) ? writeback_locked(v, c) : 0;
            if (r < 0) {
                if (result == 0) result = r;
                p = &c->next;
                continue;
            }
            *p = c->next;
            copy_free(c);
        }
    }
    free(set.inos);
    free(set.held);
out:
    pthread_mutex_unlock(&v->lock);
    return result;
}
