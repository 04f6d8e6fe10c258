/* SPDX-License-Identifier: Apache-2.0 */
/* The strict YAML policy parser: every key known, every value typed and bounded, every template resolved. */
#include "policy.h"

#include <limits.h>
#include <string.h>
#include <yaml.h>

#include "base/err.h"
#include "base/cursor.h"
#include "base/fileio.h"
#include "base/secbuf.h"

struct ctx {
    yaml_document_t *doc;
    uint8_t *seen; /* one byte per node: a node reached twice is an alias, which we refuse */
    size_t node_count;
    size_t nodes_visited;
};

#define LINE(n) ((n)->start_mark.line + 1)
#define FAIL(n, ...) fail_at(n, __VA_ARGS__)

_printf_(2, 3) static int fail_at(const yaml_node_t *n, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return veil_err(-EBADMSG, "line %zu: %s", n ? (size_t)LINE(n) : (size_t)0, msg);
}

static int get_node(struct ctx *c, int index, int depth, yaml_node_t **ret) {
    yaml_node_t *n = yaml_document_get_node(c->doc, index);
    if (!n) return veil_err(-EBADMSG, "malformed YAML document");
    size_t i = (size_t)(index - 1);
    if (i >= c->node_count) return veil_err(-EBADMSG, "malformed YAML document");
    if (c->seen[i]) return FAIL(n, "YAML aliases are not allowed in policies");
    if (depth > VEIL_CAS_POLICY_MAX_DEPTH) return FAIL(n, "nesting too deep");
    if (++c->nodes_visited > VEIL_CAS_POLICY_MAX_NODES) return FAIL(n, "too many YAML nodes");
    c->seen[i] = 1;
    *ret = n;
    return 0;
}

static bool is_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > VEIL_CAS_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* A scalar as a C string (borrowed from the document); refuses embedded NULs and oversize values. */
static int scalar(const yaml_node_t *n, const char *what, size_t max, const char **ret) {
    if (n->type != YAML_SCALAR_NODE) return FAIL(n, "%s must be a scalar", what);
    size_t len = n->data.scalar.length;
    if (len > max) return FAIL(n, "%s is too long (at most %zu bytes)", what, max);
    if (memchr(n->data.scalar.value, 0, len)) return FAIL(n, "%s contains a NUL byte", what);
    *ret = (const char *)n->data.scalar.value;
    return 0;
}

static int dup_scalar(const yaml_node_t *n, const char *what, size_t max, char **ret) {
    const char *s;
    int r = scalar(n, what, max, &s);
    if (r < 0) return r;
    char *d = strdup(s);
    if (!d) return -ENOMEM;
    *ret = d;
    return 0;
}

static int name_scalar(const yaml_node_t *n, const char *what, char **ret) {
    const char *s;
    int r = scalar(n, what, VEIL_CAS_NAME_MAX, &s);
    if (r < 0) return r;
    if (!is_name(s)) return FAIL(n, "%s '%s' must be 1-64 characters of [A-Za-z0-9_-]", what, s);
    char *d = strdup(s);
    if (!d) return -ENOMEM;
    *ret = d;
    return 0;
}

static int u32_scalar(const yaml_node_t *n, const char *what, uint32_t min, uint32_t max, uint32_t *ret) {
    const char *s;
    int r = scalar(n, what, 16, &s);
    if (r < 0) return r;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return FAIL(n, "%s must be a plain number", what);
    uint64_t v = 0;
    if (!*s) return FAIL(n, "%s must be a number", what);
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return FAIL(n, "%s must be a decimal number", what);
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX) return FAIL(n, "%s is out of range", what);
    }
    if (v < min || v > max) return FAIL(n, "%s must be between %u and %u", what, min, max);
    *ret = (uint32_t)v;
    return 0;
}

static int bool_scalar(const yaml_node_t *n, const char *what, bool *ret) {
    const char *s;
    int r = scalar(n, what, 8, &s);
    if (r < 0) return r;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(s, "true")) *ret = true;
    else if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(s, "false")) *ret = false;
    else return FAIL(n, "%s must be true or false", what);
    return 0;
}

/* Hex digest of 32..64 bytes, optionally prefixed "sha256:" (fingerprints). */
static int hex_scalar(const yaml_node_t *n, const char *what, size_t min, size_t max, uint8_t *out,
                      size_t *ret_size) {
    const char *s;
    int r = scalar(n, what, 2 * VEIL_MEASUREMENT_MAX + 8, &s);
    if (r < 0) return r;
    if (!strncmp(s, "sha256:", 7)) s += 7;
    size_t len = strlen(s);
    if (len % 2 || len / 2 < min || len / 2 > max)
        return FAIL(n, "%s must be %zu to %zu bytes in hex", what, min, max);
    if (veil_hex_decode(s, out, len / 2) < 0) return FAIL(n, "%s is not valid hex", what);
    *ret_size = len / 2;
    return 0;
}

/* Walk a mapping: calls `fn(key, value)` for each pair after checking key type and duplicates. */
typedef int (*pair_fn)(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth);

static int for_each_pair(struct ctx *c, yaml_node_t *map, const char *what, int depth, size_t max_pairs,
                         pair_fn fn, void *obj) {
    if (map->type != YAML_MAPPING_NODE) return FAIL(map, "%s must be a mapping", what);
    size_t count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (count > max_pairs) return FAIL(map, "%s has too many entries (at most %zu)", what, max_pairs);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn, *vn;
        int r = get_node(c, p->key, depth + 1, &kn);
        if (r < 0) return r;
        const char *key;
        if ((r = scalar(kn, "key", VEIL_CAS_PATH_MAX, &key)) < 0) return r;
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *other = yaml_document_get_node(c->doc, q->key);
            if (other && other->type == YAML_SCALAR_NODE && !strcmp((char *)other->data.scalar.value, key))
                return FAIL(kn, "duplicate key '%s' in %s", key, what);
        }
        if ((r = get_node(c, p->value, depth + 1, &vn)) < 0) return r;
        if ((r = fn(c, obj, key, kn, vn, depth + 1)) < 0) return r;
    }
    return 0;
}

static int sequence(struct ctx *c, yaml_node_t *seq, const char *what, int depth, size_t max,
                    yaml_node_t ***ret, size_t *ret_count) {
    if (seq->type != YAML_SEQUENCE_NODE) return FAIL(seq, "%s must be a list", what);
    size_t count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (count > max) return FAIL(seq, "%s has too many entries (at most %zu)", what, max);
    yaml_node_t **items = calloc(count ? count : 1, sizeof(*items));
    if (!items) return -ENOMEM;
    for (size_t i = 0; i < count; i++) {
        int r = get_node(c, seq->data.sequence.items.start[i], depth + 1, &items[i]);
        if (r < 0) {
            free(items);
            return r;
        }
    }
    *ret = items;
    *ret_count = count;
    return 0;
}

/* ---------- secrets ---------- */

static int parse_key_alg(const yaml_node_t *n, enum veil_cas_key_alg *ret) {
    const char *s;
    int r = scalar(n, "algorithm", 32, &s);
    if (r < 0) return r;
    if (!strcmp(s, "ecdsa-p256")) *ret = VEIL_CAS_KEY_ECDSA_P256;
    else if (!strcmp(s, "ecdsa-p384")) *ret = VEIL_CAS_KEY_ECDSA_P384;
    else if (!strcmp(s, "ed25519")) *ret = VEIL_CAS_KEY_ED25519;
    else return FAIL(n, "unknown algorithm '%s' (ecdsa-p256, ecdsa-p384, ed25519)", s);
    return 0;
}

static int parse_kind(const yaml_node_t *n, enum veil_cas_secret_kind *ret) {
    static const char *const names[] = { NULL, "random", "password", "imported", "private_key", "x509_ca", "x509" };
    const char *s;
    int r = scalar(n, "kind", 32, &s);
    if (r < 0) return r;
    for (size_t i = 1; i < ELEMENTSOF(names); i++)
        if (!strcmp(names[i], s)) {
            *ret = (enum veil_cas_secret_kind)i;
            return 0;
        }
    return FAIL(n, "unknown secret kind '%s' (random, password, imported, private_key, x509_ca, x509)", s);
}

const char *veil_cas_secret_kind_name(enum veil_cas_secret_kind kind) {
    static const char *const names[] = { "?", "random", "password", "imported", "private_key", "x509_ca", "x509" };
    return (size_t)kind < ELEMENTSOF(names) ? names[kind] : "?";
}

struct secret_fields {
    yaml_node_t *kind, *size, *length, *value, *algorithm, *common_name, *dns, *valid_days, *issuer;
};

static int secret_pair(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    (void)c;
    (void)depth;
    struct secret_fields *f = obj;
    struct {
        const char *name;
        yaml_node_t **slot;
    } known[] = {
        { "kind", &f->kind },           { "size", &f->size },     { "length", &f->length },
        { "value", &f->value },         { "algorithm", &f->algorithm }, { "common_name", &f->common_name },
        { "dns", &f->dns },             { "valid_days", &f->valid_days }, { "issuer", &f->issuer },
    };
    for (size_t i = 0; i < ELEMENTSOF(known); i++)
        if (!strcmp(known[i].name, key)) {
            *known[i].slot = vn;
            return 0;
        }
    return FAIL(kn, "unknown key '%s' in secret", key);
}

/* Keys a kind allows besides `kind`; anything else set is an error so that typos do not pass silently. */
static int check_allowed(const struct secret_fields *f, yaml_node_t *at, const char *allowed) {
    struct {
        const char *name;
        yaml_node_t *node;
    } set[] = {
        { "size", f->size },     { "length", f->length },     { "value", f->value },
        { "algorithm", f->algorithm }, { "common_name", f->common_name }, { "dns", f->dns },
        { "valid_days", f->valid_days }, { "issuer", f->issuer },
    };
    for (size_t i = 0; i < ELEMENTSOF(set); i++) {
        if (!set[i].node) continue;
        char pat[32];
        snprintf(pat, sizeof(pat), " %s ", set[i].name);
        if (!strstr(allowed, pat)) return FAIL(set[i].node, "'%s' does not apply to this secret kind", set[i].name);
    }
    (void)at;
    return 0;
}

static int hash_field(struct veil_hash *h, const void *data, size_t size) {
    uint8_t len[8];
    veil_store_u64le(len, size);
    int r = veil_hash_update(h, len, sizeof(len));
    return r < 0 ? r : veil_hash_update(h, data, size);
}

static int secret_definition_hash(struct veil_cas_secret *s, const uint8_t *issuer_hash) {
    _cleanup_(veil_hash_freep) struct veil_hash *h = NULL;
    int r = veil_hash_new(VEIL_HASH_SHA256, &h);
    if (r < 0) return r;
    uint8_t nums[16];
    veil_store_u32le(nums, s->kind);
    veil_store_u32le(nums + 4, s->size);
    veil_store_u32le(nums + 8, s->algorithm);
    veil_store_u32le(nums + 12, s->valid_days);
    if ((r = hash_field(h, "veil-cas-secret-v1", 18)) < 0 || (r = hash_field(h, nums, sizeof(nums))) < 0 ||
        (r = hash_field(h, s->value ? s->value : (const uint8_t *)"", s->value_size)) < 0 ||
        (r = hash_field(h, s->common_name ? s->common_name : "", s->common_name ? strlen(s->common_name) : 0)) < 0)
        return r;
    for (size_t i = 0; i < s->dns_count; i++)
        if ((r = hash_field(h, s->dns[i], strlen(s->dns[i]))) < 0) return r;
    if ((r = hash_field(h, issuer_hash ? issuer_hash : (const uint8_t *)"", issuer_hash ? VEIL_SHA256_SIZE : 0)) < 0)
        return r;
    return veil_hash_final(h, s->definition_hash);
}

static bool is_dns_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 253) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '.' || (ch == '*' && i == 0)))
            return false;
    }
    return true;
}

static int parse_secret(struct ctx *c, struct veil_cas_secret *s, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    struct secret_fields f = { 0 };
    int r = for_each_pair(c, vn, "secret", depth, 16, secret_pair, &f);
    if (r < 0) return r;
    if (!f.kind) return FAIL(vn, "secret '%s' needs a kind", s->name);
    if ((r = parse_kind(f.kind, &s->kind)) < 0) return r;
    switch (s->kind) {
    case VEIL_CAS_SECRET_RANDOM:
        if ((r = check_allowed(&f, vn, " size value ")) < 0) return r;
        if (!f.size) return FAIL(vn, "random secret '%s' needs a size", s->name);
        if ((r = u32_scalar(f.size, "size", 1, VEIL_CAS_RANDOM_MAX, &s->size)) < 0) return r;
        if (f.value) {
            /* the owner's own bytes in hex, e.g. the image key `veil wrap` encrypted with */
            const char *v;
            if ((r = scalar(f.value, "value", VEIL_CAS_VALUE_MAX, &v)) < 0) return r;
            if (strlen(v) != 2 * (size_t)s->size) return FAIL(f.value, "random secret '%s': value must be %u hex digits", s->name, 2 * s->size);
            if (!(s->value = malloc(s->size))) return -ENOMEM;
            s->value_size = s->size;
            if (veil_hex_decode(v, s->value, s->size) < 0) return FAIL(f.value, "random secret '%s': value is not hex", s->name);
        }
        return 0;
    case VEIL_CAS_SECRET_PASSWORD:
        if ((r = check_allowed(&f, vn, " length ")) < 0) return r;
        s->size = 24;
        if (f.length) return u32_scalar(f.length, "length", VEIL_CAS_PASSWORD_MIN, VEIL_CAS_PASSWORD_MAX, &s->size);
        return 0;
    case VEIL_CAS_SECRET_IMPORTED: {
        if ((r = check_allowed(&f, vn, " value ")) < 0) return r;
        if (!f.value) return FAIL(vn, "imported secret '%s' needs a value", s->name);
        const char *v;
        if ((r = scalar(f.value, "value", VEIL_CAS_VALUE_MAX, &v)) < 0) return r;
        s->value_size = strlen(v);
        s->value = malloc(s->value_size + 1);
        if (!s->value) return -ENOMEM;
        memcpy(s->value, v, s->value_size + 1);
        return 0;
    }
    case VEIL_CAS_SECRET_PRIVATE_KEY:
        if ((r = check_allowed(&f, vn, " algorithm ")) < 0) return r;
        s->algorithm = VEIL_CAS_KEY_ECDSA_P256;
        return f.algorithm ? parse_key_alg(f.algorithm, &s->algorithm) : 0;
    case VEIL_CAS_SECRET_X509_CA:
    case VEIL_CAS_SECRET_X509:
        if ((r = check_allowed(&f, vn,
                               s->kind == VEIL_CAS_SECRET_X509 ? " algorithm common_name dns valid_days issuer "
                                                               : " algorithm common_name valid_days ")) < 0)
            return r;
        s->algorithm = VEIL_CAS_KEY_ECDSA_P256;
        if (f.algorithm && (r = parse_key_alg(f.algorithm, &s->algorithm)) < 0) return r;
        if (!f.common_name) return FAIL(vn, "certificate secret '%s' needs a common_name", s->name);
        if ((r = dup_scalar(f.common_name, "common_name", 64, &s->common_name)) < 0) return r;
        if (!s->common_name[0]) return FAIL(f.common_name, "common_name is empty");
        s->valid_days = s->kind == VEIL_CAS_SECRET_X509_CA ? 3650 : 365;
        if (f.valid_days && (r = u32_scalar(f.valid_days, "valid_days", 1, VEIL_CAS_VALID_DAYS_MAX, &s->valid_days)) < 0)
            return r;
        if (s->kind == VEIL_CAS_SECRET_X509_CA) return 0;
        if (!f.issuer) return FAIL(vn, "certificate '%s' needs an issuer (an x509_ca secret)", s->name);
        if ((r = name_scalar(f.issuer, "issuer", &s->issuer)) < 0) return r;
        if (f.dns) {
            _cleanup_free_ yaml_node_t **items = NULL;
            size_t count;
            if ((r = sequence(c, f.dns, "dns", depth + 1, VEIL_CAS_MAX_ITEMS, &items, &count)) < 0) return r;
            s->dns = calloc(count ? count : 1, sizeof(char *));
            if (!s->dns) return -ENOMEM;
            for (size_t i = 0; i < count; i++) {
                if ((r = dup_scalar(items[i], "DNS name", 253, &s->dns[i])) < 0) return r;
                s->dns_count++;
                if (!is_dns_name(s->dns[i])) return FAIL(items[i], "'%s' is not a DNS name", s->dns[i]);
            }
        }
        return 0;
    }
    (void)kn;
    return -EINVAL;
}

static int secrets_pair(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    struct veil_cas_policy *p = obj;
    struct veil_cas_secret *s = &p->secrets[p->secret_count];
    int r = name_scalar(kn, "secret name", &s->name);
    if (r < 0) return r;
    p->secret_count++;
    (void)key;
    return parse_secret(c, s, kn, vn, depth);
}

/* ---------- images and volumes ---------- */

struct keyed_list {
    struct veil_cas_keyed *items;
    size_t *count;
    const char *what;
};

static int keyed_key_pair(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    (void)c;
    (void)depth;
    struct veil_cas_keyed *k = obj;
    if (strcmp(key, "key")) return FAIL(kn, "unknown key '%s' (only 'key')", key);
    return name_scalar(vn, "key", &k->key);
}

static int keyed_pair(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    struct keyed_list *l = obj;
    struct veil_cas_keyed *k = &l->items[*l->count];
    int r = name_scalar(kn, l->what, &k->name);
    if (r < 0) return r;
    (*l->count)++;
    (void)key;
    if ((r = for_each_pair(c, vn, l->what, depth, 4, keyed_key_pair, k)) < 0) return r;
    if (!k->key) return FAIL(vn, "%s '%s' needs a key (a random secret of size 32)", l->what, k->name);
    return 0;
}

/* ---------- services ---------- */

struct service_ctx {
    struct veil_cas_policy *p;
    struct veil_cas_service *s;
};

/* Every {{secret.X.F}} must name a secret of this policy and a field its kind has. */
static int template_value(const struct veil_cas_policy *p, const yaml_node_t *n, const char *what,
                          struct veil_cas_template *ret) {
    const char *text;
    int r = scalar(n, what, VEIL_CAS_VALUE_MAX, &text);
    if (r < 0) return r;
    struct veil_cas_template t;
    veil_err_clear();
    if ((r = veil_cas_template_parse(text, &t)) < 0)
        return r == -EBADMSG ? FAIL(n, "%s: %s", what, veil_err_msg()) : r;
    for (size_t i = 0; i < t.part_count; i++) {
        const struct veil_cas_template_part *part = &t.parts[i];
        if (part->text) continue;
        const struct veil_cas_secret *s = veil_cas_policy_secret(p, part->secret);
        if (!s) {
            r = FAIL(n, "%s refers to unknown secret '%s'", what, part->secret);
            veil_cas_template_done(&t);
            return r;
        }
        if (!veil_cas_secret_has_field(s->kind, part->field)) {
            r = FAIL(n, "%s: secret '%s' (%s) has no field '%s'", what, part->secret,
                     veil_cas_secret_kind_name(s->kind), part->field);
            veil_cas_template_done(&t);
            return r;
        }
    }
    *ret = t;
    return 0;
}

static bool is_env_name(const char *s) {
    if (!*s || strlen(s) > 256 || (*s >= '0' && *s <= '9')) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static bool is_clean_path(const char *s) {
    if (s[0] != '/' || strlen(s) > VEIL_CAS_PATH_MAX || !strcmp(s, "/")) return false;
    if (s[strlen(s) - 1] == '/') return false;
    for (const char *p = s; *p; p++) {
        if (*p == '/' && (p[1] == '/' || (p[1] == '.' && (p[2] == '/' || !p[2] || (p[2] == '.' && (p[3] == '/' || !p[3]))))))
            return false;
    }
    return true;
}

static int env_pair(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    (void)c;
    (void)depth;
    struct service_ctx *sc = obj;
    struct veil_cas_env *e = &sc->s->env[sc->s->env_count];
    if (!is_env_name(key)) return FAIL(kn, "'%s' is not an environment variable name", key);
    if (!(e->name = strdup(key))) return -ENOMEM;
    sc->s->env_count++;
    return template_value(sc->p, vn, "environment value", &e->value);
}

struct file_fields {
    yaml_node_t *content, *mode;
};

static int file_field_pair(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    (void)c;
    (void)depth;
    struct file_fields *f = obj;
    if (!strcmp(key, "content")) f->content = vn;
    else if (!strcmp(key, "mode")) f->mode = vn;
    else return FAIL(kn, "unknown key '%s' in file (content, mode)", key);
    return 0;
}

static int file_pair(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    struct service_ctx *sc = obj;
    struct veil_cas_file *f = &sc->s->files[sc->s->file_count];
    if (!is_clean_path(key)) return FAIL(kn, "'%s' is not a clean absolute path", key);
    for (size_t i = 0; i < sc->s->file_count; i++)
        if (!strcmp(sc->s->files[i].path, key)) return FAIL(kn, "duplicate file '%s'", key);
    if (!(f->path = strdup(key))) return -ENOMEM;
    sc->s->file_count++;
    f->mode = 0400;
    yaml_node_t *content = vn;
    if (vn->type == YAML_MAPPING_NODE) {
        struct file_fields ff = { 0 };
        int r = for_each_pair(c, vn, "file", depth, 4, file_field_pair, &ff);
        if (r < 0) return r;
        if (!ff.content) return FAIL(vn, "file '%s' needs content", key);
        content = ff.content;
        if (ff.mode) {
            const char *m;
            if ((r = scalar(ff.mode, "mode", 8, &m)) < 0) return r;
            char *end;
            unsigned long v = strtoul(m, &end, 8);
            if (!*m || *end || v > 0777) return FAIL(ff.mode, "mode must be octal, at most 0777");
            f->mode = (uint32_t)v;
        }
    }
    return template_value(sc->p, content, "file content", &f->content);
}

static int parse_tees(struct ctx *c, yaml_node_t *n, int depth, uint32_t *ret) {
    _cleanup_free_ yaml_node_t **items = NULL;
    size_t count;
    int r = sequence(c, n, "tees", depth, 16, &items, &count);
    if (r < 0) return r;
    if (count == 0) return FAIL(n, "tees must not be empty");
    uint32_t bits = 0;
    for (size_t i = 0; i < count; i++) {
        const char *s;
        enum veil_tee tee;
        if ((r = scalar(items[i], "TEE", 32, &s)) < 0) return r;
        if (veil_tee_from_name(s, &tee) < 0) return FAIL(items[i], "unknown TEE '%s' (sim, snp, tdx, sgx, az-snp-vtpm)", s);
        bits |= 1u << tee;
    }
    *ret = bits;
    return 0;
}

static int parse_tcb(struct ctx *c, yaml_node_t *n, int depth, uint32_t *ret) {
    _cleanup_free_ yaml_node_t **items = NULL;
    size_t count;
    int r = sequence(c, n, "tcb_statuses", depth, 16, &items, &count);
    if (r < 0) return r;
    uint32_t bits = 0;
    for (size_t i = 0; i < count; i++) {
        const char *s;
        enum veil_tcb_status st;
        if ((r = scalar(items[i], "TCB status", 64, &s)) < 0) return r;
        if (veil_tcb_status_from_name(s, &st) < 0) return FAIL(items[i], "unknown TCB status '%s'", s);
        bits |= 1u << st;
    }
    *ret = bits;
    return 0;
}

static int service_field(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    struct service_ctx *sc = obj;
    struct veil_cas_service *s = sc->s;
    int r;
    if (!strcmp(key, "measurements")) {
        _cleanup_free_ yaml_node_t **items = NULL;
        size_t count;
        if ((r = sequence(c, vn, "measurements", depth, VEIL_CAS_MAX_MEASUREMENTS, &items, &count)) < 0) return r;
        s->measurements = calloc(count ? count : 1, sizeof(*s->measurements));
        s->measurement_sizes = calloc(count ? count : 1, sizeof(size_t));
        if (!s->measurements || !s->measurement_sizes) return -ENOMEM;
        for (size_t i = 0; i < count; i++, s->measurement_count++)
            if ((r = hex_scalar(items[i], "measurement", 32, VEIL_MEASUREMENT_MAX, s->measurements[i],
                                &s->measurement_sizes[i])) < 0)
                return r;
        return 0;
    }
    if (!strcmp(key, "signer")) return hex_scalar(vn, "signer", 32, VEIL_MEASUREMENT_MAX, s->signer, &s->signer_size);
    if (!strcmp(key, "product_id")) {
        s->has_product_id = true;
        return u32_scalar(vn, "product_id", 0, UINT32_MAX, &s->product_id);
    }
    if (!strcmp(key, "min_security_version"))
        return u32_scalar(vn, "min_security_version", 0, UINT32_MAX, &s->min_security_version);
    if (!strcmp(key, "tees")) return parse_tees(c, vn, depth, &s->tees);
    if (!strcmp(key, "tcb_statuses")) return parse_tcb(c, vn, depth, &s->tcb_statuses);
    if (!strcmp(key, "debug")) return bool_scalar(vn, "debug", &s->debug);
    if (!strcmp(key, "env")) {
        s->env = calloc(VEIL_CAS_MAX_ITEMS, sizeof(*s->env));
        if (!s->env) return -ENOMEM;
        return for_each_pair(c, vn, "env", depth, VEIL_CAS_MAX_ITEMS, env_pair, sc);
    }
    if (!strcmp(key, "files")) {
        s->files = calloc(VEIL_CAS_MAX_ITEMS, sizeof(*s->files));
        if (!s->files) return -ENOMEM;
        return for_each_pair(c, vn, "files", depth, VEIL_CAS_MAX_ITEMS, file_pair, sc);
    }
    if (!strcmp(key, "argv")) {
        _cleanup_free_ yaml_node_t **items = NULL;
        size_t count;
        if ((r = sequence(c, vn, "argv", depth, VEIL_CAS_MAX_ITEMS, &items, &count)) < 0) return r;
        s->argv = calloc(count ? count : 1, sizeof(*s->argv));
        if (!s->argv) return -ENOMEM;
        for (size_t i = 0; i < count; i++, s->argv_count++)
            if ((r = template_value(sc->p, items[i], "argument", &s->argv[i])) < 0) return r;
        return 0;
    }
    if (!strcmp(key, "image")) {
        if ((r = name_scalar(vn, "image", &s->image)) < 0) return r;
        if (!veil_cas_policy_image(sc->p, s->image)) return FAIL(vn, "unknown image '%s'", s->image);
        return 0;
    }
    if (!strcmp(key, "volumes")) {
        _cleanup_free_ yaml_node_t **items = NULL;
        size_t count;
        if ((r = sequence(c, vn, "volumes", depth, VEIL_CAS_MAX_ITEMS, &items, &count)) < 0) return r;
        s->volumes = calloc(count ? count : 1, sizeof(char *));
        if (!s->volumes) return -ENOMEM;
        for (size_t i = 0; i < count; i++) {
            if ((r = name_scalar(items[i], "volume", &s->volumes[i])) < 0) return r;
            s->volume_count++;
            if (!veil_cas_policy_volume(sc->p, s->volumes[i])) return FAIL(items[i], "unknown volume '%s'", s->volumes[i]);
        }
        return 0;
    }
    return FAIL(kn, "unknown key '%s' in service", key);
}

static int services_pair(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    struct veil_cas_policy *p = obj;
    struct veil_cas_service *s = &p->services[p->service_count];
    int r = name_scalar(kn, "service name", &s->name);
    if (r < 0) return r;
    p->service_count++;
    (void)key;
    /* Hardware TEEs by default: sim has no memory protection and must be asked for by name. */
    s->tees = ~(uint32_t)0 & ~(1u << VEIL_TEE_SIM);
    s->tcb_statuses = 1u << VEIL_TCB_UP_TO_DATE;
    struct service_ctx sc = { .p = p, .s = s };
    if ((r = for_each_pair(c, vn, "service", depth, 16, service_field, &sc)) < 0) return r;
    if (s->measurement_count == 0 && s->signer_size == 0)
        return FAIL(vn, "service '%s' needs measurements or a signer", s->name);
    if (s->signer_size && !s->has_product_id)
        return FAIL(vn, "service '%s' names a signer, so it needs a product_id", s->name);
    if (!s->signer_size && (s->has_product_id || s->min_security_version))
        return FAIL(vn, "service '%s': product_id and min_security_version need a signer", s->name);
    return 0;
}

/* ---------- top level ---------- */

struct top {
    yaml_node_t *name, *owners, *services, *secrets, *images, *volumes;
};

static int top_pair(struct ctx *c, void *obj, const char *key, yaml_node_t *kn, yaml_node_t *vn, int depth) {
    (void)c;
    (void)depth;
    struct top *t = obj;
    if (!strcmp(key, "name")) t->name = vn;
    else if (!strcmp(key, "owners")) t->owners = vn;
    else if (!strcmp(key, "services")) t->services = vn;
    else if (!strcmp(key, "secrets")) t->secrets = vn;
    else if (!strcmp(key, "images")) t->images = vn;
    else if (!strcmp(key, "volumes")) t->volumes = vn;
    else return FAIL(kn, "unknown top-level key '%s' (name, owners, secrets, images, volumes, services)", key);
    return 0;
}

static size_t map_size(const yaml_node_t *n) {
    return n && n->type == YAML_MAPPING_NODE ? (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start) : 0;
}

static int check_key_secret(const struct veil_cas_policy *p, const struct veil_cas_keyed *k, const yaml_node_t *at,
                            const char *what) {
    const struct veil_cas_secret *s = veil_cas_policy_secret(p, k->key);
    if (!s || s->kind != VEIL_CAS_SECRET_RANDOM || s->size != 32)
        return FAIL(at, "%s '%s': key '%s' must be a random secret of size 32", what, k->name, k->key);
    return 0;
}

static int parse_document(struct ctx *c, struct veil_cas_policy *p) {
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root) return veil_err(-EBADMSG, "line 1: empty policy");
    yaml_node_t *rn;
    int r = get_node(c, 1, 0, &rn);
    if (r < 0) return r;
    struct top t = { 0 };
    if ((r = for_each_pair(c, rn, "policy", 0, 16, top_pair, &t)) < 0) return r;
    if (!t.name) return FAIL(rn, "policy needs a name");
    if ((r = name_scalar(t.name, "policy name", &p->name)) < 0) return r;

    if (!t.owners) return FAIL(rn, "policy needs owners (fingerprints of owner keys or certificates)");
    _cleanup_free_ yaml_node_t **owners = NULL;
    size_t count;
    if ((r = sequence(c, t.owners, "owners", 1, VEIL_CAS_MAX_OWNERS, &owners, &count)) < 0) return r;
    if (count == 0) return FAIL(t.owners, "owners must not be empty");
    p->owners = calloc(count, sizeof(*p->owners));
    if (!p->owners) return -ENOMEM;
    for (size_t i = 0; i < count; i++, p->owner_count++) {
        size_t size;
        if ((r = hex_scalar(owners[i], "owner fingerprint", 32, 32, p->owners[i], &size)) < 0) return r;
    }

    if (t.secrets) {
        p->secrets = calloc(VEIL_CAS_MAX_SECRETS, sizeof(*p->secrets));
        if (!p->secrets) return -ENOMEM;
        if ((r = for_each_pair(c, t.secrets, "secrets", 1, VEIL_CAS_MAX_SECRETS, secrets_pair, p)) < 0) return r;
        /* issuers are other secrets: resolve them once all are known, then hash definitions */
        for (size_t i = 0; i < p->secret_count; i++) {
            struct veil_cas_secret *s = &p->secrets[i];
            if (s->kind == VEIL_CAS_SECRET_X509) continue;
            if ((r = secret_definition_hash(s, NULL)) < 0) return r;
        }
        for (size_t i = 0; i < p->secret_count; i++) {
            struct veil_cas_secret *s = &p->secrets[i];
            if (s->kind != VEIL_CAS_SECRET_X509) continue;
            const struct veil_cas_secret *ca = veil_cas_policy_secret(p, s->issuer);
            if (!ca || ca->kind != VEIL_CAS_SECRET_X509_CA)
                return FAIL(t.secrets, "certificate '%s': issuer '%s' is not an x509_ca secret of this policy",
                            s->name, s->issuer);
            if ((r = secret_definition_hash(s, ca->definition_hash)) < 0) return r;
        }
    }
    struct keyed_list images = { .count = &p->image_count, .what = "image" };
    struct keyed_list volumes = { .count = &p->volume_count, .what = "volume" };
    if (t.images) {
        if (!(images.items = p->images = calloc(map_size(t.images) + 1, sizeof(*p->images)))) return -ENOMEM;
        if ((r = for_each_pair(c, t.images, "images", 1, VEIL_CAS_MAX_ITEMS, keyed_pair, &images)) < 0) return r;
        for (size_t i = 0; i < p->image_count; i++)
            if ((r = check_key_secret(p, &p->images[i], t.images, "image")) < 0) return r;
    }
    if (t.volumes) {
        if (!(volumes.items = p->volumes = calloc(map_size(t.volumes) + 1, sizeof(*p->volumes)))) return -ENOMEM;
        if ((r = for_each_pair(c, t.volumes, "volumes", 1, VEIL_CAS_MAX_ITEMS, keyed_pair, &volumes)) < 0) return r;
        for (size_t i = 0; i < p->volume_count; i++)
            if ((r = check_key_secret(p, &p->volumes[i], t.volumes, "volume")) < 0) return r;
    }
    if (!t.services) return FAIL(rn, "policy needs services");
    if (!(p->services = calloc(VEIL_CAS_MAX_SERVICES, sizeof(*p->services)))) return -ENOMEM;
    if ((r = for_each_pair(c, t.services, "services", 1, VEIL_CAS_MAX_SERVICES, services_pair, p)) < 0) return r;
    if (p->service_count == 0) return FAIL(t.services, "services must not be empty");
    return 0;
}

int veil_cas_policy_parse(const void *yaml, size_t size, struct veil_cas_policy **ret) {
    if (size > VEIL_CAS_POLICY_MAX_SIZE)
        return veil_err(-EBADMSG, "policy is larger than %u bytes", VEIL_CAS_POLICY_MAX_SIZE);
    if (memchr(yaml, 0, size)) return veil_err(-EBADMSG, "policy contains a NUL byte");
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return -ENOMEM;
    yaml_parser_set_input_string(&parser, yaml, size);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    if (!yaml_parser_load(&parser, &doc)) {
        int r = veil_err(-EBADMSG, "line %zu: %s%s%s", parser.problem_mark.line + 1,
                         parser.problem ? parser.problem : "YAML error", parser.context ? " " : "",
                         parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return r;
    }
    int r = 0;
    struct veil_cas_policy *p = calloc(1, sizeof(*p));
    struct ctx c = { .doc = &doc };
    c.node_count = (size_t)(doc.nodes.top - doc.nodes.start);
    if (!p) {
        r = -ENOMEM;
        goto out;
    }
    if (c.node_count > VEIL_CAS_POLICY_MAX_NODES) {
        r = veil_err(-EBADMSG, "policy has too many YAML nodes");
        goto out;
    }
    c.seen = calloc(c.node_count + 1, 1);
    if (!c.seen) {
        r = -ENOMEM;
        goto out;
    }
    if ((r = parse_document(&c, p)) < 0) goto out;
    /* one document only: a second one would be ignored silently otherwise */
    yaml_document_t next;
    if (!yaml_parser_load(&parser, &next)) {
        r = veil_err(-EBADMSG, "line %zu: %s", parser.problem_mark.line + 1, parser.problem ? parser.problem : "YAML error");
        goto out;
    }
    bool more = yaml_document_get_root_node(&next) != NULL;
    yaml_document_delete(&next);
    if (more) r = veil_err(-EBADMSG, "a policy is one YAML document, found more");
out:
    free(c.seen);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (r < 0) {
        veil_cas_policy_free(p);
        return r;
    }
    *ret = p;
    return 0;
}

void veil_cas_policy_free(struct veil_cas_policy *p) {
    if (!p) return;
    free(p->name);
    free(p->owners);
    for (size_t i = 0; i < p->service_count; i++) {
        struct veil_cas_service *s = &p->services[i];
        free(s->name);
        free(s->measurements);
        free(s->measurement_sizes);
        for (size_t j = 0; j < s->env_count; j++) {
            free(s->env[j].name);
            veil_cas_template_done(&s->env[j].value);
        }
        free(s->env);
        for (size_t j = 0; j < s->argv_count; j++) veil_cas_template_done(&s->argv[j]);
        free(s->argv);
        for (size_t j = 0; j < s->file_count; j++) {
            free(s->files[j].path);
            veil_cas_template_done(&s->files[j].content);
        }
        free(s->files);
        free(s->image);
        for (size_t j = 0; j < s->volume_count; j++) free(s->volumes[j]);
        free(s->volumes);
    }
    free(p->services);
    for (size_t i = 0; i < p->secret_count; i++) {
        struct veil_cas_secret *s = &p->secrets[i];
        free(s->name);
        if (s->value) veil_wipe(s->value, s->value_size);
        free(s->value);
        free(s->common_name);
        for (size_t j = 0; j < s->dns_count; j++) free(s->dns[j]);
        free(s->dns);
        free(s->issuer);
    }
    free(p->secrets);
    for (size_t i = 0; i < p->image_count; i++) {
        free(p->images[i].name);
        free(p->images[i].key);
    }
    free(p->images);
    for (size_t i = 0; i < p->volume_count; i++) {
        free(p->volumes[i].name);
        free(p->volumes[i].key);
    }
    free(p->volumes);
    free(p);
}

const struct veil_cas_service *veil_cas_policy_service(const struct veil_cas_policy *p, const char *name) {
    for (size_t i = 0; i < p->service_count; i++)
        if (!strcmp(p->services[i].name, name)) return &p->services[i];
    return NULL;
}

const struct veil_cas_secret *veil_cas_policy_secret(const struct veil_cas_policy *p, const char *name) {
    for (size_t i = 0; i < p->secret_count; i++)
        if (p->secrets[i].name && !strcmp(p->secrets[i].name, name)) return &p->secrets[i];
    return NULL;
}

const struct veil_cas_keyed *veil_cas_policy_volume(const struct veil_cas_policy *p, const char *name) {
    for (size_t i = 0; i < p->volume_count; i++)
        if (!strcmp(p->volumes[i].name, name)) return &p->volumes[i];
    return NULL;
}

const struct veil_cas_keyed *veil_cas_policy_image(const struct veil_cas_policy *p, const char *name) {
    for (size_t i = 0; i < p->image_count; i++)
        if (!strcmp(p->images[i].name, name)) return &p->images[i];
    return NULL;
}

bool veil_cas_policy_is_owner(const struct veil_cas_policy *p, const uint8_t id[VEIL_SHA256_SIZE]) {
    for (size_t i = 0; i < p->owner_count; i++)
        if (!memcmp(p->owners[i], id, VEIL_SHA256_SIZE)) return true;
    return false;
}
