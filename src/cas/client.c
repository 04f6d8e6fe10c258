/* SPDX-License-Identifier: Apache-2.0 */
/* HTTPS client over libevent's evhttp and bufferevent_openssl: the same HTTP code as the server, no hand parsing. */
#include "client.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <event2/keyvalq_struct.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ossl.h"
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

struct result {
    int status;
    struct veil_secbuf *body;
    int err;
    bool done;
};

static void on_response(struct evhttp_request *req, void *arg) {
    struct result *res = arg;
    res->done = true;
    if (!req || evhttp_request_get_response_code(req) == 0) {
        res->err = veil_err(-ECONNREFUSED, "no response from the service (connection or TLS handshake failed)");
        return;
    }
    res->status = evhttp_request_get_response_code(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    int r = veil_secbuf_new(n + 1, &res->body);
    if (r < 0) {
        res->err = r;
        return;
    }
    if (evbuffer_remove(in, res->body->data, n) != (int)n) res->err = -EIO;
    res->body->data[n] = 0;
    res->body->size = n;
}

int veil_cas_client_request(struct veil_cas_client *c, const char *method, const char *path, const void *body,
                            size_t body_size, int *ret_status, struct veil_secbuf **ret_body) {
    struct result res = { 0 };
    struct event_base *base = event_base_new();
    SSL *ssl = base ? SSL_new(c->ctx) : NULL;
    struct bufferevent *bev = NULL;
    struct evhttp_connection *conn = NULL;
    int r = 0;
    if (!ssl) {
        r = -ENOMEM;
        goto out;
    }
    SSL_set_tlsext_host_name(ssl, c->host);
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        SSL_free(ssl);
        r = -ENOMEM;
        goto out;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    conn = evhttp_connection_base_bufferevent_new(base, NULL, bev, c->host, c->port);
    if (!conn) {
        bufferevent_free(bev);
        r = -ENOMEM;
        goto out;
    }
    evhttp_connection_set_timeout(conn, 30);
    struct evhttp_request *req = evhttp_request_new(on_response, &res);
    if (!req) {
        r = -ENOMEM;
        goto out;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", c->host);
    evhttp_add_header(h, "Connection", "close");
    if (body) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(req), body, body_size);
    }
    enum evhttp_cmd_type cmd = !strcmp(method, "POST") ? EVHTTP_REQ_POST : EVHTTP_REQ_GET;
    if (evhttp_make_request(conn, req, cmd, path) < 0) {
        r = veil_err(-EIO, "cannot send the request");
        goto out;
    }
    /* the socket exists now (connect is under way): small TLS records must not wait for delayed ACKs */
    int fd = bufferevent_getfd(bev), one = 1;
    if (fd >= 0) (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    event_base_dispatch(base);
    if (!res.done) r = veil_err(-EIO, "the request did not complete");
    else r = res.err;
    const char *why = r < 0 ? veil_ratls_peer_reason(ssl) : NULL;
    if (why) r = veil_err(-EACCES, "the service's RA-TLS certificate was refused: %s", why);
    else if (r < 0 && ssl && SSL_get_verify_result(ssl) == X509_V_ERR_CERT_UNTRUSTED)
        r = veil_err(-EACCES, "the service's key is not the pinned one (wrong --cas-cert, or not the service you meant)");
out:
    if (conn) evhttp_connection_free(conn);
    if (base) event_base_free(base);
    if (r < 0) {
        veil_secbuf_free(res.body);
        return r;
    }
    *ret_status = res.status;
    *ret_body = res.body;
    return 0;
}
