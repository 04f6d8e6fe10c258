/* SPDX-License-Identifier: Apache-2.0 */
/* Strict parsers for veil-cas request bodies: known keys only, typed, bounded. */
#include "api.h"

#include <jansson.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"

bool veil_cas_name_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}


static int load(const uint8_t *body, size_t size, json_t **ret) {
    if (size > VEIL_CAS_BODY_MAX) return veil_err(-EBADMSG, "request body larger than %u bytes", VEIL_CAS_BODY_MAX);
    json_error_t e;
    json_t *j = json_loadb((const char *)body, size, JSON_REJECT_DUPLICATES, &e);
    if (!j) return veil_err(-EBADMSG, "request body is not JSON: %s (line %d)", e.text, e.line);
    if (!json_is_object(j)) {
        json_decref(j);
        return veil_err(-EBADMSG, "request body must be a JSON object");
    }
    *ret = j;
    return 0;
}

/* Refuse keys other than the listed ones (NULL-terminated). */
static int only_keys(json_t *obj, const char *const *keys) {
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++) known = !strcmp(keys[i], k);
        if (!known) return veil_err(-EBADMSG, "unknown field '%.64s' in request", k);
    }
    return 0;
}

static int name_field(json_t *obj, const char *key, char **ret) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) return veil_err(-EBADMSG, "field '%s' must be a string", key);
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || !veil_cas_name_valid(s))
        return veil_err(-EBADMSG, "field '%s' must be a name of 1-64 characters [A-Za-z0-9_-]", key);
    char *d = strdup(s);
    if (!d) return -ENOMEM;
    *ret = d;
    return 0;
}

static int version_value(json_t *v, const char *what, int64_t *ret) {
    if (!json_is_integer(v)) return veil_err(-EBADMSG, "%s must be an integer", what);
    json_int_t n = json_integer_value(v);
    if (n < 0 || n > ((int64_t)1 << 53)) return veil_err(-EBADMSG, "%s is out of range", what);
    *ret = (int64_t)n;
    return 0;
}

int veil_cas_api_parse_apply(const uint8_t *body, size_t size, struct veil_cas_apply_request *ret) {
    _cleanup_(json_decrefp) json_t *j = NULL;
    int r = load(body, size, &j);
    if (r < 0) return r;
    static const char *const keys[] = { "policy", "replaces", NULL };
    if ((r = only_keys(j, keys)) < 0) return r;
    json_t *p = json_object_get(j, "policy");
    if (!json_is_string(p)) return veil_err(-EBADMSG, "field 'policy' must be a string (the YAML text)");
    struct veil_cas_apply_request req = { 0 };
    json_t *rep = json_object_get(j, "replaces");
    if (rep && !json_is_null(rep)) {
        if (!json_is_string(rep) || json_string_length(rep) != 64 ||
            veil_hex_decode(json_string_value(rep), req.replaces, 32) < 0)
            return veil_err(-EBADMSG, "field 'replaces' must be a SHA-256 in hex");
        req.has_replaces = true;
    }
    req.policy_size = json_string_length(p);
    req.policy = malloc(req.policy_size + 1);
    if (!req.policy) return -ENOMEM;
    memcpy(req.policy, json_string_value(p), req.policy_size + 1);
    *ret = req;
    return 0;
}

void veil_cas_apply_request_done(struct veil_cas_apply_request *r) {
    if (r->policy) veil_wipe(r->policy, r->policy_size); /* may hold imported secret values */
    free(r->policy);
    *r = (struct veil_cas_apply_request){ 0 };
}

int veil_cas_api_parse_attest(const uint8_t *body, size_t size, struct veil_cas_attest_request *ret) {
    _cleanup_(json_decrefp) json_t *j = NULL;
    int r = load(body, size, &j);
    if (r < 0) return r;
    static const char *const keys[] = { "policy", "service", "volumes", NULL };
    if ((r = only_keys(j, keys)) < 0) return r;
    struct veil_cas_attest_request req = { 0 };
    if ((r = name_field(j, "policy", &req.policy)) < 0 || (r = name_field(j, "service", &req.service)) < 0) goto fail;
    json_t *vols = json_object_get(j, "volumes");
    if (vols) {
        if (!json_is_object(vols)) {
            r = veil_err(-EBADMSG, "field 'volumes' must be an object of name: version");
            goto fail;
        }
        if (json_object_size(vols) > VEIL_CAS_VOLUME_REPORTS_MAX) {
            r = veil_err(-EBADMSG, "too many volumes in request");
            goto fail;
        }
        const char *k;
        json_t *v;
        json_object_foreach(vols, k, v) {
            if (!veil_cas_name_valid(k)) {
                r = veil_err(-EBADMSG, "bad volume name in request");
                goto fail;
            }
            struct veil_cas_volume_report *rep = &req.volumes[req.volume_count];
            if ((r = version_value(v, "volume version", &rep->version)) < 0) goto fail;
            if (!(rep->name = strdup(k))) {
                r = -ENOMEM;
                goto fail;
            }
            req.volume_count++;
        }
    }
    *ret = req;
    return 0;
fail:
    veil_cas_attest_request_done(&req);
    return r;
}

void veil_cas_attest_request_done(struct veil_cas_attest_request *r) {
    free(r->policy);
    free(r->service);
    for (size_t i = 0; i < r->volume_count; i++) free((char *)r->volumes[i].name);
    *r = (struct veil_cas_attest_request){ 0 };
}

int veil_cas_api_parse_volume(const uint8_t *body, size_t size, struct veil_cas_volume_request *ret) {
    _cleanup_(json_decrefp) json_t *j = NULL;
    int r = load(body, size, &j);
    if (r < 0) return r;
    static const char *const keys[] = { "policy", "service", "volume", "version", NULL };
    if ((r = only_keys(j, keys)) < 0) return r;
    struct veil_cas_volume_request req = { 0 };
    if ((r = name_field(j, "policy", &req.policy)) < 0 || (r = name_field(j, "service", &req.service)) < 0 ||
        (r = name_field(j, "volume", &req.volume)) < 0 ||
        (r = version_value(json_object_get(j, "version"), "field 'version'", &req.version)) < 0) {
        veil_cas_volume_request_done(&req);
        return r;
    }
    *ret = req;
    return 0;
}

void veil_cas_volume_request_done(struct veil_cas_volume_request *r) {
    free(r->policy);
    free(r->service);
    free(r->volume);
    *r = (struct veil_cas_volume_request){ 0 };
}

int veil_cas_api_parse_accept(const uint8_t *body, size_t size, int64_t *ret_version) {
    _cleanup_(json_decrefp) json_t *j = NULL;
    int r = load(body, size, &j);
    if (r < 0) return r;
    static const char *const keys[] = { "version", NULL };
    if ((r = only_keys(j, keys)) < 0) return r;
    return version_value(json_object_get(j, "version"), "field 'version'", ret_version);
}
