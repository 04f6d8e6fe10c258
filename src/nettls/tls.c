/* SPDX-License-Identifier: Apache-2.0 */
/* The TLS 1.3 contexts of the proxy: our policy certificate and key, and the policy CA every peer must chain to. */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/err.h"
#include "crypto/ossl.h"

VEIL_DEFINE_CLEANUP(SSL_CTX *, SSL_CTX_free, ssl_ctx_freep)

static int load_ca(SSL_CTX *ctx, const uint8_t *pem, size_t size) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new_mem_buf(pem, (int)size);
    if (!bio) return -ENOMEM;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    size_t count = 0;
    for (;;) {
        _cleanup_(veil_x509_freep) X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (!x) break;
        if (X509_STORE_add_cert(store, x) != 1) return veil_ossl_err(-EBADMSG, "cannot add the policy CA");
        count++;
    }
    ERR_clear_error();
    if (count == 0) return veil_err(-EBADMSG, "the policy CA file holds no certificate");
    return 0;
}

static int load_identity(SSL_CTX *ctx, const uint8_t *cert_pem, size_t cert_size, const uint8_t *key_pem,
                         size_t key_size) {
    _cleanup_(veil_bio_freep) BIO *cb = BIO_new_mem_buf(cert_pem, (int)cert_size);
    _cleanup_(veil_bio_freep) BIO *kb = BIO_new_mem_buf(key_pem, (int)key_size);
    if (!cb || !kb) return -ENOMEM;
    _cleanup_(veil_x509_freep) X509 *leaf = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    if (!leaf) return veil_ossl_err(-EBADMSG, "the certificate file holds no certificate");
    if (SSL_CTX_use_certificate(ctx, leaf) != 1) return veil_ossl_err(-EBADMSG, "cannot use the certificate");
    for (;;) { /* the rest of the file: intermediates, sent with the leaf */
        X509 *x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
        if (!x) break;
        if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
            X509_free(x);
            return veil_ossl_err(-EBADMSG, "cannot add a chain certificate");
        }
    }
    ERR_clear_error();
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    if (!key) return veil_ossl_err(-EBADMSG, "the key file holds no private key");
    if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1)
        return veil_ossl_err(-EBADMSG, "the private key does not match the certificate");
    return 0;
}

static int make_ctx(bool server, const uint8_t *cert_pem, size_t cert_size, const uint8_t *key_pem, size_t key_size,
                    const uint8_t *ca_pem, size_t ca_size, SSL_CTX **ret) {
    _cleanup_(ssl_ctx_freep) SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) return veil_ossl_err(-ENOMEM, "cannot make a TLS context");
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) return veil_ossl_err(-EINVAL, "cannot require TLS 1.3");
    /* an abrupt TCP close ends the stream like a close_notify would; the application sees EOF either way */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    /* the proxy retries SSL_write with the same buffer; it never moves */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
    /* one read() per burst of records instead of two per record (header, then body) */
    SSL_CTX_set_read_ahead(ctx, 1);
    /* AES-128-GCM first: AES-NI makes it the cheapest AEAD here, and 128 bits are enough for a session key */
    if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") != 1)
        return veil_ossl_err(-EINVAL, "cannot set the TLS 1.3 cipher suites");
    /* no resumption yet (docs/nettls.md): no tickets to send after each handshake */
    if (server) SSL_CTX_set_num_tickets(ctx, 0);
    int r = load_identity(ctx, cert_pem, cert_size, key_pem, key_size);
    if (r >= 0) r = load_ca(ctx, ca_pem, ca_size);
    if (r < 0) return r;
    /* clients always verify the server; servers decide per listening port (nettls_tls_new_server) */
    SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    *ret = TAKE_PTR(ctx);
    return 0;
}

int nettls_tls_contexts(const uint8_t *cert_pem, size_t cert_size, const uint8_t *key_pem, size_t key_size,
                        const uint8_t *ca_pem, size_t ca_size, SSL_CTX **ret_server, SSL_CTX **ret_client) {
    if (cert_size > VEIL_NETTLS_PEM_MAX_SIZE || key_size > VEIL_NETTLS_PEM_MAX_SIZE || ca_size > VEIL_NETTLS_PEM_MAX_SIZE)
        return veil_err(-EFBIG, "a TLS identity file is larger than %zu bytes", VEIL_NETTLS_PEM_MAX_SIZE);
    _cleanup_(ssl_ctx_freep) SSL_CTX *server = NULL, *client = NULL;
    int r = make_ctx(true, cert_pem, cert_size, key_pem, key_size, ca_pem, ca_size, &server);
    if (r >= 0) r = make_ctx(false, cert_pem, cert_size, key_pem, key_size, ca_pem, ca_size, &client);
    if (r < 0) return r;
    *ret_server = TAKE_PTR(server);
    *ret_client = TAKE_PTR(client);
    return 0;
}

SSL *nettls_tls_new_server(SSL_CTX *ctx, int fd, bool require_client) {
    SSL *ssl = SSL_new(ctx);
    if (!ssl) return NULL;
    if (require_client) SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

SSL *nettls_tls_new_client(SSL_CTX *ctx, int fd, const char *service) {
    SSL *ssl = SSL_new(ctx);
    if (!ssl) return NULL;
    /* the peer's certificate must name the service (DNS SAN); no SNI: the name stays off the wire */
    if (SSL_set1_host(ssl, service) != 1 || SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set_connect_state(ssl);
    return ssl;
}
