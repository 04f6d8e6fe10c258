/* SPDX-License-Identifier: Apache-2.0 */
/* Attestation throughput: sim evidence and RA-TLS certificates created and verified per second, beside the raw crypto. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "crypto/certgen.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "ratls/ratls.h"
#include "../rate.h"

static double seconds_per_case = 1.0;

typedef int (*op_fn)(void *arg);

/* Operations per second of op, run for seconds_per_case. */
static double rate(op_fn op, void *arg) {
    return bench_rate("bench-attest", seconds_per_case, op, arg);
}

static void report(const char *what, const char *raw_name, double raw, double veil) {
    printf("%-34s raw %-26s %9.0f/s   veil %9.0f/s   ratio %.2f\n", what, raw_name, raw, veil, veil / raw);
}

struct state {
    struct veil_sim_platform *platform;
    struct veil_sim_claims claims;
    uint8_t report_data[64];
    uint8_t body[VEIL_SIM_BODY_SIZE]; /* what the sim platform signs */
    struct veil_buf evidence;
    EVP_PKEY *key;
    X509 *cert;
    X509 *plain_cert;
    X509 *roots[1];
    struct veil_ratls_verifier verifier;
    uint8_t *sig;
    size_t sig_size;
};

static int op_sign(void *arg) {
    struct state *s = arg;
    uint8_t *sig;
    size_t size;
    int r = veil_sign(s->platform->ak_key, s->body, sizeof(s->body), &sig, &size);
    free(sig);
    return r;
}

static int op_evidence(void *arg) {
    struct state *s = arg;
    struct veil_buf b = { 0 };
    int r = veil_sim_get_evidence(s->platform, &s->claims, s->report_data, &b);
    veil_buf_done(&b);
    return r;
}

static int op_plain_cert(void *arg) {
    (void)arg;
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    _cleanup_(veil_x509_freep) X509 *cert = NULL;
    int r = veil_key_generate(VEIL_KEY_ECDSA_P256, &key);
    time_t now = time(NULL);
    struct veil_cert_params p = { .common_name = "plain", .not_before = now, .not_after = now + 3600 };
    if (r >= 0) r = veil_cert_issue(&p, key, NULL, key, &cert);
    return r;
}

static int op_ratls_cert(void *arg) {
    struct state *s = arg;
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    _cleanup_(veil_x509_freep) X509 *cert = NULL;
    return veil_ratls_create_sim(s->platform, &s->claims, NULL, &key, &cert);
}

static int op_verify_sig(void *arg) {
    struct state *s = arg;
    return veil_verify(s->platform->ak_key, s->body, sizeof(s->body), s->sig, s->sig_size);
}

static int op_verify_evidence(void *arg) {
    struct state *s = arg;
    struct veil_verify_options o = s->verifier.verify;
    o.allow_sim = true;
    struct veil_claims *c = NULL;
    int r = veil_evidence_verify(s->evidence.data, s->evidence.size, &o, &c);
    veil_claims_free(c);
    return r;
}

static int op_verify_plain_cert(void *arg) {
    struct state *s = arg;
    return X509_verify(s->plain_cert, X509_get0_pubkey(s->plain_cert)) == 1 ? 0 : -EACCES;
}

static int op_verify_ratls_cert(void *arg) {
    struct state *s = arg;
    struct veil_claims *c = NULL;
    int r = veil_ratls_verify_cert(s->cert, &s->verifier, &c);
    veil_claims_free(c);
    return r;
}

/* ---- mutual TLS 1.3 handshakes, in memory (a BIO pair), both sides in this thread ---- */

struct tls_pair {
    SSL_CTX *client, *server;
};

static int op_handshake(void *arg) {
    struct tls_pair *t = arg;
    SSL *c = SSL_new(t->client), *s = SSL_new(t->server);
    BIO *bc = NULL, *bs = NULL;
    int r = -ENOMEM;
    if (c && s && BIO_new_bio_pair(&bc, 0, &bs, 0) == 1) {
        SSL_set_bio(c, bc, bc);
        SSL_set_bio(s, bs, bs);
        SSL_set_connect_state(c);
        SSL_set_accept_state(s);
        int rc = 0, rs = 0;
        for (int i = 0; i < 16 && (rc != 1 || rs != 1); i++) {
            if (rc != 1) rc = SSL_do_handshake(c);
            if (rs != 1) rs = SSL_do_handshake(s);
        }
        r = rc == 1 && rs == 1 ? 0 : veil_err(-EPROTO, "handshake failed");
    }
    SSL_free(c);
    SSL_free(s);
    return r;
}

static SSL_CTX *plain_ctx(bool server, EVP_PKEY *key, X509 *cert, X509 *peer) {
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx || veil_ratls_ssl_ctx_use(ctx, key, cert) < 0) exit(1);
    /* the same work as RA-TLS minus the evidence: the peer's certificate is checked against a pinned copy */
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), peer);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    return ctx;
}

static SSL_CTX *ratls_ctx(bool server, EVP_PKEY *key, X509 *cert, const struct veil_ratls_verifier *v) {
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx || veil_ratls_ssl_ctx_use(ctx, key, cert) < 0 || veil_ratls_ssl_ctx_require_peer(ctx, server, v) < 0) exit(1);
    return ctx;
}

int main(int argc, char **argv) {
    if (argc > 1) seconds_per_case = atof(argv[1]);
    if (seconds_per_case <= 0) seconds_per_case = 1.0;
    struct state s = { 0 };
    if (veil_sim_platform_new(&s.platform) < 0) return 1;
    memset(s.claims.measurement, 0x11, 32);
    memset(s.claims.signer, 0x22, 32);
    if (veil_sim_get_evidence(s.platform, &s.claims, s.report_data, &s.evidence) < 0 ||
        veil_ratls_create_sim(s.platform, &s.claims, NULL, &s.key, &s.cert) < 0 ||
        veil_sign(s.platform->ak_key, s.body, sizeof(s.body), &s.sig, &s.sig_size) < 0)
        return 1;
    time_t now = time(NULL);
    struct veil_cert_params p = { .common_name = "plain", .not_before = now, .not_after = now + 3600 };
    if (veil_cert_issue(&p, s.key, NULL, s.key, &s.plain_cert) < 0) return 1;
    s.roots[0] = s.platform->root;
    veil_policy_init(&s.verifier.policy);
    s.verifier.policy.allowed_tees |= VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM);
    s.verifier.verify.sim_roots = s.roots;
    s.verifier.verify.sim_roots_count = 1;

    printf("one core, %.1f s per case; raw = the bare crypto the veil operation is built on\n", seconds_per_case);
    report("sim evidence generation", "(ECDSA P-384 sign)", rate(op_sign, &s), rate(op_evidence, &s));
    report("RA-TLS certificate creation", "(P-256 self-signed cert)", rate(op_plain_cert, &s), rate(op_ratls_cert, &s));
    report("sim evidence verification", "(ECDSA P-384 verify)", rate(op_verify_sig, &s), rate(op_verify_evidence, &s));
    report("RA-TLS certificate verification", "(self-signature check)", rate(op_verify_plain_cert, &s),
           rate(op_verify_ratls_cert, &s));

    /* a second endpoint for handshakes */
    EVP_PKEY *key2 = NULL;
    X509 *cert2 = NULL, *plain2 = NULL;
    if (veil_ratls_create_sim(s.platform, &s.claims, NULL, &key2, &cert2) < 0 ||
        veil_cert_issue(&p, key2, NULL, key2, &plain2) < 0)
        return 1;
    struct tls_pair plain = { plain_ctx(false, s.key, s.plain_cert, plain2), plain_ctx(true, key2, plain2, s.plain_cert) };
    struct tls_pair ratls = { ratls_ctx(false, s.key, s.cert, &s.verifier), ratls_ctx(true, key2, cert2, &s.verifier) };
    report("mutual TLS 1.3 handshake", "(pinned self-signed certs)", rate(op_handshake, &plain), rate(op_handshake, &ratls));
    SSL_CTX_free(plain.client);
    SSL_CTX_free(plain.server);
    SSL_CTX_free(ratls.client);
    SSL_CTX_free(ratls.server);
    EVP_PKEY_free(key2);
    X509_free(cert2);
    X509_free(plain2);
    X509_free(s.cert);
    X509_free(s.plain_cert);
    EVP_PKEY_free(s.key);
    free(s.sig);
    veil_buf_done(&s.evidence);
    veil_sim_platform_free(s.platform);
    return 0;
}
