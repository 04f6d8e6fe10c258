/* SPDX-License-Identifier: Apache-2.0 */
/* Parse the configuration veil-cas returns to an attested workload: strict types, named limits, secrets in secbufs. */
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "casclient.h"


/* jansson keeps copies of the strings it parsed (secrets among them): wipe them when freed. */
static void wiping_free(void *p) {
    if (!p) return;
    veil_wipe(p, malloc_usable_size(p));
    free(p);
}

void veil_casclient_use_wiping_allocator(void) {
    json_set_alloc_funcs(malloc, wiping_free);
}

static bool clean_path(const char *p) {
    size_t n = strlen(p);
    if (n < 2 || n > 4096 || p[0] != '/' || p[n - 1] == '/') return false;
    for (const char *c = p; *c;) {
        if (*c != '/') return false;
        const char *s = ++c;
        while (*c && *c != '/') c++;
        size_t len = (size_t)(c - s);
        if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) return false;
    }
    return true;
}

static bool env_name(const char *s) {
    if (!*s || strlen(s) > 256) return false;
    for (; *s; s++)
        if (*s == '=' ) return false;
    return true;
}

static int string_value(json_t *v, const char *what, const char **ret, size_t *ret_size) {
    if (!json_is_string(v)) return veil_err(-EBADMSG, "reply: %s is not a string", what);
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n > VEIL_CASCLIENT_VALUE_MAX) return veil_err(-E2BIG, "reply: %s longer than %zu bytes", what, VEIL_CASCLIENT_VALUE_MAX);
    if (memchr(s, 0, n)) return veil_err(-EBADMSG, "reply: %s holds a NUL byte", what);
    *ret = s;
    *ret_size = n;
    return 0;
}

/* a C string in a secbuf: prefix (may be NULL) then value */
static int secstr(const char *prefix, const char *value, size_t value_size, struct veil_secbuf **ret) {
    size_t p = prefix ? strlen(prefix) : 0;
    struct veil_secbuf *b;
    int r = veil_secbuf_new(p + value_size + 1, &b);
    if (r < 0) return r;
    if (p) memcpy(b->data, prefix, p);
    memcpy(b->data + p, value, value_size);
    b->data[p + value_size] = 0;
    *ret = b;
    return 0;
}

static int hex_key(json_t *v, const char *what, struct veil_secbuf **ret) {
    const char *s;
    size_t n;
    int r = string_value(v, what, &s, &n);
    if (r < 0) return r;
    if (n != 2 * VEIL_CASCLIENT_KEY_SIZE) return veil_err(-EBADMSG, "reply: %s is not 64 hex digits", what);
    struct veil_secbuf *k;
    if ((r = veil_secbuf_new(VEIL_CASCLIENT_KEY_SIZE, &k)) < 0) return r;
    if (veil_hex_decode(s, k->data, VEIL_CASCLIENT_KEY_SIZE) < 0) {
        veil_secbuf_free(k);
        return veil_err(-EBADMSG, "reply: %s is not 64 hex digits", what);
    }
    *ret = k;
    return 0;
}

static int base64_value(const char *s, size_t n, struct veil_secbuf **ret) {
    if (n % 4) return veil_err(-EBADMSG, "reply: file content is not base64");
    size_t pad = n >= 1 && s[n - 1] == '=' ? (n >= 2 && s[n - 2] == '=' ? 2 : 1) : 0;
    struct veil_secbuf *b;
    int r = veil_secbuf_new(n / 4 * 3 + 1, &b);
    if (r < 0) return r;
    int got = n ? EVP_DecodeBlock(b->data, (const unsigned char *)s, (int)n) : 0;
    if (got < 0 || (size_t)got < pad) {
        veil_secbuf_free(b);
        return veil_err(-EBADMSG, "reply: file content is not base64");
    }
    b->size = (size_t)got - pad;
    *ret = b;
    return 0;
}

static bool volume_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > VEIL_CASCLIENT_NAME_MAX) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

static struct veil_casclient_volume *volume_slot(struct veil_casclient_config *c, const char *name) {
    for (size_t i = 0; i < c->volume_count; i++)
        if (!strcmp(c->volumes[i].name, name)) return &c->volumes[i];
    struct veil_casclient_volume *v = &c->volumes[c->volume_count];
    if (!(v->name = strdup(name))) return NULL;
    c->volume_count++;
    return v;
}

static int parse_env(json_t *env, struct veil_casclient_config *c) {
    if (!env) return 0;
    if (!json_is_object(env)) return veil_err(-EBADMSG, "reply: env is not an object");
    if (json_object_size(env) > VEIL_CASCLIENT_LIST_MAX) return veil_err(-E2BIG, "reply: more than %d env entries", VEIL_CASCLIENT_LIST_MAX);
    if (!(c->env = calloc(json_object_size(env) + 1, sizeof(*c->env)))) return -ENOMEM;
    const char *name;
    json_t *v;
    json_object_foreach(env, name, v) {
        const char *s;
        size_t n;
        int r = string_value(v, "an env value", &s, &n);
        if (r < 0) return r;
        if (!env_name(name)) return veil_err(-EBADMSG, "reply: bad env name");
        char prefix[260];
        snprintf(prefix, sizeof(prefix), "%s=", name);
        if ((r = secstr(prefix, s, n, &c->env[c->env_count])) < 0) return r;
        c->env_count++;
    }
    return 0;
}

static int parse_argv(json_t *argv, struct veil_casclient_config *c) {
    if (!argv) return 0;
    if (!json_is_array(argv)) return veil_err(-EBADMSG, "reply: argv is not an array");
    if (json_array_size(argv) > VEIL_CASCLIENT_LIST_MAX) return veil_err(-E2BIG, "reply: more than %d arguments", VEIL_CASCLIENT_LIST_MAX);
    if (!(c->argv = calloc(json_array_size(argv) + 1, sizeof(*c->argv)))) return -ENOMEM;
    size_t i;
    json_t *v;
    json_array_foreach(argv, i, v) {
        const char *s;
        size_t n;
        int r = string_value(v, "an argument", &s, &n);
        if (r < 0) return r;
        if ((r = secstr(NULL, s, n, &c->argv[c->argv_count])) < 0) return r;
        c->argv_count++;
    }
    return 0;
}

static int parse_files(json_t *files, struct veil_casclient_config *c) {
    if (!files) return 0;
    if (!json_is_array(files)) return veil_err(-EBADMSG, "reply: files is not an array");
    if (json_array_size(files) > VEIL_CASCLIENT_LIST_MAX) return veil_err(-E2BIG, "reply: more than %d files", VEIL_CASCLIENT_LIST_MAX);
    if (!(c->files = calloc(json_array_size(files) + 1, sizeof(*c->files)))) return -ENOMEM;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        json_t *path = json_object_get(f, "path"), *mode = json_object_get(f, "mode"),
               *content = json_object_get(f, "content_base64");
        if (!json_is_object(f) || !json_is_string(path) || !json_is_integer(mode) || !json_is_string(content) ||
            json_object_size(f) != 3)
            return veil_err(-EBADMSG, "reply: a file needs exactly path, mode and content_base64");
        if (!clean_path(json_string_value(path))) return veil_err(-EBADMSG, "reply: a file's path is not clean and absolute");
        for (size_t j = 0; j < c->file_count; j++)
            if (!strcmp(c->files[j].path, json_string_value(path))) return veil_err(-EBADMSG, "reply: a file is named twice");
        json_int_t m = json_integer_value(mode);
        if (m < 0 || m > 07777) return veil_err(-EBADMSG, "reply: a file's mode is not permission bits");
        if (json_string_length(content) > VEIL_CASCLIENT_VALUE_MAX * 4 / 3 + 4)
            return veil_err(-E2BIG, "reply: a file is larger than %zu bytes", VEIL_CASCLIENT_VALUE_MAX);
        struct veil_casclient_file *out = &c->files[c->file_count];
        int r = base64_value(json_string_value(content), json_string_length(content), &out->content);
        if (r < 0) return r;
        out->mode = (uint32_t)m;
        c->file_count++; /* counted before the path so that free sees the content */
        if (!(out->path = strdup(json_string_value(path)))) return -ENOMEM;
    }
    return 0;
}

static int parse_keys_and_volumes(json_t *keys, json_t *volumes, struct veil_casclient_config *c) {
    json_t *image = NULL, *vkeys = NULL;
    if (keys) {
        if (!json_is_object(keys)) return veil_err(-EBADMSG, "reply: keys is not an object");
        const char *k;
        json_t *v;
        json_object_foreach(keys, k, v) {
            if (!strcmp(k, "image")) image = v;
            else if (!strcmp(k, "volumes")) vkeys = v;
            else return veil_err(-EBADMSG, "reply: unknown key kind");
        }
    }
    int r;
    if (image && (r = hex_key(image, "keys.image", &c->image_key)) < 0) return r;
    if (vkeys && !json_is_object(vkeys)) return veil_err(-EBADMSG, "reply: keys.volumes is not an object");
    if (volumes && !json_is_object(volumes)) return veil_err(-EBADMSG, "reply: volumes is not an object");
    size_t most = (vkeys ? json_object_size(vkeys) : 0) + (volumes ? json_object_size(volumes) : 0);
    if (most > 2 * VEIL_CASCLIENT_LIST_MAX) return veil_err(-E2BIG, "reply: too many volumes");
    if (!(c->volumes = calloc(most + 1, sizeof(*c->volumes)))) return -ENOMEM;
    const char *name;
    json_t *v;
    if (vkeys) json_object_foreach(vkeys, name, v) {
        if (!volume_name(name)) return veil_err(-EBADMSG, "reply: bad volume name");
        struct veil_casclient_volume *slot = volume_slot(c, name);
        if (!slot) return -ENOMEM;
        if ((r = hex_key(v, "a volume key", &slot->key)) < 0) return r;
    }
    if (volumes) json_object_foreach(volumes, name, v) {
        if (!volume_name(name)) return veil_err(-EBADMSG, "reply: bad volume name");
        if (!json_is_integer(v) || json_integer_value(v) < 0) return veil_err(-EBADMSG, "reply: a volume version is not a number");
        struct veil_casclient_volume *slot = volume_slot(c, name);
        if (!slot) return -ENOMEM;
        slot->version = (uint64_t)json_integer_value(v);
    }
    return 0;
}

int veil_casclient_config_parse(const uint8_t *data, size_t size, struct veil_casclient_config **ret) {
    if (size > VEIL_CASCLIENT_RESPONSE_MAX) return veil_err(-E2BIG, "reply larger than %zu bytes", VEIL_CASCLIENT_RESPONSE_MAX);
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) return veil_err(-EBADMSG, "reply is not a JSON object");
    _cleanup_(veil_casclient_config_freep) struct veil_casclient_config *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    json_t *pv = json_object_get(root, "policy_version");
    if (pv && (!json_is_integer(pv) || json_integer_value(pv) < 0)) return veil_err(-EBADMSG, "reply: bad policy_version");
    c->policy_version = pv ? (uint64_t)json_integer_value(pv) : 0;
    int r;
    if ((r = parse_env(json_object_get(root, "env"), c)) < 0 || (r = parse_argv(json_object_get(root, "argv"), c)) < 0 ||
        (r = parse_files(json_object_get(root, "files"), c)) < 0 ||
        (r = parse_keys_and_volumes(json_object_get(root, "keys"), json_object_get(root, "volumes"), c)) < 0)
        return r;
    *ret = TAKE_PTR(c);
    return 0;
}

void veil_casclient_config_free(struct veil_casclient_config *c) {
    if (!c) return;
    for (size_t i = 0; i < c->env_count; i++) veil_secbuf_free(c->env[i]);
    free(c->env);
    for (size_t i = 0; i < c->argv_count; i++) veil_secbuf_free(c->argv[i]);
    free(c->argv);
    for (size_t i = 0; i < c->file_count; i++) {
        free(c->files[i].path);
        veil_secbuf_free(c->files[i].content);
    }
    free(c->files);
    veil_secbuf_free(c->image_key);
    for (size_t i = 0; i < c->volume_count; i++) {
        free(c->volumes[i].name);
        veil_secbuf_free(c->volumes[i].key);
    }
    free(c->volumes);
    free(c);
}

const struct veil_casclient_volume *veil_casclient_config_volume(const struct veil_casclient_config *c, const char *name) {
    for (size_t i = 0; i < c->volume_count; i++)
        if (!strcmp(c->volumes[i].name, name)) return &c->volumes[i];
    return NULL;
}

void veil_casclient_error_reason(const uint8_t *data, size_t size, char *buf, size_t buf_size) {
    buf[0] = 0;
    if (size > VEIL_CASCLIENT_RESPONSE_MAX) return;
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *root = json_loadb((const char *)data, size, 0, &jerr);
    json_t *why = json_object_get(root, "reason");
    if (!json_is_string(why)) why = json_object_get(root, "error");
    if (!json_is_string(why)) return;
    /* printable ASCII only: the reason goes to a terminal */
    size_t n = 0;
    for (const char *s = json_string_value(why); *s && n + 1 < buf_size; s++)
        buf[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    buf[n] = 0;
}
