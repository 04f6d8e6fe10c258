/* SPDX-License-Identifier: Apache-2.0 */
/* veil-cas: listening socket, TLS 1.3 context, one libevent loop per thread, routing and replies. */
#include "server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/ossl.h"
#include "secret.h"
#include "worker.h"

VEIL_DEFINE_CLEANUP(SSL_CTX *, SSL_CTX_free, ssl_ctx_freep)

/* ---------- replies ---------- */

static void common_headers(struct evhttp_request *req) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
}

static const char *status_text(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

void veil_cas_reply_json(struct evhttp_request *req, int status, const char *json) {
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    common_headers(req);
    evbuffer_add(b, json, strlen(json));
    evbuffer_add(b, "\n", 1);
    evhttp_send_reply(req, status, status_text(status), b);
    evbuffer_free(b);
}

void veil_cas_reply_error(struct evhttp_request *req, int status, const char *message, const char *detail) {
    json_t *j = json_pack("{s:s}", "error", message);
    if (j && detail && *detail) json_object_set_new(j, "reason", json_string(detail));
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    veil_cas_reply_json(req, status, text ? text : "{\"error\":\"out of memory\"}");
    free(text);
}

static void free_secret_body(const void *data, size_t size, void *arg) {
    (void)data;
    (void)size;
    veil_secbuf_free(arg);
}

void veil_cas_reply_secret(struct evhttp_request *req, int status, struct veil_secbuf *body) {
    struct evbuffer *b = evbuffer_new();
    if (!b || evbuffer_add_reference(b, body->data, body->size, free_secret_body, body) < 0) {
        if (b) evbuffer_free(b);
        veil_secbuf_free(body);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    common_headers(req);
    evhttp_send_reply(req, status, status_text(status), b);
    evbuffer_free(b);
}

const char *veil_cas_reason(int err) {
    const char *m = veil_err_msg();
    return *m ? m : strerror(-err);
}

int veil_cas_http_status(int err) {
    switch (err) {
    case -EBADMSG:
    case -EINVAL:
    case -E2BIG:
        return 400;
    case -EPERM:
    case -EACCES:
        return 403;
    case -ENOENT:
        return 404;
    case -ESTALE:
        return 409;
    case -EBUSY:
        return 503;
    default:
        return 500;
    }
}

int veil_cas_request_body(struct evhttp_request *req, const uint8_t **ret, size_t *ret_size) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t size = evbuffer_get_length(in);
    const uint8_t *data = size ? evbuffer_pullup(in, -1) : (const uint8_t *)"";
    if (!data) return -ENOMEM;
    *ret = data;
    *ret_size = size;
    return 0;
}

/* ---------- peers ---------- */

static bool has_ratls_extension(X509 *cert) {
    _cleanup_(veil_asn1_object_freep) ASN1_OBJECT *oid = OBJ_txt2obj(VEIL_RATLS_EVIDENCE_OID, 1);
    return oid && X509_get_ext_by_OBJ(cert, oid, -1) >= 0;
}

int veil_cas_peer_identify(struct veil_cas_worker *w, X509 *cert, struct veil_cas_peer *ret) {
    struct veil_cas_peer p = { .kind = VEIL_CAS_PEER_NONE };
    if (!cert) {
        *ret = p;
        return 0;
    }
    int r = veil_cas_cert_key_id(cert, p.key_id);
    if (r >= 0) r = veil_cas_cert_fingerprint(cert, p.fingerprint);
    if (r < 0) return r;
    veil_hex_encode(p.key_id, sizeof(p.key_id), p.subject);
    if (!has_ratls_extension(cert)) {
        p.kind = VEIL_CAS_PEER_OWNER;
        *ret = p;
        return 0;
    }
    /* The seam where workloads are attested: evidence -> claims. The service rules are matched later,
     * per request, against the policy and service the workload names. */
    veil_err_clear();
    r = veil_ratls_verify_cert(cert, &w->verifier, &p.claims);
    if (r < 0) {
        if (p.claims) veil_claims_free(TAKE_PTR(p.claims));
        p.kind = VEIL_CAS_PEER_REFUSED;
        snprintf(p.reason, sizeof(p.reason), "%s", veil_cas_reason(r));
    } else
        p.kind = VEIL_CAS_PEER_WORKLOAD;
    *ret = p;
    return 0;
}

void veil_cas_peer_done(struct veil_cas_peer *p) {
    veil_claims_free(p->claims);
    p->claims = NULL;
}

bool veil_cas_peer_owns(const struct veil_cas_peer *p, const struct veil_cas_policy *policy) {
    return p->kind == VEIL_CAS_PEER_OWNER &&
           (veil_cas_policy_is_owner(policy, p->key_id) || veil_cas_policy_is_owner(policy, p->fingerprint));
}

/* ---------- per-thread policy cache ---------- */

int veil_cas_worker_policy(struct veil_cas_worker *w, const char *name, const struct veil_cas_cached_policy **ret) {
    uint8_t hash[VEIL_SHA256_SIZE];
    int r = veil_cas_store_policy_current_hash(w->store, name, hash);
    if (r < 0) return r;
    for (unsigned i = 0; i < VEIL_CAS_POLICY_CACHE; i++) {
        struct veil_cas_cached_policy *c = &w->cache[i];
        if (c->policy && !memcmp(c->hash, hash, sizeof(hash)) && !strcmp(c->policy->name, name)) {
            *ret = c;
            return 0;
        }
    }
    struct veil_cas_policy_version v = { 0 };
    if ((r = veil_cas_store_policy_current(w->store, name, &v)) < 0) return r;
    struct veil_cas_policy *p = NULL;
    r = veil_cas_policy_parse(v.yaml, v.yaml_size, &p);
    struct veil_cas_cached_policy *slot = &w->cache[w->cache_next++ % VEIL_CAS_POLICY_CACHE];
    if (r >= 0) {
        veil_cas_policy_free(slot->policy);
        slot->policy = p;
        memcpy(slot->hash, v.hash, sizeof(slot->hash));
        slot->version = v.version;
        slot->next_renew_check = 0;
        *ret = slot;
    }
    veil_cas_policy_version_done(&v);
    return r;
}

/* ---------- routing ---------- */

static void handle(struct evhttp_request *req, void *arg) {
    struct veil_cas_worker *w = arg;
    const char *uri_text = evhttp_request_get_uri(req);
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(uri_text, 0);
    if (!uri) {
        veil_cas_reply_error(req, 400, "bad request URI", NULL);
        return;
    }
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    if (!path) path = "/";
    enum evhttp_cmd_type method = evhttp_request_get_command(req);

    if (!strcmp(path, "/healthz")) {
        veil_cas_reply_json(req, 200, "{\"status\":\"ok\"}");
        goto out;
    }
    if (!strcmp(path, "/readyz")) {
        /* ready = this thread's database connection answers */
        uint8_t h[32];
        int r = veil_cas_store_policy_current_hash(w->store, "-", h);
        if (r == -ENOENT || r >= 0) veil_cas_reply_json(req, 200, "{\"status\":\"ready\"}");
        else veil_cas_reply_error(req, 503, "not ready", veil_cas_reason(r));
        goto out;
    }

    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    struct veil_cas_peer peer;
    if (veil_cas_peer_identify(w, cert, &peer) < 0) {
        veil_cas_reply_error(req, 500, "cannot read the client certificate", NULL);
        goto out;
    }
    if (peer.kind == VEIL_CAS_PEER_NONE) {
        veil_cas_reply_error(req, 401, "a client certificate is required", NULL);
    } else if (!strcmp(path, "/v1/attest")) {
        if (method != EVHTTP_REQ_POST) veil_cas_reply_error(req, 405, "use POST", NULL);
        else veil_cas_handle_attest(w, req, &peer);
    } else if (!strcmp(path, "/v1/volumes")) {
        if (method != EVHTTP_REQ_POST) veil_cas_reply_error(req, 405, "use POST", NULL);
        else veil_cas_handle_volume_report(w, req, &peer);
    } else if (!strncmp(path, "/v1/", 4)) {
        if (peer.kind != VEIL_CAS_PEER_OWNER)
            veil_cas_reply_error(req, 403, "owner endpoints take an ordinary client certificate", NULL);
        else
            veil_cas_handle_owner(w, req, &peer, path, query);
    } else
        veil_cas_reply_error(req, 404, "no such endpoint", NULL);
    veil_cas_peer_done(&peer);
out:
    evhttp_uri_free(uri);
}

/* ---------- TLS ---------- */

/* Any certificate passes the handshake (which still proves possession of its key); who the peer is
 * and what it may do is decided per request: owners by key, workloads by RA-TLS evidence. */
static int accept_any_cert(X509_STORE_CTX *ctx, void *arg) {
    (void)ctx;
    (void)arg;
    return 1;
}

/* The service's own RA-TLS certificate for its stable key: evidence from the sim platform, claiming
 * measurement = SHA-256 of this executable (a sim service vouches for itself; under veil-run
 * the measurement is veil-run's measurement of the wrapped service). */
static int ratls_sim_cert(const char *sim_dir, EVP_PKEY *key, X509 **ret) {
    _cleanup_(veil_sim_platform_freep) struct veil_sim_platform *platform = NULL;
    int r = veil_sim_platform_open(sim_dir, true, &platform);
    if (r < 0) return r;
    uint8_t *exe;
    size_t exe_size;
    if ((r = veil_read_file("/proc/self/exe", 256u << 20, &exe, &exe_size)) < 0) return r;
    struct veil_sim_claims claims = { 0 };
    r = veil_sha256(exe, exe_size, claims.measurement);
    free(exe);
    if (r < 0) return r;
    uint8_t report_data[VEIL_REPORT_DATA_SIZE];
    if ((r = veil_ratls_report_data(key, NULL, 0, report_data)) < 0) return r;
    struct veil_buf evidence = { 0 };
    r = veil_sim_get_evidence(platform, &claims, report_data, &evidence);
    struct veil_ratls_options opts = { .not_after = time(NULL) + 365 * 86400, .common_name = "veil-cas" };
    if (r >= 0) r = veil_ratls_cert_new(key, evidence.data, evidence.size, &opts, ret);
    veil_buf_done(&evidence);
    if (r >= 0) {
        char hex[65];
        veil_hex_encode(claims.measurement, 32, hex);
        veil_log_info("RA-TLS identity (sim): measurement %s", hex);
    }
    return r;
}

static int write_cert_pem(X509 *cert, const char *path) {
    _cleanup_(veil_bio_freep) BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_X509(bio, cert)) return -ENOMEM;
    char *pem;
    long n = BIO_get_mem_data(bio, &pem);
    return veil_write_file_atomic(path, pem, (size_t)n, 0644);
}

/*
 * The key is stable (<state>/tls.key, created once); clients pin it. The certificate is
 * self-signed, or with --ratls-sim an RA-TLS certificate made at every start with fresh
 * evidence; either way <state>/tls.crt holds the current one.
 */
static int load_or_create_identity(const struct veil_cas_server_config *cfg, EVP_PKEY **ret_key, X509 **ret_cert) {
    _cleanup_free_ char *cert_path = NULL, *key_path = NULL;
    if (cfg->cert_path) {
        if (!cfg->key_path) return veil_err(-EINVAL, "--cert needs --key");
        cert_path = strdup(cfg->cert_path);
        key_path = strdup(cfg->key_path);
    } else if (asprintf(&cert_path, "%s/tls.crt", cfg->state_dir) < 0 || asprintf(&key_path, "%s/tls.key", cfg->state_dir) < 0)
        return -ENOMEM;
    if (!cert_path || !key_path) return -ENOMEM;
    int r;
    if (!cfg->cert_path && access(key_path, F_OK) < 0) {
        _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
        _cleanup_(veil_x509_freep) X509 *cert = NULL;
        if ((r = veil_cas_self_signed("veil-cas", 3650, &key, &cert)) < 0) return r;
        if ((r = veil_key_save_private_pem(key, key_path)) < 0 || (r = write_cert_pem(cert, cert_path)) < 0) return r;
    }
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    if ((r = veil_key_load_private_pem(key_path, &key)) < 0) return r;
    X509 *cert = NULL;
    if (cfg->ratls_sim_dir) {
        if ((r = ratls_sim_cert(cfg->ratls_sim_dir, key, &cert)) < 0) return r;
        if (!cfg->cert_path && (r = write_cert_pem(cert, cert_path)) < 0) {
            X509_free(cert);
            return r;
        }
    } else {
        _cleanup_(veil_bio_freep) BIO *in = BIO_new_file(cert_path, "r");
        if (!in || !(cert = PEM_read_bio_X509(in, NULL, NULL, NULL)))
            return veil_ossl_err(-EBADMSG, "reading the TLS certificate");
    }
    *ret_key = TAKE_PTR(key);
    *ret_cert = cert;
    return 0;
}

static int make_ssl_ctx(const struct veil_cas_server_config *cfg, SSL_CTX **ret) {
    _cleanup_(ssl_ctx_freep) SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return veil_ossl_err(-ENOMEM, "SSL_CTX_new");
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)) return veil_ossl_err(-EIO, "TLS 1.3");
    _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
    _cleanup_(veil_x509_freep) X509 *cert = NULL;
    int r = load_or_create_identity(cfg, &key, &cert);
    if (r < 0) return r;
    if (!SSL_CTX_use_certificate(ctx, cert) || !SSL_CTX_use_PrivateKey(ctx, key) || !SSL_CTX_check_private_key(ctx))
        return veil_ossl_err(-EINVAL, "TLS identity");
    /* ask for a client certificate, but /healthz and /readyz work without one (Kubernetes probes) */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, accept_any_cert, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0); /* every connection is a full handshake: evidence is checked every time */
    *ret = TAKE_PTR(ctx);
    return 0;
}

static struct bufferevent *make_bev(struct event_base *base, void *arg) {
    struct veil_cas_worker *w = arg;
    SSL *ssl = SSL_new(w->ssl_ctx);
    if (!ssl) return NULL;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

/* ---------- threads ---------- */

static void *worker_main(void *arg) {
    struct veil_cas_worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

static int listen_socket(const struct veil_cas_server_config *cfg, int *ret_fd, uint16_t *ret_port) {
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(cfg->port) };
    struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(cfg->port) };
    const char *addr = cfg->address ? cfg->address : "127.0.0.1";
    bool v6 = strchr(addr, ':') != NULL;
    if (v6 ? inet_pton(AF_INET6, addr, &a6.sin6_addr) != 1 : inet_pton(AF_INET, addr, &a4.sin_addr) != 1)
        return veil_err(-EINVAL, "bad listen address '%s'", addr);
    _cleanup_close_ int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* accepted sockets inherit it: small TLS records must not wait for delayed ACKs (40 ms stalls) */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4, v6 ? sizeof(a6) : sizeof(a4)) < 0)
        return veil_err(-errno, "cannot bind %s:%u", addr, cfg->port);
    if (listen(fd, 1024) < 0) return -errno;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -errno;
    *ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    *ret_fd = TAKE_FD(fd);
    return 0;
}

static void worker_free(struct veil_cas_worker *w) {
    for (unsigned i = 0; i < VEIL_CAS_POLICY_CACHE; i++) veil_cas_policy_free(w->cache[i].policy);
    if (w->http) evhttp_free(w->http);
    if (w->base) event_base_free(w->base);
    veil_cas_store_close(w->store);
    veil_secbuf_free(w->scratch);
}

static int worker_init(struct veil_cas_worker *w, const struct veil_cas_server_config *cfg, const char *db,
                       const struct veil_secbuf *master, SSL_CTX *ctx, int listen_fd, X509 *const *sim_roots,
                       size_t sim_root_count) {
    w->cfg = cfg;
    w->ssl_ctx = ctx;
    int r = veil_cas_store_open(db, master, &w->store);
    if (r < 0) return r;
    if ((r = veil_secbuf_new(64 * 1024, &w->scratch)) < 0) return r;
    if (!(w->base = event_base_new()) || !(w->http = evhttp_new(w->base))) return -ENOMEM;
    evhttp_set_max_body_size(w->http, 512 * 1024);
    evhttp_set_max_headers_size(w->http, 16 * 1024);
    evhttp_set_timeout(w->http, 30);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_bevcb(w->http, make_bev, w);
    evhttp_set_gencb(w->http, handle, w);
    int fd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return -errno;
    if (!evhttp_accept_socket_with_handle(w->http, fd)) {
        close(fd);
        return veil_err(-EIO, "cannot accept on the listening socket");
    }
    /* Workload evidence is verified here; which measurements a service accepts is the policy's business,
     * so this verifier accepts every TEE it can check and every claim value. */
    veil_policy_init(&w->verifier.policy);
    w->verifier.policy.allowed_tees = ~(uint32_t)0;
    if (!sim_root_count) w->verifier.policy.allowed_tees &= ~VEIL_POLICY_TEE_BIT(VEIL_TEE_SIM);
    w->verifier.policy.accepted_tcb_statuses = ~(uint32_t)0;
    w->verifier.policy.debug_allowed = true;
    w->verifier.verify.sim_roots = sim_roots;
    w->verifier.verify.sim_roots_count = sim_root_count;
    return 0;
}

int veil_cas_server_run(const struct veil_cas_server_config *cfg) {
    int r = mkdir(cfg->state_dir, 0700);
    if (r < 0 && errno != EEXIST) return veil_err(-errno, "cannot create %s", cfg->state_dir);
    if (evthread_use_pthreads() < 0) return -ENOMEM;

    _cleanup_free_ char *seal_root = NULL, *db = NULL;
    if (asprintf(&db, "%s/cas.db", cfg->state_dir) < 0) return -ENOMEM;
    if (!cfg->seal_root && asprintf(&seal_root, "%s/sim-seal.key", cfg->state_dir) < 0) return -ENOMEM;
    _cleanup_secbuf_ struct veil_secbuf *master = NULL;
    const char *root_path = cfg->seal_root ? cfg->seal_root : seal_root;
    if (cfg->recover_with) {
        /* the sealing root is lost (or this is a new TEE): the owner's key opens master.recovery */
        _cleanup_(veil_evp_pkey_freep) EVP_PKEY *key = NULL;
        if ((r = veil_key_load_private_pem(cfg->recover_with, &key)) < 0 ||
            (r = veil_cas_recovery_unwrap(cfg->state_dir, key, &master)) < 0 ||
            (r = veil_cas_master_key_reseal(cfg->state_dir, root_path, master)) < 0)
            return r;
        veil_log_info("master key recovered and sealed under %s", root_path);
    } else if ((r = veil_cas_master_key_load(cfg->state_dir, root_path, &master)) < 0)
        return r;
    if (cfg->recovery_cert) {
        _cleanup_(veil_bio_freep) BIO *in = BIO_new_file(cfg->recovery_cert, "r");
        _cleanup_(veil_x509_freep) X509 *cert = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
        if (!cert) return veil_ossl_err(-EINVAL, "reading the recovery certificate");
        if ((r = veil_cas_recovery_wrap(cfg->state_dir, X509_get0_pubkey(cert), master)) < 0) return r;
    }
    _cleanup_(ssl_ctx_freep) SSL_CTX *ctx = NULL;
    if ((r = make_ssl_ctx(cfg, &ctx)) < 0) return r;

    _cleanup_(veil_x509_freep) X509 *sim_root = NULL;
    if (cfg->sim_root) {
        _cleanup_(veil_bio_freep) BIO *in = BIO_new_file(cfg->sim_root, "r");
        if (!in || !(sim_root = PEM_read_bio_X509(in, NULL, NULL, NULL)))
            return veil_ossl_err(-EINVAL, "reading the sim root certificate");
    }

    _cleanup_close_ int fd = -1;
    uint16_t port = 0;
    if ((r = listen_socket(cfg, &fd, &port)) < 0) return r;

    unsigned n = cfg->threads;
    if (!n) {
        /* twice the CPUs: a thread waiting for its commit's fsync leaves the CPU to another */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 2 ? 4 : (unsigned)MIN(2 * cpus, 64);
    }
    struct veil_cas_worker *workers = calloc(n, sizeof(*workers));
    if (!workers) return -ENOMEM;

    /* SIGINT/SIGTERM are taken by sigwait() below; the loops never see them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned started = 0;
    for (unsigned i = 0; i < n && r >= 0; i++) {
        workers[i].index = i;
        r = worker_init(&workers[i], cfg, db, master, ctx, fd, sim_root ? &sim_root : NULL, sim_root ? 1 : 0);
        if (r >= 0 && pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) r = -EAGAIN;
        if (r >= 0) started++;
    }
    if (r >= 0) {
        veil_log_info("listening on %s port %u with %u threads", cfg->address ? cfg->address : "127.0.0.1", port, n);
        if (cfg->port_file) {
            char text[16];
            int len = snprintf(text, sizeof(text), "%u\n", port);
            r = veil_write_file_atomic(cfg->port_file, text, (size_t)len, 0644);
        }
    }
    if (r >= 0) {
        int sig;
        sigwait(&set, &sig);
        veil_log_info("signal %d: shutting down", sig);
    }
    for (unsigned i = 0; i < started; i++) event_base_loopbreak(workers[i].base);
    for (unsigned i = 0; i < started; i++) pthread_join(workers[i].thread, NULL);
    for (unsigned i = 0; i < n; i++) worker_free(&workers[i]);
    free(workers);
    return r < 0 ? r : 0;
}
