/* SPDX-License-Identifier: Apache-2.0 */
/* Owner endpoints: apply, show, history, versions, volumes, accept, audit, audit verify. */
#include <sys/queue.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "base/err.h"
#include "base/fileio.h"
#include "worker.h"


static void reply_err(struct evhttp_request *req, int r, const char *what) {
    veil_cas_reply_error(req, veil_cas_http_status(r), what, veil_cas_reason(r));
}

static void reply_obj(struct evhttp_request *req, json_t *j) {
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (text) veil_cas_reply_json(req, 200, text);
    else veil_cas_reply_error(req, 500, "out of memory", NULL);
    free(text);
}

static json_t *hex_json(const uint8_t *d, size_t size) {
    char hex[129];
    veil_hex_encode(d, MIN(size, (size_t)64), hex);
    return json_string(hex);
}

static json_t *version_json(const char *name, const struct veil_cas_policy_version *v, bool with_text) {
    json_t *j = json_pack("{s:s,s:I,s:o,s:o,s:o,s:I}", "name", name, "version", (json_int_t)v->version, "hash",
                          hex_json(v->hash, 32), "previous", v->has_previous ? hex_json(v->previous, 32) : json_null(),
                          "applied_by", hex_json(v->applied_by, 32), "time", (json_int_t)v->time);
    if (j && with_text) json_object_set_new(j, "policy", json_stringn(v->yaml, v->yaml_size));
    return j;
}

static void apply(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer) {
    const uint8_t *body;
    size_t size;
    struct veil_cas_apply_request a;
    veil_err_clear();
    int r = veil_cas_request_body(req, &body, &size);
    if (r >= 0) r = veil_cas_api_parse_apply(body, size, &a);
    if (r < 0) {
        reply_err(req, r, "bad request");
        return;
    }
    int64_t version;
    uint8_t hash[32];
    veil_err_clear();
    /* owners may be listed by key id or by certificate fingerprint */
    uint8_t ids[2][32];
    memcpy(ids[0], peer->key_id, 32);
    memcpy(ids[1], peer->fingerprint, 32);
    r = veil_cas_store_policy_apply(w->store, a.policy, a.policy_size, (const uint8_t(*)[32])ids, 2, a.has_replaces ? a.replaces : NULL,
                                    &version, hash);
    veil_cas_apply_request_done(&a);
    if (r < 0) {
        reply_err(req, r, r == -EBADMSG ? "invalid policy" : "policy refused");
        return;
    }
    _cleanup_(json_decrefp) json_t *j = json_pack("{s:I,s:o}", "version", (json_int_t)version, "hash", hex_json(hash, 32));
    reply_obj(req, j);
}

/* The current policy, if the peer owns it (404 and 403 are told apart: owners learn nothing they could not). */
static int owned_policy(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer,
                        const char *name, const struct veil_cas_cached_policy **ret) {
    veil_err_clear();
    int r = veil_cas_worker_policy(w, name, ret);
    if (r < 0) {
        reply_err(req, r, "no such policy");
        return r;
    }
    if (!veil_cas_peer_owns(peer, (*ret)->policy)) {
        veil_cas_reply_error(req, 403, "not an owner of this policy", NULL);
        return -EPERM;
    }
    return 0;
}

static void show(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer,
                 const char *name, int64_t version) {
    const struct veil_cas_cached_policy *cp;
    if (owned_policy(w, req, peer, name, &cp) < 0) return;
    struct veil_cas_policy_version v;
    int r = veil_cas_store_policy_get(w->store, name, version, &v);
    if (r < 0) {
        reply_err(req, r, "cannot read policy");
        return;
    }
    _cleanup_(json_decrefp) json_t *j = version_json(name, &v, true);
    veil_cas_policy_version_done(&v);
    reply_obj(req, j);
}

static void history(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer,
                    const char *name) {
    const struct veil_cas_cached_policy *cp;
    if (owned_policy(w, req, peer, name, &cp) < 0) return;
    struct veil_cas_policy_version *list;
    size_t count;
    int r = veil_cas_store_policy_history(w->store, name, &list, &count);
    if (r < 0) {
        reply_err(req, r, "cannot read history");
        return;
    }
    _cleanup_(json_decrefp) json_t *arr = json_array();
    for (size_t i = 0; i < count; i++) {
        if (arr) json_array_append_new(arr, version_json(name, &list[i], false));
        veil_cas_policy_version_done(&list[i]);
    }
    free(list);
    _cleanup_(json_decrefp) json_t *j = json_pack("{s:s,s:O}", "name", name, "versions", arr);
    reply_obj(req, j);
}

static void volumes(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer,
                    const char *name) {
    const struct veil_cas_cached_policy *cp;
    if (owned_policy(w, req, peer, name, &cp) < 0) return;
    _cleanup_(json_decrefp) json_t *vols = json_object();
    for (size_t i = 0; vols && i < cp->policy->volume_count; i++) {
        int64_t v;
        int r = veil_cas_store_volume_get(w->store, name, cp->policy->volumes[i].name, &v);
        if (r < 0) {
            reply_err(req, r, "cannot read volume");
            return;
        }
        json_object_set_new(vols, cp->policy->volumes[i].name, json_integer(v));
    }
    _cleanup_(json_decrefp) json_t *j = json_pack("{s:s,s:O}", "name", name, "volumes", vols);
    reply_obj(req, j);
}

static void accept_volume(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer,
                          const char *name, const char *volume) {
    const struct veil_cas_cached_policy *cp;
    if (owned_policy(w, req, peer, name, &cp) < 0) return;
    const uint8_t *body;
    size_t size;
    int64_t version;
    veil_err_clear();
    int r = veil_cas_request_body(req, &body, &size);
    if (r >= 0) r = veil_cas_api_parse_accept(body, size, &version);
    if (r >= 0) r = veil_cas_store_volume_accept(w->store, name, volume, version, peer->subject);
    if (r < 0) {
        reply_err(req, r, "cannot accept volume version");
        return;
    }
    _cleanup_(json_decrefp) json_t *j = json_pack("{s:s,s:I}", "volume", volume, "version", (json_int_t)version);
    reply_obj(req, j);
}

static void audit(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer,
                  const char *query) {
    struct evkeyvalq q = { 0 };
    TAILQ_INIT(&q);
    if (query && evhttp_parse_query_str(query, &q) < 0) {
        veil_cas_reply_error(req, 400, "bad query", NULL);
        return;
    }
    const char *name = evhttp_find_header(&q, "policy");
    const char *since_text = evhttp_find_header(&q, "since");
    long long since = 0;
    if (!name || !veil_cas_name_valid(name) || (since_text && sscanf(since_text, "%lld", &since) != 1) || since < 0) {
        veil_cas_reply_error(req, 400, "audit needs ?policy=NAME (and optionally since=SEQ)", NULL);
        evhttp_clear_headers(&q);
        return;
    }
    const struct veil_cas_cached_policy *cp;
    if (owned_policy(w, req, peer, name, &cp) >= 0) {
        char *json;
        int r = veil_cas_store_audit_list(w->store, name, since, 10000, &json);
        if (r < 0) reply_err(req, r, "cannot read audit");
        else {
            struct veil_buf b = { .limit = 64u << 20 };
            if (veil_buf_printf(&b, "{\"policy\":\"%s\",\"entries\":%s}", name, json) < 0)
                veil_cas_reply_error(req, 500, "out of memory", NULL);
            else veil_cas_reply_json(req, 200, (const char *)b.data);
            veil_buf_done(&b);
            free(json);
        }
    }
    evhttp_clear_headers(&q);
}

static json_t *entry_ref(struct veil_cas_worker *w, int64_t seq) {
    uint8_t h[32];
    if (seq <= 0 || veil_cas_store_audit_hash(w->store, seq, h) < 0) return json_null();
    char hex[65], text[96];
    veil_hex_encode(h, 32, hex);
    snprintf(text, sizeof(text), "%lld:%s", (long long)seq, hex);
    return json_string(text);
}

static void audit_verify(struct veil_cas_worker *w, struct evhttp_request *req, const char *query) {
    long long at = 0;
    char tail;
    if (query && (sscanf(query, "at=%lld%c", &at, &tail) != 1 || at <= 0)) {
        veil_cas_reply_error(req, 400, "the only query is at=SEQ", NULL);
        return;
    }
    int64_t count = 0, bad = 0;
    veil_err_clear();
    int r = veil_cas_store_audit_verify(w->store, &count, &bad);
    _cleanup_(json_decrefp) json_t *j = NULL;
    if (r == -EACCES)
        j = json_pack("{s:b,s:I,s:s}", "ok", 0, "bad_seq", (json_int_t)bad, "reason", veil_err_msg());
    else if (r < 0) {
        reply_err(req, r, "cannot verify audit");
        return;
    } else {
        /* the head to record, and the entry an owner recorded earlier (null when the log no longer reaches it) */
        j = json_pack("{s:b,s:I,s:o}", "ok", 1, "entries", (json_int_t)count, "head", entry_ref(w, count));
        if (j && at) json_object_set_new(j, "at", at <= count ? entry_ref(w, at) : json_null());
    }
    reply_obj(req, j);
}

/* Split "/v1/policies/NAME[/rest]" into a validated name and the rest. */
static bool split_name(const char *path, char name[65], const char **ret_rest) {
    const char *slash = strchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : strlen(path);
    if (n == 0 || n > 64) return false;
    memcpy(name, path, n);
    name[n] = 0;
    if (!veil_cas_name_valid(name)) return false;
    *ret_rest = slash ? slash : "";
    return true;
}

void veil_cas_handle_owner(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer,
                           const char *path, const char *query) {
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    bool get = method == EVHTTP_REQ_GET, post = method == EVHTTP_REQ_POST;
    if (!strcmp(path, "/v1/policies")) {
        if (post) apply(w, req, peer);
        else veil_cas_reply_error(req, 405, "use POST", NULL);
        return;
    }
    if (!strcmp(path, "/v1/audit") && get) {
        audit(w, req, peer, query);
        return;
    }
    if (!strcmp(path, "/v1/audit/verify") && get) {
        audit_verify(w, req, query);
        return;
    }
    static const char prefix[] = "/v1/policies/";
    char name[65], volume[65];
    const char *rest;
    if (strncmp(path, prefix, sizeof(prefix) - 1) || !split_name(path + sizeof(prefix) - 1, name, &rest)) {
        veil_cas_reply_error(req, 404, "no such endpoint", NULL);
        return;
    }
    long long version;
    char tail;
    if (!*rest && get) show(w, req, peer, name, 0);
    else if (!strcmp(rest, "/history") && get) history(w, req, peer, name);
    else if (!strcmp(rest, "/volumes") && get) volumes(w, req, peer, name);
    else if (sscanf(rest, "/versions/%lld%c", &version, &tail) == 1 && version > 0 && get)
        show(w, req, peer, name, version);
    else if (!strncmp(rest, "/volumes/", 9) && post) {
        const char *vrest;
        if (!split_name(rest + 9, volume, &vrest) || strcmp(vrest, "/accept"))
            veil_cas_reply_error(req, 404, "no such endpoint", NULL);
        else accept_volume(w, req, peer, name, volume);
    } else
        veil_cas_reply_error(req, 404, "no such endpoint", NULL);
}
