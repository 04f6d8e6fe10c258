/* SPDX-License-Identifier: Apache-2.0 */
/* The trusted-file cache: copy into a memfd, seal, hash, compare; then hand out fresh descriptors. */
#include "trusted.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "trusted-verify.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define BUCKETS 4096u

enum cached_state {
    STATE_NEW = 0,
    STATE_PENDING,  /* being verified by one thread; others wait on `done` */
    STATE_READY,    /* memfd holds the verified, sealed copy */
    STATE_FAILED,   /* refused for good (tampered or missing): error */
    STATE_RETRY,    /* failed for a transient reason */
    STATE_DISK_OK,  /* only hashed on disk (for execve): dev/ino/ctime identify what was hashed */
};

struct cached {
    struct cached *next;
    char *path;
    enum cached_state state;
    int memfd;
    int error;
    dev_t dev;
    ino_t ino;
    struct timespec ctime;
};

struct veil_shield_trusted {
    int root_fd;
    void (*before_slow_work)(void *);
    void *ctx;
    pthread_mutex_t lock;
    pthread_cond_t done;
    struct cached *buckets[BUCKETS];
};

int veil_shield_trusted_new(int root_fd, void (*before_slow_work)(void *), void *ctx,
                            struct veil_shield_trusted **ret) {
    struct veil_shield_trusted *t = calloc(1, sizeof(*t));
    if (!t) return -ENOMEM;
    t->root_fd = root_fd;
    t->before_slow_work = before_slow_work;
    t->ctx = ctx;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->done, NULL);
    *ret = t;
    return 0;
}

void veil_shield_trusted_free(struct veil_shield_trusted *t) {
    if (!t) return;
    for (size_t i = 0; i < BUCKETS; i++)
        for (struct cached *c = t->buckets[i], *next; c; c = next) {
            next = c->next;
            if (c->memfd >= 0) close(c->memfd);
            free(c->path);
            free(c);
        }
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->done);
    free(t);
}

static uint32_t path_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Open a normalised path below the root without following any link (the resolver already did). */
static int open_in_root(int root_fd, const char *path, int flags) {
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    const char *rel = path[1] ? path + 1 : ".";
    long fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof(how));
    return fd < 0 ? -errno : (int)fd;
}

int veil_shield_exec_memfd(const char *path, bool cloexec) {
    const char *base = strrchr(path, '/');
    unsigned flags = (cloexec ? MFD_CLOEXEC : 0) | MFD_ALLOW_SEALING;
    int fd = memfd_create(base ? base + 1 : path, flags | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = memfd_create(base ? base + 1 : path, flags); /* kernels before MFD_EXEC */
    return fd < 0 ? -errno : fd;
}

/* Files at least this large take long enough (~1 ms) to let another thread take the listener. */
#define SLOW_SIZE ((uint64_t)1 << 20)

static int open_checked(int root_fd, const char *path, const struct veil_shield_verdict *v, struct stat *ret_st) {
    int src = open_in_root(root_fd, path, O_RDONLY);
    if (src < 0) return veil_err(src, "cannot open %s", path);
    if (fstat(src, ret_st) < 0) {
        close(src);
        return -errno;
    }
    if (!S_ISREG(ret_st->st_mode)) {
        close(src);
        return veil_err(-EACCES, "%s is not a regular file on disk", path);
    }
    if ((uint64_t)ret_st->st_size != v->size) {
        close(src);
        return veil_err(-EACCES, "%s has %lld bytes on disk, the manifest says %llu", path,
                        (long long)ret_st->st_size, (unsigned long long)v->size);
    }
    return src;
}

/* Copy while hashing, then seal: what was verified is what every later open reads. */
static int verify_into_memfd(int root_fd, const char *path, const struct veil_shield_verdict *v, int *ret_memfd) {
    struct stat st;
    _cleanup_close_ int src = open_checked(root_fd, path, v, &st);
    if (src < 0) return src;
    _cleanup_close_ int memfd = veil_shield_exec_memfd(path, true);
    if (memfd < 0) return veil_err(memfd, "cannot create a memfd for %s", path);
    int r = veil_shield_verify_file(src, memfd, path, v);
    if (r < 0) return r;
    if (fchmod(memfd, v->mode & 07777) < 0) return -errno;
    if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        return veil_err(-errno, "cannot seal the copy of %s", path);
    *ret_memfd = TAKE_FD(memfd);
    return 0;
}

static void log_refusal(const char *path, int r) {
    if (r == -ENOENT)
        veil_log_warning("trusted file %s is missing from the image", path);
    else
        veil_log_error("refusing trusted file %s: %s", path, veil_err_describe(r));
}

static struct cached *find_locked(struct veil_shield_trusted *t, const char *path, size_t path_size, uint32_t *ret_bucket) {
    uint32_t b = path_hash(path, path_size) % BUCKETS;
    *ret_bucket = b;
    for (struct cached *c = t->buckets[b]; c; c = c->next)
        if (strlen(c->path) == path_size && !memcmp(c->path, path, path_size)) return c;
    return NULL;
}

/*
 * The verified copy of path: 0 with the memfd, or the remembered refusal.
 * Verification runs without the lock (other paths are served meanwhile);
 * callers asking for the same path wait for it.
 */
static int get_memfd(struct veil_shield_trusted *t, const char *path, size_t path_size,
                     const struct veil_shield_verdict *v, int *ret_memfd) {
    pthread_mutex_lock(&t->lock);
    uint32_t b;
    struct cached *c = find_locked(t, path, path_size, &b);
    while (c && c->state == STATE_PENDING) {
        pthread_cond_wait(&t->done, &t->lock);
        c = find_locked(t, path, path_size, &b);
    }
    if (c && (c->state == STATE_READY || c->state == STATE_FAILED)) {
        int r = c->state == STATE_READY ? 0 : c->error;
        if (r == 0) *ret_memfd = c->memfd;
        pthread_mutex_unlock(&t->lock);
        return r;
    }
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c || !(c->path = strndup(path, path_size))) {
            free(c);
            pthread_mutex_unlock(&t->lock);
            return -ENOMEM;
        }
        c->memfd = -1;
        c->next = t->buckets[b];
        t->buckets[b] = c;
    }
    c->state = STATE_PENDING;
    c->memfd = -1;
    pthread_mutex_unlock(&t->lock);

    veil_err_clear();
    if (v->size >= SLOW_SIZE && t->before_slow_work) t->before_slow_work(t->ctx);
    int memfd = -1;
    int r = verify_into_memfd(t->root_fd, c->path, v, &memfd);
    if (r < 0) log_refusal(c->path, r);

    pthread_mutex_lock(&t->lock);
    if (r == 0) {
        c->state = STATE_READY;
        c->memfd = memfd;
        *ret_memfd = memfd;
    } else if (r == -ENOENT || r == -EACCES) {
        c->state = STATE_FAILED; /* remembered: a tampered file is not read again */
        c->error = r;
    } else {
        c->state = STATE_RETRY; /* transient (memory, descriptors): try again next time */
    }
    pthread_cond_broadcast(&t->done);
    pthread_mutex_unlock(&t->lock);
    return r;
}

static bool same_file(const struct cached *c, const struct stat *st) {
    return c->dev == st->st_dev && c->ino == st->st_ino && c->ctime.tv_sec == st->st_ctim.tv_sec &&
           c->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static int read_head(int src, uint8_t *head, size_t head_size, size_t *ret_size) {
    ssize_t n = pread(src, head, head_size, 0);
    if (n < 0) return -errno;
    *ret_size = (size_t)n;
    return 0;
}

int veil_shield_trusted_check(struct veil_shield_trusted *t, const char *path, size_t path_size,
                              const struct veil_shield_verdict *v, uint8_t *head, size_t head_size,
                              size_t *ret_head_size) {
    /*
     * For execve: the kernel reads the file from disk itself, so a copy would be
     * wasted. Hash the disk file, and remember it by identity and change time.
     */
    struct stat st;
    veil_err_clear();
    _cleanup_close_ int src = open_checked(t->root_fd, path, v, &st);
    pthread_mutex_lock(&t->lock);
    uint32_t b;
    struct cached *c = find_locked(t, path, path_size, &b);
    int r = 1;
    if (c && (c->state == STATE_FAILED)) r = c->error;
    else if (c && c->state == STATE_DISK_OK && src >= 0 && same_file(c, &st)) r = 0;
    pthread_mutex_unlock(&t->lock);
    if (r < 0) return r;
    if (r == 0) return read_head(src, head, head_size, ret_head_size);
    if (src < 0) {
        log_refusal(path, src);
        return src;
    }
    if (v->size >= SLOW_SIZE && t->before_slow_work) t->before_slow_work(t->ctx);
    r = veil_shield_verify_file(src, -1, path, v);
    if (r < 0) {
        log_refusal(path, r);
        return r;
    }
    pthread_mutex_lock(&t->lock);
    c = find_locked(t, path, path_size, &b);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (c && !(c->path = strndup(path, path_size))) {
            free(c);
            c = NULL;
        }
        if (c) {
            c->memfd = -1;
            c->next = t->buckets[b];
            t->buckets[b] = c;
        }
    }
    if (c && (c->state == STATE_NEW || c->state == STATE_DISK_OK || c->state == STATE_RETRY)) {
        c->state = STATE_DISK_OK;
        c->memfd = -1;
        c->dev = st.st_dev;
        c->ino = st.st_ino;
        c->ctime = st.st_ctim;
    }
    pthread_mutex_unlock(&t->lock);
    return read_head(src, head, head_size, ret_head_size);
}

int veil_shield_trusted_open(struct veil_shield_trusted *t, const char *path, size_t path_size,
                             const struct veil_shield_verdict *v, int *ret_fd) {
    int memfd = -1;
    int r = get_memfd(t, path, path_size, v, &memfd);
    if (r < 0) return r;
    /* a new open file description, so each open has its own offset (ld.so reads from the current one) */
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", memfd);
    int fd = open(proc, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return veil_err(-errno, "cannot reopen the verified copy of %s", path);
    *ret_fd = fd;
    return 0;
}
