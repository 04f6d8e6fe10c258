/* SPDX-License-Identifier: Apache-2.0 */
/* bind() and connect() of the application: protected ports and destinations go through the nettls proxy (docs/nettls.md). */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/log.h"
#include "nettls/nettls.h"
#include "procmem.h"
#include "request.h"

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif

static int read_sockaddr(const struct request *q, uint64_t addr, uint64_t size, struct sockaddr_storage *ret,
                         socklen_t *ret_size) {
    if (size < sizeof(struct sockaddr_in) || size > sizeof(*ret)) return -EINVAL;
    memset(ret, 0, sizeof(*ret));
    int r = veil_shield_read_mem(q->pid, addr, ret, size);
    if (r < 0) return r;
    if (ret->ss_family == AF_INET) *ret_size = sizeof(struct sockaddr_in);
    else if (ret->ss_family == AF_INET6 && size >= sizeof(struct sockaddr_in6)) *ret_size = sizeof(struct sockaddr_in6);
    else return -EAFNOSUPPORT;
    return 0;
}

/* Not an address the rules can name (another family, a bad size or pointer): the kernel answers as before. */
static bool not_ours(int r) {
    return r == -EAFNOSUPPORT || r == -EINVAL || r == -EFAULT;
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss) {
    return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                          : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* A line "NAME:\tVALUE" of a /proc file, parsed as a number in `base`. */
static int proc_field(const char *path, const char *name, int base, long *ret) {
    _cleanup_free_ uint8_t *data = NULL;
    size_t size;
    int r = veil_read_file(path, 64 << 10, &data, &size);
    if (r < 0) return r;
    size_t name_size = strlen(name);
    for (const char *line = (const char *)data; line && line < (const char *)data + size;) {
        if (!strncmp(line, name, name_size) && line[name_size] == ':') {
            *ret = strtol(line + name_size + 1, NULL, base);
            return 0;
        }
        line = memchr(line, '\n', size - (size_t)(line - (const char *)data));
        if (line) line++;
    }
    return -ENOENT;
}

struct app_socket {
    int fd;       /* our duplicate of the application's socket (same open file description) */
    int type, family;
    long flags;   /* the application's descriptor flags and file status flags (O_CLOEXEC, O_NONBLOCK) */
};

/*
 * A duplicate of the application's socket `fd` (pidfd_getfd, the same access
 * check as process_vm_readv). Callers fail closed: a protected port or
 * destination whose socket cannot be examined is refused, never let through.
 */
static int take_app_socket(const struct request *q, int fd, struct app_socket *ret) {
    char path[64];
    long tgid, flags;
    snprintf(path, sizeof(path), "/proc/%d/status", q->pid);
    int r = proc_field(path, "Tgid", 10, &tgid);
    if (r < 0) return r;
    _cleanup_close_ int pidfd = (int)syscall(__NR_pidfd_open, (pid_t)tgid, 0);
    if (pidfd < 0) return -errno;
    if (!veil_shield_still_valid(q)) return -ENOENT; /* the pidfd is the caller's, not a recycled pid's */
    snprintf(path, sizeof(path), "/proc/%ld/fdinfo/%d", tgid, fd);
    if ((r = proc_field(path, "flags", 8, &flags)) < 0) return r;
    _cleanup_close_ int dup = (int)syscall(__NR_pidfd_getfd, pidfd, fd, 0);
    if (dup < 0) return -errno;
    int type = 0, family = 0;
    socklen_t size = sizeof(int);
    if (getsockopt(dup, SOL_SOCKET, SO_TYPE, &type, &size) < 0) return -errno;
    size = sizeof(int);
    if (getsockopt(dup, SOL_SOCKET, SO_DOMAIN, &family, &size) < 0) return -errno;
    *ret = (struct app_socket){ .fd = TAKE_FD(dup), .type = type, .family = family, .flags = flags };
    return 0;
}

/*
 * bind() to a protected port: the application's socket is bound to an
 * ephemeral loopback port instead, and the proxy listens on the address the
 * application asked for, serving verified TLS clients to that loopback port.
 */
struct answer veil_shield_call_bind(const struct request *q) {
    struct veil_nettls *n = q->s->o.nettls;
    if (!n) return answer_continue();
    struct sockaddr_storage want;
    socklen_t want_size;
    int r = read_sockaddr(q, veil_shield_arg(q, 1), veil_shield_arg(q, 2), &want, &want_size);
    if (r < 0) return not_ours(r) ? answer_continue() : answer_value(-EACCES); /* unreadable: fail closed */
    const struct veil_nettls_listen *rule = veil_nettls_rules_find_listen(veil_nettls_rules(n), sockaddr_port(&want));
    if (!rule) return answer_continue();
    struct app_socket as;
    r = take_app_socket(q, (int)veil_shield_arg(q, 0), &as);
    if (r < 0) return answer_value(r == -EBADF || r == -ENOTSOCK ? r : -EACCES);
    _cleanup_close_ int fd = as.fd;
    /* UDP is not covered by the rules; a family mismatch is the kernel's EINVAL */
    if (as.type != SOCK_STREAM || as.family != want.ss_family) return answer_continue();
    int v6only = -1;
    socklen_t size = sizeof(v6only);
    if (as.family == AF_INET6 && getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &size) < 0) v6only = -1;
    struct sockaddr_storage app = { .ss_family = (sa_family_t)as.family };
    socklen_t app_size = as.family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (as.family == AF_INET) ((struct sockaddr_in *)&app)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else ((struct sockaddr_in6 *)&app)->sin6_addr = in6addr_loopback;
    if (bind(fd, (struct sockaddr *)&app, app_size) < 0 || getsockname(fd, (struct sockaddr *)&app, &app_size) < 0)
        return answer_value(-errno);
    r = veil_nettls_serve(n, rule, (struct sockaddr *)&want, want_size, v6only, (struct sockaddr *)&app, app_size);
    if (r < 0) {
        veil_log_warning("cannot serve attested TLS on port %u: %s", rule->port, strerror(-r));
        return answer_value(r);
    }
    veil_log_debug("port %u: attested TLS, the application listens on loopback port %u", rule->port, sockaddr_port(&app));
    return answer_value(0);
}

struct pending_connect {
    int listener;
    uint64_t id;
    int app_fd;   /* the descriptor number the application connects */
    int app_side; /* the loopback socket that replaces it */
    bool cloexec;
};

/* From the proxy thread: replace the application's socket by our loopback one and let connect() return. */
static void connect_done(void *ctx, int err) {
    struct pending_connect *p = ctx;
    if (err == 0) {
        struct seccomp_notif_addfd addfd = {
            .id = p->id,
            .flags = SECCOMP_ADDFD_FLAG_SETFD,
            .srcfd = (uint32_t)p->app_side,
            .newfd = (uint32_t)p->app_fd,
            .newfd_flags = p->cloexec ? O_CLOEXEC : 0,
        };
        if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0) err = -errno;
    }
    /* a peer that failed verification looks like a peer that refused: never plaintext */
    struct seccomp_notif_resp resp = { .id = p->id, .error = err == 0 ? 0 : err == -ETIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED };
    if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
        veil_log_debug("cannot answer a connect: %m");
    close(p->app_side);
    free(p);
}

/* Socket options an application commonly sets before connect(), carried over to the replacement. */
static void copy_options(int from, int to) {
    static const int opts[][2] = { { IPPROTO_TCP, TCP_NODELAY }, { SOL_SOCKET, SO_KEEPALIVE } };
    for (size_t i = 0; i < ELEMENTSOF(opts); i++) {
        int v = 0;
        socklen_t size = sizeof(v);
        if (getsockopt(from, opts[i][0], opts[i][1], &v, &size) == 0)
            (void)setsockopt(to, opts[i][0], opts[i][1], &v, sizeof(v));
    }
}

/*
 * connect() to a protected destination: the proxy opens attested TLS to it; on
 * success the application's socket is replaced by a loopback socket relayed
 * through that TLS connection and connect() returns 0; on failure it returns
 * ECONNREFUSED. The call is answered later, from the proxy thread.
 */
struct answer veil_shield_call_connect(const struct request *q) {
    struct veil_nettls *n = q->s->o.nettls;
    if (!n) return answer_continue();
    struct sockaddr_storage dest;
    socklen_t dest_size;
    int r = read_sockaddr(q, veil_shield_arg(q, 1), veil_shield_arg(q, 2), &dest, &dest_size);
    if (r < 0) return not_ours(r) ? answer_continue() : answer_value(-ECONNREFUSED); /* unreadable: fail closed */
    const struct veil_nettls_connect *rule = veil_nettls_rules_find_connect(veil_nettls_rules(n), (struct sockaddr *)&dest, dest_size);
    if (!rule) return answer_continue();
    struct app_socket as;
    r = take_app_socket(q, (int)veil_shield_arg(q, 0), &as);
    if (r < 0) return answer_value(r == -EBADF || r == -ENOTSOCK ? r : -ECONNREFUSED);
    _cleanup_close_ int fd = as.fd;
    if (as.type != SOCK_STREAM) return answer_continue();
    int pair[2];
    r = veil_nettls_loopback_pair(as.family, pair);
    if (r < 0) return answer_value(-ECONNREFUSED);
    copy_options(fd, pair[0]);
    if ((as.flags & O_NONBLOCK) && fcntl(pair[0], F_SETFL, O_RDWR | O_NONBLOCK) < 0) r = -errno;
    struct pending_connect *p = r < 0 ? NULL : malloc(sizeof(*p));
    if (!p) {
        close(pair[0]);
        close(pair[1]);
        return answer_value(-ECONNREFUSED);
    }
    *p = (struct pending_connect){ .listener = q->s->listener, .id = q->n->id, .app_fd = (int)veil_shield_arg(q, 0),
                                   .app_side = pair[0], .cloexec = (as.flags & O_CLOEXEC) != 0 };
    r = veil_nettls_connect(n, rule, (struct sockaddr *)&dest, dest_size, pair[1], connect_done, p);
    if (r < 0) {
        close(p->app_side);
        free(p);
        return answer_value(-ECONNREFUSED);
    }
    return (struct answer){ .kind = ANSWER_NONE };
}
