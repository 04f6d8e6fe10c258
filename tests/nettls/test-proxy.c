/* SPDX-License-Identifier: Apache-2.0 */
/* The proxy in one process: attested TLS from an outbound rule to an inbound one, bulk relay, half-close, refusals. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "nettls/nettls.h"

struct pem {
    char *data;
    size_t size;
};

static struct pem to_pem(int (*write)(BIO *, void *), void *obj) {
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(write(b, obj), 1);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    struct pem r = { malloc((size_t)n), (size_t)n };
    memcpy(r.data, p, (size_t)n);
    BIO_free(b);
    return r;
}
static int write_cert(BIO *b, void *x) {
    return PEM_write_bio_X509(b, x);
}
static int write_key(BIO *b, void *k) {
    return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* A certificate for `key`, issued by (issuer, issuer_key), or self-signed when issuer is NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const char *dns) {
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), rand());
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    if (dns) {
        char san[300];
        snprintf(san, sizeof(san), "DNS:%s", dns);
        add_ext(x, issuer, NID_subject_alt_name, san);
        add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
    } else
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

struct identity {
    struct pem cert, key, ca;
};
static struct identity policy_id, foreign_id;

/* A CA and a leaf for DNS name "svc" under it. */
static struct identity make_identity(void) {
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *leaf_key = EVP_EC_gen("P-256");
    X509 *ca = make_cert(ca_key, "test CA", NULL, NULL, NULL);
    X509 *leaf = make_cert(leaf_key, "svc", ca, ca_key, "svc");
    struct identity id = { to_pem(write_cert, leaf), to_pem(write_key, leaf_key), to_pem(write_cert, ca) };
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(leaf_key);
    return id;
}

static struct veil_nettls *make_proxy(const struct identity *id, const char *rules_text) {
    struct veil_nettls_rules *rules;
    assert_int_equal(veil_nettls_rules_parse((const uint8_t *)rules_text, strlen(rules_text), &rules), 0);
    assert_int_equal(veil_nettls_rules_resolve(rules), 0);
    struct veil_nettls *n;
    assert_int_equal(veil_nettls_new(rules, (const uint8_t *)id->cert.data, id->cert.size, (const uint8_t *)id->key.data,
                                     id->key.size, (const uint8_t *)id->ca.data, id->ca.size, &n),
                     0);
    return n;
}

static uint16_t free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t size = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &size), 0);
    close(s);
    return ntohs(a.sin_port);
}

/* The "application" server: listens on loopback, echoes one connection until EOF, then closes. */
struct echo {
    int listener;
    struct sockaddr_in addr;
    pthread_t thread;
};
static void *echo_thread(void *arg) {
    struct echo *e = arg;
    int c = accept(e->listener, NULL, NULL);
    if (c < 0) return NULL;
    char buf[65536];
    for (;;) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(c, buf + off, (size_t)(n - off));
            if (w <= 0) goto out;
            off += w;
        }
    }
out:
    close(c);
    return NULL;
}
static void echo_start(struct echo *e) {
    e->listener = socket(AF_INET, SOCK_STREAM, 0);
    e->addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t size = sizeof(e->addr);
    assert_int_equal(bind(e->listener, (struct sockaddr *)&e->addr, sizeof(e->addr)), 0);
    assert_int_equal(listen(e->listener, 4), 0);
    assert_int_equal(getsockname(e->listener, (struct sockaddr *)&e->addr, &size), 0);
    assert_int_equal(pthread_create(&e->thread, NULL, echo_thread, e), 0);
}

struct done {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool called;
    int err;
};
static void on_done(void *ctx, int err) {
    struct done *d = ctx;
    pthread_mutex_lock(&d->lock);
    d->called = true;
    d->err = err;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}
static int wait_done(struct done *d) {
    pthread_mutex_lock(&d->lock);
    while (!d->called) pthread_cond_wait(&d->cond, &d->lock);
    pthread_mutex_unlock(&d->lock);
    return d->err;
}

/* Connect through `client` to the server proxy at port; returns the application's end, or -errno. */
static int connect_through(struct veil_nettls *client, uint16_t port) {
    struct sockaddr_in dest = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    const struct veil_nettls_connect *rule =
        veil_nettls_rules_find_connect(veil_nettls_rules(client), (struct sockaddr *)&dest, sizeof(dest));
    assert_non_null(rule);
    int pair[2];
    assert_int_equal(veil_nettls_loopback_pair(AF_INET, pair), 0);
    struct done d = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 };
    assert_int_equal(veil_nettls_connect(client, rule, (struct sockaddr *)&dest, sizeof(dest), pair[1], on_done, &d), 0);
    int r = wait_done(&d);
    if (r < 0) {
        close(pair[0]);
        return r;
    }
    return pair[0];
}

static struct veil_nettls *serve(const struct identity *id, uint16_t port, bool require_client, struct echo *e) {
    char rules[64];
    snprintf(rules, sizeof(rules), "listen %u%s\n", port, require_client ? " require-client" : "");
    struct veil_nettls *n = make_proxy(id, rules);
    echo_start(e);
    struct sockaddr_in pub = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(veil_nettls_serve(n, veil_nettls_rules_find_listen(veil_nettls_rules(n), port), (struct sockaddr *)&pub,
                                       sizeof(pub), -1, (struct sockaddr *)&e->addr, sizeof(e->addr)),
                     0);
    return n;
}

static void test_relay(void **state) {
    (void)state;
    uint16_t port = free_port();
    struct echo e;
    serve(&policy_id, port, true, &e);
    char rules[64];
    snprintf(rules, sizeof(rules), "connect 127.0.0.1:%u svc\n", port);
    struct veil_nettls *client = make_proxy(&policy_id, rules);
    int fd = connect_through(client, port);
    assert_true(fd >= 0);
    /* 4 MiB in odd-sized writes while reading the echo: many full and partial records both ways */
    size_t total = 4 << 20, sent = 0, got = 0;
    uint8_t *out = malloc(total), *in = malloc(total);
    for (size_t i = 0; i < total; i++) out[i] = (uint8_t)(i * 31 + (i >> 13));
    while (got < total) {
        struct pollfd p = { .fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0) };
        assert_true(poll(&p, 1, 10000) > 0);
        if ((p.revents & POLLOUT) && sent < total) {
            size_t chunk = total - sent < 12345 ? total - sent : 12345;
            ssize_t w = send(fd, out + sent, chunk, MSG_DONTWAIT);
            if (w > 0) sent += (size_t)w;
        }
        if (p.revents & POLLIN) {
            ssize_t r = recv(fd, in + got, total - got, MSG_DONTWAIT);
            assert_true(r > 0);
            got += (size_t)r;
        }
    }
    assert_memory_equal(in, out, total);
    /* half-close: our EOF reaches the application, whose close comes back as EOF */
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    char b;
    assert_int_equal(read(fd, &b, 1), 0);
    close(fd);
    pthread_join(e.thread, NULL);
    free(out);
    free(in);
}

static void test_refusals(void **state) {
    (void)state;
    uint16_t port = free_port();
    struct echo e;
    serve(&policy_id, port, true, &e);
    char rules[64];
    /* the server's certificate does not name this service */
    snprintf(rules, sizeof(rules), "connect 127.0.0.1:%u other\n", port);
    assert_int_equal(connect_through(make_proxy(&policy_id, rules), port), -ECONNREFUSED);
    /* a client trusting another CA */
    snprintf(rules, sizeof(rules), "connect 127.0.0.1:%u svc\n", port);
    struct identity mixed = { policy_id.cert, policy_id.key, foreign_id.ca };
    assert_int_equal(connect_through(make_proxy(&mixed, rules), port), -ECONNREFUSED);
    /* nobody listening */
    uint16_t closed = free_port();
    snprintf(rules, sizeof(rules), "connect 127.0.0.1:%u svc\n", closed);
    assert_int_equal(connect_through(make_proxy(&policy_id, rules), closed), -ECONNREFUSED);
    /* a client with another CA's certificate: its handshake completes (TLS 1.3), then the server closes, no data */
    snprintf(rules, sizeof(rules), "connect 127.0.0.1:%u svc\n", port);
    struct identity impostor = { foreign_id.cert, foreign_id.key, policy_id.ca };
    int fd = connect_through(make_proxy(&impostor, rules), port);
    if (fd >= 0) {
        assert_int_equal(write(fd, "x", 1), 1);
        char b;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        assert_true(poll(&p, 1, 10000) > 0);
        assert_true(read(fd, &b, 1) <= 0);
        close(fd);
    }
    /* the echo server was never reached: the verified client below is its first */
    fd = connect_through(make_proxy(&policy_id, rules), port);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "ping", 4), 4);
    char buf[4];
    assert_int_equal(read(fd, buf, 4), 4);
    assert_memory_equal(buf, "ping", 4);
    close(fd);
    pthread_join(e.thread, NULL);
}

/* IPv6 on both legs: the server proxy on [::1], the application's loopback pair in AF_INET6 */
static void test_ipv6(void **state) {
    (void)state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    socklen_t size = sizeof(a);
    if (probe < 0 || bind(probe, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (probe >= 0) close(probe);
        skip(); /* no IPv6 loopback here */
    }
    assert_int_equal(getsockname(probe, (struct sockaddr *)&a, &size), 0);
    close(probe);
    uint16_t port = ntohs(a.sin6_port);
    char rules[64];
    snprintf(rules, sizeof(rules), "listen %u require-client\n", port);
    struct veil_nettls *server = make_proxy(&policy_id, rules);
    struct echo e;
    echo_start(&e);
    assert_int_equal(veil_nettls_serve(server, veil_nettls_rules_find_listen(veil_nettls_rules(server), port),
                                       (struct sockaddr *)&a, sizeof(a), 1, (struct sockaddr *)&e.addr, sizeof(e.addr)),
                     0);
    snprintf(rules, sizeof(rules), "connect [::1]:%u svc\n", port);
    struct veil_nettls *client = make_proxy(&policy_id, rules);
    const struct veil_nettls_connect *rule = veil_nettls_rules_find_connect(veil_nettls_rules(client), (struct sockaddr *)&a, sizeof(a));
    assert_non_null(rule);
    int pair[2];
    assert_int_equal(veil_nettls_loopback_pair(AF_INET6, pair), 0);
    struct done d = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 };
    assert_int_equal(veil_nettls_connect(client, rule, (struct sockaddr *)&a, sizeof(a), pair[1], on_done, &d), 0);
    assert_int_equal(wait_done(&d), 0);
    assert_int_equal(write(pair[0], "six", 3), 3);
    char buf[3];
    assert_int_equal(read(pair[0], buf, 3), 3);
    assert_memory_equal(buf, "six", 3);
    close(pair[0]);
    pthread_join(e.thread, NULL);
}

int main(void) {
    policy_id = make_identity();
    foreign_id = make_identity();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_ipv6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
