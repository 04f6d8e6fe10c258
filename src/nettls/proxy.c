/* SPDX-License-Identifier: Apache-2.0 */
/* The proxy: one epoll thread that terminates and originates attested TLS and relays plaintext over loopback. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "nettls.h"
#include "tls.h"

/* One TLS record carries at most 16 KiB of data (RFC 8446 §5.1): read that much, write one full record. */
#define RELAY_BUF_SIZE 16384
#define HANDSHAKE_TIMEOUT_SECONDS 10
#define EVENTS_MAX 64

enum watch_kind { WATCH_LISTENER, WATCH_PLAIN, WATCH_TLS };
struct watch {
    enum watch_kind kind;
    void *owner;
};

struct listener {
    struct watch w;
    int fd;
    bool require_client;
    struct sockaddr_storage public_addr, app_addr;
    socklen_t public_size, app_size;
    struct listener *next;
};

struct relay_buf {
    size_t size, off; /* data[off..size) is still to be written */
    uint8_t data[RELAY_BUF_SIZE];
};

enum conn_state { CONN_TCP_CONNECTING, CONN_HANDSHAKE, CONN_APP_CONNECTING, CONN_OPEN };

struct conn {
    struct watch wplain, wtls;
    int plain, tls; /* the application's side (loopback, plaintext) and the network side (TLS) */
    uint32_t ev_plain, ev_tls; /* registered interest; 0 = not in the epoll set */
    SSL *ssl;
    enum conn_state state;
    bool require_client;
    const char *service; /* outbound: the name the server's certificate must carry (points into the rules) */
    void (*done)(void *ctx, int err); /* outbound: answers the application's connect() */
    void *done_ctx;
    struct sockaddr_storage app_addr; /* inbound: where the application listens */
    socklen_t app_size;
    time_t deadline;
    struct relay_buf to_tls, to_plain;
    bool plain_eof, tls_eof, plain_shut, tls_shut;
    bool write_wants_read, read_wants_write, handshake_wants_write;
    /* the last event said there is something to read; cleared when a read comes back short (epoll is
     * level-triggered: what is left is reported again), so an idle side costs no read() that fails */
    bool plain_ready, tls_ready;
    bool dead;
    struct conn *prev, *next;
};

struct veil_nettls {
    struct veil_nettls_rules *rules;
    SSL_CTX *server, *client;
    int epoll;
    pthread_mutex_t lock; /* the lists: receivers add, the proxy thread removes */
    struct listener *listeners;
    struct conn *conns;
};

static void set_nodelay(int fd) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    return 0;
}

static int watch_set(struct veil_nettls *n, int fd, struct watch *w, uint32_t *registered, uint32_t want) {
    if (want == *registered) return 0;
    struct epoll_event ev = { .events = want, .data.ptr = w };
    int op = *registered == 0 ? EPOLL_CTL_ADD : want == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (epoll_ctl(n->epoll, op, fd, &ev) < 0) return -errno;
    *registered = want;
    return 0;
}

static void conn_link(struct veil_nettls *n, struct conn *c) {
    pthread_mutex_lock(&n->lock);
    c->next = n->conns;
    if (n->conns) n->conns->prev = c;
    n->conns = c;
    pthread_mutex_unlock(&n->lock);
}

static struct conn *conn_new(int plain, int tls) {
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->wplain = (struct watch){ WATCH_PLAIN, c };
    c->wtls = (struct watch){ WATCH_TLS, c };
    c->plain = plain;
    c->tls = tls;
    c->deadline = time(NULL) + HANDSHAKE_TIMEOUT_SECONDS;
    return c;
}

/* Close a connection; it is freed after the current batch of events (which may still name it). */
static void conn_close(struct veil_nettls *n, struct conn *c, int err, struct conn **graveyard) {
    if (c->dead) return;
    c->dead = true;
    if (c->done) {
        c->done(c->done_ctx, err < 0 ? err : -ECONNREFUSED);
        c->done = NULL;
    }
    if (c->ssl) SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->plain >= 0) close(c->plain); /* closing removes the descriptor from the epoll set */
    if (c->tls >= 0) close(c->tls);
    pthread_mutex_lock(&n->lock);
    if (c->prev) c->prev->next = c->next;
    else n->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&n->lock);
    c->next = *graveyard;
    *graveyard = c;
}

static const char *describe_tls_failure(SSL *ssl) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) return X509_verify_cert_error_string(v);
    unsigned long e = ERR_peek_last_error();
    return e ? ERR_reason_error_string(e) : "connection closed";
}

/* Relay in both directions until neither can move. 1: both directions ended; 0: wait; < 0: error. */
static int relay(struct conn *c) {
    for (;;) {
        bool progress = false;
        /* application -> network: one read, one TLS record */
        if (c->to_tls.size == 0 && !c->plain_eof && c->plain_ready) {
            ssize_t k = recv(c->plain, c->to_tls.data, RELAY_BUF_SIZE, 0);
            if (k > 0) {
                c->to_tls.size = (size_t)k;
                c->to_tls.off = 0;
                c->plain_ready = k == RELAY_BUF_SIZE;
                progress = true;
            } else if (k == 0) {
                c->plain_eof = progress = true;
            } else if (errno == EAGAIN)
                c->plain_ready = false;
            else if (errno != EINTR)
                return -errno;
        }
        if (c->to_tls.size > c->to_tls.off) {
            c->write_wants_read = false;
            ERR_clear_error();
            int k = SSL_write(c->ssl, c->to_tls.data + c->to_tls.off, (int)(c->to_tls.size - c->to_tls.off));
            if (k > 0) {
                c->to_tls.off += (size_t)k;
                if (c->to_tls.off == c->to_tls.size) c->to_tls.size = c->to_tls.off = 0;
                progress = true;
            } else {
                int e = SSL_get_error(c->ssl, k);
                if (e == SSL_ERROR_WANT_READ) c->write_wants_read = true;
                else if (e != SSL_ERROR_WANT_WRITE) return -EPIPE;
            }
        }
        if (c->plain_eof && c->to_tls.size == 0 && !c->tls_shut) {
            (void)SSL_shutdown(c->ssl); /* close_notify: the peer can tell an end from a truncation */
            (void)shutdown(c->tls, SHUT_WR);
            c->tls_shut = progress = true;
        }
        /* network -> application */
        if (c->to_plain.size == 0 && !c->tls_eof && (c->tls_ready || SSL_has_pending(c->ssl))) {
            c->read_wants_write = false;
            ERR_clear_error();
            int k = SSL_read(c->ssl, c->to_plain.data, RELAY_BUF_SIZE);
            if (k > 0) {
                c->to_plain.size = (size_t)k;
                c->to_plain.off = 0;
                /* nothing read ahead: the socket was most likely drained (if not, epoll says so again) */
                c->tls_ready = SSL_has_pending(c->ssl);
                progress = true;
            } else {
                int e = SSL_get_error(c->ssl, k);
                if (e == SSL_ERROR_ZERO_RETURN) c->tls_eof = progress = true;
                else if (e == SSL_ERROR_WANT_WRITE) c->read_wants_write = true;
                else if (e == SSL_ERROR_WANT_READ) c->tls_ready = false;
                else return -ECONNRESET;
            }
        }
        if (c->to_plain.size > c->to_plain.off) {
            ssize_t k = send(c->plain, c->to_plain.data + c->to_plain.off, c->to_plain.size - c->to_plain.off, MSG_NOSIGNAL);
            if (k > 0) {
                c->to_plain.off += (size_t)k;
                if (c->to_plain.off == c->to_plain.size) c->to_plain.size = c->to_plain.off = 0;
                progress = true;
            } else if (errno != EAGAIN && errno != EINTR)
                return -errno;
        }
        if (c->tls_eof && c->to_plain.size == 0 && !c->plain_shut) {
            (void)shutdown(c->plain, SHUT_WR);
            c->plain_shut = progress = true;
        }
        if (c->plain_eof && c->tls_eof && c->to_tls.size == 0 && c->to_plain.size == 0) return 1;
        if (!progress) return 0;
    }
}

static int update_interest(struct veil_nettls *n, struct conn *c) {
    uint32_t plain = 0, tls = 0;
    switch (c->state) {
    case CONN_TCP_CONNECTING: tls = EPOLLOUT; break;
    case CONN_HANDSHAKE: tls = c->handshake_wants_write ? EPOLLOUT : EPOLLIN; break;
    case CONN_APP_CONNECTING: plain = EPOLLOUT; break;
    case CONN_OPEN:
        if (c->to_tls.size == 0 && !c->plain_eof) plain |= EPOLLIN;
        if (c->to_plain.size > 0) plain |= EPOLLOUT;
        if ((c->to_plain.size == 0 && !c->tls_eof) || c->write_wants_read) tls |= EPOLLIN;
        if ((c->to_tls.size > 0 && !c->write_wants_read) || c->read_wants_write) tls |= EPOLLOUT;
        break;
    }
    int r = watch_set(n, c->plain, &c->wplain, &c->ev_plain, plain);
    if (r >= 0) r = watch_set(n, c->tls, &c->wtls, &c->ev_tls, tls);
    return r;
}

static int socket_error(int fd) {
    int err = 0;
    socklen_t size = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &size) < 0) return -errno;
    return -err;
}

/* Move a connection on after an event; returns < 0 to close it. */
static int conn_step(struct veil_nettls *n, struct conn *c) {
    int r;
    switch (c->state) {
    case CONN_TCP_CONNECTING:
        if ((r = socket_error(c->tls)) < 0) {
            veil_log_debug("nettls: cannot reach %s: %s", c->service, strerror(-r));
            return r;
        }
        c->ssl = nettls_tls_new_client(n->client, c->tls, c->service);
        if (!c->ssl) return -ENOMEM;
        c->state = CONN_HANDSHAKE;
        /* fall through */
    case CONN_HANDSHAKE:
        ERR_clear_error();
        r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                c->handshake_wants_write = e == SSL_ERROR_WANT_WRITE;
                break;
            }
            veil_log_debug("nettls: %s TLS handshake refused: %s", c->done ? "outbound" : "inbound", describe_tls_failure(c->ssl));
            return -ECONNREFUSED;
        }
        if (c->done) { /* outbound: the server proved it is the service; the application may talk now */
            c->done(c->done_ctx, 0);
            c->done = NULL;
            c->state = CONN_OPEN;
            c->plain_ready = c->tls_ready = true;
            return conn_step(n, c);
        }
        /* inbound: only a verified client reaches the application */
        c->plain = socket(c->app_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->plain < 0) return -errno;
        set_nodelay(c->plain);
        if (connect(c->plain, (struct sockaddr *)&c->app_addr, c->app_size) < 0 && errno != EINPROGRESS) return -errno;
        c->state = CONN_APP_CONNECTING;
        break;
    case CONN_APP_CONNECTING:
        if ((r = socket_error(c->plain)) < 0) return r;
        c->state = CONN_OPEN;
        c->plain_ready = c->tls_ready = true;
        /* fall through */
    case CONN_OPEN:
        r = relay(c);
        if (r != 0) return r < 0 ? r : -ESHUTDOWN;
        break;
    }
    return update_interest(n, c);
}

static void accept_all(struct veil_nettls *n, struct listener *l, struct conn **graveyard) {
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) veil_log_debug("nettls: accept: %m");
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return;
        }
        set_nodelay(fd);
        struct conn *c = conn_new(-1, fd);
        if (c) c->ssl = nettls_tls_new_server(n->server, fd, l->require_client);
        if (!c || !c->ssl) {
            if (c) SSL_free(c->ssl);
            free(c);
            close(fd);
            continue;
        }
        pthread_mutex_lock(&n->lock);
        c->app_addr = l->app_addr;
        c->app_size = l->app_size;
        pthread_mutex_unlock(&n->lock);
        c->state = CONN_HANDSHAKE;
        conn_link(n, c);
        if (conn_step(n, c) < 0) conn_close(n, c, -ECONNREFUSED, graveyard);
    }
}

/* Connections still short of relaying after HANDSHAKE_TIMEOUT_SECONDS (a silent peer, a stalled handshake). */
static void expire(struct veil_nettls *n, time_t now, struct conn **graveyard) {
    for (;;) {
        pthread_mutex_lock(&n->lock);
        struct conn *late = NULL;
        for (struct conn *c = n->conns; c && !late; c = c->next)
            if (c->state != CONN_OPEN && c->deadline < now) late = c;
        pthread_mutex_unlock(&n->lock);
        if (!late) return;
        veil_log_debug("nettls: a TLS handshake timed out");
        conn_close(n, late, -ETIMEDOUT, graveyard);
    }
}

static void *proxy_thread(void *arg) {
    struct veil_nettls *n = arg;
    struct epoll_event ev[EVENTS_MAX];
    time_t last_expiry = 0;
    for (;;) {
        int count = epoll_wait(n->epoll, ev, EVENTS_MAX, 1000);
        if (count < 0 && errno != EINTR) {
            veil_log_debug("nettls: epoll_wait: %m");
            return NULL;
        }
        struct conn *graveyard = NULL;
        for (int i = 0; i < count; i++) {
            struct watch *w = ev[i].data.ptr;
            if (w->kind == WATCH_LISTENER) {
                accept_all(n, w->owner, &graveyard);
                continue;
            }
            struct conn *c = w->owner;
            if (c->dead) continue;
            if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
                if (w->kind == WATCH_PLAIN) c->plain_ready = true;
                else c->tls_ready = true;
            }
            int r = conn_step(n, c);
            if (r < 0) conn_close(n, c, r == -ESHUTDOWN ? 0 : r, &graveyard);
        }
        time_t now = time(NULL);
        if (now != last_expiry) {
            last_expiry = now;
            expire(n, now, &graveyard);
        }
        while (graveyard) {
            struct conn *next = graveyard->next;
            free(graveyard);
            graveyard = next;
        }
    }
}

int veil_nettls_new(struct veil_nettls_rules *rules, const uint8_t *cert_pem, size_t cert_size, const uint8_t *key_pem,
                    size_t key_size, const uint8_t *ca_pem, size_t ca_size, struct veil_nettls **ret) {
    _cleanup_free_ struct veil_nettls *n = calloc(1, sizeof(*n));
    if (!n) return -ENOMEM;
    int r = nettls_tls_contexts(cert_pem, cert_size, key_pem, key_size, ca_pem, ca_size, &n->server, &n->client);
    if (r < 0) return r;
    n->epoll = epoll_create1(EPOLL_CLOEXEC);
    if (n->epoll < 0) r = -errno;
    pthread_mutex_init(&n->lock, NULL);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /*
     * The thread starts with every signal blocked: the program's signals (SIGCHLD
     * above all) belong to its own signalfd, and OpenSSL's write() to a reset
     * peer must not kill veil-run with SIGPIPE.
     */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (r >= 0) r = -pthread_create(&t, &attr, proxy_thread, n);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (r < 0) {
        SSL_CTX_free(n->server);
        SSL_CTX_free(n->client);
        if (n->epoll >= 0) close(n->epoll);
        return veil_err(r, "cannot start the TLS proxy");
    }
    n->rules = rules;
    *ret = TAKE_PTR(n);
    return 0;
}

const struct veil_nettls_rules *veil_nettls_rules(const struct veil_nettls *n) {
    return n->rules;
}

int veil_nettls_serve(struct veil_nettls *n, const struct veil_nettls_listen *rule, const struct sockaddr *public_addr,
                      socklen_t public_size, int v6only, const struct sockaddr *app_addr, socklen_t app_size) {
    if (public_size > sizeof(struct sockaddr_storage) || app_size > sizeof(struct sockaddr_storage)) return -EINVAL;
    /* the application listens again on the same address (it closed the last socket): serve the new one */
    pthread_mutex_lock(&n->lock);
    for (struct listener *l = n->listeners; l; l = l->next)
        if (l->public_size == public_size && !memcmp(&l->public_addr, public_addr, public_size)) {
            memcpy(&l->app_addr, app_addr, app_size);
            l->app_size = app_size;
            pthread_mutex_unlock(&n->lock);
            return 0;
        }
    pthread_mutex_unlock(&n->lock);

    _cleanup_free_ struct listener *l = calloc(1, sizeof(*l));
    if (!l) return -ENOMEM;
    l->w = (struct watch){ WATCH_LISTENER, l };
    l->require_client = rule->require_client;
    memcpy(&l->public_addr, public_addr, public_size);
    l->public_size = public_size;
    memcpy(&l->app_addr, app_addr, app_size);
    l->app_size = app_size;
    _cleanup_close_ int fd = socket(public_addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (public_addr->sa_family == AF_INET6 && v6only >= 0)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    if (bind(fd, public_addr, public_size) < 0 || listen(fd, SOMAXCONN) < 0) return -errno;
    l->fd = fd;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->w };
    if (epoll_ctl(n->epoll, EPOLL_CTL_ADD, fd, &ev) < 0) return -errno;
    TAKE_FD(fd);
    pthread_mutex_lock(&n->lock);
    l->next = n->listeners;
    n->listeners = TAKE_PTR(l);
    pthread_mutex_unlock(&n->lock);
    return 0;
}

int veil_nettls_connect(struct veil_nettls *n, const struct veil_nettls_connect *rule, const struct sockaddr *dest,
                        socklen_t dest_size, int plain_fd, void (*done)(void *ctx, int err), void *ctx) {
    _cleanup_close_ int plain = plain_fd;
    int r = set_nonblocking(plain);
    if (r < 0) return r;
    set_nodelay(plain);
    _cleanup_close_ int fd = socket(dest->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    set_nodelay(fd);
    if (connect(fd, dest, dest_size) < 0 && errno != EINPROGRESS) return -errno;
    struct conn *c = conn_new(plain, fd);
    if (!c) return -ENOMEM;
    c->state = CONN_TCP_CONNECTING;
    c->service = rule->service;
    c->done = done;
    c->done_ctx = ctx;
    c->ev_tls = EPOLLOUT;
    TAKE_FD(plain);
    TAKE_FD(fd);
    conn_link(n, c);
    /* from here on the proxy thread owns the connection (and calls done) */
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &c->wtls };
    if (epoll_ctl(n->epoll, EPOLL_CTL_ADD, c->tls, &ev) < 0) {
        /* never seen by the proxy thread: it is still ours to undo */
        r = -errno;
        pthread_mutex_lock(&n->lock);
        if (c->prev) c->prev->next = c->next;
        else n->conns = c->next;
        if (c->next) c->next->prev = c->prev;
        pthread_mutex_unlock(&n->lock);
        close(c->plain);
        close(c->tls);
        free(c);
        return r;
    }
    return 0;
}
