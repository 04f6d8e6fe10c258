/* SPDX-License-Identifier: Apache-2.0 */
/* HTTPS client for the veil-cas API: a TLS 1.3 context with the service's pinned key or RA-TLS policy; requests through src/https. */
#include "client.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ossl.h"
#include "https/request.h"
#include "ratls/ratls.h"
#include "secret.h"

struct veil_cas_client {
    SSL_CTX *ctx;
    char *host;
    uint16_t port;
    uint8_t pinned_key[32]; /* SHA-256 of the service's SubjectPublicKeyInfo */
};

/* The service is who holds the pinned key: its certificate may be renewed (an RA-TLS certificate
 * is made at every start), its key stays. */
static int verify_pinned_key(X509_STORE_CTX *store, void *arg) {
    const struct veil_cas_client *c = arg;
    X509 *cert = X509_STORE_CTX_get0_cert(store);
    uint8_t id[32];
    if (!cert || veil_cas_cert_key_id(cert, id) < 0 || memcmp(id, c->pinned_key, 32)) {
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_UNTRUSTED);
        return 0;
    }
    return 1;
}

int veil_cas_parse_address(const char *text, char **ret_host, uint16_t *ret_port) {
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text) return veil_err(-EINVAL, "address must be HOST:PORT, got '%s'", text);
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port == 0 || port > 65535) return veil_err(-EINVAL, "bad port in '%s'", text);
    char *host = strndup(text, (size_t)(colon - text));
    if (!host) return -ENOMEM;
    *ret_host = host;
    *ret_port = (uint16_t)port;
    return 0;
}

int veil_cas_client_new(const char *host, uint16_t port, const char *server_cert, EVP_PKEY *key, X509 *cert,
                        struct veil_cas_client **ret) {
    struct veil_cas_client *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    int r = 0;
    c->port = port;
    if (!(c->host = strdup(host)) || !(c->ctx = SSL_CTX_new(TLS_client_method()))) {
        r = -ENOMEM;
        goto fail;
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION);
    if (server_cert) {
        _cleanup_(veil_bio_freep) BIO *in = BIO_new_file(server_cert, "r");
        _cleanup_(veil_x509_freep) X509 *pin = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
        if (!pin) {
            r = veil_ossl_err(-EINVAL, "loading the service certificate");
            goto fail;
        }
        if ((r = veil_cas_cert_key_id(pin, c->pinned_key)) < 0) goto fail;
        SSL_CTX_set_cert_verify_callback(c->ctx, verify_pinned_key, c);
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (key && cert) {
        if (SSL_CTX_use_certificate(c->ctx, cert) != 1 || SSL_CTX_use_PrivateKey(c->ctx, key) != 1) {
            r = veil_ossl_err(-EINVAL, "client identity");
            goto fail;
        }
    }
    *ret = c;
    return 0;
fail:
    veil_cas_client_free(c);
    return r;
}

int veil_cas_client_expect_ratls(struct veil_cas_client *c, const struct veil_ratls_verifier *v) {
    return veil_ratls_ssl_ctx_require_peer(c->ctx, false, v);
}

void veil_cas_client_free(struct veil_cas_client *c) {
    if (!c) return;
    SSL_CTX_free(c->ctx);
    free(c->host);
    free(c);
}

int veil_cas_client_request(struct veil_cas_client *c, const char *method, const char *path, const void *body,
                            size_t body_size, int *ret_status, struct veil_secbuf **ret_body) {
    const struct veil_https_target t = {
        .host = c->host,
        .port = c->port,
        .sni = true,
        .peer = "the service",
        .pin_mismatch = "the service's key is not the pinned one (wrong --cas-cert, or not the service you meant)",
    };
    return veil_https_request(c->ctx, &t, method, path, body, body_size, ret_status, ret_body);
}
