/* SPDX-License-Identifier: Apache-2.0 */
/* One TLS 1.3 connection per request to veil-cas, with our RA-TLS certificate; HTTP through src/https (libevent's evhttp). */
#include <errno.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "casclient.h"
#include "crypto/hash.h"
#include "crypto/ossl.h"
#include "crypto/random.h"
#include "https/request.h"
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

/* One POST on a fresh connection (a full handshake: the service verifies our evidence every time). */
static int request(struct veil_casclient *c, const char *path, const char *body, size_t body_size, int *ret_status,
                   struct veil_secbuf **ret_body) {
    const struct veil_https_target t = {
        .host = c->target.host,
        .port = c->target.port,
        .body_max = VEIL_CASCLIENT_RESPONSE_MAX,
        .headers_max = 16 << 10,
        .peer = "the attestation service",
        .pin_mismatch = "the attestation service's key is not the one the manifest pins",
    };
    return veil_https_request(c->ctx, &t, "POST", path, body, body_size, ret_status, ret_body);
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
