/* SPDX-License-Identifier: Apache-2.0 */
/* One TLS 1.3 connection per request to veil-cas, with our RA-TLS certificate; HTTP through libevent's evhttp. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "casclient.h"
#include "crypto/hash.h"
#include "crypto/ossl.h"
#include "crypto/random.h"
#include "ratls/ratls.h"

struct veil_casclient {
    struct veil_casclient_target target;
    SSL_CTX *ctx;
    EVP_PKEY *key;
    X509 *cert;
    struct veil_sim_platform *sim; /* its root verifies a sim service; outlives ctx's verifier */
};

/* The service is whoever holds the pinned key: its certificate may be renewed, its key stays. */
static int verify_pinned_key(X509_STORE_CTX *store, void *arg) {
    const struct veil_casclient *c = arg;
    X509 *cert = X509_STORE_CTX_get0_cert(store);
    unsigned char *der = NULL;
    int n = cert ? i2d_PUBKEY(X509_get0_pubkey(cert), &der) : -1;
    uint8_t id[32];
    bool ok = n > 0 && veil_sha256(der, (size_t)n, id) >= 0 && veil_memeq_ct(id, c->target.key_id, 32);
    OPENSSL_free(der);
    if (!ok) X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_UNTRUSTED);
    return ok;
}

int veil_casclient_new(const struct veil_casclient_target *target, const struct veil_attest_options *attest,
                       const struct veil_casclient_identity *id, struct veil_casclient **ret) {
    _cleanup_(veil_casclient_freep) struct veil_casclient *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    c->target = *target;
    struct veil_attest_options a = *attest;
    memcpy(a.sim_measurement, id->measurement, 32);
    memcpy(a.sim_signer, id->signer, 32);
    a.sim_product_id = id->product_id;
    a.sim_security_version = id->security_version;
    int r = veil_ratls_create(&a, NULL, &c->key, &c->cert);
    if (r < 0) return r;
    if (!(c->ctx = SSL_CTX_new(TLS_client_method()))) return veil_ossl_err(-ENOMEM, "TLS context");
    if ((r = veil_ratls_ssl_ctx_use(c->ctx, c->key, c->cert)) < 0) return r;
    if (target->pin_key) {
        SSL_CTX_set_cert_verify_callback(c->ctx, verify_pinned_key, c);
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        return *ret = TAKE_PTR(c), 0;
    }
    struct veil_ratls_verifier v = { 0 };
    veil_policy_init(&v.policy);
    v.policy.measurements_count = target->measurement_count;
    for (size_t i = 0; i < target->measurement_count; i++) {
        memcpy(v.policy.measurements[i].data, target->measurements[i], 32);
        v.policy.measurements[i].size = 32;
    }
    if (attest->tee == VEIL_TEE_SIM) {
        /* development: a service on the same sim platform is as trustworthy as we are */
        if ((r = veil_sim_platform_open(attest->sim_dir, false, &c->sim)) < 0) return r;
        v.policy.allowed_tees |= VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM);
        v.verify.sim_roots = &c->sim->root;
        v.verify.sim_roots_count = 1;
    }
    if ((r = veil_ratls_ssl_ctx_require_peer(c->ctx, false, &v)) < 0) return r;
    *ret = TAKE_PTR(c);
    return 0;
}

void veil_casclient_free(struct veil_casclient *c) {
    if (!c) return;
    SSL_CTX_free(c->ctx);
    EVP_PKEY_free(c->key);
    X509_free(c->cert);
    veil_sim_platform_free(c->sim);
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
        res->err = veil_err(-ECONNREFUSED, "no response from the attestation service (connection or TLS handshake failed)");
        return;
    }
    res->status = evhttp_request_get_response_code(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > VEIL_CASCLIENT_RESPONSE_MAX) {
        res->err = veil_err(-E2BIG, "the service's reply is larger than %zu bytes", VEIL_CASCLIENT_RESPONSE_MAX);
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

/* One POST on a fresh connection (a full handshake: the service verifies our evidence every time). */
static int request(struct veil_casclient *c, const char *path, const char *body, size_t body_size, int *ret_status,
                   struct veil_secbuf **ret_body) {
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
    conn = evhttp_connection_base_bufferevent_new(base, NULL, bev, c->target.host, c->target.port);
    if (!conn) {
        bufferevent_free(bev);
        ssl = NULL;
        r = -ENOMEM;
        goto out;
    }
    evhttp_connection_set_timeout(conn, 30);
    evhttp_connection_set_max_body_size(conn, (ev_ssize_t)VEIL_CASCLIENT_RESPONSE_MAX);
    evhttp_connection_set_max_headers_size(conn, 16 << 10);
    struct evhttp_request *req = evhttp_request_new(on_response, &res);
    if (!req) {
        r = -ENOMEM;
        goto out;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", c->target.host);
    evhttp_add_header(h, "Connection", "close");
    evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), body, body_size);
    if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, path) < 0) {
        r = veil_err(-EIO, "cannot send the request");
        goto out;
    }
    int fd = bufferevent_getfd(bev), one = 1;
    if (fd >= 0) (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    event_base_dispatch(base);
    r = res.done ? res.err : veil_err(-EIO, "the request did not complete");
    const char *why = r < 0 && ssl ? veil_ratls_peer_reason(ssl) : NULL;
    if (why) r = veil_err(-EACCES, "the attestation service's RA-TLS certificate was refused: %s", why);
    else if (r < 0 && ssl && SSL_get_verify_result(ssl) == X509_V_ERR_CERT_UNTRUSTED)
        r = veil_err(-EACCES, "the attestation service's key is not the one the manifest pins");
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

static int refusal(int status, const struct veil_secbuf *body) {
    char why[512];
    veil_casclient_error_reason(body->data, body->size, why, sizeof(why));
    return veil_err(status == 403 || status == 404 || status == 409 ? -EPERM : -EPROTO,
                    "the attestation service refused (HTTP %d): %s", status, *why ? why : "no reason given");
}

int veil_casclient_attest(struct veil_casclient *c, const struct veil_casclient_report *volumes, size_t volume_count,
                          struct veil_casclient_config **ret) {
    _cleanup_(veil_buf_done) struct veil_buf b = { 0 };
    /* names were checked by the target parser and the manifest; numbers need no escaping */
    int r = veil_buf_printf(&b, "{\"policy\":\"%s\",\"service\":\"%s\",\"volumes\":{", c->target.policy, c->target.service);
    for (size_t i = 0; r >= 0 && i < volume_count; i++)
        r = veil_buf_printf(&b, "%s\"%s\":%llu", i ? "," : "", volumes[i].name, (unsigned long long)volumes[i].version);
    if (r >= 0) r = veil_buf_printf(&b, "}}");
    if (r < 0) return r;
    int status;
    _cleanup_secbuf_ struct veil_secbuf *reply = NULL;
    if ((r = request(c, "/v1/attest", (const char *)b.data, b.size, &status, &reply)) < 0) return r;
    if (status != 200) return refusal(status, reply);
    return veil_casclient_config_parse(reply->data, reply->size, ret);
}

int veil_casclient_report_volume(struct veil_casclient *c, const char *volume, uint64_t version) {
    char body[512];
    int n = snprintf(body, sizeof(body), "{\"policy\":\"%s\",\"service\":\"%s\",\"volume\":\"%s\",\"version\":%llu}",
                     c->target.policy, c->target.service, volume, (unsigned long long)version);
    if (n < 0 || (size_t)n >= sizeof(body)) return -ENAMETOOLONG;
    int status;
    _cleanup_secbuf_ struct veil_secbuf *reply = NULL;
    int r = request(c, "/v1/volumes", body, (size_t)n, &status, &reply);
    if (r < 0) return r;
    return status == 200 ? 0 : refusal(status, reply);
}
