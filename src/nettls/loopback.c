/* SPDX-License-Identifier: Apache-2.0 */
/* A connected pair of TCP sockets over loopback: the plain leg between an application and the proxy. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/err.h"
#include "nettls.h"

#define ACCEPT_TRIES 8

static socklen_t loopback_address(int family, struct sockaddr_storage *ret) {
    memset(ret, 0, sizeof(*ret));
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ret;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ret;
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof(*s4);
}

/*
 * A TCP pair, not a socketpair(): the application keeps a TCP socket, so its
 * setsockopt(TCP_NODELAY) and getpeername() work as before. A short-lived
 * listener on an ephemeral loopback port; the accepted peer must be our own
 * connecting socket (another local process could race to connect first).
 */
int veil_nettls_loopback_pair(int family, int ret[2]) {
    if (family != AF_INET && family != AF_INET6) return -EAFNOSUPPORT;
    struct sockaddr_storage la, ca, peer;
    socklen_t lsize = loopback_address(family, &la), csize = sizeof(ca);
    _cleanup_close_ int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (l < 0) return -errno;
    if (bind(l, (struct sockaddr *)&la, lsize) < 0 || listen(l, ACCEPT_TRIES) < 0 ||
        getsockname(l, (struct sockaddr *)&la, &lsize) < 0)
        return -errno;
    _cleanup_close_ int a = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a < 0) return -errno;
    /* loopback connects complete in the call: the peer is in the accept queue on return */
    if (connect(a, (struct sockaddr *)&la, lsize) < 0 || getsockname(a, (struct sockaddr *)&ca, &csize) < 0) return -errno;
    for (int i = 0; i < ACCEPT_TRIES; i++) {
        socklen_t psize = sizeof(peer);
        int b = accept4(l, (struct sockaddr *)&peer, &psize, SOCK_CLOEXEC);
        if (b < 0) return errno == EAGAIN ? -ECONNABORTED : -errno;
        if (psize == csize && !memcmp(&peer, &ca, csize)) {
            ret[0] = TAKE_FD(a);
            ret[1] = b;
            return 0;
        }
        close(b); /* not ours */
    }
    return -ECONNABORTED;
}
