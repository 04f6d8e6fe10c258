/* SPDX-License-Identifier: Apache-2.0 */
/* The notification loop and one handler per kind of call: continue, refuse, emulate or inject a descriptor. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
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
#include "caller-ids.h"
#include "procmem.h"
#include "request.h"
#include "trusted.h"
#include "vault.h"

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

/* ---------------------------------------------------------------- credentials */

static void thread_take_app_ids(const struct veil_shield *s) {
    if (!s->o.switch_ids) return;
    if (syscall(SYS_setresgid, s->o.app_gid, -1, -1) < 0 || syscall(SYS_setresuid, s->o.app_uid, -1, -1) < 0)
        veil_log_warning("cannot take the application's ids: %m");
}

/* ---------------------------------------------------------------- dispatch */

static struct answer dispatch(const struct request *q) {
    int nr = q->n->data.nr;
    switch (nr) {
#ifdef __NR_open
    case __NR_open:
        return veil_shield_call_open(q, AT_FDCWD, veil_shield_arg(q, 0), (int)veil_shield_arg(q, 1), (mode_t)veil_shield_arg(q, 2));
    case __NR_creat:
        return veil_shield_call_open(q, AT_FDCWD, veil_shield_arg(q, 0), O_CREAT | O_WRONLY | O_TRUNC, (mode_t)veil_shield_arg(q, 1));
    case __NR_stat:
        return veil_shield_call_stat(q, AT_FDCWD, veil_shield_arg(q, 0), true, veil_shield_arg(q, 1), false, 0, 0);
    case __NR_lstat:
        return veil_shield_call_stat(q, AT_FDCWD, veil_shield_arg(q, 0), false, veil_shield_arg(q, 1), false, 0, 0);
    case __NR_access:
        return veil_shield_call_access(q, AT_FDCWD, veil_shield_arg(q, 0), (int)veil_shield_arg(q, 1), 0);
    case __NR_readlink:
        return veil_shield_call_readlink(q, AT_FDCWD, veil_shield_arg(q, 0), veil_shield_arg(q, 1), veil_shield_arg(q, 2));
    case __NR_rename:
        return veil_shield_call_rename(q, AT_FDCWD, veil_shield_arg(q, 0), AT_FDCWD, veil_shield_arg(q, 1), 0);
    case __NR_unlink:
        return veil_shield_call_unlink(q, AT_FDCWD, veil_shield_arg(q, 0), false);
    case __NR_rmdir:
        return veil_shield_call_unlink(q, AT_FDCWD, veil_shield_arg(q, 0), true);
    case __NR_mkdir:
        return veil_shield_call_create_name(q, AT_FDCWD, veil_shield_arg(q, 0), "mkdir");
    case __NR_link:
        return veil_shield_call_link(q, AT_FDCWD, veil_shield_arg(q, 0), AT_FDCWD, veil_shield_arg(q, 1), 0);
    case __NR_symlink:
        return veil_shield_call_create_name(q, AT_FDCWD, veil_shield_arg(q, 1), "symlink");
    case __NR_chmod:
    case __NR_chown:
        return veil_shield_call_metadata(q, AT_FDCWD, veil_shield_arg(q, 0), true);
    case __NR_lchown:
        return veil_shield_call_metadata(q, AT_FDCWD, veil_shield_arg(q, 0), false);
#endif
    case __NR_openat:
        return veil_shield_call_open(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), (int)veil_shield_arg(q, 2), (mode_t)veil_shield_arg(q, 3));
    case __NR_openat2:
        return veil_shield_call_openat2(q);
    case __NR_newfstatat:
        return veil_shield_call_stat(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), !((int)veil_shield_arg(q, 3) & AT_SYMLINK_NOFOLLOW), veil_shield_arg(q, 2), false, 0, 0);
    case __NR_statx:
        return veil_shield_call_stat(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), !((int)veil_shield_arg(q, 2) & AT_SYMLINK_NOFOLLOW), veil_shield_arg(q, 4), true,
                       (unsigned)veil_shield_arg(q, 3), (int)veil_shield_arg(q, 2));
    case __NR_faccessat:
        return veil_shield_call_access(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), (int)veil_shield_arg(q, 2), 0);
    case __NR_faccessat2:
        return veil_shield_call_access(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), (int)veil_shield_arg(q, 2), (int)veil_shield_arg(q, 3));
    case __NR_readlinkat:
        return veil_shield_call_readlink(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), veil_shield_arg(q, 2), veil_shield_arg(q, 3));
    case __NR_renameat:
        return veil_shield_call_rename(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), (int)veil_shield_arg(q, 2), veil_shield_arg(q, 3), 0);
    case __NR_renameat2:
        return veil_shield_call_rename(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), (int)veil_shield_arg(q, 2), veil_shield_arg(q, 3), (unsigned)veil_shield_arg(q, 4));
    case __NR_unlinkat:
        return veil_shield_call_unlink(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), (int)veil_shield_arg(q, 2) & AT_REMOVEDIR);
    case __NR_mkdirat:
        return veil_shield_call_create_name(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), "mkdir");
    case __NR_linkat:
        return veil_shield_call_link(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), (int)veil_shield_arg(q, 2), veil_shield_arg(q, 3), (int)veil_shield_arg(q, 4));
    case __NR_symlinkat:
        return veil_shield_call_create_name(q, (int)veil_shield_arg(q, 1), veil_shield_arg(q, 2), "symlink");
    case __NR_truncate:
        return veil_shield_call_truncate(q, veil_shield_arg(q, 0), (int64_t)veil_shield_arg(q, 1));
    case __NR_fchmodat:
        return veil_shield_call_metadata(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), true);
    case __NR_fchmodat2:
    case __NR_fchownat: {
        int flags = (int)veil_shield_arg(q, nr == __NR_fchownat ? 4 : 3);
        if ((flags & AT_EMPTY_PATH)) {
            char probe[2];
            if (veil_shield_read_string(q->pid, veil_shield_arg(q, 1), probe, sizeof(probe)) == 0 && !probe[0])
                return answer_continue(); /* fchown/fchmod of a held descriptor */
        }
        return veil_shield_call_metadata(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), !(flags & AT_SYMLINK_NOFOLLOW));
    }
    case __NR_execve:
        return veil_shield_call_exec(q, AT_FDCWD, veil_shield_arg(q, 0), 0);
    case __NR_execveat:
        return veil_shield_call_exec(q, (int)veil_shield_arg(q, 0), veil_shield_arg(q, 1), (int)veil_shield_arg(q, 4));
    case __NR_fsync:
    case __NR_fdatasync:
        return veil_shield_call_fsync(q, (int)veil_shield_arg(q, 0));
    case __NR_sync:
    case __NR_syncfs:
        return veil_shield_call_sync_all(q, false);
    case __NR_msync:
        return veil_shield_call_sync_all(q, true);
    case __NR_bind:
        return veil_shield_call_bind(q);
    case __NR_connect:
        return veil_shield_call_connect(q);
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
        int r = ioctl(s->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0 ? -errno : 0;
        close(a.fd);
        if (r == 0 || r == -ENOENT) return; /* done, or the caller is gone */
        /* e.g. EMFILE: the call is still unanswered, answer it with the error */
        memset(resp, 0, s->sizes.seccomp_notif_resp);
        resp->id = n->id;
        resp->error = r;
        break;
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

/*
 * Leader and followers: one thread at a time waits for notifications (several
 * waiting threads would all be woken for each one, and the wake-ups cost more
 * than the work). Before work that may take long — verifying a trusted file,
 * decrypting or writing back an encrypted one — the receiving thread hands the
 * listener to an idle follower, so one slow call never holds up the others.
 */
static __thread struct veil_shield *receiving_shield;

static void hand_over_listener(void *ctx) {
    (void)ctx;
    struct veil_shield *s = receiving_shield;
    if (!s) return; /* not a receiving thread, or it already handed over */
    receiving_shield = NULL;
    pthread_mutex_lock(&s->leader_lock);
    s->leader_busy = false;
    pthread_cond_signal(&s->leader_free);
    pthread_mutex_unlock(&s->leader_lock);
}

static void become_receiver(struct veil_shield *s) {
    pthread_mutex_lock(&s->leader_lock);
    while (s->leader_busy) pthread_cond_wait(&s->leader_free, &s->leader_lock);
    s->leader_busy = true;
    pthread_mutex_unlock(&s->leader_lock);
    receiving_shield = s;
}

/* RECV fails with ENOENT both when one caller died and when none is left; poll tells them apart. */
static bool listener_hung_up(int listener) {
    struct pollfd p = { .fd = listener, .events = POLLIN };
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static void *receiver(void *arg_) {
    struct veil_shield *s = arg_;
    _cleanup_free_ struct seccomp_notif *n = calloc(1, MAX(s->sizes.seccomp_notif, sizeof(*n)));
    _cleanup_free_ struct seccomp_notif_resp *resp = calloc(1, MAX(s->sizes.seccomp_notif_resp, sizeof(*resp)));
    if (!n || !resp) return NULL;
    thread_take_app_ids(s);
    for (;;) {
        if (!receiving_shield) become_receiver(s);
        memset(n, 0, s->sizes.seccomp_notif);
        if (ioctl(s->listener, SECCOMP_IOCTL_NOTIF_RECV, n) < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOENT && !listener_hung_up(s->listener)) continue; /* that caller died meanwhile */
            /* every process under the filter is gone (or the listener is closed): nothing more will come */
            if (errno != ENOENT && errno != EBADF) veil_log_debug("notification receive ended: %m");
            hand_over_listener(NULL);
            return NULL;
        }
        atomic_fetch_add_explicit(&s->notifications, 1, memory_order_relaxed);
        struct request q = { .s = s, .n = n, .pid = (pid_t)n->pid };
        veil_shield_caller_ids_reset();
        struct answer a = dispatch(&q);
        /* refused for our ids: the caller runs as another user (caller-ids.c); answer again as that user */
        if (a.kind == ANSWER_VALUE && veil_shield_caller_ids_refused() && veil_shield_caller_ids_take(q.pid) > 0)
            a = dispatch(&q);
        respond(s, n, resp, a);
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
    pthread_mutex_init(&s->leader_lock, NULL);
    pthread_cond_init(&s->leader_free, NULL);
    int r = veil_shield_trusted_new(s->root_fd, hand_over_listener, s, &s->trusted);
    if (r >= 0) r = veil_shield_vault_new(s->root_size ? s->root : "/", hand_over_listener, s, &s->vault);
    if (r >= 0 && o->vault_hooks) veil_shield_vault_set_hooks(s->vault, o->vault_hooks);
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
    veil_shield_proc_access_begin(ctx);
}
static void scan_end(void *ctx) {
    veil_shield_proc_access_end(ctx);
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
