/* SPDX-License-Identifier: Apache-2.0 */
/* Collects a manifest's content and encodes it canonically (sorted, fixed layout, docs/manifest.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/cursor.h"
#include "base/err.h"
#include "format.h"
#include "internal.h"

struct owned_entry {
    char *path;
    char *target;
    char *key_name;
    enum veil_manifest_class class;
    uint32_t mode, uid, gid;
    uint64_t size;
    uint8_t sha256[VEIL_SHA256_SIZE];
};

struct owned_rule {
    char *path;
    enum veil_manifest_class class;
    char *key_name;
};

struct string_list {
    char **items;
    size_t count;
};

struct veil_manifest_builder {
    struct string_list argv, env, host_env;
    char *cwd;
    uint32_t uid, gid;
    char *attest_address, *attest_policy;
    uint32_t product_id, security_version;
    struct owned_rule *rules;
    size_t rule_count;
    struct owned_entry *entries;
    size_t entry_count, entry_capacity;
};

static void list_clear(struct string_list *l) {
    for (size_t i = 0; i < l->count; i++) free(l->items[i]);
    free(l->items);
    *l = (struct string_list){ 0 };
}

static int list_push(struct string_list *l, const char *s) {
    if (l->count >= VEIL_MANIFEST_MAX_LIST) return veil_err(-E2BIG, "more than %u list elements", VEIL_MANIFEST_MAX_LIST);
    if (strlen(s) > VEIL_MANIFEST_MAX_STRING) return veil_err(-E2BIG, "string longer than %u bytes", VEIL_MANIFEST_MAX_STRING);
    char **items = realloc(l->items, (l->count + 1) * sizeof(char *));
    if (!items) return -ENOMEM;
    l->items = items;
    if (!(items[l->count] = strdup(s))) return -ENOMEM;
    l->count++;
    return 0;
}

static int list_set(struct string_list *l, const char *const *v, size_t count) {
    list_clear(l);
    for (size_t i = 0; i < count; i++) {
        int r = list_push(l, v[i]);
        if (r < 0) return r;
    }
    return 0;
}

static int replace_string(char **slot, const char *s) {
    if (strlen(s) > VEIL_MANIFEST_MAX_STRING) return veil_err(-E2BIG, "string longer than %u bytes", VEIL_MANIFEST_MAX_STRING);
    char *copy = strdup(s);
    if (!copy) return -ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

int veil_manifest_builder_new(struct veil_manifest_builder **ret) {
    struct veil_manifest_builder *b = calloc(1, sizeof(*b));
    if (!b) return -ENOMEM;
    if (!(b->cwd = strdup("/")) || !(b->attest_address = strdup("")) || !(b->attest_policy = strdup(""))) {
        veil_manifest_builder_free(b);
        return -ENOMEM;
    }
    *ret = b;
    return 0;
}

void veil_manifest_builder_free(struct veil_manifest_builder *b) {
    if (!b) return;
    list_clear(&b->argv);
    list_clear(&b->env);
    list_clear(&b->host_env);
    free(b->cwd);
    free(b->attest_address);
    free(b->attest_policy);
    for (size_t i = 0; i < b->rule_count; i++) {
        free(b->rules[i].path);
        free(b->rules[i].key_name);
    }
    free(b->rules);
    for (size_t i = 0; i < b->entry_count; i++) {
        free(b->entries[i].path);
        free(b->entries[i].target);
        free(b->entries[i].key_name);
    }
    free(b->entries);
    free(b);
}

int veil_manifest_builder_set_argv(struct veil_manifest_builder *b, const char *const *argv, size_t count) {
    return list_set(&b->argv, argv, count);
}

int veil_manifest_builder_set_env(struct veil_manifest_builder *b, const char *const *env, size_t count) {
    return list_set(&b->env, env, count);
}

int veil_manifest_builder_add_host_env(struct veil_manifest_builder *b, const char *name) {
    for (size_t i = 0; i < b->host_env.count; i++)
        if (!strcmp(b->host_env.items[i], name)) return 0;
    return list_push(&b->host_env, name);
}

int veil_manifest_builder_set_cwd(struct veil_manifest_builder *b, const char *cwd) {
    return replace_string(&b->cwd, cwd);
}

void veil_manifest_builder_set_user(struct veil_manifest_builder *b, uint32_t uid, uint32_t gid) {
    b->uid = uid;
    b->gid = gid;
}

int veil_manifest_builder_set_attestation(struct veil_manifest_builder *b, const char *address, const char *policy) {
    int r = replace_string(&b->attest_address, address ? address : "");
    if (r < 0) return r;
    return replace_string(&b->attest_policy, policy ? policy : "");
}

void veil_manifest_builder_set_product(struct veil_manifest_builder *b, uint32_t product_id, uint32_t security_version) {
    b->product_id = product_id;
    b->security_version = security_version;
}

int veil_manifest_builder_add_rule(struct veil_manifest_builder *b, const char *path, enum veil_manifest_class class,
                                   const char *key_name) {
    if (!veil_manifest_path_is_normal(path, strlen(path))) return veil_err(-EINVAL, "rule path '%s' is not a normal absolute path", path);
    if (class != VEIL_MANIFEST_ENCRYPTED && class != VEIL_MANIFEST_PASSTHROUGH && class != VEIL_MANIFEST_EPHEMERAL)
        return veil_err(-EINVAL, "a rule is encrypted, passthrough or ephemeral");
    if ((class == VEIL_MANIFEST_ENCRYPTED) != (key_name && *key_name))
        return veil_err(-EINVAL, "an encrypted rule, and only an encrypted rule, names a key");
    char *p = strdup(path), *k = key_name ? strdup(key_name) : NULL;
    if (!p || (key_name && !k)) {
        free(p);
        free(k);
        return -ENOMEM;
    }
    for (size_t i = 0; i < b->rule_count; i++)
        if (!strcmp(b->rules[i].path, path)) {
            free(b->rules[i].path);
            free(b->rules[i].key_name);
            b->rules[i] = (struct owned_rule){ p, class, k };
            return 0;
        }
    if (b->rule_count >= VEIL_MANIFEST_MAX_LIST) {
        free(p);
        free(k);
        return veil_err(-E2BIG, "more than %u rules", VEIL_MANIFEST_MAX_LIST);
    }
    struct owned_rule *rules = realloc(b->rules, (b->rule_count + 1) * sizeof(*rules));
    if (!rules) {
        free(p);
        free(k);
        return -ENOMEM;
    }
    b->rules = rules;
    rules[b->rule_count++] = (struct owned_rule){ p, class, k };
    return 0;
}

int veil_manifest_builder_add_entry(struct veil_manifest_builder *b, const struct veil_manifest_entry *e) {
    if (!veil_manifest_path_is_normal(e->path, strlen(e->path)))
        return veil_err(-EINVAL, "entry path '%s' is not a normal absolute path", e->path);
    if (e->class != VEIL_MANIFEST_TRUSTED && e->class != VEIL_MANIFEST_ENCRYPTED && e->class != VEIL_MANIFEST_DIRECTORY &&
        e->class != VEIL_MANIFEST_SYMLINK)
        return veil_err(-EINVAL, "entry '%s': class %d is not an entry class", e->path, e->class);
    if (e->mode & ~07777u) return veil_err(-EINVAL, "entry '%s': mode holds more than permission bits", e->path);
    if (e->class == VEIL_MANIFEST_SYMLINK &&
        (!e->target || !*e->target || strlen(e->target) > VEIL_MANIFEST_MAX_PATH))
        return veil_err(-EINVAL, "symlink '%s' has an empty or too long target", e->path);
    if ((e->class == VEIL_MANIFEST_ENCRYPTED) != (e->key_name && *e->key_name))
        return veil_err(-EINVAL, "entry '%s': encrypted entries, and only those, name a key", e->path);
    if (b->entry_count >= VEIL_MANIFEST_MAX_ENTRIES) return veil_err(-E2BIG, "more than %u entries", VEIL_MANIFEST_MAX_ENTRIES);
    if (b->entry_count == b->entry_capacity) {
        size_t cap = b->entry_capacity ? b->entry_capacity * 2 : 256;
        struct owned_entry *n = realloc(b->entries, cap * sizeof(*n));
        if (!n) return -ENOMEM;
        b->entries = n;
        b->entry_capacity = cap;
    }
    struct owned_entry o = {
        .path = strdup(e->path),
        .target = e->class == VEIL_MANIFEST_SYMLINK ? strdup(e->target) : NULL,
        .key_name = e->class == VEIL_MANIFEST_ENCRYPTED ? strdup(e->key_name) : NULL,
        .class = e->class,
        .mode = e->mode,
        .uid = e->uid,
        .gid = e->gid,
        .size = e->class == VEIL_MANIFEST_SYMLINK ? strlen(e->target) : e->class == VEIL_MANIFEST_DIRECTORY ? 0 : e->size,
    };
    if (!o.path || (e->class == VEIL_MANIFEST_SYMLINK && !o.target) || (e->class == VEIL_MANIFEST_ENCRYPTED && !o.key_name)) {
        free(o.path);
        free(o.target);
        free(o.key_name);
        return -ENOMEM;
    }
    if (e->class == VEIL_MANIFEST_TRUSTED || e->class == VEIL_MANIFEST_ENCRYPTED)
        memcpy(o.sha256, e->sha256, VEIL_SHA256_SIZE);
    b->entries[b->entry_count++] = o;
    return 0;
}

/* ---- encoding ---- */

static int cmp_entry(const void *a, const void *b) {
    const struct owned_entry *x = a, *y = b;
    return strcmp(x->path, y->path);
}

static int cmp_rule(const void *a, const void *b) {
    const struct owned_rule *x = a, *y = b;
    return strcmp(x->path, y->path);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int put_string(struct veil_buf *out, const char *s) {
    size_t n = strlen(s);
    int r = veil_buf_append_u32le(out, (uint32_t)n);
    if (r >= 0) r = veil_buf_append(out, s, n);
    if (r >= 0) r = veil_buf_append_u8(out, 0);
    return r;
}

static int put_list(struct veil_buf *out, const struct string_list *l) {
    int r = veil_buf_append_u32le(out, (uint32_t)l->count);
    for (size_t i = 0; r >= 0 && i < l->count; i++) r = put_string(out, l->items[i]);
    return r;
}

static int pad(struct veil_buf *out) {
    return veil_buf_append_zeros(out, mf_pad(out->size));
}

/* The set of key names the rules and entries use, sorted and unique. */
static int collect_keys(struct veil_manifest_builder *b, struct string_list *keys) {
    for (size_t i = 0; i < b->rule_count + b->entry_count; i++) {
        const char *k = i < b->rule_count ? b->rules[i].key_name : b->entries[i - b->rule_count].key_name;
        if (!k) continue;
        bool seen = false;
        for (size_t j = 0; j < keys->count && !seen; j++) seen = !strcmp(keys->items[j], k);
        if (seen) continue;
        int r = list_push(keys, k);
        if (r < 0) return r;
    }
    if (keys->count) qsort(keys->items, keys->count, sizeof(char *), cmp_str);
    return 0;
}

static uint16_t key_index(const struct string_list *keys, const char *name) {
    if (!name) return VEIL_MANIFEST_NO_KEY;
    for (size_t i = 0; i < keys->count; i++)
        if (!strcmp(keys->items[i], name)) return (uint16_t)i;
    return VEIL_MANIFEST_NO_KEY; /* unreachable: collect_keys saw every name */
}

static void store_u32(struct veil_buf *out, size_t at, size_t v) {
    veil_store_u32le(out->data + at, (uint32_t)v);
}

int veil_manifest_builder_encode(struct veil_manifest_builder *b, uint8_t **ret_body, size_t *ret_size) {
    if (b->argv.count == 0) return veil_err(-EINVAL, "the manifest needs an entrypoint (argv[0])");
    if (!veil_manifest_path_is_normal(b->argv.items[0], strlen(b->argv.items[0])))
        return veil_err(-EINVAL, "entrypoint '%s' is not a normal absolute path", b->argv.items[0]);
    if (!veil_manifest_path_is_normal(b->cwd, strlen(b->cwd)))
        return veil_err(-EINVAL, "working directory '%s' is not a normal absolute path", b->cwd);
    for (size_t i = 0; i < b->env.count; i++) {
        const char *eq = strchr(b->env.items[i], '=');
        if (!eq || eq == b->env.items[i]) return veil_err(-EINVAL, "environment entry '%s' is not NAME=value", b->env.items[i]);
    }
    for (size_t i = 0; i < b->host_env.count; i++)
        if (!*b->host_env.items[i] || strchr(b->host_env.items[i], '='))
            return veil_err(-EINVAL, "host environment name '%s' is empty or holds '='", b->host_env.items[i]);

    if (b->entry_count) qsort(b->entries, b->entry_count, sizeof(*b->entries), cmp_entry);
    if (b->rule_count) qsort(b->rules, b->rule_count, sizeof(*b->rules), cmp_rule);
    if (b->host_env.count) qsort(b->host_env.items, b->host_env.count, sizeof(char *), cmp_str);
    for (size_t i = 1; i < b->entry_count; i++)
        if (!strcmp(b->entries[i - 1].path, b->entries[i].path))
            return veil_err(-EINVAL, "duplicate entry '%s'", b->entries[i].path);

    _cleanup_(list_clear) struct string_list keys = { 0 };
    int r = collect_keys(b, &keys);
    if (r < 0) return r;

    struct veil_buf out = { .limit = VEIL_MANIFEST_MAX_SIZE };
    r = veil_buf_append_zeros(&out, MF_HEADER_SIZE);
    /* configuration */
    size_t config_offset = out.size;
    if (r >= 0) r = put_list(&out, &b->argv);
    if (r >= 0) r = put_list(&out, &b->env);
    if (r >= 0) r = put_list(&out, &b->host_env);
    if (r >= 0) r = put_string(&out, b->cwd);
    if (r >= 0) r = veil_buf_append_u32le(&out, b->uid);
    if (r >= 0) r = veil_buf_append_u32le(&out, b->gid);
    if (r >= 0) r = put_string(&out, b->attest_address);
    if (r >= 0) r = put_string(&out, b->attest_policy);
    if (r >= 0) r = veil_buf_append_u32le(&out, b->product_id);
    if (r >= 0) r = veil_buf_append_u32le(&out, b->security_version);
    if (r >= 0) r = pad(&out);
    /* keys */
    size_t keys_offset = out.size;
    if (r >= 0) r = put_list(&out, &keys);
    if (r >= 0) r = pad(&out);
    /* rules */
    size_t rules_offset = out.size;
    if (r >= 0) r = veil_buf_append_u32le(&out, (uint32_t)b->rule_count);
    for (size_t i = 0; r >= 0 && i < b->rule_count; i++) {
        r = veil_buf_append_u8(&out, (uint8_t)b->rules[i].class);
        if (r >= 0) r = veil_buf_append_u8(&out, 0);
        if (r >= 0) r = veil_buf_append_u16le(&out, key_index(&keys, b->rules[i].key_name));
        if (r >= 0) r = put_string(&out, b->rules[i].path);
    }
    if (r >= 0) r = pad(&out);
    /* entry records, then the string pool in record order */
    size_t entries_offset = out.size, pool = 0;
    for (size_t i = 0; r >= 0 && i < b->entry_count; i++) {
        const struct owned_entry *e = &b->entries[i];
        uint8_t rec[MF_ENTRY_SIZE] = { 0 };
        size_t path_size = strlen(e->path), target_size = e->target ? strlen(e->target) : 0;
        veil_store_u32le(rec + MF_E_PATH_OFFSET, (uint32_t)pool);
        veil_store_u32le(rec + MF_E_PATH_SIZE, (uint32_t)path_size);
        pool += path_size + 1;
        if (e->target) {
            veil_store_u32le(rec + MF_E_TARGET_OFFSET, (uint32_t)pool);
            veil_store_u32le(rec + MF_E_TARGET_SIZE, (uint32_t)target_size);
            pool += target_size + 1;
        }
        veil_store_u64le(rec + MF_E_SIZE, e->size);
        veil_store_u32le(rec + MF_E_MODE, e->mode);
        veil_store_u32le(rec + MF_E_UID, e->uid);
        veil_store_u32le(rec + MF_E_GID, e->gid);
        rec[MF_E_CLASS] = (uint8_t)e->class;
        veil_store_u16le(rec + MF_E_KEY, key_index(&keys, e->key_name));
        memcpy(rec + MF_E_SHA256, e->sha256, VEIL_SHA256_SIZE);
        r = veil_buf_append(&out, rec, sizeof(rec));
        if (r >= 0 && pool > UINT32_MAX) r = veil_err(-E2BIG, "string pool over 4 GiB");
    }
    size_t strings_offset = out.size;
    for (size_t i = 0; r >= 0 && i < b->entry_count; i++) {
        const struct owned_entry *e = &b->entries[i];
        r = veil_buf_append(&out, e->path, strlen(e->path) + 1);
        if (r >= 0 && e->target) r = veil_buf_append(&out, e->target, strlen(e->target) + 1);
    }
    if (r >= 0) r = pad(&out);
    if (r < 0) {
        veil_buf_done(&out);
        return r;
    }

    memcpy(out.data + MF_H_MAGIC, VEIL_MANIFEST_MAGIC, 8);
    store_u32(&out, MF_H_VERSION, VEIL_MANIFEST_VERSION);
    store_u32(&out, MF_H_BODY_SIZE, out.size);
    store_u32(&out, MF_H_CONFIG_OFFSET, config_offset);
    store_u32(&out, MF_H_CONFIG_SIZE, keys_offset - config_offset);
    store_u32(&out, MF_H_KEYS_OFFSET, keys_offset);
    store_u32(&out, MF_H_KEYS_SIZE, rules_offset - keys_offset);
    store_u32(&out, MF_H_RULES_OFFSET, rules_offset);
    store_u32(&out, MF_H_RULES_SIZE, entries_offset - rules_offset);
    store_u32(&out, MF_H_ENTRIES_OFFSET, entries_offset);
    store_u32(&out, MF_H_ENTRY_COUNT, b->entry_count);
    store_u32(&out, MF_H_STRINGS_OFFSET, strings_offset);
    store_u32(&out, MF_H_STRINGS_SIZE, out.size - strings_offset);
    /* the decoder's rules are the definition of a valid body: never emit one it would refuse */
    uint8_t *copy = malloc(out.size);
    if (!copy) {
        veil_buf_done(&out);
        return -ENOMEM;
    }
    memcpy(copy, out.data, out.size);
    _cleanup_(veil_manifest_freep) struct veil_manifest *check = NULL;
    if ((r = veil_manifest_parse_body(copy, out.size, out.size, &check)) < 0) {
        veil_buf_done(&out);
        return r;
    }
    *ret_body = veil_buf_steal(&out, ret_size);
    return 0;
}
