/* SPDX-License-Identifier: Apache-2.0 */
/* Workload endpoints: attest (evidence -> policy -> secrets, volume freshness) and volume version reports. */
#include <event2/http.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "base/err.h"
#include "base/fileio.h"
#include "secret.h"
#include "store-internal.h"
#include "worker.h"

#define MAX_LOADED 64

/* Secret material loaded once per request, wiped when the request ends. */
struct loaded {
    const char *name;
    struct veil_secbuf *material;
};

struct render {
    struct veil_cas_worker *w;
    struct veil_secbuf *scratch; /* the worker's, reused: one template value at a time, wiped after */
    const struct veil_cas_policy *policy;
    struct loaded items[MAX_LOADED];
    size_t count;
    struct veil_buf released; /* JSON array body of released secret names, for the audit log */
};

static void render_done(struct render *r) {
    for (size_t i = 0; i < r->count; i++) veil_secbuf_free(r->items[i].material);
    veil_buf_done(&r->released);
}

static int material(struct render *rd, const char *name, const struct veil_secbuf **ret) {
    for (size_t i = 0; i < rd->count; i++)
        if (!strcmp(rd->items[i].name, name)) {
            *ret = rd->items[i].material;
            return 0;
        }
    if (rd->count == MAX_LOADED) return veil_err(-E2BIG, "too many secrets for one workload");
    struct veil_secbuf *m;
    int r = veil_cas_store_secret_get(rd->w->store, rd->policy->name, name, &m);
    if (r < 0) return r;
    rd->items[rd->count++] = (struct loaded){ .name = name, .material = m };
    if ((r = veil_buf_printf(&rd->released, "%s\"%s\"", rd->released.size ? "," : "", name)) < 0) return r;
    *ret = m;
    return 0;
}

/* Expand a template into out (raw bytes). */
static int expand(struct render *rd, const struct veil_cas_template *t, struct veil_secbuf *out) {
    int r;
    for (size_t i = 0; i < t->part_count; i++) {
        const struct veil_cas_template_part *p = &t->parts[i];
        if (p->text) {
            if ((r = veil_cas_secbuf_append(out, p->text, strlen(p->text))) < 0) return r;
            continue;
        }
        const struct veil_cas_secret *def = veil_cas_policy_secret(rd->policy, p->secret);
        if (!def) return veil_err(-EINVAL, "secret '%s' vanished from the policy", p->secret);
        const struct veil_secbuf *m, *issuer = NULL;
        if ((r = material(rd, p->secret, &m)) < 0) return r;
        if (def->kind == VEIL_CAS_SECRET_X509 && (r = material(rd, def->issuer, &issuer)) < 0) return r;
        if ((r = veil_cas_secret_render(def, m, issuer, p->field, out)) < 0) return r;
    }
    return 0;
}

/* JSON string literal of raw bytes (UTF-8 passes through; control characters escaped). */
static int json_str(struct veil_secbuf *out, const uint8_t *s, size_t n) {
    int r = veil_cas_secbuf_append(out, "\"", 1);
    for (size_t i = 0; i < n && r >= 0; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            r = veil_cas_secbuf_append(out, e, 2);
        } else if (c < 0x20) {
            char e[7];
            snprintf(e, sizeof(e), "\\u%04x", c);
            r = veil_cas_secbuf_append(out, e, 6);
        } else
            r = veil_cas_secbuf_append(out, &c, 1);
    }
    return r < 0 ? r : veil_cas_secbuf_append(out, "\"", 1);
}

static int lit(struct veil_secbuf *out, const char *s) {
    return veil_cas_secbuf_append(out, s, strlen(s));
}

/* Expand a template and append it as a JSON string (base64-encoded for file contents). */
static int expand_json(struct render *rd, const struct veil_cas_template *t, struct veil_secbuf *out, bool base64) {
    struct veil_secbuf *tmp = rd->scratch;
    int r = veil_secbuf_resize(tmp, 0);
    if (r >= 0) r = expand(rd, t, tmp);
    size_t plain = tmp->size;
    if (r >= 0 && !base64) r = json_str(out, tmp->data, plain);
    else if (r >= 0) {
        /* encode behind the plaintext in the same buffer */
        size_t b64 = 4 * ((plain + 2) / 3) + 1;
        if ((r = veil_secbuf_resize(tmp, plain + b64)) >= 0) {
            int len = EVP_EncodeBlock(tmp->data + plain, tmp->data, (int)plain);
            r = json_str(out, tmp->data + plain, (size_t)len);
        }
    }
    veil_wipe(tmp->data, tmp->size);
    return r;
}

static int key_hex(struct render *rd, const char *secret, struct veil_secbuf *out) {
    const struct veil_secbuf *m;
    int r = material(rd, secret, &m);
    if (r < 0) return r;
    _cleanup_secbuf_ struct veil_secbuf *hex = NULL;
    if ((r = veil_secbuf_new(2 * m->size + 1, &hex)) < 0) return r;
    veil_hex_encode(m->data, m->size, (char *)hex->data);
    return json_str(out, hex->data, 2 * m->size);
}

/* The configuration a workload receives (docs/cas-api.yaml, AttestResponse). */
static int build_config(struct render *rd, const struct veil_cas_cached_policy *cp, const struct veil_cas_service *s,
                        const struct veil_cas_volume_report *vols, size_t vol_count, struct veil_secbuf *out) {
    char head[512], hash[65];
    veil_hex_encode(cp->hash, 32, hash);
    snprintf(head, sizeof(head), "{\"policy\":\"%s\",\"service\":\"%s\",\"policy_version\":%lld,\"policy_hash\":\"%s\",\"env\":{",
             cp->policy->name, s->name, (long long)cp->version, hash);
    int r = lit(out, head);
    for (size_t i = 0; i < s->env_count && r >= 0; i++) {
        if (i) r = lit(out, ",");
        if (r >= 0) r = json_str(out, (const uint8_t *)s->env[i].name, strlen(s->env[i].name));
        if (r >= 0) r = lit(out, ":");
        if (r >= 0) r = expand_json(rd, &s->env[i].value, out, false);
    }
    if (r >= 0) r = lit(out, "},\"argv\":[");
    for (size_t i = 0; i < s->argv_count && r >= 0; i++) {
        if (i) r = lit(out, ",");
        if (r >= 0) r = expand_json(rd, &s->argv[i], out, false);
    }
    if (r >= 0) r = lit(out, "],\"files\":[");
    for (size_t i = 0; i < s->file_count && r >= 0; i++) {
        char fhead[64];
        snprintf(fhead, sizeof(fhead), "%s{\"mode\":%u,\"path\":", i ? "," : "", s->files[i].mode);
        r = lit(out, fhead);
        if (r >= 0) r = json_str(out, (const uint8_t *)s->files[i].path, strlen(s->files[i].path));
        if (r >= 0) r = lit(out, ",\"content_base64\":");
        if (r >= 0) r = expand_json(rd, &s->files[i].content, out, true);
        if (r >= 0) r = lit(out, "}");
    }
    if (r >= 0) r = lit(out, "],\"keys\":{");
    if (r >= 0 && s->image) {
        r = lit(out, "\"image\":");
        if (r >= 0) r = key_hex(rd, veil_cas_policy_image(cp->policy, s->image)->key, out);
        if (r >= 0) r = lit(out, ",");
    }
    if (r >= 0) r = lit(out, "\"volumes\":{");
    for (size_t i = 0; i < s->volume_count && r >= 0; i++) {
        char vhead[80];
        snprintf(vhead, sizeof(vhead), "%s\"%s\":", i ? "," : "", s->volumes[i]);
        r = lit(out, vhead);
        if (r >= 0) r = key_hex(rd, veil_cas_policy_volume(cp->policy, s->volumes[i])->key, out);
    }
    if (r >= 0) r = lit(out, "}},\"volumes\":{");
    for (size_t i = 0; i < vol_count && r >= 0; i++) {
        char v[96];
        snprintf(v, sizeof(v), "%s\"%s\":%lld", i ? "," : "", vols[i].name, (long long)vols[i].version);
        r = lit(out, v);
    }
    if (r >= 0) r = lit(out, "}}\n");
    return r;
}

/* The audit detail of an attestation: what was claimed, what was decided; never a secret value. */
static void claims_detail(const struct veil_claims *c, const char *service, const char *reason, const char *released,
                          struct veil_buf *out) {
    char m[2 * VEIL_MEASUREMENT_MAX + 1] = "", sg[2 * VEIL_MEASUREMENT_MAX + 1] = "";
    if (c) {
        veil_hex_encode(c->measurement, c->measurement_size, m);
        veil_hex_encode(c->signer, c->signer_size, sg);
    }
    struct veil_buf esc = { .limit = 4096 };
    int r = veil_cas_json_escape(&esc, reason ? reason : "");
    r = r < 0 ? r
              : veil_buf_printf(out, "{\"service\":\"%s\",\"tee\":\"%s\",\"measurement\":\"%s\",\"signer\":\"%s\"%s%s%s%s%s}",
                                service ? service : "", c ? veil_tee_name(c->tee) : "", m, sg,
                                reason ? ",\"reason\":" : "", reason && esc.data ? (const char *)esc.data : "",
                                released ? ",\"secrets\":[" : "", released ? released : "", released ? "]" : "");
    veil_buf_done(&esc);
    if (r < 0) veil_buf_done(out);
}

static void refuse(struct veil_cas_worker *w, struct evhttp_request *req, int status, const char *policy,
                   const char *service, const struct veil_cas_peer *peer, const char *reason) {
    struct veil_buf detail = { .limit = 16 * 1024 };
    claims_detail(peer->claims, service, reason, NULL, &detail);
    int r = veil_cas_store_audit(w->store, "attest.refused", policy ? policy : "", peer->subject,
                                 detail.data ? (const char *)detail.data : "{}");
    veil_buf_done(&detail);
    /* a refusal that cannot be audited is still a refusal */
    (void)r;
    veil_cas_reply_error(req, status, "attestation refused", reason);
}

void veil_cas_handle_attest(struct veil_cas_worker *w, struct evhttp_request *req, const struct veil_cas_peer *peer) {
    struct veil_cas_attest_request a = { 0 };
    const uint8_t *body;
    size_t size;
    veil_err_clear();
    int r = veil_cas_request_body(req, &body, &size);
    if (r >= 0) r = veil_cas_api_parse_attest(body, size, &a);
    if (r < 0) {
        veil_cas_reply_error(req, 400, "bad request", veil_cas_reason(r));
        return;
    }
    char reason[512];
    if (peer->kind == VEIL_CAS_PEER_REFUSED) {
        snprintf(reason, sizeof(reason), "evidence refused: %s", peer->reason);
        refuse(w, req, 403, a.policy, a.service, peer, reason);
        goto out;
    }
    if (peer->kind != VEIL_CAS_PEER_WORKLOAD) {
        refuse(w, req, 403, a.policy, a.service, peer, "attestation needs an RA-TLS client certificate");
        goto out;
    }
    const struct veil_cas_cached_policy *cp;
    veil_err_clear();
    if ((r = veil_cas_worker_policy(w, a.policy, &cp)) < 0) {
        snprintf(reason, sizeof(reason), "%s", veil_cas_reason(r));
        refuse(w, req, r == -ENOENT ? 404 : 500, a.policy, a.service, peer, reason);
        goto out;
    }
    const struct veil_cas_service *s = veil_cas_policy_service(cp->policy, a.service);
    if (!s) {
        snprintf(reason, sizeof(reason), "policy '%s' has no service '%s'", a.policy, a.service);
        refuse(w, req, 404, a.policy, a.service, peer, reason);
        goto out;
    }
    veil_err_clear();
    if ((r = veil_cas_service_match(s, peer->claims)) < 0) {
        snprintf(reason, sizeof(reason), "%s", veil_cas_reason(r));
        refuse(w, req, 403, a.policy, a.service, peer, reason);
        goto out;
    }
    /* certificates close to expiry are renewed before they are handed out (a failure here is not a
     * refusal: the stored ones are still valid) */
    time_t now = time(NULL);
    if (now >= cp->next_renew_check &&
        veil_cas_store_renew_certificates(w->store, cp->policy, now, "veil-cas", NULL) >= 0)
        ((struct veil_cas_cached_policy *)cp)->next_renew_check = now + 60;
        /* every volume of the service is checked; one not reported counts as version 0 (new and empty) */
    struct veil_cas_volume_report vols[VEIL_CAS_VOLUME_REPORTS_MAX];
    size_t vol_count = 0;
    for (size_t i = 0; i < a.volume_count; i++) {
        bool listed = false;
        for (size_t j = 0; j < s->volume_count && !listed; j++) listed = !strcmp(s->volumes[j], a.volumes[i].name);
        if (!listed) {
            snprintf(reason, sizeof(reason), "service '%s' has no volume '%s'", s->name, a.volumes[i].name);
            refuse(w, req, 400, a.policy, a.service, peer, reason);
            goto out;
        }
    }
    for (size_t j = 0; j < s->volume_count && j < VEIL_CAS_VOLUME_REPORTS_MAX; j++) {
        vols[vol_count] = (struct veil_cas_volume_report){ .name = s->volumes[j], .version = 0 };
        for (size_t i = 0; i < a.volume_count; i++)
            if (!strcmp(s->volumes[j], a.volumes[i].name)) vols[vol_count].version = a.volumes[i].version;
        vol_count++;
    }

    struct render rd = { .w = w, .policy = cp->policy, .scratch = w->scratch, .released = { .limit = 16 * 1024 } };
    struct veil_secbuf *out = NULL;
    veil_err_clear();
    /* sized for a typical configuration, so that appending rarely has to move it */
    r = veil_secbuf_new(32 * 1024, &out);
    if (r >= 0) r = veil_secbuf_resize(out, 0);
    if (r >= 0) r = build_config(&rd, cp, s, vols, vol_count, out);
    if (r < 0) {
        veil_secbuf_free(out);
        render_done(&rd);
        veil_cas_reply_error(req, 500, "cannot build the configuration", veil_cas_reason(r));
        goto out;
    }
    /* the decision and the released names are committed (with the volume versions) before the reply */
    struct veil_buf detail = { .limit = 32 * 1024 };
    claims_detail(peer->claims, s->name, NULL, rd.released.data ? (const char *)rd.released.data : "", &detail);
    veil_err_clear();
    r = detail.data ? veil_cas_store_volumes_advance(w->store, a.policy, vols, vol_count, "attest.accepted",
                                                     peer->subject, (const char *)detail.data)
                    : -ENOMEM;
    veil_buf_done(&detail);
    render_done(&rd);
    if (r < 0) {
        veil_secbuf_free(out);
        snprintf(reason, sizeof(reason), "%s", veil_cas_reason(r));
        if (r == -ESTALE) refuse(w, req, 409, a.policy, a.service, peer, reason);
        else veil_cas_reply_error(req, veil_cas_http_status(r), "attestation failed", reason);
        goto out;
    }
    veil_cas_reply_secret(req, 200, out);
out:
    veil_cas_attest_request_done(&a);
}

void veil_cas_handle_volume_report(struct veil_cas_worker *w, struct evhttp_request *req,
                                   const struct veil_cas_peer *peer) {
    struct veil_cas_volume_request v = { 0 };
    const uint8_t *body;
    size_t size;
    veil_err_clear();
    int r = veil_cas_request_body(req, &body, &size);
    if (r >= 0) r = veil_cas_api_parse_volume(body, size, &v);
    if (r < 0) {
        veil_cas_reply_error(req, 400, "bad request", veil_cas_reason(r));
        return;
    }
    const struct veil_cas_cached_policy *cp;
    const struct veil_cas_service *s = NULL;
    char reason[512] = "";
    if (peer->kind != VEIL_CAS_PEER_WORKLOAD)
        snprintf(reason, sizeof(reason), "%s", peer->kind == VEIL_CAS_PEER_REFUSED ? peer->reason
                                                                                  : "needs an RA-TLS client certificate");
    else if ((r = veil_cas_worker_policy(w, v.policy, &cp)) < 0 || !(s = veil_cas_policy_service(cp->policy, v.service)))
        snprintf(reason, sizeof(reason), "no service '%s' in policy '%s'", v.service, v.policy);
    else if ((r = veil_cas_service_match(s, peer->claims)) < 0)
        snprintf(reason, sizeof(reason), "%s", veil_cas_reason(r));
    else {
        bool listed = false;
        for (size_t j = 0; j < s->volume_count && !listed; j++) listed = !strcmp(s->volumes[j], v.volume);
        if (!listed) snprintf(reason, sizeof(reason), "service '%s' has no volume '%s'", s->name, v.volume);
    }
    if (reason[0]) {
        veil_cas_reply_error(req, 403, "volume report refused", reason);
        goto out;
    }
    char detail[256];
    snprintf(detail, sizeof(detail), "{\"service\":\"%s\",\"volume\":\"%s\",\"version\":%lld}", v.service, v.volume,
             (long long)v.version);
    struct veil_cas_volume_report rep = { .name = v.volume, .version = v.version };
    veil_err_clear();
    r = veil_cas_store_volumes_advance(w->store, v.policy, &rep, 1, "volume.reported", peer->subject, detail);
    if (r < 0) {
        veil_cas_reply_error(req, veil_cas_http_status(r), "volume report refused", veil_cas_reason(r));
        goto out;
    }
    snprintf(detail, sizeof(detail), "{\"volume\":\"%s\",\"version\":%lld}", v.volume, (long long)v.version);
    veil_cas_reply_json(req, 200, detail);
out:
    veil_cas_volume_request_done(&v);
}
