/* SPDX-License-Identifier: Apache-2.0 */
/* Acceptance: TLS 1.3 over loopback between two sim RA-TLS endpoints, accepted when policies match, refused with a reason otherwise. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "base/err.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "ratls/ratls.h"

static struct veil_sim_platform *trusted, *foreign;
static X509 *trusted_roots[1];

struct endpoint {
    EVP_PKEY *key;
    X509 *cert;
    struct veil_ratls_verifier verifier;
    /* results */
    bool ok;
    char reason[512];
    uint8_t peer_measurement[32];
};

static void endpoint_done(struct endpoint *e) {
    EVP_PKEY_free(e->key);
    X509_free(e->cert);
}

static struct veil_sim_claims claims_with(uint8_t measurement, uint8_t signer, uint32_t svn) {
    struct veil_sim_claims c = { .product_id = 1, .security_version = svn };
    memset(c.measurement, measurement, 32);
    memset(c.signer, signer, 32);
    return c;
}

/* A policy that accepts exactly measurement 0x11.., signer 0x22.., svn >= 3, sim allowed. */
static void default_verifier(struct veil_ratls_verifier *v) {
    *v = (struct veil_ratls_verifier){ 0 };
    veil_policy_init(&v->policy);
    v->policy.allowed_tees |= VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM);
    memset(v->policy.measurements[0].data, 0x11, 32);
    v->policy.measurements[0].size = 32;
    v->policy.measurements_count = 1;
    memset(v->policy.signers[0].data, 0x22, 32);
    v->policy.signers[0].size = 32;
    v->policy.signers_count = 1;
    v->policy.min_security_version = 3;
    v->verify.sim_roots = trusted_roots;
    v->verify.sim_roots_count = 1;
}

static void make_endpoint(struct endpoint *e, const struct veil_sim_platform *p, struct veil_sim_claims claims,
                          const struct veil_ratls_options *opts) {
    *e = (struct endpoint){ 0 };
    assert_int_equal(veil_ratls_create_sim(p, &claims, opts, &e->key, &e->cert), 0);
    default_verifier(&e->verifier);
}

struct side {
    struct endpoint *e;
    bool server;
    int fd;
};

static void *run_side(void *arg) {
    struct side *s = arg;
    struct endpoint *e = s->e;
    SSL_CTX *ctx = SSL_CTX_new(s->server ? TLS_server_method() : TLS_client_method());
    SSL *ssl = NULL;
    e->ok = false;
    if (!ctx || veil_ratls_ssl_ctx_use(ctx, e->key, e->cert) < 0 ||
        veil_ratls_ssl_ctx_require_peer(ctx, s->server, &e->verifier) < 0)
        goto out;
    ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, s->fd) != 1) goto out;
    int r = s->server ? SSL_accept(ssl) : SSL_connect(ssl);
    if (r != 1) goto out;
    /* an application exchange: in TLS 1.3 the server judges the client's certificate after the client's
     * handshake returned, so only a completed exchange proves both sides accepted */
    char buf[5];
    if (s->server) {
        if (SSL_read(ssl, buf, 5) != 5 || SSL_write(ssl, "pong\n", 5) != 5) goto out;
    } else {
        if (SSL_write(ssl, "ping\n", 5) != 5 || SSL_read(ssl, buf, 5) != 5) goto out;
    }
    const struct veil_claims *peer = veil_ratls_peer_claims(ssl);
    if (!peer) goto out;
    memcpy(e->peer_measurement, peer->measurement, 32);
    e->ok = true;
    SSL_shutdown(ssl);
out:
    if (ssl && veil_ratls_peer_reason(ssl)) snprintf(e->reason, sizeof(e->reason), "%s", veil_ratls_peer_reason(ssl));
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(s->fd);
    return NULL;
}

/* Server in a thread, client in this one, over a real TCP connection on 127.0.0.1. */
static void handshake(struct endpoint *client, struct endpoint *server) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(listener >= 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(addr);
    assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(listener, 1), 0);
    assert_int_equal(getsockname(listener, (struct sockaddr *)&addr, &len), 0);
    int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(cfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    int sfd = accept(listener, NULL, NULL);
    assert_true(sfd >= 0);
    close(listener);
    struct side ss = { server, true, sfd }, cs = { client, false, cfd };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_side, &ss), 0);
    run_side(&cs);
    pthread_join(t, NULL);
}

static void expect_refused(struct endpoint *judge, struct endpoint *other, const char *words) {
    assert_false(judge->ok);
    assert_false(other->ok);
    if (!strstr(judge->reason, words)) fail_msg("reason '%s' does not mention '%s'", judge->reason, words);
}

static void good_pair(struct endpoint *c, struct endpoint *s) {
    make_endpoint(c, trusted, claims_with(0x11, 0x22, 3), NULL);
    make_endpoint(s, trusted, claims_with(0x11, 0x22, 4), NULL);
}

static void test_match(void **state) {
    (void)state;
    struct endpoint c, s;
    good_pair(&c, &s);
    handshake(&c, &s);
    if (!c.ok || !s.ok) fail_msg("client: '%s' server: '%s'", c.reason, s.reason);
    uint8_t m[32];
    memset(m, 0x11, 32);
    assert_memory_equal(c.peer_measurement, m, 32);
    assert_memory_equal(s.peer_measurement, m, 32);
    endpoint_done(&c);
    endpoint_done(&s);
}

static void test_wrong_measurement(void **state) {
    (void)state;
    struct endpoint c, s;
    good_pair(&c, &s);
    memset(s.verifier.policy.measurements[0].data, 0x33, 32);
    handshake(&c, &s);
    expect_refused(&s, &c, "measurement 1111");
    endpoint_done(&c);
    endpoint_done(&s);
}

static void test_wrong_signer(void **state) {
    (void)state;
    struct endpoint c, s;
    good_pair(&c, &s);
    endpoint_done(&s);
    make_endpoint(&s, trusted, claims_with(0x11, 0x44, 3), NULL); /* the server was signed by someone else */
    handshake(&c, &s);
    expect_refused(&c, &s, "signer 4444");
    endpoint_done(&c);
    endpoint_done(&s);
}

static void test_lower_security_version(void **state) {
    (void)state;
    struct endpoint c, s;
    good_pair(&c, &s);
    endpoint_done(&c);
    make_endpoint(&c, trusted, claims_with(0x11, 0x22, 2), NULL);
    handshake(&c, &s);
    expect_refused(&s, &c, "security version 2 is lower than the minimum 3");
    endpoint_done(&c);
    endpoint_done(&s);
}

static void test_sim_not_allowed(void **state) {
    (void)state;
    struct endpoint c, s;
    good_pair(&c, &s);
    s.verifier.policy.allowed_tees &= ~VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM);
    handshake(&c, &s);
    expect_refused(&s, &c, "does not allow the sim TEE");
    endpoint_done(&c);
    endpoint_done(&s);
}

static void test_lifted_evidence(void **state) {
    (void)state;
    struct endpoint c, s, victim;
    good_pair(&c, &s);
    make_endpoint(&victim, trusted, claims_with(0x11, 0x22, 3), NULL);
    /* the attacker's own key, with evidence copied from a genuine certificate */
    const uint8_t *envelope;
    size_t size;
    assert_int_equal(veil_ratls_cert_get_evidence(victim.cert, &envelope, &size), 0);
    X509_free(c.cert);
    assert_int_equal(veil_ratls_cert_new(c.key, envelope, size, NULL, &c.cert), 0);
    handshake(&c, &s);
    expect_refused(&s, &c, "not bound to the evidence");
    endpoint_done(&c);
    endpoint_done(&s);
    endpoint_done(&victim);
}

static void test_expired(void **state) {
    (void)state;
    struct endpoint c, s;
    time_t now = time(NULL);
    struct veil_ratls_options opts = { .not_before = now - 7200, .not_after = now - 3600 };
    make_endpoint(&c, trusted, claims_with(0x11, 0x22, 3), NULL);
    make_endpoint(&s, trusted, claims_with(0x11, 0x22, 3), &opts);
    handshake(&c, &s);
    expect_refused(&c, &s, "expired");
    endpoint_done(&c);
    endpoint_done(&s);
}

static void test_tampered_signature(void **state) {
    (void)state;
    struct endpoint c, s;
    good_pair(&c, &s);
    const uint8_t *envelope;
    size_t size;
    assert_int_equal(veil_ratls_cert_get_evidence(c.cert, &envelope, &size), 0);
    uint8_t *copy = malloc(size);
    memcpy(copy, envelope, size);
    /* the last byte of the DER signature (inside s): the framing stays valid, the signature does not */
    size_t sig_at = VEIL_EVIDENCE_HEADER_SIZE + 6 + VEIL_SIM_BODY_SIZE;
    size_t sig_size = (size_t)(copy[sig_at] | copy[sig_at + 1] << 8);
    copy[sig_at + 2 + sig_size - 1] ^= 0x01;
    X509_free(c.cert);
    assert_int_equal(veil_ratls_cert_new(c.key, copy, size, NULL, &c.cert), 0);
    free(copy);
    handshake(&c, &s);
    expect_refused(&s, &c, "signature does not verify");
    endpoint_done(&c);
    endpoint_done(&s);
}

static void test_foreign_platform(void **state) {
    (void)state;
    struct endpoint c, s;
    good_pair(&c, &s);
    endpoint_done(&c);
    make_endpoint(&c, foreign, claims_with(0x11, 0x22, 3), NULL);
    handshake(&c, &s);
    expect_refused(&s, &c, "not issued by a trusted sim root");
    endpoint_done(&c);
    endpoint_done(&s);
}

static void test_nonce(void **state) {
    (void)state;
    struct endpoint c, s;
    static const uint8_t nonce[16] = "fresh-nonce-0001";
    struct veil_ratls_options opts = { .nonce = nonce, .nonce_size = sizeof(nonce) };
    make_endpoint(&c, trusted, claims_with(0x11, 0x22, 3), &opts);
    make_endpoint(&s, trusted, claims_with(0x11, 0x22, 3), NULL);
    s.verifier.nonce = nonce;
    s.verifier.nonce_size = sizeof(nonce);
    handshake(&c, &s);
    if (!c.ok || !s.ok) fail_msg("client: '%s' server: '%s'", c.reason, s.reason);
    /* a certificate bound to another nonce (a replay) is refused */
    static const uint8_t other[16] = "fresh-nonce-0002";
    s.verifier.nonce = other;
    handshake(&c, &s);
    expect_refused(&s, &c, "not bound to the evidence");
    endpoint_done(&c);
    endpoint_done(&s);
}

static int setup(void **state) {
    (void)state;
    if (veil_sim_platform_new(&trusted) < 0 || veil_sim_platform_new(&foreign) < 0) return -1;
    trusted_roots[0] = trusted->root;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    veil_sim_platform_free(trusted);
    veil_sim_platform_free(foreign);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_wrong_measurement),
        cmocka_unit_test(test_wrong_signer),
        cmocka_unit_test(test_lower_security_version),
        cmocka_unit_test(test_sim_not_allowed),
        cmocka_unit_test(test_lifted_evidence),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_foreign_platform),
        cmocka_unit_test(test_nonce),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
