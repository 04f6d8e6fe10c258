/* SPDX-License-Identifier: Apache-2.0 */
/* Plugging RA-TLS into OpenSSL: our certificate on a context, and a verify callback for the peer's. */
#include <openssl/err.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ossl.h"
#include "ratls.h"

/* What the callback found on one connection, kept on the SSL object. */
struct peer_result {
    char reason[512];
    bool refused;
    struct veil_claims *claims;
};

/* The verifier a context was configured with (a copy, with its own nonce bytes). */
struct ctx_verifier {
    struct veil_ratls_verifier v;
    uint8_t nonce[VEIL_RATLS_NONCE_MAX];
};

static int ssl_index = -1, ctx_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void free_peer_result(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    struct peer_result *res = ptr;
    if (!res) return;
    veil_claims_free(res->claims);
    free(res);
}

static void free_ctx_verifier(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

static void init_indexes(void) {
    ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_peer_result);
    ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_ctx_verifier);
}

static int verify_callback(X509_STORE_CTX *store_ctx, void *arg) {
    const struct ctx_verifier *cv = arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    X509 *cert = X509_STORE_CTX_get0_cert(store_ctx);
    struct peer_result *res = calloc(1, sizeof(*res));
    if (!res || !ssl) {
        free(res);
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
    int r;
    if (!cert) {
        r = veil_err(-EACCES, "peer presented no certificate");
    } else {
        veil_err_clear();
        r = veil_ratls_verify_cert(cert, &cv->v, &res->claims);
    }
    if (r < 0) {
        res->refused = true;
        snprintf(res->reason, sizeof(res->reason), "%s", veil_err_describe(r));
    }
    /* replaces any result of an earlier call on this connection (the free callback runs for the old one) */
    struct peer_result *old = SSL_get_ex_data(ssl, ssl_index);
    if (SSL_set_ex_data(ssl, ssl_index, res) != 1) {
        free_peer_result(NULL, res, NULL, 0, 0, NULL);
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
    free_peer_result(NULL, old, NULL, 0, 0, NULL);
    if (r < 0) {
        ERR_clear_error();
        X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    X509_STORE_CTX_set_error(store_ctx, X509_V_OK);
    return 1;
}

int veil_ratls_ssl_ctx_use(SSL_CTX *ctx, EVP_PKEY *key, X509 *cert) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) return veil_ossl_err(-EIO, "TLS 1.3");
    if (SSL_CTX_use_certificate(ctx, cert) != 1) return veil_ossl_err(-EINVAL, "cannot use the RA-TLS certificate");
    if (SSL_CTX_use_PrivateKey(ctx, key) != 1) return veil_ossl_err(-EINVAL, "cannot use the RA-TLS key");
    if (SSL_CTX_check_private_key(ctx) != 1) return veil_ossl_err(-EINVAL, "RA-TLS key and certificate differ");
    return 0;
}

int veil_ratls_ssl_ctx_require_peer(SSL_CTX *ctx, bool server, const struct veil_ratls_verifier *v) {
    if (v->nonce_size > VEIL_RATLS_NONCE_MAX) return veil_err(-EINVAL, "RA-TLS nonce too long");
    pthread_once(&index_once, init_indexes);
    if (ssl_index < 0 || ctx_index < 0) return veil_ossl_err(-ENOMEM, "ex_data index");
    struct ctx_verifier *cv = calloc(1, sizeof(*cv));
    if (!cv) return -ENOMEM;
    cv->v = *v;
    if (v->nonce_size) {
        memcpy(cv->nonce, v->nonce, v->nonce_size);
        cv->v.nonce = cv->nonce;
    }
    struct ctx_verifier *old = SSL_CTX_get_ex_data(ctx, ctx_index);
    if (SSL_CTX_set_ex_data(ctx, ctx_index, cv) != 1) {
        free(cv);
        return veil_ossl_err(-ENOMEM, "SSL_CTX_set_ex_data");
    }
    free(old);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) return veil_ossl_err(-EIO, "TLS 1.3");
    SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, verify_callback, cv);
    /* a resumed session would skip the callback: every connection is attested afresh */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return 0;
}

const char *veil_ratls_peer_reason(const SSL *ssl) {
    if (ssl_index < 0) return NULL;
    const struct peer_result *res = SSL_get_ex_data(ssl, ssl_index);
    return res && res->refused ? res->reason : NULL;
}

const struct veil_claims *veil_ratls_peer_claims(const SSL *ssl) {
    if (ssl_index < 0) return NULL;
    const struct peer_result *res = SSL_get_ex_data(ssl, ssl_index);
    return res && !res->refused ? res->claims : NULL;
}
