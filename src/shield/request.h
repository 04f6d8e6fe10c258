/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the supervisor: its state, one notification being answered, and the handlers' shared helpers. */
#pragma once

#include <limits.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "policy.h"
#include "resolve.h"
#include "supervisor.h"

struct veil_shield_trusted;
struct veil_shield_vault;

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
    pthread_mutex_t leader_lock; /* which thread waits on the listener (see receiver()) */
    pthread_cond_t leader_free;
    bool leader_busy;
};

/* What to answer. */
enum verdict_kind { ANSWER_CONTINUE, ANSWER_VALUE, ANSWER_FD, ANSWER_NONE };
struct answer {
    enum verdict_kind kind;
    int64_t value; /* ANSWER_VALUE: >= 0 result or -errno */
    int fd;        /* ANSWER_FD: supervisor's fd to inject (closed after) */
    bool cloexec;
};

static inline struct answer answer_continue(void) {
    return (struct answer){ .kind = ANSWER_CONTINUE };
}
static inline struct answer answer_value(int64_t v) {
    return (struct answer){ .kind = ANSWER_VALUE, .value = v };
}
static inline struct answer answer_fd(int fd, bool cloexec) {
    return (struct answer){ .kind = ANSWER_FD, .fd = fd, .cloexec = cloexec };
}

struct request {
    struct veil_shield *s;
    struct seccomp_notif *n;
    pid_t pid;
};

static inline uint64_t veil_shield_arg(const struct request *q, int i) {
    return q->n->data.args[i];
}


/* Is the notification still pending (the caller alive and still in the call)? Checked before acting on what was read. */
bool veil_shield_still_valid(const struct request *q);

/* Around /proc look-ups of the application: take its fs ids (see request.c). */
void veil_shield_proc_access_begin(const struct veil_shield *s);
void veil_shield_proc_access_end(const struct veil_shield *s);

/* The application's view of its cwd (dirfd == AT_FDCWD) or of a directory descriptor. */
int veil_shield_read_base(const struct request *q, int dirfd, char *out, size_t out_size);
/* The resolver's readlink on the image root. */
int veil_shield_disk_readlink(void *ctx, const char *path, char *buf, size_t size);
/* Read a path argument, resolve it against the cwd or dirfd inside the root, classify it. */
int veil_shield_resolve_arg(const struct request *q, int dirfd, uint64_t addr, bool follow,
                            struct veil_shield_resolved *ret);
/* The host path of a normalised path. */
int veil_shield_host_path(const struct veil_shield *s, const char *path, char *buf, size_t size);
/* lstat below the root: 0 or -errno. */
int veil_shield_disk_lstat(const struct veil_shield *s, const char *path, struct stat *st);
/* The key for an encrypted or ephemeral verdict, or NULL. */
const uint8_t *veil_shield_key_for(const struct veil_shield *s, const struct veil_shield_verdict *v);
/* The answer for a path the manifest does not know: -EACCES (logged) when it exists, else -ENOENT. */
int64_t veil_shield_refuse_unknown(const struct request *q, const struct veil_shield_resolved *p, const char *what);

static inline bool veil_shield_is_encrypted_class(enum veil_shield_class c) {
    return c == VEIL_SHIELD_ENCRYPTED || c == VEIL_SHIELD_EPHEMERAL;
}

/* The handlers, one family per file (call-*.c). */
struct answer veil_shield_call_open(const struct request *q, int dirfd, uint64_t path_addr, int flags, mode_t mode);
struct answer veil_shield_call_openat2(const struct request *q);
struct answer veil_shield_call_stat(const struct request *q, int dirfd, uint64_t path_addr, bool follow, uint64_t buf,
                                    bool is_statx, unsigned statx_mask, int statx_flags);
struct answer veil_shield_call_access(const struct request *q, int dirfd, uint64_t path_addr, int mode, int flags);
struct answer veil_shield_call_readlink(const struct request *q, int dirfd, uint64_t path_addr, uint64_t buf,
                                        uint64_t size);
struct answer veil_shield_call_unlink(const struct request *q, int dirfd, uint64_t path_addr, bool dir);
struct answer veil_shield_call_create_name(const struct request *q, int dirfd, uint64_t path_addr, const char *what);
struct answer veil_shield_call_rename(const struct request *q, int olddir, uint64_t old_addr, int newdir,
                                      uint64_t new_addr, unsigned flags);
struct answer veil_shield_call_link(const struct request *q, int olddir, uint64_t old_addr, int newdir,
                                    uint64_t new_addr, int flags);
struct answer veil_shield_call_truncate(const struct request *q, uint64_t path_addr, int64_t length);
struct answer veil_shield_call_metadata(const struct request *q, int dirfd, uint64_t path_addr, bool follow);
struct answer veil_shield_call_exec(const struct request *q, int dirfd, uint64_t path_addr, int flags);
struct answer veil_shield_call_fsync(const struct request *q, int fd);
struct answer veil_shield_call_sync_all(const struct request *q, bool force);
struct answer veil_shield_call_bind(const struct request *q);
struct answer veil_shield_call_connect(const struct request *q);
