/* SPDX-License-Identifier: Apache-2.0 */
/* One server thread's state, and the request context handlers receive (internal to the daemon). */
#pragma once

#include <event2/http.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <time.h>

#include "base/secbuf.h"
#include "policy.h"
#include "ratls/ratls.h"
#include "server.h"
#include "store.h"

#define VEIL_CAS_POLICY_CACHE 16

/* Parsed policies by hash, per thread: no lock shared between threads. */
struct veil_cas_cached_policy {
    uint8_t hash[VEIL_SHA256_SIZE];
    int64_t version;
    struct veil_cas_policy *policy;
    time_t next_renew_check; /* certificates due for renewal are looked for at most once a minute */
};

struct veil_cas_worker {
    unsigned index;
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct veil_cas_store *store;
    const struct veil_cas_server_config *cfg;
    struct veil_ratls_verifier verifier;
    struct veil_cas_cached_policy cache[VEIL_CAS_POLICY_CACHE];
    unsigned cache_next;
    struct ssl_ctx_st *ssl_ctx;
    struct veil_secbuf *scratch; /* rendering space for one secret value at a time, wiped after use */
};

/* Who is on the other end of the connection. */
enum veil_cas_peer_kind {
    VEIL_CAS_PEER_NONE,     /* no client certificate */
    VEIL_CAS_PEER_OWNER,    /* an ordinary certificate: identified by key id and fingerprint */
    VEIL_CAS_PEER_WORKLOAD, /* an RA-TLS certificate whose evidence verified */
    VEIL_CAS_PEER_REFUSED,  /* an RA-TLS certificate whose evidence did not verify */
};

struct veil_cas_peer {
    enum veil_cas_peer_kind kind;
    uint8_t key_id[VEIL_SHA256_SIZE];
    uint8_t fingerprint[VEIL_SHA256_SIZE];
    char subject[65];             /* hex key id, for the audit log */
    struct veil_claims *claims;   /* workload */
    char reason[256];             /* refused */
};

int veil_cas_peer_identify(struct veil_cas_worker *w, X509 *cert, struct veil_cas_peer *ret) _warn_unused_;
void veil_cas_peer_done(struct veil_cas_peer *p);
bool veil_cas_peer_owns(const struct veil_cas_peer *p, const struct veil_cas_policy *policy);

/* The current parsed policy `name` (borrowed from the cache); -ENOENT when absent. */
int veil_cas_worker_policy(struct veil_cas_worker *w, const char *name, const struct veil_cas_cached_policy **ret) _warn_unused_;

/* Responses. */
void veil_cas_reply_json(struct evhttp_request *req, int status, const char *json);
/* {"error": message, "reason": detail} */
void veil_cas_reply_error(struct evhttp_request *req, int status, const char *message, const char *detail);
/* The recorded detail of err, or its strerror: a reason fit for a client and the audit log. */
const char *veil_cas_reason(int err);
/* Map a negative errno from the store or parser to an HTTP status. */
int veil_cas_http_status(int err);
/* A response body made of secret bytes: handed to libevent by reference and wiped when sent. */
void veil_cas_reply_secret(struct evhttp_request *req, int status, struct veil_secbuf *body);

/* The request body (pulled up, borrowed) and its size. */
int veil_cas_request_body(struct evhttp_request *req, const uint8_t **ret, size_t *ret_size) _warn_unused_;

/* Handlers. `rest` is the path after the route prefix. */
void veil_cas_handle_owner(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer,
                           const char *path, const char *query);
void veil_cas_handle_attest(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer);
void veil_cas_handle_volume_report(struct veil_cas_worker *w, struct evhttp_request *req,
                                   const struct veil_cas_peer *peer);
