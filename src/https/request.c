/* SPDX-License-Identifier: Apache-2.0 */
/* One HTTPS request on a fresh TLS connection over libevent's evhttp and bufferevent_openssl: no hand parsing. */
#include "request.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/socket.h>

#include "base/err.h"
#include "ratls/ratls.h"

struct result {
    const struct veil_https_target *target;
    int status;
    struct veil_secbuf *body;
    int err;
    bool done;
};

static void on_response(struct evhttp_request *req, void *arg) {
    struct result *res = arg;
    res->done = true;
    if (!req || evhttp_request_get_response_code(req) == 0) {
        res->err = veil_err(-ECONNREFUSED, "no response from %s (connection or TLS handshake failed)", res->target->peer);
        return;
    }
    res->status = evhttp_request_get_response_code(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (res->target->body_max && n > res->target->body_max) {
        res->err = veil_err(-E2BIG, "the service's reply is larger than %zu bytes", res->target->body_max);
        return;
    }
    int r = veil_secbuf_new(n + 1, &res->body);
    if (r < 0) {
        res->err = r;
        return;
    }
    if (evbuffer_remove(in, res->body->data, n) != (int)n) res->err = -EIO;
    res->body->data[n] = 0;
    res->body->size = n;
}

int veil_https_request(SSL_CTX *ctx, const struct veil_https_target *t, const char *method, const char *path,
                       const void *body, size_t body_size, int *ret_status, struct veil_secbuf **ret_body) {
    struct result res = { .target = t };
    struct event_base *base = event_base_new();
    SSL *ssl = base ? SSL_new(ctx) : NULL;
    struct bufferevent *bev = NULL;
    struct evhttp_connection *conn = NULL;
    int r = 0;
    if (!ssl) {
        r = -ENOMEM;
        goto out;
    }
    if (t->sni) SSL_set_tlsext_host_name(ssl, t->host);
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!bev) {
        SSL_free(ssl);
        ssl = NULL;
        r = -ENOMEM;
        goto out;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    /* bufferevent_free (through the connection) frees the SSL; keep a borrowed pointer for the reason */
    conn = evhttp_connection_base_bufferevent_new(base, NULL, bev, t->host, t->port);
    if (!conn) {
        bufferevent_free(bev);
        ssl = NULL;
        r = -ENOMEM;
        goto out;
    }
    evhttp_connection_set_timeout(conn, 30);
    if (t->body_max) evhttp_connection_set_max_body_size(conn, (ev_ssize_t)t->body_max);
    if (t->headers_max) evhttp_connection_set_max_headers_size(conn, (ev_ssize_t)t->headers_max);
    struct evhttp_request *req = evhttp_request_new(on_response, &res);
    if (!req) {
        r = -ENOMEM;
        goto out;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", t->host);
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
    r = res.done ? res.err : veil_err(-EIO, "the request did not complete");
    const char *why = r < 0 && ssl ? veil_ratls_peer_reason(ssl) : NULL;
    if (why) r = veil_err(-EACCES, "%s's RA-TLS certificate was refused: %s", t->peer, why);
    else if (r < 0 && ssl && SSL_get_verify_result(ssl) == X509_V_ERR_CERT_UNTRUSTED)
        r = veil_err(-EACCES, "%s", t->pin_mismatch);
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
