/* SPDX-License-Identifier: Apache-2.0 */
/* Reads an image's JSON documents (config, index, manifests) with jansson, checking every type and size. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "base/err.h"

static int load_json(const void *data, size_t size, const char *what, json_t **ret) {
    if (size > IMAGE_JSON_MAX_SIZE) return veil_err(-EBADMSG, "%s is larger than %zu bytes", what, IMAGE_JSON_MAX_SIZE);
    json_error_t error;
    json_t *root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &error);
    if (!root) return veil_err(-EBADMSG, "%s is not JSON: %s (line %d)", what, error.text, error.line);
    if (!json_is_object(root)) {
        json_decref(root);
        return veil_err(-EBADMSG, "%s is not a JSON object", what);
    }
    *ret = root;
    return 0;
}

/* An optional array of strings (null or absent means empty) as a NULL-terminated borrowed array. */
static int string_array(json_t *obj, const char *key, const char *what, const char ***ret, size_t *ret_count) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    size_t n = 0;
    if (v && !json_is_null(v)) {
        if (!json_is_array(v)) return veil_err(-EBADMSG, "%s: '%s' is not an array", what, key);
        n = json_array_size(v);
        if (n > IMAGE_MAX_STRINGS) return veil_err(-EBADMSG, "%s: '%s' has too many elements", what, key);
    }
    const char **a = calloc(n + 1, sizeof(char *));
    if (!a) return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s)) {
            free(a);
            return veil_err(-EBADMSG, "%s: '%s' holds something other than a string", what, key);
        }
        a[i] = json_string_value(s);
    }
    *ret = a;
    *ret_count = n;
    return 0;
}

static int optional_string(json_t *obj, const char *key, const char *what, const char **ret) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v || json_is_null(v)) {
        *ret = "";
        return 0;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return veil_err(-EBADMSG, "%s: '%s' is not a string", what, key);
    *ret = json_string_value(v);
    return 0;
}

int image_config_parse(const void *data, size_t size, struct image_config **ret) {
    _cleanup_(image_config_freep) struct image_config *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    int r = load_json(data, size, "image config", &c->root);
    if (r < 0) return r;
    json_t *cfg = json_object_get(c->root, "config");
    if (cfg && !json_is_null(cfg) && !json_is_object(cfg)) return veil_err(-EBADMSG, "image config: 'config' is not an object");
    if (cfg && json_is_null(cfg)) cfg = NULL;
    if ((r = string_array(cfg, "Entrypoint", "image config", &c->entrypoint, &c->entrypoint_count)) < 0 ||
        (r = string_array(cfg, "Cmd", "image config", &c->cmd, &c->cmd_count)) < 0 ||
        (r = string_array(cfg, "Env", "image config", &c->env, &c->env_count)) < 0 ||
        (r = optional_string(cfg, "WorkingDir", "image config", &c->workdir)) < 0 ||
        (r = optional_string(cfg, "User", "image config", &c->user)) < 0)
        return r;
    json_t *rootfs = json_object_get(c->root, "rootfs");
    if (!json_is_object(rootfs)) return veil_err(-EBADMSG, "image config has no 'rootfs' object");
    if ((r = string_array(rootfs, "diff_ids", "image config rootfs", &c->diff_ids, &c->diff_id_count)) < 0) return r;
    if (c->diff_id_count > IMAGE_MAX_LAYERS) return veil_err(-EBADMSG, "image config has more than %u layers", IMAGE_MAX_LAYERS);
    for (size_t i = 0; i < c->diff_id_count; i++)
        if (!image_digest_valid(c->diff_ids[i])) return veil_err(-EBADMSG, "image config: diff_id '%s' is not a sha256 digest", c->diff_ids[i]);
    *ret = TAKE_PTR(c);
    return 0;
}

void image_config_free(struct image_config *c) {
    if (!c) return;
    free(c->entrypoint);
    free(c->cmd);
    free(c->env);
    free(c->diff_ids);
    json_decref(c->root);
    free(c);
}

bool image_digest_valid(const char *digest) {
    if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 7 + 64) return false;
    for (const char *p = digest + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
    return true;
}

bool image_member_path_valid(const char *path) {
    if (!*path || *path == '/' || strlen(path) > 4096) return false;
    for (const char *p = path; *p;) {
        const char *start = p;
        while (*p && *p != '/') p++;
        size_t n = (size_t)(p - start);
        if (n == 0 || (n == 1 && start[0] == '.') || (n == 2 && start[0] == '.' && start[1] == '.')) return false;
        if (*p) p++;
    }
    return true;
}

void image_descriptor_done(struct image_descriptor *d) {
    free(d->media_type);
    free(d->digest);
    *d = (struct image_descriptor){ 0 };
}

static int parse_descriptor(json_t *v, const char *what, struct image_descriptor *ret) {
    if (!json_is_object(v)) return veil_err(-EBADMSG, "%s: descriptor is not an object", what);
    json_t *mt = json_object_get(v, "mediaType"), *dg = json_object_get(v, "digest"), *sz = json_object_get(v, "size");
    if (!json_is_string(dg) || !image_digest_valid(json_string_value(dg)))
        return veil_err(-EBADMSG, "%s: descriptor has no valid sha256 digest", what);
    if (!json_is_integer(sz) || json_integer_value(sz) < 0) return veil_err(-EBADMSG, "%s: descriptor has no valid size", what);
    if (mt && !json_is_string(mt)) return veil_err(-EBADMSG, "%s: mediaType is not a string", what);
    struct image_descriptor d = {
        .media_type = strdup(mt ? json_string_value(mt) : ""),
        .digest = strdup(json_string_value(dg)),
        .size = json_integer_value(sz),
    };
    if (!d.media_type || !d.digest) {
        image_descriptor_done(&d);
        return -ENOMEM;
    }
    *ret = d;
    return 0;
}

int image_index_parse(const void *data, size_t size, struct image_descriptor *ret) {
    json_t *root;
    int r = load_json(data, size, "index.json", &root);
    if (r < 0) return r;
    json_t *ms = json_object_get(root, "manifests");
    size_t n = json_is_array(ms) ? json_array_size(ms) : 0;
    json_t *chosen = NULL;
    if (n == 1)
        chosen = json_array_get(ms, 0);
    else
        for (size_t i = 0; i < n && !chosen; i++) {
            json_t *p = json_object_get(json_array_get(ms, i), "platform");
            const char *arch = json_string_value(json_object_get(p, "architecture"));
            const char *os = json_string_value(json_object_get(p, "os"));
            if (arch && os && !strcmp(arch, "amd64") && !strcmp(os, "linux")) chosen = json_array_get(ms, i);
        }
    if (!chosen)
        r = veil_err(-EBADMSG, "index.json names %zu manifests and none is the only or the linux/amd64 one", n);
    else
        r = parse_descriptor(chosen, "index.json", ret);
    json_decref(root);
    return r;
}

void image_manifest_done(struct image_manifest *m) {
    image_descriptor_done(&m->config);
    for (size_t i = 0; i < m->layer_count; i++) image_descriptor_done(&m->layers[i]);
    free(m->layers);
    *m = (struct image_manifest){ 0 };
}

int image_manifest_parse(const void *data, size_t size, struct image_manifest *ret) {
    json_t *root;
    int r = load_json(data, size, "image manifest", &root);
    if (r < 0) return r;
    struct image_manifest m = { 0 };
    json_t *layers = json_object_get(root, "layers");
    if (json_object_get(root, "manifests"))
        r = veil_err(-EBADMSG, "image manifest is an index (nested indexes are not followed)");
    else if (!json_is_array(layers) || json_array_size(layers) > IMAGE_MAX_LAYERS)
        r = veil_err(-EBADMSG, "image manifest has no valid 'layers' array");
    else
        r = parse_descriptor(json_object_get(root, "config"), "image manifest config", &m.config);
    if (r >= 0) {
        size_t n = json_array_size(layers);
        m.layers = calloc(n ? n : 1, sizeof(*m.layers));
        if (!m.layers) r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
            r = parse_descriptor(json_array_get(layers, i), "image manifest layer", &m.layers[i]);
            if (r >= 0) m.layer_count++;
        }
    }
    json_decref(root);
    if (r < 0) {
        image_manifest_done(&m);
        return r;
    }
    *ret = m;
    return 0;
}

void image_docker_manifest_done(struct image_docker_manifest *m) {
    free(m->config);
    for (size_t i = 0; i < m->layer_count; i++) free(m->layers[i]);
    free(m->layers);
    *m = (struct image_docker_manifest){ 0 };
}

int image_docker_manifest_parse(const void *data, size_t size, struct image_docker_manifest *ret) {
    if (size > IMAGE_JSON_MAX_SIZE) return veil_err(-EBADMSG, "manifest.json is too large");
    json_error_t error;
    json_t *root = json_loadb(data, size, JSON_REJECT_DUPLICATES, &error);
    if (!root) return veil_err(-EBADMSG, "manifest.json is not JSON: %s (line %d)", error.text, error.line);
    struct image_docker_manifest m = { 0 };
    int r = 0;
    json_t *img = json_is_array(root) && json_array_size(root) >= 1 ? json_array_get(root, 0) : NULL;
    json_t *config = json_object_get(img, "Config"), *layers = json_object_get(img, "Layers");
    if (!json_is_array(root) || json_array_size(root) != 1)
        r = veil_err(-EBADMSG, "manifest.json does not describe exactly one image");
    else if (!json_is_string(config) || !image_member_path_valid(json_string_value(config)))
        r = veil_err(-EBADMSG, "manifest.json: 'Config' is not a relative member path");
    else if (!json_is_array(layers) || json_array_size(layers) > IMAGE_MAX_LAYERS)
        r = veil_err(-EBADMSG, "manifest.json: 'Layers' is not a valid array");
    else if (!(m.config = strdup(json_string_value(config))) ||
             !(m.layers = calloc(json_array_size(layers) + 1, sizeof(char *))))
        r = -ENOMEM;
    for (size_t i = 0; r >= 0 && i < json_array_size(layers); i++) {
        json_t *l = json_array_get(layers, i);
        if (!json_is_string(l) || !image_member_path_valid(json_string_value(l)))
            r = veil_err(-EBADMSG, "manifest.json: a layer is not a relative member path");
        else if (!(m.layers[m.layer_count] = strdup(json_string_value(l))))
            r = -ENOMEM;
        else
            m.layer_count++;
    }
    json_decref(root);
    if (r < 0) {
        image_docker_manifest_done(&m);
        return r;
    }
    *ret = m;
    return 0;
}
