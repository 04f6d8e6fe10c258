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
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "crypto/random.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define BUCKETS 4096u

struct cached {
    struct cached *next;
    char *path;
    int memfd;  /* -1 when verification failed */
    int error;  /* the refusal, when memfd < 0 */
};

struct veil_shield_trusted {
    int root_fd;
    pthread_mutex_t lock;
    struct cached *buckets[BUCKETS];
};

int veil_shield_trusted_new(int root_fd, struct veil_shield_trusted **ret) {
    struct veil_shield_trusted *t = calloc(1, sizeof(*t));
    if (!t) return -ENOMEM;
    t->root_fd = root_fd;
    pthread_mutex_init(&t->lock, NULL);
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

static int make_memfd(const char *path) {
    const char *base = strrchr(path, '/');
    int fd = memfd_create(base ? base + 1 : path, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) fd = memfd_create(base ? base + 1 : path, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    return fd < 0 ? -errno : fd;
}

/* Copy, seal, then hash the sealed copy: what was hashed is what will be served. */
static int verify_into_memfd(int root_fd, const char *path, const struct veil_shield_verdict *v, int *ret_memfd) {
    _cleanup_close_ int src = open_in_root(root_fd, path, O_RDONLY);
    if (src < 0) return veil_err(src, "cannot open %s", path);
    struct stat st;
    if (fstat(src, &st) < 0) return -errno;
    if (!S_ISREG(st.st_mode)) return veil_err(-EACCES, "%s is not a regular file on disk", path);
    if ((uint64_t)st.st_size != v->size)
        return veil_err(-EACCES, "%s has %lld bytes on disk, the manifest says %llu", path, (long long)st.st_size,
                        (unsigned long long)v->size);

    _cleanup_close_ int memfd = make_memfd(path);
    if (memfd < 0) return veil_err(memfd, "cannot create a memfd for %s", path);
    off_t off = 0;
    while ((uint64_t)off < v->size) {
        ssize_t n = sendfile(memfd, src, &off, (size_t)MIN(v->size - (uint64_t)off, (uint64_t)1 << 30));
        if (n < 0) {
            if (errno == EINTR) continue;
            return veil_err(-errno, "cannot copy %s", path);
        }
        if (n == 0) break;
    }
    if (fchmod(memfd, v->mode & 07777) < 0) return -errno;
    if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        return veil_err(-errno, "cannot seal the copy of %s", path);

    struct stat mst;
    if (fstat(memfd, &mst) < 0) return -errno;
    if ((uint64_t)mst.st_size != v->size) return veil_err(-EACCES, "%s changed size while it was read", path);
    uint8_t digest[VEIL_SHA256_SIZE];
    int r;
    if (v->size == 0) {
        r = veil_sha256("", 0, digest);
    } else {
        void *p = mmap(NULL, v->size, PROT_READ, MAP_PRIVATE, memfd, 0);
        if (p == MAP_FAILED) return -errno;
        r = veil_sha256(p, v->size, digest);
        munmap(p, v->size);
    }
    if (r < 0) return r;
    if (!veil_memeq_ct(digest, v->sha256, sizeof(digest)))
        return veil_err(-EACCES, "%s does not match its digest in the manifest", path);
    *ret_memfd = TAKE_FD(memfd);
    return 0;
}

/* The cached entry for path, verifying on first use. Called with the lock held. */
static struct cached *lookup_locked(struct veil_shield_trusted *t, const char *path, size_t path_size,
                                    const struct veil_shield_verdict *v) {
    uint32_t b = path_hash(path, path_size) % BUCKETS;
    for (struct cached *c = t->buckets[b]; c; c = c->next)
        if (strlen(c->path) == path_size && !memcmp(c->path, path, path_size)) return c;

    struct cached *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->path = strndup(path, path_size);
    if (!c->path) {
        free(c);
        return NULL;
    }
    veil_err_clear();
    int r = verify_into_memfd(t->root_fd, c->path, v, &c->memfd);
    if (r < 0) {
        c->memfd = -1;
        c->error = r;
        if (r == -ENOENT)
            veil_log_warning("trusted file %s is missing from the image", c->path);
        else
            veil_log_error("refusing trusted file %s: %s", c->path, veil_err_describe(r));
        if (r != -ENOENT && r != -EACCES) {
            /* transient (memory, descriptors): don't remember */
            free(c->path);
            free(c);
            errno = -r;
            return NULL;
        }
    }
    c->next = t->buckets[b];
    t->buckets[b] = c;
    return c;
}

int veil_shield_trusted_check(struct veil_shield_trusted *t, const char *path, size_t path_size,
                              const struct veil_shield_verdict *v) {
    pthread_mutex_lock(&t->lock);
    struct cached *c = lookup_locked(t, path, path_size, v);
    int r = !c ? -errno : c->memfd < 0 ? c->error : 0;
    pthread_mutex_unlock(&t->lock);
    return r;
}

int veil_shield_trusted_open(struct veil_shield_trusted *t, const char *path, size_t path_size,
                             const struct veil_shield_verdict *v, int *ret_fd) {
    pthread_mutex_lock(&t->lock);
    struct cached *c = lookup_locked(t, path, path_size, v);
    int memfd = c ? c->memfd : -1;
    int r = !c ? -errno : c->memfd < 0 ? c->error : 0;
    pthread_mutex_unlock(&t->lock);
    if (r < 0) return r;
    /* a new open file description, so each open has its own offset (ld.so reads from the current one) */
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", memfd);
    int fd = open(proc, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return veil_err(-errno, "cannot reopen the verified copy of %s", path);
    *ret_fd = fd;
    return 0;
}
